/* SPDX-License-Identifier: MIT */
/*
 * The exec guard: a fanotify group (FAN_CLASS_CONTENT) with a
 * FAN_OPEN_EXEC_PERM mark on the inode of each denied file. Only executions
 * of marked files make events, so other executions and opens cost nothing.
 *
 * fapolicyd's lessons: each permission event is answered before any logging
 * or other I/O, the decision is an in-memory lookup, events of kprotectd
 * itself are allowed at once, and when the group closes (kprotectd exits or
 * dies) the kernel allows every pending and future execution (fail open).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

struct exec_guard;

/* Deny the execution of the file (dev, ino)? Must be fast: it runs while
 * the executing process waits. */
typedef bool (*exec_guard_decide_fn)(uint64_t dev, uint64_t ino, void *userdata);
/* Told after the answers went out. */
typedef void (*exec_guard_denied_fn)(pid_t pid, uint64_t dev, uint64_t ino, void *userdata);

/* -EOPNOTSUPP when the kernel has no fanotify permission events. */
int exec_guard_new(sd_event *e, exec_guard_decide_fn decide, exec_guard_denied_fn denied, void *userdata,
		   struct exec_guard **ret);
struct exec_guard *exec_guard_free(struct exec_guard *g);

/* Mark or unmark the inode of the open file fd. */
int exec_guard_mark(struct exec_guard *g, int fd);
int exec_guard_unmark(struct exec_guard *g, int fd);
