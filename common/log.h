/* SPDX-License-Identifier: MIT */
/*
 * Logging: to the journal with structured fields when stderr is connected to
 * it (systemd's JOURNAL_STREAM), to stderr otherwise. The _errno variants
 * return -abs(error), so a failure is logged and propagated in one statement:
 *
 *         r = f();
 *         if (r < 0)
 *                 return log_error_errno(r, "Failed to f: %m");
 *
 * "%m" prints the errno text of the error passed in.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void log_setup(const char *identifier, int max_level);
int log_get_max_level(void);
bool log_to_journal(void);

int log_internal(int level, int error, const char *file, int line, const char *func,
		 const char *format, ...) _printf_(6, 7);

#define log_full_errno(level, error, ...) \
	log_internal(level, error, __FILE__, __LINE__, __func__, __VA_ARGS__)

#define log_debug(...) log_full_errno(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_full_errno(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_full_errno(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_full_errno(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_full_errno(LOG_ERR, 0, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
