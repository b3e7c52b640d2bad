/* SPDX-License-Identifier: MIT */
/* /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat, as far as the devices
 * need them: a task's identity is its id plus its start time (field 22),
 * since ids are reused. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

/* Parse the text of a stat file. comm (16 bytes, field 2) and ret_state
 * (field 3) may be NULL. -EBADMSG if it does not parse. */
int proc_stat_parse(const char *text, char comm[16], char *ret_state, uint64_t *ret_start_time);

/* The first number of the "name\t..." line of /proc/<pid>/status (name with
 * its colon, e.g. "Tgid:"); -ESRCH when the task or the line is not there. */
int proc_status_field(pid_t pid, const char *name, unsigned *ret);
