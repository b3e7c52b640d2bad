/* SPDX-License-Identifier: MIT */
/*
 * KProtect's rule sets, pure logic (no kernel channels): the protected
 * processes (pid + start time) and the denied executables (dev + ino + the
 * path they were denied under), paging for the LIST ioctls, and the state
 * file's encoding.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cusekit/kprotect.h>

/* A process: pids are reused, the pid and its start time are not. */
struct pid_rule {
	uint32_t pid;
	uint64_t start_time;   /* clock ticks after boot, /proc/<pid>/stat field 22 */
};

/* Kept sorted by pid: lookups are binary searches, pages are stable. */
struct pid_set {
	struct pid_rule *rules;
	size_t count;
	size_t capacity;
};

int pid_set_init(struct pid_set *s, size_t capacity);
void pid_set_done(struct pid_set *s);
struct pid_rule *pid_set_find(const struct pid_set *s, uint32_t pid);
/* 1: added; 0: that process is already there; -ENOSPC: full. A rule for the
 * same pid with another start time is a dead process's: it is replaced (1). */
int pid_set_add(struct pid_set *s, uint32_t pid, uint64_t start_time);
bool pid_set_remove(struct pid_set *s, uint32_t pid);
void pid_set_clear(struct pid_set *s);
/* Fill up to max entries from index offset; returns how many. */
size_t pid_set_page(const struct pid_set *s, size_t offset, struct kprotect_pid_entry *out, size_t max);

struct exec_rule {
	uint64_t dev;
	uint64_t ino;
	char *path;
};

/* In the order the rules were made. */
struct exec_set {
	struct exec_rule *rules;
	size_t count;
	size_t capacity;
};

int exec_set_init(struct exec_set *s, size_t capacity);
void exec_set_done(struct exec_set *s);
struct exec_rule *exec_set_find(const struct exec_set *s, uint64_t dev, uint64_t ino);
/* The rule made under path: for a denied file that no longer exists there. */
struct exec_rule *exec_set_find_path(const struct exec_set *s, const char *path);
/* 1: added; 0: already denied; -ENOSPC: full; -ENOMEM. */
int exec_set_add(struct exec_set *s, uint64_t dev, uint64_t ino, const char *path);
bool exec_set_remove(struct exec_set *s, uint64_t dev, uint64_t ino);
size_t exec_set_page(const struct exec_set *s, size_t offset, struct kprotect_exec_entry *out, size_t max);

/* How many of total items a page of max items starting at offset holds. */
size_t page_count(size_t total, size_t offset, size_t max);

/* The state file's payload: both sets. decode() adds to empty sets, at most
 * their capacity (rules beyond it are dropped, *ret_dropped says how many);
 * -EBADMSG when the payload is malformed (the sets are then left empty). */
int rules_encode(const struct pid_set *pids, const struct exec_set *execs, void **ret, size_t *ret_size);
int rules_decode(const void *data, size_t size, struct pid_set *pids, struct exec_set *execs,
		 size_t *ret_dropped);
