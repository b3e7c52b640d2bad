/* SPDX-License-Identifier: MIT */
/*
 * KProtect's rule sets, pure logic (no kernel channels): the protected
 * processes (pid + start time), the file rules (denied executables and
 * protected programs: dev + ino + the path they were made under + where
 * they come from), paging for the LIST ioctls, and the state file's
 * encoding.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cusekit/kprotect.h>

#include "kprotect-event.h"
#include "state.h"

/* Capacities: the most rules of each kind. What the state file can hold
 * bounds them: every rule made through the device, at the longest path,
 * must fit the state loader's limit (16 MiB, common/state.c). */
#define KPROTECT_CAPACITY_DEFAULT 1024
#define KPROTECT_PID_CAPACITY_MAX 65536
#define KPROTECT_FILE_CAPACITY_MAX 1536
#define KPROTECT_STATE_LIMIT CUSEKIT_STATE_MAX_SIZE

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

/* A file, by identity: a hard link or a rename is the same file. */
struct file_rule {
	uint64_t dev;          /* st_dev, st_ino */
	uint64_t ino;
	char *path;            /* the name it was made under */
	char *origin;          /* "NAME:LINE" of a rules file; NULL: made through the device */
	struct lsm_file_key key;   /* the kernel's identity, where the BPF LSM enforces */
};

/* In the order the rules were made. */
struct file_set {
	struct file_rule *rules;
	size_t count;
	size_t capacity;
};

int file_set_init(struct file_set *s, size_t capacity);
void file_set_done(struct file_set *s);
struct file_rule *file_set_find(const struct file_set *s, uint64_t dev, uint64_t ino);
/* The rule made under path: for a file that no longer exists there. */
struct file_rule *file_set_find_path(const struct file_set *s, const char *path);
/* 1: added; 0: there already; -ENOSPC: full; -ENOMEM. origin may be NULL. */
int file_set_add(struct file_set *s, uint64_t dev, uint64_t ino, const char *path, const char *origin);
/* Give rule (of s) another origin (NULL: the device). */
int file_rule_set_origin(struct file_rule *rule, const char *origin);
bool file_set_remove(struct file_set *s, uint64_t dev, uint64_t ino);
size_t file_set_page(const struct file_set *s, size_t offset, struct kprotect_file_entry *out, size_t max);

/* How many of total items a page of max items starting at offset holds. */
size_t page_count(size_t total, size_t offset, size_t max);

#define RULES_MODE_UNSET UINT32_MAX

/* Everything kprotectd keeps across restarts. */
struct rules {
	struct pid_set pids;
	struct file_set execs;     /* denied executables */
	struct file_set exes;      /* protected programs */
	uint32_t mode;             /* set through the device (KPROTECT_MODE_*), or RULES_MODE_UNSET */
	uint32_t config_mode;      /* the configured mode when it was set */
};

int rules_init(struct rules *r, size_t pid_capacity, size_t exec_capacity, size_t exe_capacity);
void rules_done(struct rules *r);

/* The state file's payload: the pid rules, the file rules made through the
 * device (rules files are read again at start) and the mode. decode() adds
 * to empty sets, at most their capacity (rules beyond it are dropped,
 * *ret_dropped says how many); -EBADMSG when the payload is malformed (the
 * sets are then left empty). A payload of the first format (no protected
 * programs, no mode) decodes too. */
int rules_encode(const struct rules *r, void **ret, size_t *ret_size);
int rules_decode(const void *data, size_t size, struct rules *r, size_t *ret_dropped);
/* The largest payload rules at the given capacities can encode to. */
size_t rules_encoded_max(size_t pid_capacity, size_t exec_capacity, size_t exe_capacity);
