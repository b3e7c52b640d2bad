/* SPDX-License-Identifier: MIT */
/*
 * SysMon records and queues: encoding, checking, filters, the per-reader
 * queue's drop-oldest with an exactly counted EVENTS_LOST, process GUIDs,
 * the process table, and libcusekit-sysmon's fields and text sanitizing.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cusekit/sysmon-fields.h>

#include "check-run.h"
#include "process-table.h"
#include "reader-queue.h"
#include "record.h"

static struct sm_record *exit_record_of(uint16_t type, uint64_t time_ns, uint32_t pid, uint32_t tid,
					uint32_t wait_status, uint32_t uid)
{
	struct sysmon_exit e = { .header = { .type = type, .time_ns = time_ns }, .pid = pid, .tid = tid, .uid = uid };

	sm_exit_status(&e, wait_status);
	return sm_record_new(&e, sizeof(e), pid, uid, NULL, 0);
}

static struct sm_record *path_record(uint16_t type, uint32_t pid, uint32_t uid, const char *path, size_t len)
{
	struct sysmon_path p = { .header = { .type = type, .time_ns = 1 }, .pid = pid, .uid = uid };
	struct sm_string s = SM_STRING(struct sysmon_path, path, path, len);

	return sm_record_new(&p, sizeof(p), pid, uid, &s, 1);
}

static struct sm_record *exit_record(uint32_t pid)
{
	struct sm_record *r = exit_record_of(SYSMON_PROCESS_EXIT, 1000 + pid, pid, pid, 3 << 8, 1000);

	ck_assert_ptr_nonnull(r);
	return r;
}

START_TEST(test_encode_create_exit)
{
	struct sysmon_create fixed = { .header = { .type = SYSMON_THREAD_CREATE, .time_ns = 42 },
				       .pid = 10, .tid = 11, .ppid = 9, .uid = 1000 };
	struct sm_record *r = sm_record_new(&fixed, sizeof(fixed), 10, 1000, NULL, 0);
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
	r = exit_record_of(SYSMON_PROCESS_EXIT, 1, 5, 5, 3 << 8, 0);
	e = (const void *)r->data;
	ck_assert_uint_eq(e->exit_code, 3);
	ck_assert_uint_eq(e->signal, 0);
	sm_record_unref(r);
	r = exit_record_of(SYSMON_THREAD_EXIT, 1, 5, 6, 9, 0);
	e = (const void *)r->data;
	ck_assert_uint_eq(e->exit_code, 0);
	ck_assert_uint_eq(e->signal, 9);
	ck_assert_uint_eq(e->tid, 6);
	ck_assert_uint_eq(e->core_dumped, 0);
	sm_record_unref(r);
	r = exit_record_of(SYSMON_PROCESS_EXIT, 1, 5, 5, 11 | 0x80, 0);
	e = (const void *)r->data;
	ck_assert_uint_eq(e->signal, 11);
	ck_assert_uint_eq(e->core_dumped, 1);
	sm_record_unref(r);
}
END_TEST

static struct sm_record *exec_record(const char *image, size_t image_len, const char *argv, size_t argv_len,
				     const char *cwd, uint32_t flags)
{
	struct sysmon_exec e = { .header = { .type = SYSMON_PROCESS_EXEC, .time_ns = 7 }, .pid = 100, .flags = flags };
	struct sm_string strings[] = {
		SM_STRING(struct sysmon_exec, image, image, image_len),
		SM_STRING(struct sysmon_exec, cmdline, argv, argv_len),
		SM_STRING(struct sysmon_exec, cwd, cwd, strlen(cwd)),
	};

	return sm_record_new(&e, sizeof(e), 100, 0, strings, 3);
}

START_TEST(test_encode_strings)
{
	static const char cmdline[] = "/bin/sh\0-c\0exit 7";
	struct sm_record *r = exec_record("/usr/bin/dash", 13, cmdline, sizeof(cmdline), "/tmp", 0);
	const struct sysmon_exec *x = (const void *)r->data;
	const struct sysmon_path *p;
	uint32_t flags = 0;

	ck_assert_uint_eq(x->header.size % 8, 0);
	ck_assert_int_eq(sm_record_check(x, x->header.size), x->header.size);
	ck_assert_uint_eq(x->image_length, 13);
	ck_assert_str_eq(sysmon_record_string(x, x->image_offset), "/usr/bin/dash");
	ck_assert_uint_eq(x->cmdline_length, sizeof(cmdline));
	ck_assert_mem_eq(sysmon_record_string(x, x->cmdline_offset), cmdline, sizeof(cmdline));
	ck_assert_str_eq(sysmon_record_string(x, x->cwd_offset), "/tmp");
	ck_assert_uint_ge(x->image_offset, sizeof(*x));
	/* Truncated buffers are refused. */
	ck_assert_int_eq(sm_record_check(x, x->header.size - 8), -EBADMSG);
	sm_record_unref(r);

	/* Empty strings (a process gone before we looked). */
	r = path_record(SYSMON_FILE_DELETE, 100, SM_UID_UNKNOWN, "", 0);
	p = (const void *)r->data;
	ck_assert_uint_eq(p->header.size, sizeof(*p) + 8);
	ck_assert_uint_eq(p->path_length, 0);
	ck_assert_str_eq(sysmon_record_string(p, p->path_offset), "");
	ck_assert_int_eq(sm_record_check(p, p->header.size), p->header.size);
	sm_record_unref(r);

	/* The largest strings fit a record; a cut is flagged. */
	{
		char *big = malloc(3 * SYSMON_ARGV_MAX);
		size_t argv_len = sm_cut(3 * SYSMON_ARGV_MAX, SYSMON_ARGV_MAX, SYSMON_FLAG_ARGV_TRUNCATED, &flags);
		size_t path_len = sm_cut(SYSMON_PATH_MAX, SYSMON_PATH_MAX, SYSMON_FLAG_PATH_TRUNCATED, &flags);

		ck_assert_uint_eq(flags, SYSMON_FLAG_ARGV_TRUNCATED);
		memset(big, 'a', 3 * SYSMON_ARGV_MAX);
		r = exec_record(big, path_len, big, argv_len, "/", flags);
		ck_assert_ptr_nonnull(r);
		x = (const void *)r->data;
		ck_assert_uint_eq(x->image_length, SYSMON_PATH_MAX);
		ck_assert_uint_eq(x->cmdline_length, SYSMON_ARGV_MAX);
		ck_assert_int_eq(sm_record_check(x, x->header.size), x->header.size);
		sm_record_unref(r);
		/* More than a record holds: refused, never cut silently. */
		errno = 0;
		ck_assert_ptr_null(exec_record(big, 3 * SYSMON_ARGV_MAX, big, 0, "/", 0));
		ck_assert_int_eq(errno, E2BIG);
		free(big);
	}
}
END_TEST

START_TEST(test_check_rejects)
{
	_Alignas(8) unsigned char buf[128] = {};
	struct sysmon_path *p = (void *)buf;
	struct sysmon_exec *x = (void *)buf;

	ck_assert_int_eq(sm_record_check(buf, 8), -EBADMSG);          /* shorter than a header */
	p->header = (struct sysmon_header){ .type = SYSMON_FILE_CREATE, .size = 12 };
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG); /* not a multiple of 8 */
	p->header.size = 56;
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG); /* shorter than its type */
	p->header.size = 72;
	p->path_offset = 64;
	p->path_length = 8;                                            /* NUL would be outside */
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG);
	p->path_length = 7;
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), 72);
	buf[71] = 'x';                                                 /* no NUL */
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG);
	buf[71] = 0;
	p->path_offset = 8;                                            /* inside the fixed part */
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG);
	/* Unknown types pass by size. */
	p->header = (struct sysmon_header){ .type = 99, .size = 48 };
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), 48);

	/* A version 1 exec record (32 bytes and its strings) still reads;
	 * what version 2 added is not there. */
	memset(buf, 0, sizeof(buf));
	x->header = (struct sysmon_header){ .type = SYSMON_PROCESS_EXEC, .size = 48 };
	x->image_offset = 32;
	x->image_length = 3;
	memcpy(buf + 32, "/sh", 4);
	x->cmdline_offset = 36;
	x->cmdline_length = 3;
	memcpy(buf + 36, "sh\0", 4);
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), 48);
	ck_assert(!sysmon_has_field(&x->header, struct sysmon_exec, parent));
	ck_assert(sysmon_has_field(&x->header, struct sysmon_exec, cmdline_length));
	x->header.size = 24;                                           /* shorter than version 1 */
	ck_assert_int_eq(sm_record_check(buf, sizeof(buf)), -EBADMSG);
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

	sm_queue_init(&q, 3 * sizeof(struct sysmon_exit));
	memset(path, 'p', sizeof(path));
	big = path_record(SYSMON_FILE_WRITE, 1, 0, path, sizeof(path));
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

START_TEST(test_process_table)
{
	struct process_table t = {};
	struct process_info info, got;

	ck_assert(!process_table_get(&t, 5, &got));
	process_table_remove(&t, 5);                       /* empty: nothing to do */
	info = (struct process_info){ 1, 1, 0 };
	ck_assert_int_eq(process_table_set(&t, 0, &info), -EINVAL);
	/* Many entries (growing), consecutive and scattered pids. */
	for (uint32_t pid = 1; pid <= 20000; pid++) {
		info = (struct process_info){ pid + 1000, pid * 10, 0 };
		ck_assert_int_eq(process_table_set(&t, pid * (pid % 3 ? 1 : 4099), &info), 0);
	}
	ck_assert_uint_eq(t.count, 20000);
	for (uint32_t pid = 1; pid <= 20000; pid += 2)
		process_table_remove(&t, pid * (pid % 3 ? 1 : 4099));
	ck_assert_uint_eq(t.count, 10000);
	for (uint32_t pid = 1; pid <= 20000; pid++) {
		bool present = process_table_get(&t, pid * (pid % 3 ? 1 : 4099), &got);

		ck_assert_msg(present == (pid % 2 == 0), "pid %u", pid);
		if (present) {
			ck_assert_uint_eq(got.uid, pid + 1000);
			ck_assert_uint_eq(got.start_time, pid * 10);
		}
	}
	process_table_clear(&t);
	ck_assert(!process_table_get(&t, 2, &got));
}
END_TEST

/* Records tell the table; an exit is forgotten only once purged. */
START_TEST(test_process_table_track)
{
	struct process_table t = {};
	struct sysmon_create c = { .header = { .type = SYSMON_PROCESS_CREATE, .time_ns = 100 }, .pid = 7, .tid = 7,
				   .uid = 1000, .process = { .start_time = 5000 } };
	struct sysmon_id_change u = { .header = { .type = SYSMON_UID_CHANGE, .time_ns = 200 }, .pid = 7, .tid = 7,
				      .real = 0 };
	struct sm_record *r;
	struct process_info got;

	r = sm_record_new(&c, sizeof(c), 7, 1000, NULL, 0);
	process_table_track(&t, r);
	sm_record_unref(r);
	ck_assert(process_table_get(&t, 7, &got));
	ck_assert_uint_eq(got.uid, 1000);
	ck_assert_uint_eq(got.start_time, 5000);
	r = sm_record_new(&u, sizeof(u), 7, 0, NULL, 0);
	process_table_track(&t, r);
	sm_record_unref(r);
	ck_assert(process_table_get(&t, 7, &got));
	ck_assert_uint_eq(got.uid, 0);
	ck_assert_uint_eq(got.start_time, 5000);
	r = exit_record_of(SYSMON_PROCESS_EXIT, 300, 7, 7, 0, 0);
	process_table_track(&t, r);
	sm_record_unref(r);
	ck_assert(process_table_get(&t, 7, &got));   /* still known */
	ck_assert_uint_eq(got.exited, 300);
	process_table_purge(&t, 300);
	ck_assert(process_table_get(&t, 7, &got));   /* not before it exited */
	process_table_purge(&t, 301);
	ck_assert(!process_table_get(&t, 7, &got));
	process_table_clear(&t);
}
END_TEST

START_TEST(test_guid)
{
	uint8_t boot[16];
	struct sysmon_process_id a, b;
	char text[39];

	ck_assert_int_eq(sm_boot_id_parse("0123abcd-4567-89ef-0123-456789abcdef\n", boot), 0);
	ck_assert_int_eq(boot[0], 0x01);
	ck_assert_int_eq(boot[15], 0xef);
	ck_assert_int_eq(sm_boot_id_parse("0123abcd-4567", boot), -EINVAL);
	ck_assert_int_eq(sm_boot_id_parse("0123abcd-4567-89ef-0123-456789abcdeg", boot), -EINVAL);
	ck_assert_int_eq(sm_boot_id_parse("0123abcd-4567-89ef-0123-456789abcdef", boot), 0);
	sm_process_id(&a, boot, 0x1234, 0x0102030405060708ull);
	sysmon_guid_format(a.guid, text);
	ck_assert_str_eq(text, "{0123abcd-0102-0304-0506-070800001234}");
	ck_assert_uint_eq(a.start_time, 0x0102030405060708ull);
	/* The same pid later: another GUID. Unknown start: all zero. */
	sm_process_id(&b, boot, 0x1234, 0x0102030405060708ull + 10000000);
	ck_assert_mem_ne(a.guid, b.guid, 16);
	sm_process_id(&b, boot, 0x1234, 0);
	ck_assert_mem_eq(b.guid, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
}
END_TEST

START_TEST(test_filter_nonzero_exit)
{
	struct sm_filter f = { SYSMON_TYPES_ALL, SYSMON_FILTER_NONZERO_EXIT, 0, 0 };
	struct sm_record *ok = exit_record_of(SYSMON_PROCESS_EXIT, 1, 5, 5, 0, 0);
	struct sm_record *code = exit_record_of(SYSMON_PROCESS_EXIT, 1, 5, 5, 1 << 8, 0);
	struct sm_record *killed = exit_record_of(SYSMON_THREAD_EXIT, 1, 5, 6, 9, 0);
	struct sm_record *other = path_record(SYSMON_FILE_CREATE, 5, 0, "/x", 2);

	ck_assert(!sm_filter_match(&f, ok));
	ck_assert(sm_filter_match(&f, code));
	ck_assert(sm_filter_match(&f, killed));
	ck_assert(sm_filter_match(&f, other));     /* only exits are judged */
	sm_record_unref(ok);
	sm_record_unref(code);
	sm_record_unref(killed);
	sm_record_unref(other);
}
END_TEST

struct names {
	char text[512];
};

static void collect(const struct sysmon_field *f, void *userdata)
{
	struct names *n = userdata;

	strcat(n->text, f->name);
	strcat(n->text, f->sysmon_name ? "=" : " ");
	if (f->sysmon_name) {
		strcat(n->text, f->sysmon_name);
		strcat(n->text, " ");
	}
}

START_TEST(test_fields)
{
	static const char cmdline[] = "a\0b";
	struct sm_record *r = exec_record("/i", 2, cmdline, sizeof(cmdline), "/c", 0);
	struct names n = {};

	sysmon_record_fields(sm_record_header(r), collect, &n);
	ck_assert_str_eq(n.text, "pid=ProcessId uid=User image=Image argv=CommandLine flags argc cwd=CurrentDirectory "
				 "ppid=ParentProcessId euid gid egid loginuid=LogonId audit_session=TerminalSessionId sid "
				 "process_guid=ProcessGuid process_start_time parent_guid=ParentProcessGuid "
				 "parent_start_time ");
	sm_record_unref(r);
	ck_assert_str_eq(sysmon_type_name(SYSMON_PROCESS_EXEC), "exec");
	ck_assert_uint_eq(sysmon_event_id(SYSMON_PROCESS_EXEC), 1);
	ck_assert_uint_eq(sysmon_event_id(SYSMON_PROCESS_EXIT), 5);
	ck_assert_uint_eq(sysmon_event_id(SYSMON_IMAGE_LOAD), 7);
	ck_assert_uint_eq(sysmon_event_id(SYSMON_FILE_CREATE), 11);
	ck_assert_uint_eq(sysmon_event_id(SYSMON_FILE_DELETE), 23);
	ck_assert_uint_eq(sysmon_event_id(SYSMON_COMM), 113);
	ck_assert_ptr_null(sysmon_type_name(99));
}
END_TEST

START_TEST(test_text_sanitize)
{
	char out[64];

	ck_assert_int_eq(sysmon_text_sanitize("plain \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\ttab\n", 20, out), 0);
	ck_assert_str_eq(out, "plain \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\ttab\n");
	/* A lone byte, a cut sequence, an overlong form, a surrogate, a control character. */
	ck_assert_int_eq(sysmon_text_sanitize("\xff|\xc3|\xc0\xaf|\xed\xa0\x80|\x01", 12, out), 1);
	ck_assert_str_eq(out, "\xef\xbf\xbd|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
			      "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd");
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
	tcase_add_test(tc, test_process_table);
	tcase_add_test(tc, test_process_table_track);
	tcase_add_test(tc, test_guid);
	tcase_add_test(tc, test_filter_nonzero_exit);
	tcase_add_test(tc, test_fields);
	tcase_add_test(tc, test_text_sanitize);
	suite_add_tcase(s, tc);
	return check_run(s);
}
