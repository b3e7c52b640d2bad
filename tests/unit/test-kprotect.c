/* SPDX-License-Identifier: MIT */
/* KProtect's pure logic: the pid set (identity, duplicates, capacity,
 * paging), the exec deny set, the state encoding, /proc/<pid>/stat parsing. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "rules.h"
#include "check-run.h"

START_TEST(test_pid_set_sorted_and_unique)
{
	struct pid_set s;

	ck_assert_int_eq(pid_set_init(&s, 8), 0);
	ck_assert_int_eq(pid_set_add(&s, 300, 7), 1);
	ck_assert_int_eq(pid_set_add(&s, 100, 5), 1);
	ck_assert_int_eq(pid_set_add(&s, 200, 6), 1);
	ck_assert_int_eq(pid_set_add(&s, 100, 5), 0);        /* same process: duplicate */
	ck_assert_uint_eq(s.count, 3);
	ck_assert_uint_eq(s.rules[0].pid, 100);
	ck_assert_uint_eq(s.rules[1].pid, 200);
	ck_assert_uint_eq(s.rules[2].pid, 300);
	ck_assert_ptr_nonnull(pid_set_find(&s, 200));
	ck_assert_ptr_null(pid_set_find(&s, 201));
	pid_set_done(&s);
}
END_TEST

START_TEST(test_pid_set_reused_pid_replaces)
{
	struct pid_set s;

	ck_assert_int_eq(pid_set_init(&s, 2), 0);
	ck_assert_int_eq(pid_set_add(&s, 42, 1000), 1);
	/* Same pid, other start time: a new process, the old rule is dead. */
	ck_assert_int_eq(pid_set_add(&s, 42, 2000), 1);
	ck_assert_uint_eq(s.count, 1);
	ck_assert_uint_eq(pid_set_find(&s, 42)->start_time, 2000);
	pid_set_done(&s);
}
END_TEST

START_TEST(test_pid_set_capacity_and_remove)
{
	struct pid_set s;

	ck_assert_int_eq(pid_set_init(&s, 2), 0);
	ck_assert_int_eq(pid_set_add(&s, 1, 1), 1);
	ck_assert_int_eq(pid_set_add(&s, 2, 1), 1);
	ck_assert_int_eq(pid_set_add(&s, 3, 1), -ENOSPC);
	ck_assert_int_eq(pid_set_add(&s, 2, 1), 0);          /* duplicates never need room */
	ck_assert(pid_set_remove(&s, 1));
	ck_assert(!pid_set_remove(&s, 1));
	ck_assert_int_eq(pid_set_add(&s, 3, 1), 1);
	ck_assert_uint_eq(s.rules[0].pid, 2);
	ck_assert_uint_eq(s.rules[1].pid, 3);
	pid_set_clear(&s);
	ck_assert_uint_eq(s.count, 0);
	pid_set_done(&s);
}
END_TEST

START_TEST(test_pid_set_paging)
{
	struct kprotect_pid_entry page[KPROTECT_PIDS_MAX];
	struct pid_set s;
	size_t seen = 0;

	ck_assert_int_eq(pid_set_init(&s, 1024), 0);
	for (uint32_t pid = 1000; pid > 0; pid--)
		ck_assert_int_eq(pid_set_add(&s, pid, pid * 10ull), 1);
	for (size_t offset = 0;; offset += KPROTECT_PIDS_MAX) {
		size_t n = pid_set_page(&s, offset, page, KPROTECT_PIDS_MAX);

		if (n == 0)
			break;
		ck_assert_uint_eq(n, MIN(1000 - offset, (size_t)KPROTECT_PIDS_MAX));
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_eq(page[i].pid, seen + 1);
			ck_assert_uint_eq(page[i].start_time, (seen + 1) * 10);
			seen++;
		}
	}
	ck_assert_uint_eq(seen, 1000);
	ck_assert_uint_eq(pid_set_page(&s, 5000, page, KPROTECT_PIDS_MAX), 0);
	ck_assert_uint_eq(page_count(10, 10, 4), 0);
	ck_assert_uint_eq(page_count(10, 8, 4), 2);
	ck_assert_uint_eq(page_count(0, 0, 4), 0);
	pid_set_done(&s);
}
END_TEST

START_TEST(test_exec_set)
{
	struct kprotect_exec_entry page[KPROTECT_EXEC_PAGE];
	struct exec_set s;

	ck_assert_int_eq(exec_set_init(&s, 3), 0);
	ck_assert_int_eq(exec_set_add(&s, 1, 10, "/a"), 1);
	ck_assert_int_eq(exec_set_add(&s, 1, 10, "/a-hardlink"), 0);  /* identity, not name */
	ck_assert_int_eq(exec_set_add(&s, 2, 10, "/b"), 1);           /* same inode, other device */
	ck_assert_int_eq(exec_set_add(&s, 1, 11, "/c"), 1);
	ck_assert_int_eq(exec_set_add(&s, 1, 12, "/d"), -ENOSPC);
	ck_assert_ptr_nonnull(exec_set_find(&s, 2, 10));
	ck_assert_ptr_null(exec_set_find(&s, 2, 11));
	ck_assert_uint_eq(exec_set_find_path(&s, "/c")->ino, 11);
	ck_assert_ptr_null(exec_set_find_path(&s, "/a-hardlink")); /* rules keep the first name */

	ck_assert_uint_eq(exec_set_page(&s, 1, page, KPROTECT_EXEC_PAGE), 2);
	ck_assert_str_eq(page[0].path, "/b");
	ck_assert_uint_eq(page[0].dev, 2);
	ck_assert_str_eq(page[1].path, "/c");
	ck_assert_uint_eq(page[1].ino, 11);

	ck_assert(exec_set_remove(&s, 2, 10));
	ck_assert(!exec_set_remove(&s, 2, 10));
	ck_assert_uint_eq(exec_set_page(&s, 0, page, KPROTECT_EXEC_PAGE), 2);
	ck_assert_str_eq(page[0].path, "/a");
	ck_assert_str_eq(page[1].path, "/c");
	exec_set_done(&s);
}
END_TEST

START_TEST(test_rules_roundtrip)
{
	struct pid_set pids, pids2;
	struct exec_set execs, execs2;
	size_t size, dropped = 99;
	void *data;

	ck_assert_int_eq(pid_set_init(&pids, 4), 0);
	ck_assert_int_eq(exec_set_init(&execs, 4), 0);
	ck_assert_int_eq(pid_set_add(&pids, 7, 70), 1);
	ck_assert_int_eq(pid_set_add(&pids, 9, 90), 1);
	ck_assert_int_eq(exec_set_add(&execs, 3, 33, "/usr/bin/x"), 1);
	ck_assert_int_eq(rules_encode(&pids, &execs, &data, &size), 0);

	/* Smaller capacities: what does not fit is dropped and counted. */
	ck_assert_int_eq(pid_set_init(&pids2, 1), 0);
	ck_assert_int_eq(exec_set_init(&execs2, 4), 0);
	ck_assert_int_eq(rules_decode(data, size, &pids2, &execs2, &dropped), 0);
	ck_assert_uint_eq(dropped, 1);
	ck_assert_uint_eq(pids2.count, 1);
	ck_assert_uint_eq(pids2.rules[0].pid, 7);
	ck_assert_uint_eq(pids2.rules[0].start_time, 70);
	ck_assert_uint_eq(execs2.count, 1);
	ck_assert_str_eq(execs2.rules[0].path, "/usr/bin/x");
	ck_assert_uint_eq(execs2.rules[0].ino, 33);

	/* Every truncation is malformed, and leaves the sets empty. */
	for (size_t cut = 0; cut < size; cut++) {
		pid_set_clear(&pids2);
		exec_set_done(&execs2);
		ck_assert_int_eq(exec_set_init(&execs2, 4), 0);
		ck_assert_int_eq(rules_decode(data, cut, &pids2, &execs2, &dropped), -EBADMSG);
		ck_assert_uint_eq(pids2.count, 0);
		ck_assert_uint_eq(execs2.count, 0);
	}
	free(data);
	pid_set_done(&pids);
	pid_set_done(&pids2);
	exec_set_done(&execs);
	exec_set_done(&execs2);
}
END_TEST

static Suite *kprotect_suite(void)
{
	Suite *s = suite_create("kprotect");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_pid_set_sorted_and_unique);
	tcase_add_test(tc, test_pid_set_reused_pid_replaces);
	tcase_add_test(tc, test_pid_set_capacity_and_remove);
	tcase_add_test(tc, test_pid_set_paging);
	tcase_add_test(tc, test_exec_set);
	tcase_add_test(tc, test_rules_roundtrip);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kprotect_suite());
}
