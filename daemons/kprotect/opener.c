/* SPDX-License-Identifier: MIT */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "opener.h"
#include "procfs.h"

/* maps of a big process run to a few hundred KiB. */
#define PROC_FILE_MAX (16u << 20)

int syscall_text_pc(const char *text, uint64_t *ret)
{
	const char *last;
	char *end;

	if (!strncmp(text, "running", 7) || !strncmp(text, "-1 ", 3))
		return -EBUSY;
	last = strrchr(text, ' ');
	if (!last || strncmp(last + 1, "0x", 2))
		return -EBADMSG;
	errno = 0;
	*ret = strtoull(last + 1, &end, 16);
	if (errno || (*end != '\n' && *end != '\0'))
		return -EBADMSG;
	return 0;
}

int maps_text_find(const char *text, uint64_t addr, struct mapped_file *ret)
{
	for (const char *line = text; *line; ) {
		const char *next = strchrnul(line, '\n');
		unsigned long long start, end, ino;
		unsigned major, minor;

		if (sscanf(line, "%llx-%llx %*s %*s %x:%x %llu", &start, &end, &major, &minor, &ino) == 5 &&
		    start <= addr && addr < end) {
			if (ino == 0)
				return -ENOENT;
			*ret = (struct mapped_file){ .major = major, .minor = minor, .ino = ino };
			return 0;
		}
		line = *next ? next + 1 : next;
	}
	return -ENOENT;
}

uint64_t auxv_value(const void *auxv, size_t size, uint64_t type)
{
	const Elf64_auxv_t *a = auxv;

	for (size_t i = 0; i < size / sizeof(*a) && a[i].a_type != AT_NULL; i++)
		if (a[i].a_type == type)
			return a[i].a_un.a_val;
	return 0;
}

static bool same_file(const struct mapped_file *a, const struct mapped_file *b)
{
	return a->major == b->major && a->minor == b->minor && a->ino == b->ino;
}

/* The pc of tid at its system call. The kernel shows it only once the
 * thread sleeps. The opener queued its permission event and waits for our
 * answer: it is on its way to sleep, however long the scheduler keeps it
 * from getting there, and nothing but our answer or its death ends that
 * wait. So look again until it sleeps (or is gone: -ESRCH), never for a
 * fixed time, which a loaded machine would turn into a wrong refusal. */
static int syscall_pc(pid_t tid, uint64_t *ret)
{
	int r;

	for (;;) {
		_cleanup_free_ char *text = NULL;
		size_t size;

		r = proc_read_all(tid, "syscall", PROC_FILE_MAX, &text, &size);
		if (r >= 0)
			r = syscall_text_pc(text, ret);
		if (r != -EBUSY)
			return r;
		usleep(50);
	}
}

int opener_is_loader(pid_t tid)
{
	_cleanup_free_ char *maps = NULL, *auxv = NULL;
	struct mapped_file code, loader;
	size_t size, auxv_size;
	uint64_t pc, base;
	int r;

	r = syscall_pc(tid, &pc);
	if (r >= 0)
		r = proc_read_all(tid, "auxv", PROC_FILE_MAX, &auxv, &auxv_size);
	if (r >= 0)
		r = proc_read_all(tid, "maps", PROC_FILE_MAX, &maps, &size);
	if (r < 0)
		return r;
	base = auxv_value(auxv, auxv_size, AT_BASE);
	if (base == 0)
		base = auxv_value(auxv, auxv_size, AT_ENTRY);
	r = maps_text_find(maps, base, &loader);
	if (r < 0)
		return r;
	if (maps_text_find(maps, pc, &code) < 0)
		return 0;
	return same_file(&code, &loader);
}
