/* SPDX-License-Identifier: MIT */
/*
 * The real uid of every live process the daemon has seen, kept from the
 * process events themselves (fork inherits, setuid changes, exit ends), so
 * that a process reaped before the daemon could look at /proc still has its
 * events attributed to the right user. Open addressing keyed by pid.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct uid_table {
	uint32_t *pids;      /* 0: empty slot */
	uint32_t *uids;
	size_t capacity;     /* a power of two, or 0 */
	size_t count;
};

int uid_table_set(struct uid_table *t, uint32_t pid, uint32_t uid);
bool uid_table_get(const struct uid_table *t, uint32_t pid, uint32_t *uid);
void uid_table_remove(struct uid_table *t, uint32_t pid);
void uid_table_clear(struct uid_table *t);
