/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "procfs.h"
#include "thread.h"

static int read_stat(int proc_fd, uint64_t *start_time, char comm[16])
{
	char buf[1024];

	if (proc_read(proc_fd, "stat", buf, sizeof(buf)) < 0)
		return -ESRCH;
	return proc_stat_parse(buf, comm, NULL, start_time) < 0 ? -EIO : 0;
}

static int read_status(int proc_fd, struct thread_info *info)
{
	unsigned tgid, uids[3];
	char buf[4096];

	if (proc_read(proc_fd, "status", buf, sizeof(buf)) < 0)
		return -ESRCH;
	if (proc_status_parse(buf, "Tgid:", &tgid, 1) != 1 || proc_status_parse(buf, "Uid:", uids, 3) != 3)
		return -EIO;
	info->pid = (pid_t)tgid;
	info->ruid = uids[0];
	info->suid = uids[2];
	return 0;
}

int thread_open(pid_t tid, struct thread *t, struct thread_info *info)
{
	_cleanup_close_ int fd = -1;
	char path[32];
	int r;

	if (tid <= 0)
		return -ESRCH;
	snprintf(path, sizeof(path), "/proc/%d", (int)tid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -ESRCH;
	r = read_stat(fd, &t->start_time, info ? info->comm : NULL);
	if (r < 0)
		return r;
	if (info) {
		r = read_status(fd, info);
		if (r < 0)
			return r;
	}
	t->tid = tid;
	t->proc_fd = TAKE_FD(fd);
	return 0;
}

void thread_close(struct thread *t)
{
	if (t->proc_fd >= 0)
		close(t->proc_fd);
	t->proc_fd = -1;
}

int thread_check(const struct thread *t)
{
	uint64_t start_time;

	if (read_stat(t->proc_fd, &start_time, NULL) < 0 || start_time != t->start_time)
		return -ESRCH;
	return 0;
}

bool thread_same(const struct thread *a, const struct thread *b)
{
	return a->tid == b->tid && a->start_time == b->start_time;
}

int thread_get_sched(pid_t tid, struct thread_sched *s)
{
	*s = (struct thread_sched){};
	if (tid <= 0)
		return -ESRCH;
	if (syscall(SYS_sched_getattr, tid, s, (unsigned)sizeof(*s), 0) < 0)
		return -errno;
	return 0;
}

int thread_set_sched(pid_t tid, const struct thread_sched *s)
{
	struct thread_sched attr = *s;

	attr.size = sizeof(attr);
	/* What sched_getattr reports beyond these (utilization clamps) needs a
	 * larger struct; this one leaves them as they are. */
	attr.sched_flags &= THREAD_SCHED_FLAGS_V0;
	if (syscall(SYS_sched_setattr, tid, &attr, 0) < 0)
		return -errno;
	return 0;
}

bool thread_sched_same(const struct thread_sched *a, const struct thread_sched *b)
{
	if (a->sched_policy != b->sched_policy)
		return false;
	/* The kernel reports only what the policy uses: nice for the normal
	 * policies, the priority for real-time, the parameters for deadline. */
	switch (a->sched_policy) {
	case SCHED_FIFO:
	case SCHED_RR:
		return a->sched_priority == b->sched_priority;
	case SCHED_DEADLINE:
		return a->sched_runtime == b->sched_runtime && a->sched_deadline == b->sched_deadline &&
		       a->sched_period == b->sched_period;
	default:
		return a->sched_nice == b->sched_nice;
	}
}
