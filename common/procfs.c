/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "procfs.h"

ssize_t proc_read(int dir_fd, const char *path, char *buf, size_t size)
{
	_cleanup_close_ int fd = openat(dir_fd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t n;

	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	n = read(fd, buf, size - 1);
	if (n < 0)
		return errno == ESRCH ? -ESRCH : negative_errno();
	buf[n] = '\0';
	return n;
}

int proc_read_all(pid_t pid, const char *name, size_t max, char **ret, size_t *ret_size)
{
	_cleanup_free_ char *buf = NULL;
	_cleanup_close_ int fd = -1;
	size_t size = 0, allocated = 0;
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : negative_errno();
	do {
		if (allocated - size < 4096) {
			char *p;

			if (allocated >= max)
				return -EFBIG;
			allocated = allocated ? allocated * 2 : 16384;
			p = realloc(buf, allocated + 1);
			if (!p)
				return -ENOMEM;
			buf = p;
		}
		n = read(fd, buf + size, allocated - size);
		if (n < 0)
			return errno == ESRCH ? -ESRCH : negative_errno();
		size += (size_t)n;
		if (size > max)
			return -EFBIG;
	} while (n > 0);
	buf[size] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_size = size;
	return 0;
}

int proc_stat_parse(const char *text, char comm[16], char *ret_state, uint64_t *ret_start_time)
{
	/* The command name (field 2) may hold spaces and parentheses: it runs
	 * from the first '(' to the last ')', and the fields follow. */
	const char *open_paren = strchr(text, '('), *close_paren = strrchr(text, ')');
	unsigned long long start_time;
	char state;

	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EBADMSG;
	/* state (3), then fields 4..21 skipped, then starttime (22). */
	if (sscanf(close_paren + 1,
		   " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
		   &start_time) != 2)
		return -EBADMSG;
	if (comm)
		snprintf(comm, 16, "%.*s", (int)(close_paren - open_paren - 1), open_paren + 1);
	if (ret_state)
		*ret_state = state;
	*ret_start_time = start_time;
	return 0;
}

int proc_status_parse(const char *text, const char *name, unsigned values[], int n)
{
	size_t len = strlen(name);

	for (const char *p = text; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		int found = 0, used;

		if (strncmp(p, name, len))
			continue;
		p += len;
		while (found < n && sscanf(p, "%u%n", &values[found], &used) == 1) {
			found++;
			p += used;
		}
		return found > 0 ? found : -ESRCH;
	}
	return -ESRCH;
}

int proc_status_field(pid_t pid, const char *name, unsigned *ret)
{
	char path[64], buf[4096];
	ssize_t n;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	n = proc_read(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return -ESRCH;
	r = proc_status_parse(buf, name, ret, 1);
	return r < 0 ? r : 0;
}

int proc_pid_start_time(uint32_t pid, uint64_t *ret)
{
	char path[64], buf[1024], state;
	ssize_t n;
	int r;

	if (pid == 0 || pid > INT32_MAX)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/stat", pid);
	n = proc_read(AT_FDCWD, path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	r = proc_stat_parse(buf, NULL, &state, ret);
	if (r < 0)
		return r;
	/* Dead, waiting to be reaped: nothing left of it. */
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

int proc_tgid(pid_t tid, pid_t *ret)
{
	unsigned tgid;
	int r = proc_status_field(tid, "Tgid:", &tgid);

	if (r < 0)
		return r;
	*ret = (pid_t)tgid;
	return 0;
}

ssize_t proc_read_link(const char *path, char *buf, size_t size)
{
	ssize_t n = readlink(path, buf, size - 1);

	if (n < 0) {
		buf[0] = '\0';
		return negative_errno();
	}
	buf[n] = '\0';
	return n;
}
