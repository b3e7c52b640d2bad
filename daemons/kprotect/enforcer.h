/* SPDX-License-Identifier: MIT */
/*
 * The enforcer: the one place that keeps KProtect's rules and what enforces
 * them consistent — the rule sets, the BPF maps, the fanotify marks, the
 * mode, and the state file (saved as soon as a rule made through the device
 * changes, or one is dropped). Device requests, rules files and kernel
 * events all change rules through it.
 *
 * Guards: the kill guard is the BPF LSM or nothing. The exec guard is the
 * BPF LSM where it is active, else fanotify (or what exec-guard= forces).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include <cusekit/kprotect.h>

struct enforcer;

enum enforcer_exec_guard {
	ENFORCER_EXEC_AUTO,        /* the BPF LSM, else fanotify */
	ENFORCER_EXEC_FANOTIFY,    /* fanotify even where the BPF LSM works */
};

struct enforcer_config {
	size_t pid_capacity;
	size_t exec_capacity;
	size_t exe_capacity;
	enum enforcer_exec_guard exec_guard;
	uint32_t mode;             /* the configured KPROTECT_MODE_* */
	const char *rules_dir;
	const char *state_dir;
};

/* What a file rule does. */
enum enforcer_file_kind {
	ENFORCER_DENY_EXEC,
	ENFORCER_PROTECT_EXE,
};

/* Take the state directory's lock, load the saved rules and the rules
 * files, start the guards and apply everything. */
int enforcer_new(sd_event *e, const struct enforcer_config *config, struct enforcer **ret);
struct enforcer *enforcer_free(struct enforcer *e);
/* Write the state file if rules changed since the last save. */
int enforcer_save(struct enforcer *e);

/* 1: protected now; 0: it was, or pid is no process (or a thread);
 * -ENOSPC: full; -EOPNOTSUPP: no kill guard. */
int enforcer_add_pid(struct enforcer *e, uint32_t pid);
/* 1: removed; 0: was not there. */
int enforcer_remove_pid(struct enforcer *e, uint32_t pid);
/* How many were removed. */
size_t enforcer_clear_pids(struct enforcer *e);
/* A page of the pid rules and their total. */
size_t enforcer_list_pids(struct enforcer *e, size_t offset, struct kprotect_pid_entry *out, size_t max,
			  size_t *ret_total);

/* Through the device (origin NULL) or a rules file ("NAME:LINE"). 1: made;
 * 0: the file was ruled so already; -errno: the path's error, EINVAL (not
 * a regular file; for PROTECT_EXE a #! script), ENOSPC, EOPNOTSUPP (no
 * guard to enforce it). */
int enforcer_add_file(struct enforcer *e, enum enforcer_file_kind kind, const char *path, const char *origin);
/* Through the device: 0, -ENOENT (no such rule), -EROFS (a rules file's). */
int enforcer_remove_file(struct enforcer *e, enum enforcer_file_kind kind, const char *path);
size_t enforcer_list_files(struct enforcer *e, enum enforcer_file_kind kind, size_t offset,
			   struct kprotect_file_entry *out, size_t max, size_t *ret_total);

int enforcer_set_mode(struct enforcer *e, uint32_t mode);
/* Read the rules files again: their rules are replaced, those made through
 * the device stay. Returns the number of bad lines. */
int enforcer_reload(struct enforcer *e);
/* Read path (NULL: the rules directory) as a reload would; apply nothing. */
void enforcer_check(struct enforcer *e, const char *path, struct kprotect_check *out);
void enforcer_status(struct enforcer *e, struct kprotect_status *out);
