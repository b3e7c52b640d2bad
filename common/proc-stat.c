/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "proc-stat.h"

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

int proc_status_field(pid_t pid, const char *name, unsigned *ret)
{
	char path[64], buf[4096];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(name);
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	for (const char *p = buf; p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, name, len) && sscanf(p + len, "%u", ret) == 1)
			return 0;
	return -ESRCH;
}
