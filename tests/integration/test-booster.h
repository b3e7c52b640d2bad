/* SPDX-License-Identifier: MIT */
/* What Booster's integration tests share: calls through the device, a child
 * that runs as another user, and the daemon's log. */
#pragma once

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cusekit/booster.h>

#include "harness.h"

#define NOBODY 65534

/* BOOSTER_IOC_SET: 0 or -errno. */
static inline int set_thread(int fd, pid_t tid, uint32_t policy, int nice, uint32_t rt, uint32_t flags)
{
	struct booster_request r = {
		.tid = (__u32)tid, .policy = policy, .nice = nice, .rt_priority = rt, .flags = flags,
	};

	return ioctl(fd, BOOSTER_IOC_SET, &r) < 0 ? -errno : 0;
}

/* write() of a book record: the byte count, or -errno. */
static inline ssize_t book_write(int fd, pid_t tid, int32_t priority)
{
	struct booster_thread_data data = { .thread_id = (__u32)tid, .priority = priority };
	ssize_t n = write(fd, &data, sizeof(data));

	return n < 0 ? -errno : n;
}

/* Children running as another uid report failures by exit status and say
 * why on stderr (the test's log). */
#define CHILD_CHECK(cond)                                                                   \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "%s:%d: child check failed: %s (errno %s)\n", __FILE__, \
				__LINE__, #cond, strerror(errno));                           \
			_exit(100);                                                          \
		}                                                                            \
	} while (0)

static inline gid_t group_id(const char *name)
{
	struct group *g = getgrnam(name);

	ck_assert_msg(g, "group %s is missing (systemd/cusekit.sysusers)", name);
	return g->gr_gid;
}

/* Fork, become uid/gid 65534 with the supplementary groups given
 * (NULL-terminated names), run fn, return its exit status. */
static inline int run_as_nobody(const char *const groups[], int (*fn)(void *), void *arg)
{
	gid_t gids[8];
	size_t n = 0;
	int status;
	pid_t pid;

	for (; groups && groups[n]; n++)
		gids[n] = group_id(groups[n]);
	pid = fork_as(NOBODY, NOBODY, gids, n);
	if (pid == 0)
		_exit(fn(arg));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "child killed by signal %d", WTERMSIG(status));
	return WEXITSTATUS(status);
}

static inline bool daemon_log_contains(const struct daemon_proc *d, const char *needle)
{
	static char buf[1 << 20];
	ssize_t n;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, needle);
}
