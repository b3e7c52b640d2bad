/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "record.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

struct sm_record *sm_record_ref(struct sm_record *r)
{
	r->refs++;
	return r;
}

struct sm_record *sm_record_unref(struct sm_record *r)
{
	if (r && --r->refs == 0)
		free(r);
	return NULL;
}

/* A zeroed record of fixed_size + room for the strings (each followed by a
 * NUL), 8-byte aligned. */
static struct sm_record *record_new(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t uid, size_t fixed_size,
				    size_t strings_size)
{
	size_t size = ALIGN8(fixed_size + strings_size);
	struct sm_record *r = calloc(1, sizeof(*r) + size);
	struct sysmon_header *h;

	if (!r)
		return NULL;
	r->refs = 1;
	r->pid = pid;
	r->uid = uid;
	h = (struct sysmon_header *)r->data;
	h->type = type;
	h->size = (uint16_t)size;
	h->time_ns = time_ns;
	return r;
}

/* Appends a string at *pos; returns its offset, sets *len_out. */
static uint16_t record_put_string(struct sm_record *r, size_t *pos, const char *s, size_t len, uint16_t *len_out)
{
	size_t offset = *pos;

	memcpy(r->data + offset, s, len);
	r->data[offset + len] = 0;
	*pos += len + 1;
	*len_out = (uint16_t)len;
	return (uint16_t)offset;
}

struct sm_record *sm_record_create(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t tid, uint32_t ppid,
				   uint32_t creator_tid, uint32_t uid)
{
	struct sm_record *r = record_new(type, time_ns, pid, uid, sizeof(struct sysmon_create), 0);
	struct sysmon_create *p;

	if (!r)
		return NULL;
	p = (struct sysmon_create *)r->data;
	p->pid = pid;
	p->tid = tid;
	p->ppid = ppid;
	p->creator_tid = creator_tid;
	p->uid = uid;
	return r;
}

struct sm_record *sm_record_exec(uint64_t time_ns, uint32_t pid, uint32_t uid, const char *image, size_t image_len,
				 const char *cmdline, size_t cmdline_len)
{
	struct sm_record *r;
	struct sysmon_exec *p;
	size_t pos = sizeof(*p);

	image_len = MIN(image_len, (size_t)SM_STRING_MAX);
	cmdline_len = MIN(cmdline_len, (size_t)SM_STRING_MAX);
	r = record_new(SYSMON_PROCESS_EXEC, time_ns, pid, uid, sizeof(*p), image_len + 1 + cmdline_len + 1);
	if (!r)
		return NULL;
	p = (struct sysmon_exec *)r->data;
	p->pid = pid;
	p->uid = uid;
	p->image_offset = record_put_string(r, &pos, image, image_len, &p->image_length);
	p->cmdline_offset = record_put_string(r, &pos, cmdline, cmdline_len, &p->cmdline_length);
	return r;
}

struct sm_record *sm_record_exit(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t tid, uint32_t wait_status,
				 uint32_t uid)
{
	struct sm_record *r = record_new(type, time_ns, pid, uid, sizeof(struct sysmon_exit), 0);
	struct sysmon_exit *p;

	if (!r)
		return NULL;
	p = (struct sysmon_exit *)r->data;
	p->pid = pid;
	p->tid = tid;
	/* The kernel reports the wait(2) status. */
	p->exit_code = (wait_status >> 8) & 0xff;
	p->signal = wait_status & 0x7f;
	p->core_dumped = !!(wait_status & 0x80);
	p->uid = uid;
	return r;
}

struct sm_record *sm_record_path(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t uid, const char *path,
				 size_t path_len)
{
	struct sm_record *r;
	struct sysmon_path *p;
	size_t pos = sizeof(*p);

	path_len = MIN(path_len, (size_t)SM_STRING_MAX);
	r = record_new(type, time_ns, pid, uid, sizeof(*p), path_len + 1);
	if (!r)
		return NULL;
	p = (struct sysmon_path *)r->data;
	p->pid = pid;
	p->uid = uid;
	p->path_offset = record_put_string(r, &pos, path, path_len, &p->path_length);
	return r;
}

static bool string_inside(size_t fixed, size_t size, uint16_t offset, uint16_t length)
{
	return offset >= fixed && (size_t)offset + length < size;  /* the NUL is inside too */
}

int sm_record_check(const void *buf, size_t len)
{
	const struct sysmon_header *h = buf;
	size_t fixed = 0;
	bool ok = true;

	if (len < sizeof(*h) || h->size < sizeof(*h) || h->size % 8 || h->size > len)
		return -EBADMSG;
	switch (h->type) {
	case SYSMON_PROCESS_CREATE:
	case SYSMON_THREAD_CREATE:
		fixed = sizeof(struct sysmon_create);
		break;
	case SYSMON_PROCESS_EXIT:
	case SYSMON_THREAD_EXIT:
		fixed = sizeof(struct sysmon_exit);
		break;
	case SYSMON_EVENTS_LOST:
		fixed = sizeof(struct sysmon_lost);
		break;
	case SYSMON_PROCESS_EXEC: {
		const struct sysmon_exec *p = buf;

		fixed = sizeof(*p);
		ok = h->size >= fixed && string_inside(fixed, h->size, p->image_offset, p->image_length) &&
		     string_inside(fixed, h->size, p->cmdline_offset, p->cmdline_length);
		break;
	}
	case SYSMON_IMAGE_LOAD:
	case SYSMON_FILE_WRITE: {
		const struct sysmon_path *p = buf;

		fixed = sizeof(*p);
		ok = h->size >= fixed && string_inside(fixed, h->size, p->path_offset, p->path_length);
		break;
	}
	default:
		break;   /* unknown: skipped by size */
	}
	if (h->size < fixed || !ok)
		return -EBADMSG;
	return h->size;
}

const char *sm_type_name(uint16_t type)
{
	static const char *const names[] = {
		[SYSMON_PROCESS_CREATE] = "fork",        [SYSMON_PROCESS_EXEC] = "exec",
		[SYSMON_PROCESS_EXIT] = "exit",          [SYSMON_THREAD_CREATE] = "thread-create",
		[SYSMON_THREAD_EXIT] = "thread-exit",    [SYSMON_IMAGE_LOAD] = "image",
		[SYSMON_FILE_WRITE] = "file-write",      [SYSMON_EVENTS_LOST] = "lost",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

bool sm_filter_match(const struct sm_filter *f, const struct sm_record *r)
{
	if (!(f->type_mask & SYSMON_TYPE_BIT(sm_record_header(r)->type)))
		return false;
	if ((f->flags & SYSMON_FILTER_PID) && r->pid != f->pid)
		return false;
	if ((f->flags & SYSMON_FILTER_UID) && r->uid != f->uid)
		return false;
	return true;
}

/* Queue */

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
