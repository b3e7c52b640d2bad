/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "macro.h"
#include "proc-pid.h"
#include "proc-stat.h"

/* Read a small /proc file of pid; -ESRCH if the process is gone. */
static int proc_pid_read(uint32_t pid, const char *name, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/%s", pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	n = read(fd, buf, size - 1);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : negative_errno();
	buf[n] = '\0';
	return 0;
}

int proc_pid_start_time(uint32_t pid, uint64_t *ret)
{
	char buf[1024], state;
	int r;

	if (pid == 0 || pid > INT32_MAX)
		return -ESRCH;
	r = proc_pid_read(pid, "stat", buf, sizeof(buf));
	if (r < 0)
		return r;
	r = proc_stat_parse(buf, NULL, &state, ret);
	if (r < 0)
		return r;
	/* Dead, waiting to be reaped: nothing left to protect. */
	return state == 'Z' || state == 'X' ? -ESRCH : 0;
}

int proc_pid_is_process(uint32_t pid)
{
	unsigned tgid;
	int r;

	if (pid == 0 || pid > INT32_MAX)
		return -ESRCH;
	r = proc_status_field((pid_t)pid, "Tgid:", &tgid);
	return r < 0 ? r : tgid == pid;
}
