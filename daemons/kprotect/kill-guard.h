/* SPDX-License-Identifier: MIT */
/*
 * The kill guard: kill-guard.bpf.c loaded and attached (BPF LSM), and its map
 * of protected processes. Its links live as long as this object and are never
 * pinned: when kprotectd exits, the kernel detaches the programs and every
 * process is killable again (fail open).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct kill_guard;

/* Load, attach, and prove on a child process that a signal is refused.
 * -EOPNOTSUPP when the kernel has no active BPF LSM. */
int kill_guard_new(size_t capacity, struct kill_guard **ret);
struct kill_guard *kill_guard_free(struct kill_guard *g);

int kill_guard_protect(struct kill_guard *g, uint32_t pid, uint64_t start_time);
/* Absent pids are fine. */
int kill_guard_unprotect(struct kill_guard *g, uint32_t pid);
void kill_guard_denials(const struct kill_guard *g, uint64_t *ret_kill, uint64_t *ret_ptrace);
