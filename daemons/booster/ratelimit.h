/* SPDX-License-Identifier: MIT */
/*
 * Grants per user per interval: at most burst grants in any interval (a
 * sliding window: each user's last burst grant times), like rtkit's 25
 * actions per 20 s. Pure logic on times passed in, so it is unit-tested; a
 * user's entry goes once its grants are all older than the interval, so the
 * table holds only users who were granted something within it.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RATELIMIT_BURST_DEFAULT 25
#define RATELIMIT_BURST_MAX 1000
#define RATELIMIT_INTERVAL_SEC_DEFAULT 20
#define RATELIMIT_INTERVAL_SEC_MAX 3600

struct ratelimit;

struct ratelimit *ratelimit_new(unsigned burst, uint64_t interval_usec);
struct ratelimit *ratelimit_free(struct ratelimit *rl);

/* 0 when uid may be granted one more now (a monotonic time in
 * microseconds), -EBUSY when it had burst grants in the last interval. */
int ratelimit_check(struct ratelimit *rl, uid_t uid, uint64_t now);
/* Count a grant to uid at now: 0 or -ENOMEM. */
int ratelimit_count(struct ratelimit *rl, uid_t uid, uint64_t now);
/* Users with a grant within the interval before now (and so held). */
size_t ratelimit_users(struct ratelimit *rl, uint64_t now);
