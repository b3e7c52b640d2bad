/* SPDX-License-Identifier: MIT */
/*
 * The enforcer's inside, shared by its files: enforcer.c (rules in force,
 * guards, state), enforcer-files.c (rules files), enforcer-reports.c
 * (refusal reports). Nothing else includes this.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "enforcer.h"
#include "exec-guard.h"
#include "lsm.h"
#include "proc-connector.h"
#include "rules.h"

struct enforcer {
	struct enforcer_config config;
	struct rules rules;
	uint32_t mode;                  /* in force */
	struct lsm *lsm;
	bool kill_guard;                /* the BPF LSM's kill guard is attached and proven */
	bool exec_lsm;                  /* the BPF LSM's exec guard is */
	int kill_guard_error;           /* -errno: why not */
	int exec_lsm_error;
	struct exec_guard *fanotify;    /* the fanotify exec guard, where the LSM's is not */
	int fanotify_error;
	struct proc_connector *proc_connector;
	uint64_t fanotify_exec_denials;
	uint64_t fanotify_map_denials;
	unsigned rules_files;
	unsigned rules_errors;
	bool dirty;                     /* the state file is behind */
	char *state_path;
	int lock_fd;
};

struct file_set *enforcer_file_set(struct enforcer *e, enum enforcer_file_kind kind);
/* "deny-exec", "add-exe". */
const char *enforcer_kind_name(enum enforcer_file_kind kind);
/* Rules changed: save them now. */
void enforcer_changed(struct enforcer *e);

/* An O_PATH descriptor of path, a regular file (else EINVAL). */
int enforcer_open_path(const char *path, struct stat *ret_st);
/* May the file st be opened for real? Not when the fanotify guard marks it. */
bool enforcer_openable(struct enforcer *e, int path_fd, const struct stat *st);
/* Is the file of the O_PATH fd a #! script? */
bool enforcer_is_script(int path_fd);
/* 0 when a rule of kind can be enforced now, else -EOPNOTSUPP. */
int enforcer_guard_for(struct enforcer *e, enum enforcer_file_kind kind);
/* enforcer_add_file(), telling where the rule is in its set. */
int enforcer_add_file_at(struct enforcer *e, enum enforcer_file_kind kind, const char *path, const char *origin,
			 size_t *ret_index);
/* Take rule out of force; fd is the file (O_PATH), or -1 when it is gone. */
void enforcer_disarm(struct enforcer *e, enum enforcer_file_kind kind, struct file_rule *rule, int fd);

/* Reports (enforcer-reports.c): the guards' callbacks. */
void enforcer_lsm_event(const struct kprotect_event *ev, void *userdata);
bool enforcer_fanotify_denied(uint64_t dev, uint64_t ino, void *userdata);
void enforcer_fanotify_was_denied(pid_t tid, uint64_t dev, uint64_t ino, enum exec_guard_refusal kind, bool enforced,
				  void *userdata);
