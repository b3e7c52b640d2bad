/* SPDX-License-Identifier: MIT */
/*
 * The fanotify exec guard, for kernels without the BPF LSM: a fanotify
 * group (FAN_CLASS_CONTENT) with FAN_OPEN_EXEC_PERM and FAN_OPEN_PERM marks
 * on the inode of each denied file. Only opens of marked files make events,
 * so other executions and opens cost nothing.
 *
 * An exec open of a denied file (execve, execveat, a #! script or the
 * interpreter it names) is refused. Any other open of it is refused when it
 * is made by the dynamic loader's code (opener.h): the loader run by hand,
 * dlopen(), a program's libraries; other programs may read it. What opens
 * the file itself and maps it (a loader of its own) is not seen: fanotify
 * has no event for mmap.
 *
 * fapolicyd's lessons: each permission event is answered before any logging
 * or other I/O, the decision is an in-memory lookup (plus, for non-exec
 * opens of denied files only, a look at the opener in /proc), events of
 * kprotectd itself are allowed at once, and when the group closes
 * (kprotectd exits or dies) the kernel allows every pending and future open
 * (fail open).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

struct exec_guard;

enum exec_guard_refusal {
	EXEC_GUARD_EXEC,          /* an exec open */
	EXEC_GUARD_LOADER_OPEN,   /* an open by the dynamic loader */
};

/* Is the file (dev, ino) denied? Must be fast: it runs while the opening
 * process waits. */
typedef bool (*exec_guard_decide_fn)(uint64_t dev, uint64_t ino, void *userdata);
/* Told after the answers went out; enforced false: permissive, allowed. */
typedef void (*exec_guard_denied_fn)(pid_t tid, uint64_t dev, uint64_t ino, enum exec_guard_refusal kind,
				     bool enforced, void *userdata);

/* -EOPNOTSUPP when the kernel has no fanotify permission events. */
int exec_guard_new(sd_event *e, exec_guard_decide_fn decide, exec_guard_denied_fn denied, void *userdata,
		   struct exec_guard **ret);
struct exec_guard *exec_guard_free(struct exec_guard *g);

/* false: permissive, allow everything, report all the same. */
void exec_guard_set_enforcing(struct exec_guard *g, bool enforcing);

/* Mark or unmark the inode of the file fd (O_PATH is enough: kprotectd
 * never opens a marked file for real, since its own open would wait for its
 * own answer). A mark whose file is no longer denied is removed at its first
 * event, or before kprotectd opens that file itself. Unmarking a file with
 * no mark succeeds. */
int exec_guard_mark(struct exec_guard *g, int fd);
int exec_guard_unmark(struct exec_guard *g, int fd);
