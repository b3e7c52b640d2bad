/* SPDX-License-Identifier: MIT */
/*
 * RLIMIT_RTTIME, rtkit's runaway protection: the CPU time (microseconds) a
 * thread under a real-time policy may use without blocking. At the soft
 * limit the kernel sends SIGXCPU (then once a second), at the hard limit
 * SIGKILL; it is a process-wide limit and counts only real-time threads.
 * Every real-time grant lowers both limits of the target's process to the
 * configured bound, unless they are lower already; they stay so after the
 * grant ends (they bind nothing but real-time threads).
 */
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#define RTTIME_LIMIT_MS_DEFAULT 200     /* rtkit's rttime-usec-max */
#define RTTIME_LIMIT_MS_MAX 3600000

/* The limits a grant leaves: each of soft and hard at most bound. */
struct rlimit rttime_bounded(struct rlimit now, rlim_t bound_usec);

/* The RLIMIT_RTTIME line of a /proc/<pid>/limits text. */
int rttime_parse_limits(const char *text, struct rlimit *ret);

/* Bound pid's RLIMIT_RTTIME: 0 or -errno (-EPERM: it is not bounded and we
 * may not bound it: another user's process, and no CAP_SYS_RESOURCE); *ret
 * (may be NULL): the limits now. */
int rttime_apply(pid_t pid, rlim_t bound_usec, struct rlimit *ret);
