/* SPDX-License-Identifier: MIT */
/*
 * SysMon records and the per-reader queues: pure logic, unit-tested.
 *
 * A record is encoded once, in wire format, and shared (reference counted) by
 * every queue it is delivered to. A queue is bounded in bytes; pushing to a
 * full queue drops its oldest records and counts them, and the next fill
 * starts with an EVENTS_LOST record carrying that exact count.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cusekit/sysmon.h>

#define SM_UID_UNKNOWN UINT32_MAX
#define SM_STRING_MAX 4096       /* image paths and command lines are cut here */

struct sm_record {
	unsigned refs;
	uint32_t pid;        /* the process the event is about, for filters */
	uint32_t uid;        /* its real uid, SM_UID_UNKNOWN if gone before we looked */
	_Alignas(8) unsigned char data[];   /* the record as readers get it */
};

static inline const struct sysmon_header *sm_record_header(const struct sm_record *r)
{
	return (const struct sysmon_header *)r->data;
}

struct sm_record *sm_record_ref(struct sm_record *r);
struct sm_record *sm_record_unref(struct sm_record *r);   /* returns NULL */

/* Encoders; NULL when out of memory. type selects PROCESS_ or THREAD_. */
struct sm_record *sm_record_create(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t tid, uint32_t ppid,
				   uint32_t creator_tid, uint32_t uid);
struct sm_record *sm_record_exec(uint64_t time_ns, uint32_t pid, uint32_t uid, const char *image, size_t image_len,
				 const char *cmdline, size_t cmdline_len);
struct sm_record *sm_record_exit(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t tid, uint32_t wait_status,
				 uint32_t uid);
struct sm_record *sm_record_path(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t uid, const char *path,
				 size_t path_len);

/* Checks one record at the start of buf (len bytes there): its size, and
 * that the strings of the types we know lie inside it. Returns its size, or
 * -EBADMSG. */
int sm_record_check(const void *buf, size_t len);
/* A string of a checked record. */
static inline const char *sm_record_string(const void *record, uint16_t offset)
{
	return (const char *)record + offset;
}

/* "fork", "exec", "exit", "thread-create", "thread-exit", "image",
 * "file-write", "lost"; NULL for unknown types. */
const char *sm_type_name(uint16_t type);

struct sm_filter {
	uint32_t type_mask;   /* SYSMON_TYPE_BIT()s */
	uint32_t flags;       /* SYSMON_FILTER_* */
	uint32_t pid;
	uint32_t uid;
};

bool sm_filter_match(const struct sm_filter *f, const struct sm_record *r);

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
