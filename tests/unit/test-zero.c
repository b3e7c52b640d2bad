/* SPDX-License-Identifier: MIT */
/*
 * Zero's logic without a kernel (the fake backend): both I/O styles answer
 * zeros, answers that never arrived are not counted, counters saved by an
 * older zerod are carried over, and the counters are in the file the moment
 * they are made.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cusekit/zero.h>

#include "check-run.h"
#include "fake-backend.h"
#include "state.h"

extern const struct cusekit_device_ops zero_device;

static char dir[] = "/tmp/cusekit-unit-zero-XXXXXX";
static char state_arg[64];

static void setup(void)
{
	strcpy(dir, "/tmp/cusekit-unit-zero-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(state_arg, sizeof(state_arg), "--state-dir=%s", dir);
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static struct cusekit_device *start(const char *io)
{
	char *argv[] = { "zerod", state_arg, (char *)io, "--config=/dev/null", NULL };
	struct cusekit_device *d;

	ck_assert_int_eq(fake_device_start(&zero_device, 4, argv, &d), 0);
	return d;
}

static struct cusekit_client *open_client(struct cusekit_device *d)
{
	struct fake_request rq;
	struct cusekit_client *c;

	fake_request_init(&rq, 1, 1000, 1000);
	ck_assert_int_eq(device_open(d, &rq, O_RDWR, &c), 0);
	return c;
}

static struct zero_stats stats(struct cusekit_device *d, struct cusekit_client *c)
{
	struct fake_request rq;
	struct zero_stats s;

	fake_request_init(&rq, 1, 1000, 1000);
	device_ioctl(d, &rq, c, ZERO_IOC_GET_STATS, NULL, 0, sizeof(s));
	ck_assert_int_eq(rq.answer, FAKE_IOCTL);
	memcpy(&s, rq.data, sizeof(s));
	fake_request_done(&rq);
	return s;
}

static void check_style(const char *io)
{
	struct cusekit_device *d = start(io);
	struct cusekit_client *c = open_client(d);
	static const char zeros[4096];
	struct fake_request rq;
	struct zero_stats s;

	fake_request_init(&rq, 1, 1000, 1000);
	device_read(d, &rq, c, sizeof(zeros), false);
	ck_assert_int_eq(rq.answer, FAKE_DATA);
	ck_assert_uint_eq(rq.size, sizeof(zeros));
	ck_assert_mem_eq(rq.data, zeros, sizeof(zeros));
	device_write(d, &rq, c, "abc", 3, false);
	ck_assert_int_eq(rq.answer, FAKE_WRITTEN);
	ck_assert_uint_eq(rq.size, 3);

	/* Callers gone before their answers: nothing counted. */
	rq.gone = true;
	device_read(d, &rq, c, 100, false);
	device_write(d, &rq, c, "de", 2, false);
	s = stats(d, c);
	ck_assert_uint_eq(s.total_read, sizeof(zeros));
	ck_assert_uint_eq(s.read_calls, 1);
	ck_assert_uint_eq(s.total_written, 3);
	ck_assert_uint_eq(s.write_calls, 1);
	fake_request_done(&rq);
	device_free(d);
}

START_TEST(test_direct) { check_style("--io=direct"); }
END_TEST

START_TEST(test_buffered) { check_style("--io=buffered"); }
END_TEST

/* No save needed: a second device on the same state sees every count at
 * once, as a restarted zerod does after a SIGKILL. */
START_TEST(test_counts_are_in_the_file)
{
	struct cusekit_device *d = start("--io=direct"), *again;
	struct cusekit_client *c = open_client(d);
	struct fake_request rq;

	fake_request_init(&rq, 1, 1000, 1000);
	device_read(d, &rq, c, 777, false);
	again = start("--io=direct");
	ck_assert_uint_eq(stats(again, open_client(again)).total_read, 777);
	fake_request_done(&rq);
	device_free(again);
	device_free(d);
}
END_TEST

START_TEST(test_older_counters_carried_over)
{
	const struct zero_stats old = { .total_read = 5, .total_written = 6, .read_calls = 7, .write_calls = 8 };
	char path[128];
	struct cusekit_device *d;
	struct zero_stats s;

	snprintf(path, sizeof(path), "%s/counters", dir);
	ck_assert_int_eq(cusekit_state_save(path, 1, &old, sizeof(old)), 0);
	d = start("--io=direct");
	s = stats(d, open_client(d));
	ck_assert_mem_eq(&s, &old, sizeof(old));
	device_free(d);
}
END_TEST

static Suite *zero_suite(void)
{
	Suite *s = suite_create("zero");
	TCase *tc = tcase_create("zero");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_direct);
	tcase_add_test(tc, test_buffered);
	tcase_add_test(tc, test_counts_are_in_the_file);
	tcase_add_test(tc, test_older_counters_carried_over);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(zero_suite());
}
