/* SPDX-License-Identifier: MIT */
/* A process's identity from /proc: its pid and its start time. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* The start time of the live process (or thread) pid; -ESRCH when there is
 * none or it is a zombie. */
int proc_pid_start_time(uint32_t pid, uint64_t *ret);

/* 1 if pid is a process (a thread group's leader), 0 if it is another
 * thread, -ESRCH if it does not exist. */
int proc_pid_is_process(uint32_t pid);
