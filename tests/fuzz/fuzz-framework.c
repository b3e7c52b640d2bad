/* SPDX-License-Identifier: MIT */
/*
 * The framework alone, through a probe device that uses every contract a
 * device can: reads that park until data comes (answered from the
 * framework's buffer or from the device's own memory), writes that park
 * while the probe is full (a queue whose waiters block the ones behind them,
 * with a left callback), an ioctl that parks until a count is reached,
 * delivery callbacks that undo what an undelivered answer took, and poll.
 *
 * Its own invariant: bytes are conserved. Every byte accepted by a write is
 * in the probe, or was delivered to a reader; an answer that did not reach
 * its caller gives its bytes back.
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>

#include "fuzz-driver.h"

#define PROBE_CAPACITY 64
#define PROBE_IOC_WAIT _IOW('P', 1, uint32_t)      /* until the probe holds that many bytes */
#define PROBE_IOC_LEVEL _IOR('P', 2, uint32_t)
#define PROBE_IOC_DRAIN _IO('P', 3)                 /* empty it */
#define PROBE_IOC_ECHO _IOWR('P', 4, uint64_t[4])

struct probe {
	unsigned char data[PROBE_CAPACITY];
	size_t level;
	uint64_t accepted, delivered, drained;
	size_t taken;                   /* what the last read answer took */
	struct cusekit_waitq readers, writers, waiters;
	struct cusekit_device *device;
};

static struct probe *probe_of(struct cusekit_client *c) { return cusekit_client_userdata(c); }

static void probe_check(const struct probe *p)
{
	assert(p->level <= PROBE_CAPACITY);
	assert(p->accepted == p->delivered + p->drained + p->level);
}

static void probe_changed(struct probe *p);

/* A read takes its bytes now and gives them back if undelivered. Odd
 * sizes are answered from the probe's own memory. */
static ssize_t probe_take(struct probe *p, struct cusekit_request *req, size_t size)
{
	size_t n = MIN(size, p->level);
	void *buf;

	if (p->level == 0)
		return -EAGAIN;
	if (size % 2) {
		cusekit_request_answer_from(req, p->data);
	} else {
		buf = cusekit_request_buffer(req);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, p->data, n);
	}
	p->taken = n;
	return (ssize_t)n;
}

static ssize_t reader_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	return probe_take(q->userdata, req, cusekit_request_size(req));
}

static ssize_t probe_read(struct cusekit_client *c, struct cusekit_request *req, size_t size)
{
	return cusekit_answer_or_park(&probe_of(c)->readers, req);
}

static void probe_read_done(struct cusekit_client *c, size_t bytes, bool delivered)
{
	struct probe *p = probe_of(c);

	assert(bytes == p->taken);
	if (delivered) {
		memmove(p->data, p->data + bytes, p->level - bytes);
		p->level -= bytes;
		p->delivered += bytes;
		probe_changed(p);
	}
	probe_check(p);
}

/* All or nothing: a write waits until all of it fits. */
static ssize_t probe_put(struct probe *p, const void *buf, size_t size)
{
	if (size > PROBE_CAPACITY - p->level)
		return -EAGAIN;
	memcpy(p->data + p->level, buf, size);
	p->level += size;
	p->accepted += size;
	return (ssize_t)size;
}

static ssize_t writer_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	return probe_put(q->userdata, cusekit_request_data(req), cusekit_request_size(req));
}

static void writer_left(struct cusekit_waitq *q) { probe_changed(q->userdata); }

static ssize_t probe_write(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size)
{
	struct probe *p = probe_of(c);
	ssize_t r;

	if (size > PROBE_CAPACITY)
		return -EFBIG;
	r = cusekit_answer_or_park(&p->writers, req);
	if (r > 0)
		probe_changed(p);
	return r;
}

/* An undelivered write's bytes stay: the caller saw an error, but the
 * device keeps what it took (as a pipe would after a signal). */
static void probe_write_done(struct cusekit_client *c, size_t bytes, bool delivered) { probe_check(probe_of(c)); }

static ssize_t waiter_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	struct probe *p = q->userdata;

	return p->level >= cusekit_request_tag(req) ? (ssize_t)p->level : -EAGAIN;
}

static int probe_wait(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct probe *p = probe_of(c);
	uint32_t want;

	memcpy(&want, in, sizeof(want));
	if (want > PROBE_CAPACITY)
		return -EINVAL;
	if (p->level >= want)
		return (int)p->level;
	cusekit_request_set_tag(req, want);
	return cusekit_park(&p->waiters, req);
}

static int probe_level(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	uint32_t level = (uint32_t)probe_of(c)->level;

	memcpy(out, &level, sizeof(level));
	return 0;
}

static int probe_drain(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct probe *p = probe_of(c);

	p->drained += p->level;
	p->level = 0;
	probe_changed(p);
	return 0;
}

static int probe_echo(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	memcpy(out, in, sizeof(uint64_t[4]));
	return 0;
}

static const unsigned probe_commands[] = { PROBE_IOC_WAIT, PROBE_IOC_LEVEL, PROBE_IOC_DRAIN, PROBE_IOC_ECHO, 0 };

static const struct cusekit_ioctl probe_ioctls[] = {
	{ PROBE_IOC_WAIT, probe_wait },
	{ PROBE_IOC_LEVEL, probe_level },
	{ PROBE_IOC_DRAIN, probe_drain },
	{ PROBE_IOC_ECHO, probe_echo },
	{}
};

/* Whoever waits may go on now. */
static void probe_changed(struct probe *p)
{
	cusekit_waitq_run(&p->writers);
	cusekit_waitq_run(&p->readers);
	cusekit_waitq_run(&p->waiters);
	cusekit_device_wake_all(p->device);
	probe_check(p);
}

static unsigned probe_poll(struct cusekit_client *c)
{
	struct probe *p = probe_of(c);

	return (p->level ? POLLIN : 0) | (p->level < PROBE_CAPACITY ? POLLOUT : 0);
}

static int probe_open(struct cusekit_client *c, struct cusekit_request *req)
{
	/* A device may refuse an open: nobody is refused. */
	return cusekit_request_caller(req)->uid == FUZZ_UID_NOBODY ? -EACCES : 0;
}

static const struct cusekit_waitq_ops reader_ops = { .try_answer = reader_try };
static const struct cusekit_waitq_ops writer_ops = { .try_answer = writer_try, .left = writer_left };
static const struct cusekit_waitq_ops waiter_ops = { .try_answer = waiter_try };

static void probe_init(void *userdata)
{
	struct probe *p = userdata;

	cusekit_waitq_init(&p->readers, &reader_ops, p);
	cusekit_waitq_init(&p->writers, &writer_ops, p);
	cusekit_waitq_init(&p->waiters, &waiter_ops, p);
}

static int probe_start(struct cusekit_device *d)
{
	((struct probe *)cusekit_device_userdata(d))->device = d;
	return 0;
}

static void probe_stop(struct cusekit_device *d)
{
	struct probe *p = cusekit_device_userdata(d);

	/* Every parked request was answered before stop. */
	assert(cusekit_waitq_empty(&p->readers) && cusekit_waitq_empty(&p->writers) &&
	       cusekit_waitq_empty(&p->waiters));
	probe_check(p);
}

static const struct cusekit_device_ops probe_device = {
	.name = "probe",
	.description = "The framework's contracts, fuzzed.",
	.node_mode = 0660,
	.node_group = "cusekit-sysmon",
	.size = sizeof(struct probe),
	.init = probe_init,
	.start = probe_start,
	.stop = probe_stop,
	.open = probe_open,
	.read = probe_read,
	.read_done = probe_read_done,
	.write = probe_write,
	.write_done = probe_write_done,
	.poll = probe_poll,
	.ioctls = probe_ioctls,
};

const struct fuzz_target fuzz_target = {
	.ops = &probe_device,
	.ioctls = probe_commands,
};
