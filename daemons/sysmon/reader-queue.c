/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reader-queue.h"

void sm_queue_init(struct sm_queue *q, size_t limit)
{
	*q = (struct sm_queue){ .limit = limit };
}

static struct sm_record **queue_slot(const struct sm_queue *q, size_t i)
{
	return &q->ring[(q->head + i) % q->capacity];
}

static void queue_pop(struct sm_queue *q)
{
	struct sm_record **slot = queue_slot(q, 0);

	q->bytes -= sm_record_header(*slot)->size;
	*slot = sm_record_unref(*slot);
	q->head = (q->head + 1) % q->capacity;
	q->count--;
}

void sm_queue_done(struct sm_queue *q)
{
	while (q->count > 0)
		queue_pop(q);
	free(q->ring);
	q->ring = NULL;
	q->capacity = 0;
}

static int queue_grow(struct sm_queue *q)
{
	size_t capacity = q->capacity ? q->capacity * 2 : 64;
	struct sm_record **ring = calloc(capacity, sizeof(*ring));

	if (!ring)
		return -ENOMEM;
	for (size_t i = 0; i < q->count; i++)
		ring[i] = *queue_slot(q, i);
	free(q->ring);
	q->ring = ring;
	q->capacity = capacity;
	q->head = 0;
	return 0;
}

static void queue_lose(struct sm_queue *q, uint64_t n)
{
	q->lost += n;
	q->dropped_total += n;
}

void sm_queue_push(struct sm_queue *q, struct sm_record *r)
{
	size_t size = sm_record_header(r)->size;

	if (size > q->limit) {
		queue_lose(q, 1);
		return;
	}
	while (q->bytes + size > q->limit) {
		queue_pop(q);
		queue_lose(q, 1);
	}
	if (q->count == q->capacity && queue_grow(q) < 0) {
		queue_lose(q, 1);
		return;
	}
	*queue_slot(q, q->count) = sm_record_ref(r);
	q->count++;
	q->bytes += size;
}

void sm_queue_overrun(struct sm_queue *q)
{
	q->overruns++;
	q->overruns_total++;
}

void sm_queue_filter(struct sm_queue *q, const struct sm_filter *f)
{
	size_t kept = 0, count = q->count;

	/* Compact in place: slot kept <= slot i always. */
	for (size_t i = 0; i < count; i++) {
		struct sm_record *r = *queue_slot(q, i);

		if (sm_filter_match(f, r))
			*queue_slot(q, kept++) = r;
		else {
			q->bytes -= sm_record_header(r)->size;
			sm_record_unref(r);
		}
	}
	q->count = kept;
}

bool sm_queue_ready(const struct sm_queue *q)
{
	return q->count > 0 || q->lost > 0 || q->overruns > 0;
}

int sm_queue_fill(const struct sm_queue *q, void *buf, size_t size, uint64_t now_ns, struct sm_fill *fill)
{
	unsigned char *out = buf;

	*fill = (struct sm_fill){};
	if (!sm_queue_ready(q))
		return -EAGAIN;
	if (q->lost > 0 || q->overruns > 0) {
		struct sysmon_lost lost = {
			.header = { .type = SYSMON_EVENTS_LOST, .size = sizeof(lost), .time_ns = now_ns },
			.count = q->lost,
			.reasons = (q->lost ? SYSMON_LOST_READER : 0) | (q->overruns ? SYSMON_LOST_KERNEL : 0),
			.kernel_overruns = q->overruns,
		};

		if (size < sizeof(lost))
			return -EMSGSIZE;
		memcpy(out, &lost, sizeof(lost));
		fill->bytes = sizeof(lost);
		fill->lost = true;
	}
	for (size_t i = 0; i < q->count; i++) {
		const struct sysmon_header *h = sm_record_header(*queue_slot(q, i));

		if (fill->bytes + h->size > size)
			break;
		memcpy(out + fill->bytes, h, h->size);
		fill->bytes += h->size;
		fill->records++;
	}
	return fill->bytes > 0 ? 0 : -EMSGSIZE;
}

void sm_fill_drop_last(const struct sm_queue *q, struct sm_fill *fill)
{
	fill->records--;
	fill->bytes -= sm_record_header(*queue_slot(q, fill->records))->size;
}

void sm_queue_consume(struct sm_queue *q, const struct sm_fill *fill)
{
	if (fill->lost) {
		q->lost = 0;
		q->overruns = 0;
	}
	for (size_t i = 0; i < fill->records; i++)
		queue_pop(q);
	q->delivered += fill->records;
}
