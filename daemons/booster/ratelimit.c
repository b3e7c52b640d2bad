/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "list.h"
#include "ratelimit.h"

struct user_grants {
	struct list_node link;
	uid_t uid;
	unsigned next;          /* oldest of the last burst grants, where the next goes */
	uint64_t times[];       /* 0: no grant */
};

struct ratelimit {
	unsigned burst;
	uint64_t interval;
	struct list_node users;
};

struct ratelimit *ratelimit_new(unsigned burst, uint64_t interval_usec)
{
	struct ratelimit *rl;

	if (burst == 0 || interval_usec == 0)
		return NULL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	*rl = (struct ratelimit){ .burst = burst, .interval = interval_usec };
	list_init(&rl->users);
	return rl;
}

static void user_free(struct user_grants *u)
{
	list_del(&u->link);
	free(u);
}

struct ratelimit *ratelimit_free(struct ratelimit *rl)
{
	struct list_node *i, *tmp;

	if (!rl)
		return NULL;
	list_for_each_safe(i, tmp, &rl->users)
		user_free(list_entry(i, struct user_grants, link));
	free(rl);
	return NULL;
}

static uint64_t newest(const struct ratelimit *rl, const struct user_grants *u)
{
	return u->times[(u->next + rl->burst - 1) % rl->burst];
}

static bool within(const struct ratelimit *rl, uint64_t t, uint64_t now)
{
	return t != 0 && now - t < rl->interval;
}

/* Finds uid's entry, forgetting on the way every user whose grants all
 * left the interval. */
static struct user_grants *user_find(struct ratelimit *rl, uid_t uid, uint64_t now)
{
	struct user_grants *found = NULL;
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &rl->users) {
		struct user_grants *u = list_entry(i, struct user_grants, link);

		if (!within(rl, newest(rl, u), now))
			user_free(u);
		else if (u->uid == uid)
			found = u;
	}
	return found;
}

int ratelimit_check(struct ratelimit *rl, uid_t uid, uint64_t now)
{
	struct user_grants *u = user_find(rl, uid, now);

	/* The slot the next grant would take holds the burst-th last one. */
	return u && within(rl, u->times[u->next], now) ? -EBUSY : 0;
}

int ratelimit_count(struct ratelimit *rl, uid_t uid, uint64_t now)
{
	struct user_grants *u = user_find(rl, uid, now);

	if (!u) {
		u = calloc(1, sizeof(*u) + rl->burst * sizeof(u->times[0]));
		if (!u)
			return -ENOMEM;
		u->uid = uid;
		list_add_tail(&rl->users, &u->link);
	}
	/* 0 means "no grant": a grant at time 0 is kept as 1. */
	u->times[u->next] = now ?: 1;
	u->next = (u->next + 1) % rl->burst;
	return 0;
}

size_t ratelimit_users(struct ratelimit *rl, uint64_t now)
{
	size_t n = 0;

	user_find(rl, (uid_t)-1, now);
	for (struct list_node *i = rl->users.next; i != &rl->users; i = i->next)
		n++;
	return n;
}
