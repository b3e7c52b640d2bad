/* SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "proc-view.h"
#include "procfs.h"

static ssize_t read_link_at(int dir, const char *name, char *buf, size_t size)
{
	ssize_t n = readlinkat(dir, name, buf, size - 1);

	buf[MAX(n, (ssize_t)0)] = '\0';
	return n;
}

static void read_program(int dir, struct proc_view *v)
{
	_cleanup_close_ int fd = -1;
	ssize_t n;

	n = read_link_at(dir, "exe", v->image, sizeof(v->image));
	v->image_ok = n > 0;
	v->image_len = MAX(n, (ssize_t)0);
	n = read_link_at(dir, "cwd", v->cwd, sizeof(v->cwd));
	v->cwd_ok = n > 0;
	v->cwd_len = MAX(n, (ssize_t)0);
	fd = openat(dir, "cmdline", O_RDONLY | O_CLOEXEC);
	while (fd >= 0 && v->argv_len < sizeof(v->argv) &&
	       (n = read(fd, v->argv + v->argv_len, sizeof(v->argv) - v->argv_len)) > 0)
		v->argv_len += (size_t)n;
	v->argv_ok = fd >= 0 && v->argv_len > 0;   /* a live process has an argv[0] */
	v->argv_cut = v->argv_len > SYSMON_ARGV_MAX;
	v->argv_len = MIN(v->argv_len, (size_t)SYSMON_ARGV_MAX);
}

void proc_view_read(uint32_t pid, bool program, uint64_t ns_per_tick, struct proc_view *v)
{
	char path[64], stat[1024], status[4096], number[32];
	_cleanup_close_ int dir = -1;
	unsigned values[4];

	/* Not *v = (struct proc_view){}: the buffers are large. */
	memset(v, 0, offsetof(struct proc_view, image));
	v->image_len = v->cwd_len = v->argv_len = 0;
	v->image_ok = v->cwd_ok = v->argv_ok = v->argv_cut = false;
	v->loginuid = v->audit_session = UINT32_MAX;
	snprintf(path, sizeof(path), "/proc/%u", pid);
	dir = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return;
	/* The program first: stat waits for an exec in progress, and the
	 * program read after it would be the next one's. */
	if (program)
		read_program(dir, v);
	if (proc_read(dir, "stat", stat, sizeof(stat)) < 0 || proc_stat_parse(stat, NULL, NULL, &v->start_time) < 0 ||
	    proc_read(dir, "status", status, sizeof(status)) < 0)
		return;
	v->alive = true;
	v->start_time *= ns_per_tick;
	/* stat: pid (comm) state ppid pgrp session ... */
	sscanf(strrchr(stat, ')') + 2, "%*c %u %*u %u", &v->ppid, &v->sid);
	if (proc_status_parse(status, "Uid:", values, 4) >= 2)
		v->uid = values[0], v->euid = values[1];
	if (proc_status_parse(status, "Gid:", values, 4) >= 2)
		v->gid = values[0], v->egid = values[1];
	v->traced = proc_status_parse(status, "TracerPid:", values, 1) == 1 && values[0] != 0;
	if (proc_read(dir, "loginuid", number, sizeof(number)) > 0)
		v->loginuid = (uint32_t)strtoul(number, NULL, 10);
	if (proc_read(dir, "sessionid", number, sizeof(number)) > 0)
		v->audit_session = (uint32_t)strtoul(number, NULL, 10);
}
