/* SPDX-License-Identifier: MIT */
/*
 * Requests: what a handler may ask of one, and the one place that turns a
 * handler's result into the answer.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "device-private.h"
#include "log.h"

/* errno values stay below this (the kernel's MAX_ERRNO). */
#define ERRNO_MAX 4095

const struct cusekit_caller *cusekit_request_caller(const struct cusekit_request *req) { return &req->caller; }
struct cusekit_client *cusekit_request_client(const struct cusekit_request *req) { return req->client; }
bool cusekit_request_nonblock(const struct cusekit_request *req) { return req->nonblock; }
size_t cusekit_request_size(const struct cusekit_request *req) { return req->size; }
const void *cusekit_request_data(const struct cusekit_request *req) { return req->data; }
void cusekit_request_set_tag(struct cusekit_request *req, uint64_t tag) { req->tag = tag; }
uint64_t cusekit_request_tag(const struct cusekit_request *req) { return req->tag; }

void *cusekit_request_buffer(struct cusekit_request *req)
{
	struct cusekit_device *d = req->device;

	if (req->kind == REQUEST_IOCTL)
		return req->out;
	assert(req->kind == REQUEST_READ);
	/* One buffer serves every read: each is answered before the next
	 * handler runs. It grows to the largest read the transport sends. */
	if (d->read_buffer_size < req->size) {
		void *b = realloc(d->read_buffer, req->size);

		if (!b)
			return NULL;
		d->read_buffer = b;
		d->read_buffer_size = req->size;
	}
	return d->read_buffer;
}

void cusekit_request_answer_from(struct cusekit_request *req, const void *data)
{
	assert(req->kind == REQUEST_READ);
	req->answer_from = data;
}

int cusekit_request_privileged(struct cusekit_request *req, gid_t gid)
{
	const struct cusekit_backend *b = req->device->backend;
	_cleanup_free_ gid_t *groups = NULL;
	int n;

	if (req->caller.uid == 0)
		return 1;
	if (gid == CUSEKIT_NO_GROUP)
		return 0;
	if (req->caller.gid == gid)
		return 1;
	/* Supplementary groups come from /proc/<tid>/status of the caller:
	 * ask for the count, then for the list. */
	n = b->getgroups(req->handle, 0, NULL);
	if (n <= 0)
		return n;
	groups = calloc((size_t)n, sizeof(gid_t));
	if (!groups)
		return -ENOMEM;
	n = MIN(b->getgroups(req->handle, n, groups), n);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* A result no handler may give is a bug in the device: say so, fail the
 * request alone. */
static ssize_t result_checked(const struct cusekit_request *req, ssize_t r)
{
	size_t limit = req->kind == REQUEST_READ || req->kind == REQUEST_WRITE ? req->size : INT32_MAX;

	if (r >= 0 ? (size_t)r <= limit : r >= -ERRNO_MAX)
		return r;
	log_error("Bug: the %s handler of device %s returned %zd; answering EIO.",
		  req->kind == REQUEST_READ ? "read" : req->kind == REQUEST_WRITE ? "write" : "ioctl",
		  req->device->ops->name, r);
	return -EIO;
}

void request_answer(struct cusekit_request *req, ssize_t result)
{
	struct cusekit_device *d = req->device;
	const struct cusekit_device_ops *ops = d->ops;
	const struct cusekit_backend *b = d->backend;
	ssize_t r = result_checked(req, result);
	bool delivered;

	assert(result != CUSEKIT_PARKED);
	if (r < 0) {
		b->reply_err(req->handle, (int)-r);
		return;
	}
	switch (req->kind) {
	case REQUEST_READ:
		/* An answer to a caller interrupted meanwhile fails: those bytes
		 * were never read. */
		delivered = b->reply_data(req->handle, req->answer_from ?: d->read_buffer, (size_t)r) == 0;
		if (ops->read_done)
			ops->read_done(req->client, (size_t)r, delivered);
		break;
	case REQUEST_WRITE:
		delivered = b->reply_write(req->handle, (size_t)r) == 0;
		if (ops->write_done)
			ops->write_done(req->client, (size_t)r, delivered);
		break;
	case REQUEST_IOCTL:
		b->reply_ioctl(req->handle, (int)r, req->out, req->out_size);
		break;
	case REQUEST_OPEN:
		assert(!"opens are answered by the transport");
	}
}
