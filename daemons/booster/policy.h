/* SPDX-License-Identifier: MIT */
/*
 * Booster's pure logic: the book's priority scale, request validation and
 * the policy decision. No syscalls here, so all of it is unit-tested.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <cusekit/booster.h>

#define BOOSTER_NICE_MIN (-20)
#define BOOSTER_NICE_MAX 19
#define BOOSTER_RT_PRIORITY_MAX 99

struct booster_limits {
	int nice_floor;                   /* lowest nice a user may ask for */
	unsigned rt_max_priority;         /* 0: real-time is refused */
	unsigned max_boosted_per_user;    /* threads one uid may hold changed at once */
};

#define BOOSTER_LIMITS_DEFAULT \
	((struct booster_limits){ .nice_floor = -10, .rt_max_priority = 0, .max_boosted_per_user = 32 })

enum booster_rank {
	BOOSTER_RANK_USER,     /* own threads only, within the limits */
	BOOSTER_RANK_ADMIN,    /* anyone's threads, within the limits */
	BOOSTER_RANK_ROOT,     /* anything */
};

/* Who owns the target thread: its process's real and saved uid. */
struct booster_target {
	uid_t ruid;
	uid_t suid;
};

/* The book's 1..31 to a SET request (tid and flags left alone). -EINVAL when
 * priority is out of range. */
int booster_scale_to_request(int32_t priority, struct booster_request *r);

/* 0 or -EINVAL: a request that no caller may make. */
int booster_request_validate(const struct booster_request *r);

static inline bool booster_policy_is_rt(uint32_t policy)
{
	return policy == BOOSTER_POLICY_FIFO || policy == BOOSTER_POLICY_RR;
}

/* Why the policy refuses a valid request, or NULL when it allows it.
 * boosted_now: threads the caller's uid holds changed now, not counting the
 * one this request would replace. */
const char *booster_policy_refusal(const struct booster_limits *l, enum booster_rank rank, uid_t caller,
				   const struct booster_target *target, unsigned boosted_now,
				   const struct booster_request *r);
