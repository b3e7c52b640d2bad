/* SPDX-License-Identifier: MIT */
/*
 * What the daemon knows about every live process it has seen, kept from the
 * events themselves (fork inherits, setuid changes, exec and fork carry the
 * start time, exit ends), so that a process reaped before the daemon could
 * look at /proc still has its events attributed to the right user and
 * identity. Open addressing keyed by pid.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct process_info {
	uint32_t uid;          /* real uid, SM_UID_UNKNOWN if not known */
	uint64_t start_time;   /* ns after boot at tick resolution; 0: not known */
	uint64_t exited;       /* wall time of its exit record; 0: alive */
};

struct process_table {
	uint32_t *pids;      /* 0: empty slot */
	struct process_info *infos;
	size_t capacity;     /* a power of two, or 0 */
	size_t count;
};

int process_table_set(struct process_table *t, uint32_t pid, const struct process_info *info);
bool process_table_get(const struct process_table *t, uint32_t pid, struct process_info *ret);
void process_table_remove(struct process_table *t, uint32_t pid);
void process_table_clear(struct process_table *t);

/* Keeps t up to date with what record r says: a process created or
 * exec'd (its uid and start time), its uid changed, its exit. An exited
 * process stays known until process_table_purge(): events of another
 * channel about it may still be on their way. */
struct sm_record;
void process_table_track(struct process_table *t, const struct sm_record *r);
/* Forgets the processes that exited before wall time before_ns. */
void process_table_purge(struct process_table *t, uint64_t before_ns);
