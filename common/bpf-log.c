/* SPDX-License-Identifier: MIT */
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

#include "bpf-log.h"
#include "log.h"

static int libbpf_log(enum libbpf_print_level level, const char *format, va_list args)
{
	char line[512];

	if (level == LIBBPF_DEBUG && log_get_max_level() < LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), format, args);
	line[strcspn(line, "\n")] = '\0';
	log_full_errno(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, 0, "%s", line);
	return 0;
}

void cusekit_bpf_log_setup(void) { libbpf_set_print(libbpf_log); }
