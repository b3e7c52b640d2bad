/* SPDX-License-Identifier: MIT */
/* Booster's safety net, the pure parts: the rate limit, the canary's
 * judgement, the RLIMIT_RTTIME bound, autogroup parsing and the group's
 * nice. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "check-run.h"
#include "autogroup.h"
#include "canary.h"
#include "ratelimit.h"
#include "rttime.h"

#define SEC 1000000ull
#define ALICE 1000
#define BOB 1001

START_TEST(test_ratelimit_window)
{
	struct ratelimit *rl = ratelimit_new(3, 20 * SEC);
	uint64_t t0 = 5 * SEC;

	ck_assert_ptr_nonnull(rl);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(ratelimit_check(rl, ALICE, t0 + i * SEC), 0);
		ck_assert_int_eq(ratelimit_count(rl, ALICE, t0 + i * SEC), 0);
	}
	ck_assert_int_eq(ratelimit_check(rl, ALICE, t0 + 3 * SEC), -EBUSY);
	/* Another user has a window of its own. */
	ck_assert_int_eq(ratelimit_check(rl, BOB, t0 + 3 * SEC), 0);
	/* A sliding window: the first grant leaves it 20 s after it was made,
	 * not a whole burst at once. */
	ck_assert_int_eq(ratelimit_check(rl, ALICE, t0 + 20 * SEC - 1), -EBUSY);
	ck_assert_int_eq(ratelimit_check(rl, ALICE, t0 + 20 * SEC), 0);
	ck_assert_int_eq(ratelimit_count(rl, ALICE, t0 + 20 * SEC), 0);
	ck_assert_int_eq(ratelimit_check(rl, ALICE, t0 + 20 * SEC), -EBUSY);
	ck_assert_int_eq(ratelimit_check(rl, ALICE, t0 + 21 * SEC), 0);
	/* Refusals are not counted: only grants are. */
	for (int i = 0; i < 100; i++)
		ratelimit_check(rl, ALICE, t0 + 20 * SEC);
	ck_assert_int_eq(ratelimit_check(rl, ALICE, t0 + 21 * SEC), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(test_ratelimit_forgets_users)
{
	struct ratelimit *rl = ratelimit_new(RATELIMIT_BURST_DEFAULT, RATELIMIT_INTERVAL_SEC_DEFAULT * SEC);

	for (uid_t u = 0; u < 500; u++)
		ck_assert_int_eq(ratelimit_count(rl, 2000 + u, SEC + u), 0);
	ck_assert_uint_eq(ratelimit_users(rl, SEC + 500), 500);
	/* Users whose grants all left the interval are not held. */
	ck_assert_uint_eq(ratelimit_users(rl, SEC + 249 + 20 * SEC), 250);
	ck_assert_uint_eq(ratelimit_users(rl, 100 * SEC), 0);
	ck_assert_ptr_null(ratelimit_new(0, SEC));
	ratelimit_free(rl);
}
END_TEST

static const struct canary_config cfg = { .starvation_usec = 4 * SEC, .cooldown_usec = 60 * SEC };

/* One watchdog check at woke, on time (due = woke) unless late is given. */
static enum canary_verdict check(struct canary_watch *w, uint64_t woke, uint64_t cheeped, bool runnable)
{
	return canary_judge(&cfg, w, woke, woke, cheeped, runnable);
}

START_TEST(test_canary_judge)
{
	struct canary_watch w = {};
	uint64_t period = canary_period(&cfg), t;

	ck_assert_uint_eq(period, SEC);
	/* Fresh, or overdue but asleep (not waiting for a CPU): fine. */
	ck_assert_int_eq(check(&w, 10 * SEC, 9 * SEC + 500, true), CANARY_FINE);
	ck_assert_int_eq(check(&w, 11 * SEC, 1 * SEC, false), CANARY_FINE);
	ck_assert_uint_eq(w.starving_since, 0);

	/* Starving from 12 s (cheeped at 11 s, due at 12 s) and seen so at every
	 * check: starving once seen for the starvation time, 4 s. */
	for (t = 13 * SEC; t < 17 * SEC; t += period)
		ck_assert_int_eq(check(&w, t, 11 * SEC, true), CANARY_FINE);
	ck_assert_int_eq(check(&w, 17 * SEC, 11 * SEC, true), CANARY_STARVING);
	/* It counts again after acting. */
	ck_assert_int_eq(check(&w, 18 * SEC, 11 * SEC, true), CANARY_FINE);
	ck_assert_uint_eq(w.starving_since, 18 * SEC);

	/* One check finding it fine starts the count again. */
	w = (struct canary_watch){};
	for (t = 20 * SEC; t < 23 * SEC; t += period)
		ck_assert_int_eq(check(&w, t, 10 * SEC, true), CANARY_FINE);
	ck_assert_int_eq(check(&w, 23 * SEC, 22 * SEC + 500000, true), CANARY_FINE);
	ck_assert_int_eq(check(&w, 24 * SEC, 10 * SEC, true), CANARY_FINE);
	ck_assert_uint_eq(w.starving_since, 24 * SEC);

	/* Everything stopped (a freeze around suspend, a paused VM): the canary
	 * was silent for 30 s but the watchdog saw it starving only since now. */
	w = (struct canary_watch){};
	ck_assert_int_eq(check(&w, 40 * SEC, 10 * SEC, true), CANARY_FINE);
	/* A check more than a period late: the watchdog was held up too. */
	ck_assert_int_eq(canary_judge(&cfg, &w, 41 * SEC, 42 * SEC + 1, 10 * SEC, true), CANARY_STALLED);
	ck_assert_uint_eq(w.starving_since, 0);
	ck_assert_int_eq(canary_judge(&cfg, &w, 43 * SEC, 44 * SEC, 10 * SEC, true), CANARY_FINE);
}
END_TEST

START_TEST(test_rttime_bounded)
{
	struct rlimit r;

	r = rttime_bounded((struct rlimit){ RLIM_INFINITY, RLIM_INFINITY }, 200000);
	ck_assert_uint_eq(r.rlim_cur, 200000);
	ck_assert_uint_eq(r.rlim_max, 200000);
	/* A lower limit stays, soft and hard each. */
	r = rttime_bounded((struct rlimit){ 50000, RLIM_INFINITY }, 200000);
	ck_assert_uint_eq(r.rlim_cur, 50000);
	ck_assert_uint_eq(r.rlim_max, 200000);
	r = rttime_bounded((struct rlimit){ 10000, 20000 }, 200000);
	ck_assert_uint_eq(r.rlim_cur, 10000);
	ck_assert_uint_eq(r.rlim_max, 20000);
	r = rttime_bounded((struct rlimit){ 150000, 300000 }, 200000);
	ck_assert_uint_eq(r.rlim_cur, 150000);
	ck_assert_uint_eq(r.rlim_max, 200000);
}
END_TEST

START_TEST(test_rttime_parse_limits)
{
	static const char limits[] =
		"Limit                     Soft Limit           Hard Limit           Units     \n"
		"Max realtime priority     0                    0                    \n"
		"Max realtime timeout      unlimited            unlimited            us        \n";
	static const char bounded[] = "x\nMax realtime timeout      50000                200000               us\n";
	struct rlimit r;

	ck_assert_int_eq(rttime_parse_limits(limits, &r), 0);
	ck_assert(r.rlim_cur == RLIM_INFINITY && r.rlim_max == RLIM_INFINITY);
	ck_assert_int_eq(rttime_parse_limits(bounded, &r), 0);
	ck_assert_uint_eq(r.rlim_cur, 50000);
	ck_assert_uint_eq(r.rlim_max, 200000);
	ck_assert_int_eq(rttime_parse_limits("Max realtime priority 0 0\n", &r), -EBADMSG);
	ck_assert_int_eq(rttime_parse_limits("x\nMax realtime timeout  12x  5 us\n", &r), -EBADMSG);
}
END_TEST

START_TEST(test_rttime_apply)
{
	struct rlimit now;

	/* On ourselves: no privilege needed to lower. */
	ck_assert_int_eq(rttime_apply(getpid(), 300000, &now), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_RTTIME, &now), 0);
	ck_assert_uint_le(now.rlim_max, 300000);
	ck_assert_int_eq(rttime_apply(getpid(), 400000, NULL), 0);
	ck_assert_int_eq(getrlimit(RLIMIT_RTTIME, &now), 0);
	ck_assert_uint_le(now.rlim_max, 300000);
}
END_TEST

START_TEST(test_autogroup_parse)
{
	uint64_t id;
	int nice;

	ck_assert_int_eq(autogroup_parse("/autogroup-31 nice 0\n", &id, &nice), 0);
	ck_assert_uint_eq(id, 31);
	ck_assert_int_eq(nice, 0);
	ck_assert_int_eq(autogroup_parse("/autogroup-7 nice -12", &id, &nice), 0);
	ck_assert_uint_eq(id, 7);
	ck_assert_int_eq(nice, -12);
	ck_assert_int_eq(autogroup_parse("/autogroup-7 nice", &id, &nice), -EBADMSG);
	ck_assert_int_eq(autogroup_parse("autogroup-7 nice 1", &id, &nice), -EBADMSG);
	ck_assert_int_eq(autogroup_parse("/autogroup-7 nice 1 x", &id, &nice), -EBADMSG);
	ck_assert_int_eq(autogroup_parse("", &id, &nice), -EBADMSG);
}
END_TEST

START_TEST(test_autogroup_wanted)
{
	const int boosts[] = { -3, -8, -1 };

	ck_assert_int_eq(autogroup_wanted(0, boosts, 3), -8);
	ck_assert_int_eq(autogroup_wanted(0, boosts, 1), -3);
	/* Never above what the group had. */
	ck_assert_int_eq(autogroup_wanted(-10, boosts, 3), -10);
	ck_assert_int_eq(autogroup_wanted(5, NULL, 0), 5);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("booster-safety");
	TCase *tc = tcase_create("booster-safety");

	tcase_add_test(tc, test_ratelimit_window);
	tcase_add_test(tc, test_ratelimit_forgets_users);
	tcase_add_test(tc, test_canary_judge);
	tcase_add_test(tc, test_rttime_bounded);
	tcase_add_test(tc, test_rttime_parse_limits);
	tcase_add_test(tc, test_rttime_apply);
	tcase_add_test(tc, test_autogroup_parse);
	tcase_add_test(tc, test_autogroup_wanted);
	suite_add_tcase(s, tc);
	return check_run(s);
}
