/* SPDX-License-Identifier: MIT */
/*
 * Autogroup: with kernel.sched_autogroup_enabled = 1, the kernel puts each
 * session (setsid(2): a terminal, a desktop session) in a group of its own
 * and shares the CPU between the groups first, by the group's nice
 * (/proc/<pid>/autogroup), and only within a group by the threads' nice. A
 * thread's nice boost then counts only against its own session: against a
 * build in another terminal it does nothing. So Booster raises the
 * autogroup with it: while threads of a group hold nice boosts (nice < 0,
 * a normal policy), the group's nice is the lowest of them (never above what
 * the group had); when the last one ends, the group gets its nice back, if it
 * still has ours (someone who changed it since is left alone). This raises
 * the whole session the thread belongs to, which is the only unit the kernel
 * offers there; and it applies only where the session is scheduled by
 * autogroup at all (tasks whose cgroup has the cpu controller are not).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "thread.h"

/* 1 when the kernel schedules by autogroup, 0 when it has none or it is off. */
int autogroup_enabled(void);

/* "/autogroup-42 nice 0\n": -EBADMSG when it is not that. */
int autogroup_parse(const char *text, uint64_t *ret_id, int *ret_nice);
/* The group's nice while threads of it hold the nice boosts given. */
int autogroup_wanted(int previous, const int *boosts, size_t n);

struct autogroups;

struct autogroups *autogroups_new(void);
/* Forget every group, restoring nothing; NULL. */
struct autogroups *autogroups_free(struct autogroups *ag);

/* t has Booster's settings ours now, or none (NULL): see struct
 * boost_hooks. Call autogroups_sync() after. */
void autogroups_thread(struct autogroups *ag, const struct thread *t, const struct thread_sched *ours);
/* Give every group the nice it should have now: 0, or -EAGAIN when the
 * kernel's rate limit (one change per 100 ms without CAP_SYS_ADMIN) asks to
 * call again later (AUTOGROUP_RETRY_USEC). */
int autogroups_sync(struct autogroups *ag);
#define AUTOGROUP_RETRY_USEC 100000
/* Groups whose nice Booster holds or is about to change. */
size_t autogroups_count(const struct autogroups *ag);
