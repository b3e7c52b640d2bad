/* SPDX-License-Identifier: MIT */
/* Booster's pure logic: the book's scale, request validation, the policy. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "policy.h"
#include "check-run.h"

#define ALICE 1000
#define BOB 1001

static const struct booster_target alices = { .ruid = ALICE, .suid = ALICE };

static struct booster_request nice_request(int nice)
{
	return (struct booster_request){ .tid = 1, .policy = BOOSTER_POLICY_OTHER, .nice = nice };
}

static struct booster_request rt_request(uint32_t policy, uint32_t priority)
{
	return (struct booster_request){ .tid = 1, .policy = policy, .rt_priority = priority };
}

START_TEST(test_scale_nice)
{
	static const int expected[16] = { [1] = 19, 17, 14, 11, 8, 5, 2, 0, -2, -5, -8, -11, -14, -17, -20 };

	for (int p = 1; p <= 15; p++) {
		struct booster_request r = { .tid = 42, .flags = BOOSTER_FLAG_PERSIST };

		ck_assert_int_eq(booster_scale_to_request(p, &r), 0);
		ck_assert_uint_eq(r.policy, BOOSTER_POLICY_OTHER);
		ck_assert_int_eq(r.nice, expected[p]);
		ck_assert_uint_eq(r.rt_priority, 0);
		ck_assert_uint_eq(r.tid, 42);
		ck_assert_uint_eq(r.flags, BOOSTER_FLAG_PERSIST);
		ck_assert_int_eq(booster_request_validate(&r), 0);
	}
}
END_TEST

START_TEST(test_scale_rt)
{
	for (int p = 16; p <= 31; p++) {
		struct booster_request r = {};

		ck_assert_int_eq(booster_scale_to_request(p, &r), 0);
		ck_assert_uint_eq(r.policy, BOOSTER_POLICY_RR);
		ck_assert_uint_eq(r.rt_priority, (uint32_t)(p - 15));
		ck_assert_int_eq(r.nice, 0);
		ck_assert_int_eq(booster_request_validate(&r), 0);
	}
}
END_TEST

START_TEST(test_scale_out_of_range)
{
	static const int32_t bad[] = { 0, -1, 32, INT32_MIN, INT32_MAX };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct booster_request r = {};

		ck_assert_int_eq(booster_scale_to_request(bad[i], &r), -EINVAL);
	}
}
END_TEST

START_TEST(test_validate)
{
	struct booster_request r;

	ck_assert_int_eq(booster_request_validate(&(struct booster_request){ .policy = BOOSTER_POLICY_IDLE }), 0);
	ck_assert_int_eq(booster_request_validate(&(struct booster_request){ .policy = BOOSTER_POLICY_BATCH, .nice = 19 }), 0);
	ck_assert_int_eq(booster_request_validate(&(struct booster_request){ .policy = 4 }), -EINVAL);
	ck_assert_int_eq(booster_request_validate(&(struct booster_request){ .policy = 6 }), -EINVAL);
	ck_assert_int_eq(booster_request_validate(&(struct booster_request){ .policy = 0xffffffffu }), -EINVAL);
	r = nice_request(-21);
	ck_assert_int_eq(booster_request_validate(&r), -EINVAL);
	r = nice_request(20);
	ck_assert_int_eq(booster_request_validate(&r), -EINVAL);
	r = nice_request(0);
	r.rt_priority = 1;
	ck_assert_int_eq(booster_request_validate(&r), -EINVAL);
	r = nice_request(0);
	r.flags = 0x2;
	ck_assert_int_eq(booster_request_validate(&r), -EINVAL);
	r = rt_request(BOOSTER_POLICY_FIFO, 0);
	ck_assert_int_eq(booster_request_validate(&r), -EINVAL);
	r = rt_request(BOOSTER_POLICY_RR, 100);
	ck_assert_int_eq(booster_request_validate(&r), -EINVAL);
	r = rt_request(BOOSTER_POLICY_RR, 99);
	ck_assert_int_eq(booster_request_validate(&r), 0);
}
END_TEST

START_TEST(test_policy_ownership)
{
	struct booster_limits l = BOOSTER_LIMITS_DEFAULT;
	struct booster_request r = nice_request(-5);
	const struct booster_target setuid_child = { .ruid = ALICE, .suid = 0 };
	const struct booster_target saved_alice = { .ruid = 0, .suid = ALICE };

	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_USER, BOB, &alices, 0, &r));
	/* kill(2): real or saved uid of the target. */
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &setuid_child, 0, &r));
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &saved_alice, 0, &r));
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_ADMIN, BOB, &alices, 0, &r));
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_ROOT, 0, &alices, 0, &r));
}
END_TEST

START_TEST(test_policy_limits)
{
	struct booster_limits l = BOOSTER_LIMITS_DEFAULT;
	struct booster_request r;

	ck_assert_int_eq(l.nice_floor, -10);
	ck_assert_uint_eq(l.rt_max_priority, 0);

	r = nice_request(-10);
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
	r = nice_request(-11);
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
	/* The limits hold for administrators too, not for root. */
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_ADMIN, ALICE, &alices, 0, &r));
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_ROOT, 0, &alices, 99, &r));

	r = rt_request(BOOSTER_POLICY_RR, 1);
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
	l.rt_max_priority = 10;
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
	r = rt_request(BOOSTER_POLICY_FIFO, 10);
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
	r = rt_request(BOOSTER_POLICY_FIFO, 11);
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));

	/* Nice floor does not apply to real-time requests' unused nice. */
	r = rt_request(BOOSTER_POLICY_RR, 2);
	r.nice = -20;
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
}
END_TEST

START_TEST(test_policy_cap)
{
	struct booster_limits l = BOOSTER_LIMITS_DEFAULT;
	struct booster_request r = nice_request(0);

	l.max_boosted_per_user = 2;
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 1, &r));
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 2, &r));
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_ADMIN, ALICE, &alices, 2, &r));
	ck_assert_ptr_null(booster_policy_refusal(&l, BOOSTER_RANK_ROOT, 0, &alices, 1000, &r));
	l.max_boosted_per_user = 0;
	ck_assert_ptr_nonnull(booster_policy_refusal(&l, BOOSTER_RANK_USER, ALICE, &alices, 0, &r));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("booster-policy");
	TCase *tc = tcase_create("booster-policy");

	tcase_add_test(tc, test_scale_nice);
	tcase_add_test(tc, test_scale_rt);
	tcase_add_test(tc, test_scale_out_of_range);
	tcase_add_test(tc, test_validate);
	tcase_add_test(tc, test_policy_ownership);
	tcase_add_test(tc, test_policy_limits);
	tcase_add_test(tc, test_policy_cap);
	suite_add_tcase(s, tc);
	return check_run(s);
}
