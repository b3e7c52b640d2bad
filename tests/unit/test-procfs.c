/* SPDX-License-Identifier: MIT */
/* common/procfs: parsing /proc text, and a task's identity. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check-run.h"
#include "procfs.h"

START_TEST(test_stat_parse)
{
	char state, comm[16];
	uint64_t start_time;

	/* A command name with spaces and parentheses. */
	ck_assert_int_eq(proc_stat_parse("123 (a) b (c)) S 1 123 123 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 "
					 "987654 1000 100 18446744073709551615",
					 comm, &state, &start_time),
			 0);
	ck_assert_str_eq(comm, "a) b (c)");
	ck_assert_int_eq(state, 'S');
	ck_assert_uint_eq(start_time, 987654);
	ck_assert_int_eq(proc_stat_parse("123 (x S 1", NULL, &state, &start_time), -EBADMSG);
	ck_assert_int_eq(proc_stat_parse("123 (x) S 1 2", NULL, &state, &start_time), -EBADMSG);
}
END_TEST

START_TEST(test_status_parse)
{
	const char *text = "Name:\tbash\nTgid:\t42\nUid:\t1000\t1001\t1002\t1003\nGroups:\t\n";
	unsigned v[4] = {};

	ck_assert_int_eq(proc_status_parse(text, "Uid:", v, 4), 4);
	ck_assert_uint_eq(v[0], 1000);
	ck_assert_uint_eq(v[2], 1002);
	ck_assert_int_eq(proc_status_parse(text, "Uid:", v, 2), 2);
	ck_assert_int_eq(proc_status_parse(text, "Tgid:", v, 1), 1);
	ck_assert_uint_eq(v[0], 42);
	/* A line with no number, and no line. */
	ck_assert_int_eq(proc_status_parse(text, "Groups:", v, 1), -ESRCH);
	ck_assert_int_eq(proc_status_parse(text, "Gid:", v, 1), -ESRCH);
	/* "Uid:" must not match inside another name. */
	ck_assert_int_eq(proc_status_parse("NSUid:\t7\n", "Uid:", v, 1), -ESRCH);
}
END_TEST

START_TEST(test_identity)
{
	uint64_t start_time, again;
	pid_t tgid;
	char buf[64];

	ck_assert_int_eq(proc_pid_start_time((uint32_t)getpid(), &start_time), 0);
	ck_assert_int_eq(proc_pid_start_time((uint32_t)getpid(), &again), 0);
	ck_assert_uint_eq(start_time, again);
	ck_assert_int_eq(proc_pid_is_process((uint32_t)getpid()), 1);
	ck_assert_int_eq(proc_tgid(getpid(), &tgid), 0);
	ck_assert_int_eq(tgid, getpid());
	ck_assert_int_eq(proc_pid_start_time(0, &start_time), -ESRCH);
	ck_assert_int_eq(proc_pid_start_time(0x7fffffff, &start_time), -ESRCH);
	ck_assert_int_eq(proc_pid_is_process(0x7fffffff), -ESRCH);
	ck_assert_int_eq(proc_read(AT_FDCWD, "/proc/2147483647/stat", buf, sizeof(buf)), -ESRCH);
	ck_assert_int_gt(proc_read_link("/proc/self/exe", buf, sizeof(buf)), 0);
	ck_assert_int_eq(buf[0], '/');
	ck_assert_int_eq(proc_read_link("/proc/2147483647/exe", buf, sizeof(buf)), -ENOENT);
	ck_assert_str_eq(buf, "");
}
END_TEST

/* A file larger than one read, whole; a bound that is too small, said so. */
START_TEST(test_read_all)
{
	char *text = NULL;
	size_t size;
	void *maps[64];

	/* Enough mappings to take the maps file past one page. */
	for (size_t i = 0; i < 64; i++) {
		maps[i] = mmap(NULL, 4096, i % 2 ? PROT_READ : PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ck_assert_ptr_ne(maps[i], MAP_FAILED);
	}
	ck_assert_int_eq(proc_read_all(getpid(), "maps", 1 << 20, &text, &size), 0);
	ck_assert_uint_gt(size, 4096);
	ck_assert_uint_eq(strlen(text), size);
	ck_assert_ptr_nonnull(strstr(text, "[stack]"));
	free(text);
	ck_assert_int_eq(proc_read_all(getpid(), "maps", 4096, &text, &size), -EFBIG);
	ck_assert_int_eq(proc_read_all(0x7fffffff, "maps", 1 << 20, &text, &size), -ESRCH);
	for (size_t i = 0; i < 64; i++)
		munmap(maps[i], 4096);
}
END_TEST

static Suite *procfs_suite(void)
{
	Suite *s = suite_create("procfs");
	TCase *tc = tcase_create("procfs");

	tcase_add_test(tc, test_stat_parse);
	tcase_add_test(tc, test_status_parse);
	tcase_add_test(tc, test_identity);
	tcase_add_test(tc, test_read_all);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(procfs_suite());
}
