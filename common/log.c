/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "log.h"

static const char *log_identifier = "cusekit";
static int log_max_level = LOG_INFO;
static bool log_journal;

/* systemd sets JOURNAL_STREAM=dev:ino when stderr is a journal stream; only
 * then do we log natively, so redirected stderr in tests stays plain text. */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

void log_setup(const char *identifier, int max_level)
{
	log_identifier = identifier;
	log_max_level = max_level;
	log_journal = stderr_is_journal();
}

int log_get_max_level(void) { return log_max_level; }
bool log_to_journal(void) { return log_journal; }

int log_internal(int level, int error, const char *file, int line, const char *func,
		 const char *format, ...)
{
	int saved_errno = errno;
	char message[2048];
	va_list ap;

	if (error < 0)
		error = -error;
	if (level > log_max_level)
		return -error;

	errno = error; /* so that %m prints the error we were given */
	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);

	if (log_journal) {
		char code_file[256], code_line[32];

		snprintf(code_file, sizeof(code_file), "CODE_FILE=%s", file);
		snprintf(code_line, sizeof(code_line), "CODE_LINE=%d", line);
		sd_journal_send_with_location(code_file, code_line, func, "PRIORITY=%i", level,
					      "SYSLOG_IDENTIFIER=%s", log_identifier,
					      "MESSAGE=%s", message,
					      error > 0 ? "ERRNO=%i" : NULL, error, NULL);
	} else
		fprintf(stderr, "%s: %s\n", log_identifier, message);

	errno = saved_errno;
	return -error;
}
