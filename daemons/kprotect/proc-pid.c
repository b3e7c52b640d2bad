/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "proc-pid.h"

int proc_stat_parse(const char *text, char *ret_state, uint64_t *ret_start_time)
{
	/* The command name (field 2) may hold spaces and parentheses: the
	 * fields after it start behind its last ')'. */
	const char *p = strrchr(text, ')');
	unsigned long long start_time;
	char state;

	if (!p)
		return -EBADMSG;
	/* state (3), then fields 4..21 skipped, then starttime (22). */
	if (sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
		   &state, &start_time) != 2)
		return -EBADMSG;
	*ret_state = state;
	*ret_start_time = start_time;
	return 0;
}

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
	r = proc_stat_parse(buf, &state, ret);
	if (r < 0)
		return r;
	/* Dead, waiting to be reaped: nothing left to protect. */
	return state == 'Z' || state == 'X' ? -ESRCH : 0;
}

int proc_pid_is_process(uint32_t pid)
{
	char buf[4096];
	const char *tgid;
	int r;

	if (pid == 0 || pid > INT32_MAX)
		return -ESRCH;
	r = proc_pid_read(pid, "status", buf, sizeof(buf));
	if (r < 0)
		return r;
	tgid = strstr(buf, "\nTgid:");
	if (!tgid)
		return -EBADMSG;
	return strtoul(tgid + strlen("\nTgid:"), NULL, 10) == pid;
}
