/* SPDX-License-Identifier: MIT */
/*
 * A reader's queue of records: pure logic, unit-tested.
 *
 * Bounded in bytes; pushing to a full queue drops its oldest records and
 * counts them, and the next fill starts with an EVENTS_LOST record carrying
 * that exact count. Records leave the queue only once a read's answer
 * reached the reader (fill, then consume).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record.h"

struct sm_queue {
	struct sm_record **ring;
	size_t capacity, head, count;
	size_t bytes, limit;
	uint64_t lost;          /* dropped since the last EVENTS_LOST was read */
	uint32_t overruns;      /* kernel overruns since then */
	uint64_t delivered, dropped_total, overruns_total;
};

void sm_queue_init(struct sm_queue *q, size_t limit);
void sm_queue_done(struct sm_queue *q);
/* Queues r (taking a reference), dropping the oldest records to make room;
 * a record larger than the whole queue, or no memory, loses r itself. */
void sm_queue_push(struct sm_queue *q, struct sm_record *r);
void sm_queue_overrun(struct sm_queue *q);
/* Keeps only the records that pass f. */
void sm_queue_filter(struct sm_queue *q, const struct sm_filter *f);
/* Something to read: records or a loss to report. */
bool sm_queue_ready(const struct sm_queue *q);

/* What one read takes: an EVENTS_LOST record first if losses are pending,
 * then whole records while they fit. */
struct sm_fill {
	size_t bytes;
	size_t records;
	bool lost;
};
/* Copies into buf without dequeuing. Returns 0, -EAGAIN (nothing queued) or
 * -EMSGSIZE (the first record does not fit in size). */
int sm_queue_fill(const struct sm_queue *q, void *buf, size_t size, uint64_t now_ns, struct sm_fill *fill);
/* Leaves the fill's last record queued (fill->records > 0). */
void sm_fill_drop_last(const struct sm_queue *q, struct sm_fill *fill);
/* Dequeues what a fill took, once the reader has it. */
void sm_queue_consume(struct sm_queue *q, const struct sm_fill *fill);
