/* SPDX-License-Identifier: MIT */
/*
 * Booster's service: every request's meaning, apart from any transport. The
 * device (booster.c) hands it the caller the kernel named and the request;
 * it decides (policy.h, the rate limit, the canary's cool-down), bounds
 * RLIMIT_RTTIME for real-time grants, changes the thread through the boost
 * stack (stack.h), raises the thread's autogroup with a nice boost, and
 * forgets a thread as soon as the kernel says it exited (proc connector).
 * No libfuse here: the event loop is sd-event's.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include <cusekit/booster.h>

#include "canary.h"
#include "policy.h"
#include "ratelimit.h"
#include "rttime.h"

struct booster_config {
	struct booster_limits limits;
	unsigned rttime_limit_ms;          /* RLIMIT_RTTIME bound of real-time grants */
	unsigned rate_limit_burst;         /* grants per user per interval */
	unsigned rate_limit_interval_sec;
	unsigned canary_starvation_ms;
	unsigned canary_cooldown_sec;
	bool autogroup;                    /* raise a nice boost's autogroup where the kernel has them */
};

#define BOOSTER_CONFIG_DEFAULT                                                                                 \
	((struct booster_config){ .limits = BOOSTER_LIMITS_DEFAULT,                                             \
				  .rttime_limit_ms = RTTIME_LIMIT_MS_DEFAULT,                                   \
				  .rate_limit_burst = RATELIMIT_BURST_DEFAULT,                                  \
				  .rate_limit_interval_sec = RATELIMIT_INTERVAL_SEC_DEFAULT,                    \
				  .canary_starvation_ms = CANARY_STARVATION_MS_DEFAULT,                         \
				  .canary_cooldown_sec = CANARY_COOLDOWN_SEC_DEFAULT,                           \
				  .autogroup = true })

/* Who asks, as the kernel said, and what the policy makes of them. */
struct booster_caller {
	pid_t pid;
	uid_t uid;
	enum booster_rank rank;
};

struct booster_service;

/* Starts the canary and subscribes to thread exits on e; says at start what
 * it runs with (and where autogroup is on). */
int booster_service_new(const struct booster_config *cfg, sd_event *e, struct booster_service **ret);
/* Forget everything (persistent changes stay); NULL. */
struct booster_service *booster_service_free(struct booster_service *s);

/* One change for owner (the open file): 0 or -errno (EINVAL, ESRCH, EPERM
 * by the policy, EBUSY by the rate limit or the canary's cool-down). */
int booster_service_change(struct booster_service *s, const void *owner, const struct booster_caller *caller,
			   const struct booster_request *r);
/* The book's write(): whole records, each a persistent change; the bytes
 * done (at most BOOSTER_WRITE_RECORDS_MAX records'), or the first record's
 * error. */
ssize_t booster_service_write(struct booster_service *s, const void *owner, const struct booster_caller *caller,
			      const void *buf, size_t size);
/* r->tid in, the thread's settings out. */
int booster_service_get(struct booster_service *s, struct booster_request *r);
/* End owner's changes on tid (0: all): 0, or -ESRCH when it has none there. */
int booster_service_reset(struct booster_service *s, const void *owner, uint32_t tid);
/* owner's file is gone: undo its changes, except persistent ones. */
void booster_service_release(struct booster_service *s, const void *owner);
