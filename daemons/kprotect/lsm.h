/* SPDX-License-Identifier: MIT */
/*
 * KProtect's BPF LSM programs (kprotect.bpf.c), loaded through a libbpf
 * skeleton: the kill guard and the exec guard in the kernel, their maps,
 * counters and refusal reports. Each guard is attached and proven apart
 * (an attached LSM program is silently never called when the bpf LSM is not
 * in the kernel's active list: only a refusal seen proves it).
 *
 * Links live as long as this object and are never pinned: when kprotectd
 * exits, the kernel detaches the programs and everything is allowed again
 * (fail open).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "kprotect-event.h"

struct lsm;

struct lsm_capacity {
	size_t pids;
	size_t exes;
	size_t files;
};

struct lsm_counters {
	uint64_t kill;
	uint64_t ptrace;
	uint64_t exec;
	uint64_t map;
	uint64_t lost;
};

/* Told of every refusal (or permissive non-refusal), from the event loop. */
typedef void (*lsm_event_fn)(const struct kprotect_event *e, void *userdata);

/* Load the programs and attach the one that teaches the daemon file
 * identities (mmap_file). -EOPNOTSUPP when the bpf LSM is not active; the
 * load's own error (EPERM where LSM programs are refused) otherwise. */
int lsm_new(sd_event *e, const struct lsm_capacity *capacity, lsm_event_fn fn, void *userdata, struct lsm **ret);
struct lsm *lsm_free(struct lsm *l);

/* Attach task_kill and ptrace_access_check and prove on a child process
 * that a signal is refused. */
int lsm_start_kill_guard(struct lsm *l);
/* Attach bprm_check_security and file_mprotect and prove on a file of our
 * own that an executable mapping is refused. */
int lsm_start_exec_guard(struct lsm *l);

/* The kernel's identity of the open file fd. */
int lsm_file_key(struct lsm *l, int fd, struct lsm_file_key *ret);

int lsm_protect_pid(struct lsm *l, uint32_t pid, uint64_t start_time);
int lsm_unprotect_pid(struct lsm *l, uint32_t pid);
int lsm_protect_exe(struct lsm *l, const struct lsm_file_key *key);
int lsm_unprotect_exe(struct lsm *l, const struct lsm_file_key *key);
int lsm_deny_file(struct lsm *l, const struct lsm_file_key *key);
int lsm_allow_file(struct lsm *l, const struct lsm_file_key *key);

/* false: permissive, refuse nothing, report all the same. */
void lsm_set_enforcing(struct lsm *l, bool enforcing);
void lsm_counters(const struct lsm *l, struct lsm_counters *ret);
