/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stddef.h>

#include "policy.h"

int booster_scale_to_request(int32_t priority, struct booster_request *r)
{
	if (priority < BOOSTER_PRIORITY_MIN || priority > BOOSTER_PRIORITY_MAX)
		return -EINVAL;
	if (priority >= BOOSTER_PRIORITY_RT_MIN) {
		r->policy = BOOSTER_POLICY_RR;
		r->nice = 0;
		r->rt_priority = (uint32_t)(priority - BOOSTER_PRIORITY_RT_MIN + 1);
	} else {
		/* Seven steps each way from 8 spread over nice's range. */
		int nice = (BOOSTER_PRIORITY_NORMAL - priority) * 20 / 7;

		r->policy = BOOSTER_POLICY_OTHER;
		r->nice = nice > BOOSTER_NICE_MAX ? BOOSTER_NICE_MAX : nice;
		r->rt_priority = 0;
	}
	return 0;
}

int booster_request_validate(const struct booster_request *r)
{
	if (r->flags & ~BOOSTER_FLAG_PERSIST)
		return -EINVAL;
	if (r->nice < BOOSTER_NICE_MIN || r->nice > BOOSTER_NICE_MAX)
		return -EINVAL;
	switch (r->policy) {
	case BOOSTER_POLICY_OTHER:
	case BOOSTER_POLICY_BATCH:
	case BOOSTER_POLICY_IDLE:
		return r->rt_priority == 0 ? 0 : -EINVAL;
	case BOOSTER_POLICY_FIFO:
	case BOOSTER_POLICY_RR:
		return r->rt_priority >= 1 && r->rt_priority <= BOOSTER_RT_PRIORITY_MAX ? 0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

const char *booster_policy_refusal(const struct booster_limits *l, enum booster_rank rank, uid_t caller,
				   const struct booster_target *target, unsigned boosted_now,
				   const struct booster_request *r)
{
	if (rank == BOOSTER_RANK_ROOT)
		return NULL;
	/* kill(2)'s rule: the caller's uid is the target's real or saved uid. */
	if (rank == BOOSTER_RANK_USER && caller != target->ruid && caller != target->suid)
		return "thread of another user";
	if (booster_policy_is_rt(r->policy)) {
		if (l->rt_max_priority == 0)
			return "real-time is off (rt-max-priority = 0)";
		if (r->rt_priority > l->rt_max_priority)
			return "real-time priority above rt-max-priority";
	} else if (r->nice < l->nice_floor)
		return "nice below nice-floor";
	if (boosted_now >= l->max_boosted_per_user)
		return "max-boosted-per-user reached";
	return NULL;
}
