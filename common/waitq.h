/* SPDX-License-Identifier: MIT */
/*
 * Wait queues: requests parked to be answered later, the inverted call.
 *
 * A handler that cannot answer yet returns cusekit_park(q, req). Parked
 * requests are answered in order: cusekit_waitq_run(q) asks q's try function
 * for the oldest one's result and answers it, and goes on while it gets one;
 * -EAGAIN leaves that request, and every one behind it, parked. Call it
 * whenever what the queue waits for may have come.
 *
 * A parked request can always be interrupted (a signal, pthread_cancel, the
 * caller's death): the framework then answers EINTR. When its file is
 * released it is answered EINTR too, and when the daemon stops, ENODEV.
 * Either way it leaves the queue and q's left function runs, so a queue
 * that blocks the ones behind it (a writer waiting for room) lets them on.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "list.h"

struct cusekit_request;
struct cusekit_waitq;

struct cusekit_waitq_ops {
	/* The result for the parked request now (see device.h; a read fills
	 * cusekit_request_buffer() or answers from its own memory), or -EAGAIN
	 * to wait on. */
	ssize_t (*try_answer)(struct cusekit_waitq *q, struct cusekit_request *req);
	/* Optional: a request left q unanswered by try_answer. */
	void (*left)(struct cusekit_waitq *q);
};

struct cusekit_waitq {
	const struct cusekit_waitq_ops *ops;
	void *userdata;
	struct list_node requests;    /* oldest first */
};

void cusekit_waitq_init(struct cusekit_waitq *q, const struct cusekit_waitq_ops *ops, void *userdata);
/* Park req at the end of q: returns CUSEKIT_PARKED, or -EINTR when the
 * caller was interrupted already, or -ENOMEM. Return it from the handler. */
int cusekit_park(struct cusekit_waitq *q, struct cusekit_request *req);
/* A request in its turn: answered now by q's try_answer when none waits
 * ahead of it in q (nobody overtakes a waiting caller); otherwise -EAGAIN
 * to a nonblocking caller, or parked. Return it from the handler. */
ssize_t cusekit_answer_or_park(struct cusekit_waitq *q, struct cusekit_request *req);
/* Answer parked requests in order while try_answer has a result for them.
 * Returns how many were answered. */
unsigned cusekit_waitq_run(struct cusekit_waitq *q);
bool cusekit_waitq_empty(const struct cusekit_waitq *q);
