/* SPDX-License-Identifier: MIT */
/*
 * What /proc says about a process now: the fields the proc connector does
 * not carry, read late for the proc source. Reading them may block: on
 * Linux 6.18 /proc/<pid>/stat waits for the process's exec_update_lock,
 * which an exec holds from switching the address space until the new
 * program is set up, across closing the close-on-exec files; reading
 * cmdline takes the process's mmap lock. So they are read on a thread of
 * their own (proc-reader.h), never on the device's event loop: a process
 * in the middle of an exec may be waiting for this very daemon (the
 * flush of its close-on-exec descriptor of our node, on the fuse
 * transport).
 */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cusekit/sysmon.h>

struct proc_view {
	bool alive;
	uint64_t start_time;   /* ns after boot, at clock-tick resolution */
	uint32_t ppid, sid;
	uint32_t uid, euid, gid, egid;
	uint32_t loginuid, audit_session;
	/* Traced (TracerPid): a tracer can hold the process stopped inside a
	 * later exec, its new program already in /proc, before the kernel
	 * reports that exec. */
	bool traced;
	/* With program: */
	char image[PATH_MAX], cwd[PATH_MAX];
	size_t image_len, cwd_len;
	bool image_ok, cwd_ok;
	char argv[SYSMON_ARGV_MAX + 1];
	size_t argv_len;
	bool argv_ok, argv_cut;
};

/* Fills v from /proc/<pid> (program: image, cwd and argv too). v->alive
 * is false when the process is gone. */
void proc_view_read(uint32_t pid, bool program, uint64_t ns_per_tick, struct proc_view *v);
