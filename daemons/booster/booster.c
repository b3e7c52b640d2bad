/* SPDX-License-Identifier: MIT */
/*
 * boosterd: the book's Booster with a policy. Sets a thread's nice value or
 * real-time policy for callers the kernel names, within the limits of
 * /etc/cusekit/booster.conf, and undoes each change when the file it was made
 * through is released (closed, or its process died) unless it was made
 * persistent.
 *
 * Every change is a struct boost: the thread, held by identity (thread.h),
 * the settings it had before and the settings we gave it. Undo restores the
 * previous settings only while the thread still has ours. When two files
 * change one thread, the later boost sits on top of the earlier one (its
 * "previous" is the earlier one's "ours"); ending the lower one hands its
 * previous settings to the one on top, so the stack unwinds exactly in any
 * order.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cusekit/booster.h>

#include "device.h"
#include "list.h"
#include "log.h"
#include "policy.h"
#include "thread.h"

struct boost {
	struct list_node link;          /* booster.boosts, oldest first */
	struct cusekit_client *client;  /* made through; NULL once a persistent boost's file closed */
	uid_t uid;                      /* who asked: counts against that user's cap */
	bool persistent;
	struct thread thread;
	struct thread_sched previous;
	struct thread_sched ours;
};

struct booster {
	struct booster_limits limits;
	char *admin_group;              /* NULL: only root is an administrator */
	gid_t admin_gid;
	struct list_node boosts;
};

static const char *const policy_names[] = {
	[BOOSTER_POLICY_OTHER] = "other", [BOOSTER_POLICY_FIFO] = "fifo", [BOOSTER_POLICY_RR] = "rr",
	[BOOSTER_POLICY_BATCH] = "batch", [BOOSTER_POLICY_IDLE] = "idle",
};

static const char *policy_name(uint32_t policy)
{
	return policy < ELEMENTSOF(policy_names) && policy_names[policy] ? policy_names[policy] : "?";
}

/* Boosts */

static void boost_free(struct boost *b)
{
	list_del(&b->link);
	thread_close(&b->thread);
	free(b);
}

/* The later boost of another file on the same thread that was made on top of
 * b's settings, if any. */
static struct boost *boost_on_top(struct booster *booster, struct boost *b)
{
	for (struct list_node *i = b->link.next; i != &booster->boosts; i = i->next) {
		struct boost *other = list_entry(i, struct boost, link);

		if (thread_same(&other->thread, &b->thread) && thread_sched_same(&other->previous, &b->ours))
			return other;
	}
	return NULL;
}

/* Does b still decide the thread's settings, now or once the boosts on top
 * of it end? */
static bool boost_live(struct booster *booster, struct boost *b)
{
	struct thread_sched now;

	if (thread_check(&b->thread) < 0 || thread_get_sched(b->thread.tid, &now) < 0)
		return false;
	return thread_sched_same(&now, &b->ours) || boost_on_top(booster, b);
}

/* Undo b where it is still ours, and forget it. */
static void boost_end(struct booster *booster, struct boost *b)
{
	struct thread_sched now;
	struct boost *top;
	int r;

	if (thread_check(&b->thread) < 0 || thread_get_sched(b->thread.tid, &now) < 0) {
		log_debug("Thread %d is gone, nothing to undo.", (int)b->thread.tid);
	} else if ((top = boost_on_top(booster, b))) {
		top->previous = b->previous;
		log_debug("Thread %d: a later boost sits on ours; it will restore the settings before ours.",
			  (int)b->thread.tid);
	} else if (!thread_sched_same(&now, &b->ours)) {
		log_info("Thread %d was changed since our boost (now %s, nice %d, rt %u): leaving it alone.",
			 (int)b->thread.tid, policy_name(now.sched_policy), now.sched_nice, now.sched_priority);
	} else {
		r = thread_set_sched(b->thread.tid, &b->previous);
		if (r < 0)
			log_warning_errno(r, "Failed to restore thread %d: %m", (int)b->thread.tid);
		else
			log_debug("Thread %d restored to %s, nice %d, rt %u.", (int)b->thread.tid,
				 policy_name(b->previous.sched_policy), b->previous.sched_nice,
				 b->previous.sched_priority);
	}
	boost_free(b);
}

static struct boost *boost_find(struct booster *booster, struct cusekit_client *c, const struct thread *t)
{
	for (struct list_node *i = booster->boosts.next; i != &booster->boosts; i = i->next) {
		struct boost *b = list_entry(i, struct boost, link);

		if (b->client == c && thread_same(&b->thread, t))
			return b;
	}
	return NULL;
}

/* Threads uid holds changed now, not counting except. Boosts that ended by
 * themselves (thread gone, settings changed by someone else) are
 * forgotten on the way, so the count stays true and bounded. */
static unsigned boosts_of_user(struct booster *booster, uid_t uid, const struct boost *except)
{
	struct list_node *i, *tmp;
	unsigned n = 0;

	list_for_each_safe(i, tmp, &booster->boosts) {
		struct boost *b = list_entry(i, struct boost, link);

		if (b->uid != uid || b == except)
			continue;
		/* Not live: not ours and nothing sits on it, nothing to hand on. */
		if (boost_live(booster, b))
			n++;
		else
			boost_free(b);
	}
	return n;
}

/* Changing a thread */

static enum booster_rank caller_rank(struct booster *booster, struct cusekit_request *req)
{
	const struct cusekit_caller *caller = cusekit_request_caller(req);

	if (caller->uid == 0)
		return BOOSTER_RANK_ROOT;
	if (cusekit_request_privileged(req, booster->admin_gid) > 0)
		return BOOSTER_RANK_ADMIN;
	return BOOSTER_RANK_USER;
}

static void sched_from_request(struct thread_sched *s, const struct booster_request *r)
{
	*s = (struct thread_sched){
		.sched_policy = r->policy,
		.sched_flags = THREAD_SCHED_RESET_ON_FORK,
		/* Real-time policies do not use nice: the kernel ignores it. */
		.sched_nice = booster_policy_is_rt(r->policy) ? 0 : r->nice,
		.sched_priority = r->rt_priority,
	};
}

static int booster_change(struct cusekit_client *c, struct cusekit_request *req, const struct booster_request *request)
{
	struct booster *booster = cusekit_client_userdata(c);
	const struct cusekit_caller *caller = cusekit_request_caller(req);
	struct thread thread = { .proc_fd = -1 };
	struct thread_sched now, ours;
	struct booster_target target;
	struct thread_info info;
	struct boost *b;
	const char *refusal;
	bool created = false;
	int r;

	r = booster_request_validate(request);
	if (r < 0)
		return r;
	if (request->tid > INT_MAX || thread_open((pid_t)request->tid, &thread, &info) < 0)
		return -ESRCH;

	b = boost_find(booster, c, &thread);
	target = (struct booster_target){ .ruid = info.ruid, .suid = info.suid };
	refusal = booster_policy_refusal(&booster->limits, caller_rank(booster, req), caller->uid, &target,
					 boosts_of_user(booster, caller->uid, b), request);
	if (refusal)
		log_notice("Refused %s nice %d rt %u for pid %d uid %u on thread %u of pid %d (%s, uid %u): %s.",
			   policy_name(request->policy), request->nice, request->rt_priority, (int)caller->pid,
			   (unsigned)caller->uid, request->tid, (int)info.pid, info.comm, (unsigned)info.ruid,
			   refusal);
	r = refusal ? -EPERM : thread_get_sched(thread.tid, &now);
	if (r < 0) {
		thread_close(&thread);
		return r;
	}

	/* This file changed the thread before: while the thread still has
	 * those settings, its previous settings stay the ones before that. */
	if (b && !thread_sched_same(&now, &b->ours)) {
		boost_end(booster, b);
		b = NULL;
	}
	if (b)
		thread_close(&thread);
	else {
		b = calloc(1, sizeof(*b));
		if (!b) {
			thread_close(&thread);
			return -ENOMEM;
		}
		*b = (struct boost){ .client = c, .uid = caller->uid, .thread = thread, .previous = now };
		list_add_tail(&booster->boosts, &b->link);
		created = true;
	}

	sched_from_request(&ours, request);
	r = thread_set_sched(b->thread.tid, &ours);
	/* The thread may have ended meanwhile: check its identity again. */
	if (r == 0 && thread_check(&b->thread) < 0)
		r = -ESRCH;
	if (r < 0) {
		if (created)
			boost_free(b);
		return log_warning_errno(r, "Failed to set thread %u to %s: %m", request->tid,
					 policy_name(request->policy));
	}
	b->ours = ours;
	b->persistent = request->flags & BOOSTER_FLAG_PERSIST;
	log_debug("Thread %u of pid %d (%s) set to %s, nice %d, rt %u%s for pid %d uid %u.", request->tid,
		 (int)info.pid, info.comm, policy_name(request->policy), ours.sched_nice, request->rt_priority,
		 b->persistent ? " (persistent)" : "", (int)caller->pid, (unsigned)caller->uid);
	return 0;
}

/* Requests */

/* The book's protocol: whole 8-byte records, each a persistent change. A
 * failure after some records were done reports the bytes done, like the
 * book's partial success. */
static ssize_t booster_write(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size)
{
	size_t done;

	if (size == 0 || size % sizeof(struct booster_thread_data))
		return -EINVAL;
	for (done = 0; done < size; done += sizeof(struct booster_thread_data)) {
		struct booster_thread_data data;
		struct booster_request r = { .flags = BOOSTER_FLAG_PERSIST };
		int err;

		memcpy(&data, (const char *)buf + done, sizeof(data));
		r.tid = data.thread_id;
		err = booster_scale_to_request(data.priority, &r);
		if (err == 0)
			err = booster_change(c, req, &r);
		if (err < 0)
			return done == 0 ? err : (ssize_t)done;
	}
	return (ssize_t)size;
}

static int booster_set(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct booster_request r;

	memcpy(&r, in, sizeof(r));
	return booster_change(c, req, &r);
}

static int booster_get(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct booster_request r;
	struct thread_sched now;
	int err;

	memcpy(&r, in, sizeof(r));
	if (r.tid > INT_MAX)
		return -ESRCH;
	err = thread_get_sched((pid_t)r.tid, &now);
	if (err < 0)
		return err;
	r = (struct booster_request){
		.tid = r.tid,
		.policy = now.sched_policy,
		.nice = now.sched_nice,
		.rt_priority = now.sched_priority,
	};
	memcpy(out, &r, sizeof(r));
	return 0;
}

static int booster_reset(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct booster *booster = cusekit_client_userdata(c);
	struct list_node *i, *tmp;
	bool found = false;
	__u32 tid;

	memcpy(&tid, in, sizeof(tid));
	list_for_each_safe(i, tmp, &booster->boosts) {
		struct boost *b = list_entry(i, struct boost, link);

		if (b->client != c || (tid != 0 && (__u32)b->thread.tid != tid))
			continue;
		found = true;
		boost_end(booster, b);
	}
	return found || tid == 0 ? 0 : -ESRCH;
}

static const struct cusekit_ioctl booster_ioctls[] = {
	{ BOOSTER_IOC_SET, booster_set },
	{ BOOSTER_IOC_GET, booster_get },
	{ BOOSTER_IOC_RESET, booster_reset },
	{}
};

/* The file is closed or its process died: undo its changes. */
static void booster_release(struct cusekit_client *c)
{
	struct booster *booster = cusekit_client_userdata(c);
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &booster->boosts) {
		struct boost *b = list_entry(i, struct boost, link);

		if (b->client != c)
			continue;
		if (b->persistent)
			b->client = NULL;
		else
			boost_end(booster, b);
	}
}

/* Lifetime */

static int booster_start(struct cusekit_device *d)
{
	struct booster *booster = cusekit_device_userdata(d);

	booster->admin_gid = cusekit_group_resolve(booster->admin_group, "admin-group");
	log_info("Policy: nice-floor %d, rt-max-priority %u, max-boosted-per-user %u, admin-group %s.",
		 booster->limits.nice_floor, booster->limits.rt_max_priority,
		 booster->limits.max_boosted_per_user, booster->admin_group ?: "(none: root only)");
	return 0;
}

static void booster_destroy(struct cusekit_device *d)
{
	struct booster *booster = cusekit_device_userdata(d);
	struct list_node *i, *tmp;

	/* Only persistent boosts whose files are closed are left: they stay. */
	list_for_each_safe(i, tmp, &booster->boosts)
		boost_free(list_entry(i, struct boost, link));
	free(booster->admin_group);
}

/* Options */

static int parse_nice_floor(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, BOOSTER_NICE_MIN, BOOSTER_NICE_MAX, &v);

	if (r == 0)
		booster->limits.nice_floor = (int)v;
	return r;
}

static int parse_rt_max_priority(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, 0, BOOSTER_RT_PRIORITY_MAX, &v);

	if (r == 0)
		booster->limits.rt_max_priority = (unsigned)v;
	return r;
}

static int parse_max_boosted(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, 0, 65536, &v);

	if (r == 0)
		booster->limits.max_boosted_per_user = (unsigned)v;
	return r;
}

static int parse_admin_group(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	char *copy = NULL;

	if (*arg && !(copy = strdup(arg)))
		return -ENOMEM;
	free(booster->admin_group);
	booster->admin_group = copy;
	return 0;
}

static const struct cusekit_option booster_options[] = {
	{ "nice-floor", true, "N  lowest nice value a user may set (-20..19, default -10)", parse_nice_floor },
	{ "rt-max-priority", true, "P  highest real-time priority a user may set (0..99; default 0: none)",
	  parse_rt_max_priority },
	{ "max-boosted-per-user", true, "N  threads one user may hold changed at once (default 32)",
	  parse_max_boosted },
	{ "admin-group", true, "GROUP  members may change anyone's threads, within the limits",
	  parse_admin_group },
	{}
};

static void booster_init(void *userdata)
{
	struct booster *booster = userdata;

	booster->limits = BOOSTER_LIMITS_DEFAULT;
	booster->admin_gid = CUSEKIT_NO_GROUP;
	list_init(&booster->boosts);
}

const struct cusekit_device_ops booster_device = {
	.name = "booster",
	.description = "Serve /dev/cusekit/booster: set thread priorities by policy, undone on close.",
	.node_mode = 0660,
	.node_group = "cusekit-booster",
	.options = booster_options,
	.size = sizeof(struct booster),
	.init = booster_init,
	.start = booster_start,
	.destroy = booster_destroy,
	.release = booster_release,
	.write = booster_write,
	.ioctls = booster_ioctls,
};
