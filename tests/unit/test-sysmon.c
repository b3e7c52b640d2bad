/* SPDX-License-Identifier: MIT */
/*
 * SysMon records and queues: encoding, checking, filters, and the per-reader
 * queue's drop-oldest with an exactly counted EVENTS_LOST.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"
#include "uid-table.h"
#include "check-run.h"

static struct sm_record *exit_record(uint32_t pid)
{
	struct sm_record *r = sm_record_exit(SYSMON_PROCESS_EXIT, 1000 + pid, pid, pid, 3 << 8, 1000);

	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(test_encode_create_exit)
{
	struct sm_record *r = sm_record_create(SYSMON_THREAD_CREATE, 42, 10, 11, 9, 0, 1000);
	const struct sysmon_create *c = (const void *)r->data;
	const struct sysmon_exit *e;

	ck_assert_uint_eq(c->header.type, SYSMON_THREAD_CREATE);
	ck_assert_uint_eq(c->header.size, sizeof(*c));
	ck_assert_uint_eq(c->header.time_ns, 42);
	ck_assert_uint_eq(c->pid, 10);
	ck_assert_uint_eq(c->tid, 11);
	ck_assert_uint_eq(c->ppid, 9);
	ck_assert_uint_eq(c->uid, 1000);
	ck_assert_int_eq(sm_record_check(c, c->header.size), sizeof(*c));
	sm_record_unref(r);

	/* Wait statuses: exit(3); killed by SIGKILL; SIGSEGV with a core. */
	r = sm_record_exit(SYSMON_PROCESS_EXIT, 1, 5, 5, 3 << 8, 0);
	e = (const void *)r->data;
	ck_assert_uint_eq(e->exit_code, 3);
	ck_assert_uint_eq(e->signal, 0);
	sm_record_unref(r);
	r = sm_record_exit(SYSMON_THREAD_EXIT, 1, 5, 6, 9, 0);
	e = (const void *)r->data;
	ck_assert_uint_eq(e->exit_code, 0);
	ck_assert_uint_eq(e->signal, 9);
	ck_assert_uint_eq(e->tid, 6);
	ck_assert_uint_eq(e->core_dumped, 0);
	sm_record_unref(r);
	r = sm_record_exit(SYSMON_PROCESS_EXIT, 1, 5, 5, 11 | 0x80, 0);
	e = (const void *)r->data;
	ck_assert_uint_eq(e->signal, 11);
	ck_assert_uint_eq(e->core_dumped, 1);
	sm_record_unref(r);
}
END_TEST

START_TEST(test_encode_strings)
{
	static const char cmdline[] = "/bin/sh\0-c\0exit 7";
	struct sm_record *r = sm_record_exec(7, 100, 0, "/usr/bin/dash", 13, cmdline, sizeof(cmdline));
	const struct sysmon_exec *x = (const void *)r->data;
	const struct sysmon_path *p;

	ck_assert_uint_eq(x->header.size % 8, 0);
	ck_assert_int_eq(sm_record_check(x, x->header.size), x->header.size);
	ck_assert_uint_eq(x->image_length, 13);
	ck_assert_str_eq(sm_record_string(x, x->image_offset), "/usr/bin/dash");
	ck_assert_uint_eq(x->cmdline_length, sizeof(cmdline));
	ck_assert_mem_eq(sm_record_string(x, x->cmdline_offset), cmdline, sizeof(cmdline));
	ck_assert_uint_ge(x->image_offset, sizeof(*x));
	/* Truncated buffers are refused. */
	ck_assert_int_eq(sm_record_check(x, x->header.size - 8), -EBADMSG);
	sm_record_unref(r);

	/* Empty strings (a process gone before we looked). */
	r = sm_record_path(SYSMON_IMAGE_LOAD, 1, 100, SM_UID_UNKNOWN, "", 0);
	p = (const void *)r->data;
	ck_assert_uint_eq(p->header.size, 40);
	ck_assert_uint_eq(p->path_length, 0);
	ck_assert_str_eq(sm_record_string(p, p->path_offset), "");
	ck_assert_int_eq(sm_record_check(p, p->header.size), 40);
	sm_record_unref(r);

	/* Long strings are cut, the record stays within a __u16 size. */
	{
		char *long_path = malloc(3 * SM_STRING_MAX);

		memset(long_path, 'a', 3 * SM_STRING_MAX);
		r = sm_record_exec(1, 1, 1, long_path, 3 * SM_STRING_MAX, long_path, 3 * SM_STRING_MAX);
		x = (const void *)r->data;
		ck_assert_uint_eq(x->image_length, SM_STRING_MAX);
		ck_assert_uint_eq(x->cmdline_length, SM_STRING_MAX);
		ck_assert_int_eq(sm_record_check(x, x->header.size), x->header.size);
		sm_record_unref(r);
		free(long_path);
	}
}
END_TEST

START_TEST(test_check_rejects)
{
	_Alignas(8) unsigned char buf[64] = {};
	struct sysmon_path *p = (void *)buf;

	ck_assert_int_eq(sm_record_check(buf, 8), -EBADMSG);          /* shorter than a header */
	p->header = (struct sysmon_header){ .type = SYSMON_FILE_WRITE, .size = 12 };
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG); /* not a multiple of 8 */
	p->header.size = 24;
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG); /* shorter than its type */
	p->header.size = 40;
	p->path_offset = 32;
	p->path_length = 8;                                            /* NUL would be outside */
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG);
	p->path_length = 7;
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), 40);
	p->path_offset = 8;                                            /* inside the fixed part */
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG);
	/* Unknown types pass by size. */
	p->header = (struct sysmon_header){ .type = 99, .size = 48 };
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), 48);
}
END_TEST

START_TEST(test_filter)
{
	struct sm_record *r = exit_record(77);
	struct sm_filter f = { .type_mask = SYSMON_TYPES_ALL };

	ck_assert(sm_filter_match(&f, r));
	f.type_mask = SYSMON_TYPE_BIT(SYSMON_PROCESS_CREATE);
	ck_assert(!sm_filter_match(&f, r));
	f = (struct sm_filter){ SYSMON_TYPES_ALL, SYSMON_FILTER_PID, 77, 0 };
	ck_assert(sm_filter_match(&f, r));
	f.pid = 78;
	ck_assert(!sm_filter_match(&f, r));
	f = (struct sm_filter){ SYSMON_TYPES_ALL, SYSMON_FILTER_UID, 0, 1000 };
	ck_assert(sm_filter_match(&f, r));
	f.uid = 0;
	ck_assert(!sm_filter_match(&f, r));
	sm_record_unref(r);
}
END_TEST

/* Pushes n exit records with pids first.., returns none (the queue holds refs). */
static void push_exits(struct sm_queue *q, uint32_t first, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct sm_record *r = exit_record(first + i);

		sm_queue_push(q, r);
		sm_record_unref(r);
	}
}

START_TEST(test_queue_drop_oldest_exact)
{
	struct sm_queue q;
	_Alignas(8) unsigned char buf[4096];
	struct sm_fill fill;
	const struct sysmon_lost *lost = (const void *)buf;
	const size_t rec = sizeof(struct sysmon_exit);

	/* Room for 10 records. */
	sm_queue_init(&q, 10 * rec);
	ck_assert(!sm_queue_ready(&q));
	ck_assert_int_eq(sm_queue_fill(&q, buf, sizeof(buf), 1, &fill), -EAGAIN);
	push_exits(&q, 1, 10);
	ck_assert_uint_eq(q.count, 10);
	ck_assert_uint_eq(q.lost, 0);
	push_exits(&q, 11, 1234);
	ck_assert_uint_eq(q.count, 10);
	ck_assert_uint_eq(q.bytes, 10 * rec);
	ck_assert_uint_eq(q.lost, 1234);
	ck_assert_uint_eq(q.dropped_total, 1234);

	/* EVENTS_LOST first, then the 10 newest, oldest first. */
	ck_assert_int_eq(sm_queue_fill(&q, buf, sizeof(buf), 99, &fill), 0);
	ck_assert(fill.lost);
	ck_assert_uint_eq(fill.records, 10);
	ck_assert_uint_eq(fill.bytes, sizeof(*lost) + 10 * rec);
	ck_assert_uint_eq(lost->header.type, SYSMON_EVENTS_LOST);
	ck_assert_uint_eq(lost->header.size, sizeof(*lost));
	ck_assert_uint_eq(lost->header.time_ns, 99);
	ck_assert_uint_eq(lost->count, 1234);
	ck_assert_uint_eq(lost->reasons, SYSMON_LOST_READER);
	for (unsigned i = 0; i < 10; i++) {
		const struct sysmon_exit *e = (const void *)(buf + sizeof(*lost) + i * rec);

		ck_assert_uint_eq(e->pid, 1235 + i);
	}
	/* Not consumed yet (a reply that failed): the same again. */
	ck_assert_int_eq(sm_queue_fill(&q, buf, sizeof(buf), 99, &fill), 0);
	ck_assert_uint_eq(lost->count, 1234);
	sm_queue_consume(&q, &fill);
	ck_assert(!sm_queue_ready(&q));
	ck_assert_uint_eq(q.delivered, 10);
	ck_assert_uint_eq(q.bytes, 0);

	/* A second round counts from zero. */
	push_exits(&q, 5000, 13);
	ck_assert_int_eq(sm_queue_fill(&q, buf, sizeof(buf), 1, &fill), 0);
	ck_assert_uint_eq(lost->count, 3);
	ck_assert_uint_eq(((const struct sysmon_exit *)(buf + sizeof(*lost)))->pid, 5003);
	sm_queue_consume(&q, &fill);
	ck_assert_uint_eq(q.dropped_total, 1237);
	sm_queue_done(&q);
}
END_TEST

START_TEST(test_queue_whole_records_only)
{
	struct sm_queue q;
	_Alignas(8) unsigned char buf[4096];
	struct sm_fill fill;
	const size_t rec = sizeof(struct sysmon_exit);

	sm_queue_init(&q, 1 << 20);
	push_exits(&q, 1, 3);
	ck_assert_int_eq(sm_queue_fill(&q, buf, rec - 1, 1, &fill), -EMSGSIZE);
	ck_assert_int_eq(sm_queue_fill(&q, buf, 2 * rec + 7, 1, &fill), 0);
	ck_assert_uint_eq(fill.records, 2);
	ck_assert_uint_eq(fill.bytes, 2 * rec);
	/* Leaving the last one for the next read. */
	sm_fill_drop_last(&q, &fill);
	ck_assert_uint_eq(fill.records, 1);
	ck_assert_uint_eq(fill.bytes, rec);
	sm_queue_consume(&q, &fill);
	ck_assert_uint_eq(q.count, 2);
	ck_assert_uint_eq(((const struct sysmon_exit *)sm_record_header(q.ring[q.head]))->pid, 2);
	ck_assert_int_eq(sm_queue_fill(&q, buf, rec, 1, &fill), 0);
	sm_queue_consume(&q, &fill);
	ck_assert_uint_eq(q.count, 1);
	ck_assert_uint_eq(((const struct sysmon_exit *)sm_record_header(q.ring[q.head]))->pid, 3);

	/* A pending loss needs room for its own record too. */
	sm_queue_overrun(&q);
	ck_assert_int_eq(sm_queue_fill(&q, buf, sizeof(struct sysmon_lost) - 1, 1, &fill), -EMSGSIZE);
	ck_assert_int_eq(sm_queue_fill(&q, buf, sizeof(struct sysmon_lost), 1, &fill), 0);
	ck_assert(fill.lost);
	ck_assert_uint_eq(fill.records, 0);
	ck_assert_uint_eq(((const struct sysmon_lost *)buf)->reasons, SYSMON_LOST_KERNEL);
	ck_assert_uint_eq(((const struct sysmon_lost *)buf)->kernel_overruns, 1);
	ck_assert_uint_eq(((const struct sysmon_lost *)buf)->count, 0);
	sm_queue_consume(&q, &fill);
	ck_assert_uint_eq(q.count, 1);
	ck_assert_uint_eq(q.overruns_total, 1);
	sm_queue_done(&q);
}
END_TEST

START_TEST(test_queue_oversized_and_filter)
{
	struct sm_queue q;
	struct sm_filter f = { SYSMON_TYPES_ALL, SYSMON_FILTER_PID, 2, 0 };
	char path[200];
	struct sm_record *big;

	sm_queue_init(&q, 128);
	memset(path, 'p', sizeof(path));
	big = sm_record_path(SYSMON_FILE_WRITE, 1, 1, 0, path, sizeof(path));
	sm_queue_push(&q, big);      /* larger than the queue: itself lost */
	sm_record_unref(big);
	ck_assert_uint_eq(q.count, 0);
	ck_assert_uint_eq(q.lost, 1);

	/* Filtering keeps order and bytes; the ring wraps meanwhile. */
	push_exits(&q, 1, 3);
	push_exits(&q, 2, 1);        /* drops pid 1 (the oldest): 2, 3, 2 */
	ck_assert_uint_eq(q.lost, 2);
	sm_queue_filter(&q, &f);
	ck_assert_uint_eq(q.count, 2);
	ck_assert_uint_eq(q.bytes, 2 * sizeof(struct sysmon_exit));
	for (size_t i = 0; i < q.count; i++)
		ck_assert_uint_eq(q.ring[(q.head + i) % q.capacity]->pid, 2);
	sm_queue_done(&q);
}
END_TEST

START_TEST(test_shared_record_refs)
{
	struct sm_queue a, b;
	struct sm_record *r = exit_record(9);

	sm_queue_init(&a, 4096);
	sm_queue_init(&b, 4096);
	sm_queue_push(&a, r);
	sm_queue_push(&b, r);
	ck_assert_uint_eq(r->refs, 3);
	sm_queue_done(&a);
	ck_assert_uint_eq(r->refs, 2);
	sm_queue_done(&b);
	ck_assert_uint_eq(r->refs, 1);
	sm_record_unref(r);
}
END_TEST

START_TEST(test_uid_table)
{
	struct uid_table t = {};
	uint32_t uid;

	ck_assert(!uid_table_get(&t, 5, &uid));
	uid_table_remove(&t, 5);                       /* empty: nothing to do */
	ck_assert_int_eq(uid_table_set(&t, 0, 1), -EINVAL);
	/* Many entries (growing), consecutive and scattered pids. */
	for (uint32_t pid = 1; pid <= 20000; pid++)
		ck_assert_int_eq(uid_table_set(&t, pid * (pid % 3 ? 1 : 4099), pid + 1000), 0);
	ck_assert_uint_eq(t.count, 20000);
	for (uint32_t pid = 1; pid <= 20000; pid += 2)
		uid_table_remove(&t, pid * (pid % 3 ? 1 : 4099));
	ck_assert_uint_eq(t.count, 10000);
	for (uint32_t pid = 1; pid <= 20000; pid++) {
		bool present = uid_table_get(&t, pid * (pid % 3 ? 1 : 4099), &uid);

		ck_assert_msg(present == (pid % 2 == 0), "pid %u", pid);
		if (present)
			ck_assert_uint_eq(uid, pid + 1000);
	}
	/* setuid: the newest value wins, no duplicate. */
	ck_assert_int_eq(uid_table_set(&t, 2, 7), 0);
	ck_assert(uid_table_get(&t, 2, &uid));
	ck_assert_uint_eq(uid, 7);
	ck_assert_uint_eq(t.count, 10000);
	uid_table_clear(&t);
	ck_assert(!uid_table_get(&t, 2, &uid));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmon");
	TCase *tc = tcase_create("records");

	tcase_add_test(tc, test_encode_create_exit);
	tcase_add_test(tc, test_encode_strings);
	tcase_add_test(tc, test_check_rejects);
	tcase_add_test(tc, test_filter);
	tcase_add_test(tc, test_queue_drop_oldest_exact);
	tcase_add_test(tc, test_queue_whole_records_only);
	tcase_add_test(tc, test_queue_oversized_and_filter);
	tcase_add_test(tc, test_shared_record_refs);
	tcase_add_test(tc, test_uid_table);
	suite_add_tcase(s, tc);
	return check_run(s);
}
