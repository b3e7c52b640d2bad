/* SPDX-License-Identifier: MIT */
/*
 * Who opens a denied file, for the fanotify exec guard: is the open a
 * thread is blocked in made by the dynamic loader's own code? That is how
 * the loader run by hand (ld.so FILE), dlopen() and the loading of a
 * program's libraries open what they then map executable; other code that
 * opens a file (cat, cp, a backup) does not run in the loader.
 *
 * The loader of a process is the object at AT_BASE in its auxiliary vector;
 * a process without one (AT_BASE 0: the loader run by hand, or a static
 * program) is its own loader, the object at AT_ENTRY. The code that opens
 * is the mapping holding the thread's user instruction pointer at the
 * system call (/proc/<tid>/syscall). Reading these needs what ptrace(2)
 * attach needs (CAP_SYS_PTRACE).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 1: the loader opens; 0: other code; -errno: cannot tell (gone, refused,
 * or still running after 100 ms: -EBUSY). */
int opener_is_loader(pid_t tid);

/* The parts, pure. */

/* The user instruction pointer in /proc/<tid>/syscall's text (its last
 * field); -EBUSY when the thread is not in a system call. */
int syscall_text_pc(const char *text, uint64_t *ret);

/* A mapped file: the device as maps shows it and the inode. */
struct mapped_file {
	unsigned major;
	unsigned minor;
	uint64_t ino;
};

/* The file mapped at addr, from /proc/<pid>/maps's text; -ENOENT when no
 * mapping holds addr or it maps no file. */
int maps_text_find(const char *text, uint64_t addr, struct mapped_file *ret);

/* The value of type in an auxiliary vector (/proc/<pid>/auxv); 0 if absent. */
uint64_t auxv_value(const void *auxv, size_t size, uint64_t type);
