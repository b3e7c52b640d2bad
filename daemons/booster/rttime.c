/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "rttime.h"

static int parse_limit(const char *text, rlim_t *ret)
{
	unsigned long long v;
	char *end;

	if (!strcmp(text, "unlimited")) {
		*ret = RLIM_INFINITY;
		return 0;
	}
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || end == text || *end)
		return -EBADMSG;
	*ret = (rlim_t)v;
	return 0;
}

struct rlimit rttime_bounded(struct rlimit now, rlim_t bound_usec)
{
	/* RLIM_INFINITY is the largest rlim_t: MIN handles it. */
	return (struct rlimit){ .rlim_cur = MIN(now.rlim_cur, bound_usec), .rlim_max = MIN(now.rlim_max, bound_usec) };
}

int rttime_parse_limits(const char *text, struct rlimit *ret)
{
	const char *line = strstr(text, "\nMax realtime timeout ");
	char soft[32], hard[32];

	if (!line || sscanf(line, "\nMax realtime timeout %31s %31s", soft, hard) != 2)
		return -EBADMSG;
	if (parse_limit(soft, &ret->rlim_cur) < 0 || parse_limit(hard, &ret->rlim_max) < 0)
		return -EBADMSG;
	return 0;
}

/* Reading another user's limits through prlimit(2) takes CAP_SYS_RESOURCE
 * too; /proc/<pid>/limits shows them to anyone. */
static int read_limits(pid_t pid, struct rlimit *ret)
{
	char path[64], buf[4096];
	_cleanup_close_ int fd = -1;
	ssize_t n;

	if (prlimit(pid, RLIMIT_RTTIME, NULL, ret) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -ESRCH;
	buf[n] = '\0';
	return rttime_parse_limits(buf, ret);
}

int rttime_apply(pid_t pid, rlim_t bound_usec, struct rlimit *ret)
{
	struct rlimit now, bounded;
	int r;

	r = read_limits(pid, &now);
	if (r < 0)
		return r;
	bounded = rttime_bounded(now, bound_usec);
	/* Changing another user's process's limits takes CAP_SYS_RESOURCE
	 * (prlimit(2)); without it a process that bounded itself (as rtkit
	 * demands of its clients) still passes, and any other is refused. */
	if ((bounded.rlim_cur != now.rlim_cur || bounded.rlim_max != now.rlim_max) &&
	    prlimit(pid, RLIMIT_RTTIME, &bounded, NULL) < 0)
		return -errno;
	if (ret)
		*ret = bounded;
	return 0;
}
