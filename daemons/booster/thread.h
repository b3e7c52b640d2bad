/* SPDX-License-Identifier: MIT */
/*
 * Threads by identity, not by number: a tid is reused once its thread is
 * gone, so a thread is held as an fd on /proc/<tid>, which keeps meaning the
 * thread it was opened for (lookups through it fail once that thread exits,
 * whoever has the number now), plus the thread's start time.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct thread {
	pid_t tid;
	int proc_fd;           /* O_PATH /proc/<tid> */
	uint64_t start_time;   /* /proc/<tid>/stat field 22, clock ticks since boot */
};

struct thread_info {
	pid_t pid;             /* its process */
	uid_t ruid, suid;      /* its process's real and saved uid */
	char comm[16];
};

/* The kernel's struct sched_attr, first version (SCHED_ATTR_SIZE_VER0):
 * glibc before 2.41 has neither the struct nor the calls. */
struct thread_sched {
	uint32_t size;
	uint32_t sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime;
	uint64_t sched_deadline;
	uint64_t sched_period;
};

#define THREAD_SCHED_RESET_ON_FORK 0x01
#define THREAD_SCHED_FLAGS_V0 0x07  /* reset on fork, deadline reclaim and overrun */

/* -ESRCH: no such thread. info may be NULL. */
int thread_open(pid_t tid, struct thread *t, struct thread_info *info);
void thread_close(struct thread *t);
/* 0 while the thread opened is alive, -ESRCH once it has exited (a zombie
 * has exited: it will never run again). */
int thread_check(const struct thread *t);
bool thread_same(const struct thread *a, const struct thread *b);

int thread_get_sched(pid_t tid, struct thread_sched *s);
int thread_set_sched(pid_t tid, const struct thread_sched *s);
/* Same policy and the same parameters of that policy. */
bool thread_sched_same(const struct thread_sched *a, const struct thread_sched *b);

/* The thread operations the boost stack (stack.h) runs on: these, on /proc
 * and the scheduling syscalls (thread_proc_ops), or a fake in unit tests. */
struct thread_ops {
	int (*open)(pid_t tid, struct thread *t, struct thread_info *info);
	void (*close)(struct thread *t);
	int (*check)(const struct thread *t);
	int (*get_sched)(const struct thread *t, struct thread_sched *s);
	int (*set_sched)(const struct thread *t, const struct thread_sched *s);
};

extern const struct thread_ops thread_proc_ops;
