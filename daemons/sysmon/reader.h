/* SPDX-License-Identifier: MIT */
/*
 * The readers: every open file of the device, with its own queue, filter,
 * counters, eventfd and parked reads. The handlers the device table names
 * for open, release, read, read_done, poll and the reader's ioctls.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "device.h"
#include "reader-queue.h"

struct reader {
	struct sm_queue queue;
	struct sm_filter filter;
	bool see_all;                /* root or cusekit-sysmon at open time */
	uid_t uid;                   /* otherwise: only this real uid */
	int eventfd;                 /* our reference to the reader's eventfd, or -1 */
	struct cusekit_waitq reads;  /* blocked reads */
	struct sm_fill fill;         /* what the read being answered took */
};

/* What the readers need of the device. */
struct reader_config {
	size_t queue_bytes;
};

int reader_open(struct cusekit_client *c, struct cusekit_request *req);
void reader_release(struct cusekit_client *c);
ssize_t reader_read(struct cusekit_client *c, struct cusekit_request *req, size_t size);
void reader_read_done(struct cusekit_client *c, size_t bytes, bool delivered);
unsigned reader_poll(struct cusekit_client *c);
int reader_set_filter(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out);
int reader_get_stats(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out);
int reader_set_eventfd(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out);

/* Hand a record to every reader allowed to see it and asking for it. */
void readers_deliver(struct cusekit_device *d, struct sm_record *r);
/* The kernel dropped events (n times): every reader is told. */
void readers_overrun(struct cusekit_device *d, uint64_t n);
