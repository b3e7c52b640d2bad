/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fake-backend.h"

static struct fake_request *fake_of(void *handle) { return handle; }

static void fake_caller(void *handle, struct cusekit_caller *ret) { *ret = fake_of(handle)->caller; }

static int fake_getgroups(void *handle, int size, gid_t list[])
{
	struct fake_request *rq = fake_of(handle);

	if (size > 0)
		memcpy(list, rq->groups, sizeof(gid_t) * (size_t)(size < rq->n_groups ? size : rq->n_groups));
	return rq->n_groups;
}

/* Record an answer; like the kernel, refuse it when the caller is gone. */
static int fake_answer(void *handle, enum fake_answer answer, int error, int result, const void *data,
		       size_t size)
{
	struct fake_request *rq = fake_of(handle);

	rq->parked = NULL;
	if (rq->gone)
		return -ENOENT;
	rq->answer = answer;
	rq->error = error;
	rq->result = result;
	rq->size = size;
	free(rq->data);
	rq->data = NULL;
	if (data && size > 0) {
		rq->data = malloc(size);
		if (!rq->data)
			abort();
		memcpy(rq->data, data, size);
	}
	return 0;
}

static int fake_reply_err(void *handle, int error) { return fake_answer(handle, FAKE_ERROR, error, 0, NULL, 0); }

static int fake_reply_data(void *handle, const void *data, size_t size)
{
	return fake_answer(handle, FAKE_DATA, 0, 0, data, size);
}

static int fake_reply_write(void *handle, size_t count)
{
	return fake_answer(handle, FAKE_WRITTEN, 0, 0, NULL, count);
}

static int fake_reply_ioctl(void *handle, int result, const void *out, size_t size)
{
	return fake_answer(handle, FAKE_IOCTL, 0, result, out, size);
}

static int fake_watch_interrupt(void *handle, struct cusekit_request *req)
{
	fake_of(handle)->parked = req;
	return 0;
}

static void fake_poll_notify(void *ph) { ((struct fake_poller *)ph)->notified++; }
static void fake_poll_destroy(void *ph) {}

static const struct cusekit_backend fake_backend = {
	.caller = fake_caller,
	.getgroups = fake_getgroups,
	.reply_err = fake_reply_err,
	.reply_data = fake_reply_data,
	.reply_write = fake_reply_write,
	.reply_ioctl = fake_reply_ioctl,
	.watch_interrupt = fake_watch_interrupt,
	.poll_notify = fake_poll_notify,
	.poll_destroy = fake_poll_destroy,
};

int fake_device_start(const struct cusekit_device_ops *ops, int argc, char *argv[], struct cusekit_device **ret)
{
	struct cusekit_device *d;
	int r;

	r = device_new(ops, &d);
	if (r < 0)
		return r;
	d->backend = &fake_backend;
	r = cusekit_parse_args(argc, argv, ops, d->userdata, &d->settings);
	if (r == 0)
		r = sd_event_new(&d->event);
	if (r >= 0)
		r = device_start(d);
	if (r != 0) {
		device_free(d);
		return r < 0 ? r : -EINVAL;
	}
	/* As if the kernel had made the node: the device serves and, at the
	 * end, stops and saves as a daemon does. */
	d->ready = true;
	*ret = d;
	return 0;
}

void fake_request_init(struct fake_request *rq, pid_t pid, uid_t uid, gid_t gid)
{
	*rq = (struct fake_request){ .caller = { .pid = pid, .uid = uid, .gid = gid } };
}

void fake_request_done(struct fake_request *rq)
{
	free(rq->data);
	rq->data = NULL;
}

void fake_interrupt(struct fake_request *rq)
{
	if (rq->parked)
		device_request_interrupted(rq->parked);
}
