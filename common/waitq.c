/* SPDX-License-Identifier: MIT */
/*
 * Wait queues: park a request, answer parked requests in order, and take
 * them out again when their caller is interrupted, their file is released
 * or the daemon stops.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device-private.h"
#include "log.h"

void cusekit_waitq_init(struct cusekit_waitq *q, const struct cusekit_waitq_ops *ops, void *userdata)
{
	assert(ops && ops->try_answer);
	*q = (struct cusekit_waitq){ .ops = ops, .userdata = userdata };
	list_init(&q->requests);
}

bool cusekit_waitq_empty(const struct cusekit_waitq *q) { return list_empty(&q->requests); }

int cusekit_park(struct cusekit_waitq *q, struct cusekit_request *req)
{
	size_t in = req->kind == REQUEST_READ ? 0 : req->size;
	struct cusekit_request *p;
	int r;

	assert(req->kind != REQUEST_OPEN && !req->parked_copy && !req->waitq);
	/* The request's data lives in the transport's buffer, which the next
	 * request overwrites: the parked request keeps a copy. */
	p = malloc(sizeof(*p) + in + req->out_size);
	if (!p)
		return -ENOMEM;
	*p = *req;
	if (in > 0)
		p->data = memcpy(p->payload, req->data, in);
	if (req->out_size > 0)
		p->out = memset(p->payload + in, 0, req->out_size);
	p->answer_from = NULL;

	r = req->device->backend->watch_interrupt(req->handle, p);
	if (r < 0) {
		free(p);
		return r;
	}
	p->waitq = q;
	list_add_tail(&q->requests, &p->waitq_link);
	list_add_tail(&req->client->parked, &p->client_link);
	req->device->requests_waiting++;
	req->parked_copy = p;
	return CUSEKIT_PARKED;
}

ssize_t cusekit_answer_or_park(struct cusekit_waitq *q, struct cusekit_request *req)
{
	if (cusekit_waitq_empty(q)) {
		ssize_t r = q->ops->try_answer(q, req);

		if (r != -EAGAIN)
			return r;
	}
	if (cusekit_request_nonblock(req))
		return -EAGAIN;
	return cusekit_park(q, req);
}

void request_unpark(struct cusekit_request *req)
{
	/* No need to unregister the interrupt callback: answering removes the
	 * request from libfuse's list, where an interrupt looks for it. */
	list_del(&req->waitq_link);
	list_del(&req->client_link);
	req->waitq = NULL;
	req->device->requests_waiting--;
}

unsigned cusekit_waitq_run(struct cusekit_waitq *q)
{
	unsigned answered = 0;

	while (!list_empty(&q->requests)) {
		struct cusekit_request *req = list_entry(q->requests.next, struct cusekit_request, waitq_link);
		ssize_t r = q->ops->try_answer(q, req);

		if (r == -EAGAIN)
			break;
		assert(r != CUSEKIT_PARKED);
		request_unpark(req);
		request_answer(req, r);
		free(req);
		answered++;
	}
	return answered;
}

/* Answer a parked request that its queue did not: the caller is gone or
 * interrupted, its file released, or the daemon stops. */
static void request_abandon(struct cusekit_request *req, int error, bool tell_queue)
{
	struct cusekit_waitq *q = req->waitq;

	request_unpark(req);
	req->device->backend->reply_err(req->handle, error);
	free(req);
	if (tell_queue && q->ops->left)
		q->ops->left(q);
}

void device_request_interrupted(struct cusekit_request *req)
{
	log_debug("Client %" PRIu64 ": request interrupted.", req->client->id);
	request_abandon(req, EINTR, true);
}

void client_abandon_parked(struct cusekit_client *c, int error, bool tell_queues)
{
	while (!list_empty(&c->parked))
		request_abandon(list_entry(c->parked.next, struct cusekit_request, client_link), error, tell_queues);
}
