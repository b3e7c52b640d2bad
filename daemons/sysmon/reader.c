/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "procfs.h"
#include "reader.h"
#include "source.h"

#define SYSMON_READERS_PER_USER 16                 /* unprivileged readers per uid */
#define SYSMON_SPLIT_READ_MIN (64u << 10)          /* below every transport's request size */

static struct reader *reader_of(struct cusekit_client *c) { return c->private; }

static const struct reader_config *config_of(struct cusekit_client *c)
{
	return cusekit_client_userdata(c);
}

/* Fills the request's buffer from the queue: its result. */
static ssize_t reader_fill(struct reader *rd, struct cusekit_request *req)
{
	size_t size = cusekit_request_size(req);
	int r;

	r = sm_queue_fill(&rd->queue, cusekit_request_buffer(req), size, sm_clock_ns(CLOCK_REALTIME), &rd->fill);
	if (r < 0)
		return r;
	/* The kernel splits a read() larger than the transport's request size
	 * (128 KiB and up) and asks for the rest after a reply that fills a
	 * request exactly; that request would block. Keep such replies short. */
	if (size >= SYSMON_SPLIT_READ_MIN && rd->fill.bytes == size && rd->fill.records + rd->fill.lost > 1)
		sm_fill_drop_last(&rd->queue, &rd->fill);
	return (ssize_t)rd->fill.bytes;
}

static ssize_t try_answer(struct cusekit_waitq *q, struct cusekit_request *req)
{
	return reader_fill(q->userdata, req);
}

static const struct cusekit_waitq_ops reads_ops = { .try_answer = try_answer };

ssize_t reader_read(struct cusekit_client *c, struct cusekit_request *req, size_t size)
{
	/* Interrupted while parked: the framework answers EINTR; the records
	 * stay queued. */
	return cusekit_answer_or_park(&reader_of(c)->reads, req);
}

void reader_read_done(struct cusekit_client *c, size_t bytes, bool delivered)
{
	struct reader *rd = reader_of(c);

	/* Dequeue only what reached the reader. */
	if (delivered)
		sm_queue_consume(&rd->queue, &rd->fill);
	rd->fill = (struct sm_fill){};
}

unsigned reader_poll(struct cusekit_client *c)
{
	return sm_queue_ready(&reader_of(c)->queue) ? POLLIN | POLLRDNORM : 0;
}

static void reader_signal(struct reader *rd)
{
	uint64_t one = 1;
	struct pollfd pfd = { .fd = rd->eventfd, .events = POLLOUT };

	/* An eventfd write blocks only when the counter is at its maximum:
	 * never block the loop on a reader that does not read its eventfd. */
	if (rd->eventfd < 0 || poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT))
		return;
	if (write(rd->eventfd, &one, sizeof(one)) < 0)
		log_debug_errno(negative_errno(), "Failed to signal an eventfd: %m");
}

/* After records or losses were queued to a reader. */
static void reader_queued(struct cusekit_client *c, bool was_ready)
{
	struct reader *rd = reader_of(c);

	cusekit_waitq_run(&rd->reads);
	if (!was_ready && sm_queue_ready(&rd->queue))
		reader_signal(rd);
	cusekit_client_wake(c);
}

static bool reader_may_see(const struct reader *rd, const struct sm_record *r)
{
	return rd->see_all || r->uid == rd->uid;
}

static void deliver_one(struct cusekit_client *c, void *arg)
{
	struct sm_record *r = arg;
	struct reader *rd = reader_of(c);
	bool was_ready;

	if (!rd || !reader_may_see(rd, r) || !sm_filter_match(&rd->filter, r))
		return;
	was_ready = sm_queue_ready(&rd->queue);
	sm_queue_push(&rd->queue, r);
	reader_queued(c, was_ready);
}

void readers_deliver(struct cusekit_device *d, struct sm_record *r)
{
	cusekit_device_foreach_client(d, deliver_one, r);
}

static void overrun_one(struct cusekit_client *c, void *arg)
{
	struct reader *rd = reader_of(c);
	uint64_t n = *(uint64_t *)arg;
	bool was_ready;

	if (!rd)
		return;
	was_ready = sm_queue_ready(&rd->queue);
	while (n--)
		sm_queue_overrun(&rd->queue);
	reader_queued(c, was_ready);
}

void readers_overrun(struct cusekit_device *d, uint64_t n)
{
	cusekit_device_foreach_client(d, overrun_one, &n);
}

struct count_uid {
	uid_t uid;
	unsigned n;
};

static void count_unprivileged(struct cusekit_client *c, void *arg)
{
	struct count_uid *count = arg;
	struct reader *rd = reader_of(c);

	if (rd && !rd->see_all && rd->uid == count->uid)
		count->n++;
}

int reader_open(struct cusekit_client *c, struct cusekit_request *req)
{
	struct count_uid count = { .uid = c->opener.uid };
	struct reader *rd;
	int privileged;

	privileged = cusekit_request_privileged(req, cusekit_device_group(c->device));
	if (privileged < 0)
		return privileged;
	/* Queues cost memory: a user who sees only their own events gets a
	 * bounded number of them. */
	if (!privileged) {
		cusekit_device_foreach_client(c->device, count_unprivileged, &count);
		if (count.n >= SYSMON_READERS_PER_USER)
			return -EMFILE;
	}
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	sm_queue_init(&rd->queue, config_of(c)->queue_bytes);
	rd->filter = (struct sm_filter){ .type_mask = SYSMON_TYPES_ALL };
	rd->see_all = privileged;
	rd->uid = c->opener.uid;
	rd->eventfd = -1;
	cusekit_waitq_init(&rd->reads, &reads_ops, rd);
	c->private = rd;
	return 0;
}

void reader_release(struct cusekit_client *c)
{
	struct reader *rd = reader_of(c);

	sm_queue_done(&rd->queue);
	if (rd->eventfd >= 0)
		close(rd->eventfd);
	free(rd);
	c->private = NULL;
}

int reader_set_filter(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	const struct sysmon_filter *f = in;
	struct reader *rd = reader_of(c);

	if ((f->type_mask & ~SYSMON_TYPES_ALL) ||
	    (f->flags & ~(SYSMON_FILTER_PID | SYSMON_FILTER_UID | SYSMON_FILTER_NONZERO_EXIT)))
		return -EINVAL;
	rd->filter = (struct sm_filter){ f->type_mask, f->flags, f->pid, f->uid };
	sm_queue_filter(&rd->queue, &rd->filter);
	cusekit_client_wake(c);
	return 0;
}

int reader_get_stats(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	const struct sm_queue *q = &reader_of(c)->queue;
	struct sysmon_stats *s = out;

	*s = (struct sysmon_stats){
		.delivered = q->delivered,
		.dropped = q->dropped_total,
		.kernel_overruns = q->overruns_total,
		.queued = q->count,
		.queued_bytes = q->bytes,
		.queue_bytes = q->limit,
	};
	return 0;
}

static bool fd_is_eventfd(int fd)
{
	char link[64], target[64];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	return proc_read_link(link, target, sizeof(target)) > 0 && !strcmp(target, "anon_inode:[eventfd]");
}

/* Our own reference to fd in the caller's process. */
static int caller_fd(struct cusekit_request *req, int fd)
{
	_cleanup_close_ int pidfd = -1;
	_cleanup_close_ int copy = -1;
	pid_t pid;
	int r;

	r = proc_tgid(cusekit_request_caller(req)->pid, &pid);
	if (r < 0)
		return r;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return negative_errno();
	copy = pidfd_getfd(pidfd, fd, 0);
	if (copy < 0)
		return negative_errno();
	if (!fd_is_eventfd(copy))
		return -EINVAL;
	return TAKE_FD(copy);
}

int reader_set_eventfd(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	const struct sysmon_eventfd *e = in;
	struct reader *rd = reader_of(c);
	int fd = -1;

	if (e->reserved)
		return -EINVAL;
	if (e->fd >= 0) {
		fd = caller_fd(req, e->fd);
		if (fd < 0)
			return fd;
	} else if (e->fd != -1)
		return -EBADF;
	if (rd->eventfd >= 0)
		close(rd->eventfd);
	rd->eventfd = fd;
	if (sm_queue_ready(&rd->queue))
		reader_signal(rd);
	return 0;
}
