/* SPDX-License-Identifier: MIT */
/*
 * boosterd: the book's Booster with a policy and rtkit's safety net. The
 * device: who the caller is and what the request says, handed to the
 * service (service.h), which means everything; and its options.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cusekit/booster.h>

#include "device.h"
#include "log.h"
#include "service.h"

struct booster {
	struct booster_config cfg;
	char *admin_group;              /* NULL: only root is an administrator */
	gid_t admin_gid;
	struct booster_service *service;
};

static struct booster_caller caller_of(struct booster *booster, struct cusekit_request *req)
{
	const struct cusekit_caller *c = cusekit_request_caller(req);
	struct booster_caller caller = { .pid = c->pid, .uid = c->uid, .rank = BOOSTER_RANK_USER };

	if (c->uid == 0)
		caller.rank = BOOSTER_RANK_ROOT;
	else if (cusekit_request_privileged(req, booster->admin_gid) > 0)
		caller.rank = BOOSTER_RANK_ADMIN;
	return caller;
}

/* The book's protocol: whole 8-byte records, each a persistent change. */
static ssize_t booster_write(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size)
{
	struct booster *booster = cusekit_client_userdata(c);
	struct booster_caller caller = caller_of(booster, req);

	return booster_service_write(booster->service, c, &caller, buf, size);
}

static int booster_set(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct booster *booster = cusekit_client_userdata(c);
	struct booster_caller caller = caller_of(booster, req);
	struct booster_request r;

	memcpy(&r, in, sizeof(r));
	return booster_service_change(booster->service, c, &caller, &r);
}

static int booster_get(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct booster *booster = cusekit_client_userdata(c);
	struct booster_request r;
	int err;

	memcpy(&r, in, sizeof(r));
	err = booster_service_get(booster->service, &r);
	if (err == 0)
		memcpy(out, &r, sizeof(r));
	return err;
}

static int booster_reset(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct booster *booster = cusekit_client_userdata(c);
	__u32 tid;

	memcpy(&tid, in, sizeof(tid));
	return booster_service_reset(booster->service, c, tid);
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

	booster_service_release(booster->service, c);
}

/* Lifetime */

static int booster_start(struct cusekit_device *d)
{
	struct booster *booster = cusekit_device_userdata(d);

	booster->admin_gid = cusekit_group_resolve(booster->admin_group, "admin-group");
	log_info("Policy: nice-floor %d, rt-max-priority %u, max-boosted-per-user %u, admin-group %s.",
		 booster->cfg.limits.nice_floor, booster->cfg.limits.rt_max_priority,
		 booster->cfg.limits.max_boosted_per_user, booster->admin_group ?: "(none: root only)");
	return booster_service_new(&booster->cfg, cusekit_device_event(d), &booster->service);
}

static void booster_destroy(struct cusekit_device *d)
{
	struct booster *booster = cusekit_device_userdata(d);

	/* Clients are released before: only persistent changes are left, and
	 * they stay. */
	booster->service = booster_service_free(booster->service);
	free(booster->admin_group);
}

/* Options */

static int parse_nice_floor(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, BOOSTER_NICE_MIN, BOOSTER_NICE_MAX, &v);

	if (r == 0)
		booster->cfg.limits.nice_floor = (int)v;
	return r;
}

static int parse_rt_max_priority(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, 0, BOOSTER_RT_PRIORITY_MAX, &v);

	if (r == 0)
		booster->cfg.limits.rt_max_priority = (unsigned)v;
	return r;
}

static int parse_max_boosted(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, 0, 65536, &v);

	if (r == 0)
		booster->cfg.limits.max_boosted_per_user = (unsigned)v;
	return r;
}

static int parse_unsigned(const char *arg, long long min, long long max, unsigned *ret)
{
	long long v;
	int r = cusekit_parse_integer(arg, min, max, &v);

	if (r == 0)
		*ret = (unsigned)v;
	return r;
}

static int parse_rttime_limit(void *userdata, const char *arg)
{
	struct booster *booster = userdata;

	return parse_unsigned(arg, 1, RTTIME_LIMIT_MS_MAX, &booster->cfg.rttime_limit_ms);
}

static int parse_rate_limit_burst(void *userdata, const char *arg)
{
	struct booster *booster = userdata;

	return parse_unsigned(arg, 1, RATELIMIT_BURST_MAX, &booster->cfg.rate_limit_burst);
}

static int parse_rate_limit_interval(void *userdata, const char *arg)
{
	struct booster *booster = userdata;

	return parse_unsigned(arg, 1, RATELIMIT_INTERVAL_SEC_MAX, &booster->cfg.rate_limit_interval_sec);
}

static int parse_canary_starvation(void *userdata, const char *arg)
{
	struct booster *booster = userdata;

	return parse_unsigned(arg, CANARY_STARVATION_MS_MIN, CANARY_STARVATION_MS_MAX,
			      &booster->cfg.canary_starvation_ms);
}

static int parse_canary_cooldown(void *userdata, const char *arg)
{
	struct booster *booster = userdata;

	return parse_unsigned(arg, 0, CANARY_COOLDOWN_SEC_MAX, &booster->cfg.canary_cooldown_sec);
}

static int parse_autogroup(void *userdata, const char *arg)
{
	struct booster *booster = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, 0, 1, &v);

	if (r == 0)
		booster->cfg.autogroup = v;
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
	{ "rttime-limit-ms", true, "MS  RLIMIT_RTTIME bound set on every real-time grant's process (default 200)",
	  parse_rttime_limit },
	{ "rate-limit-burst", true, "N  grants one user may have per interval (default 25; root: no limit)",
	  parse_rate_limit_burst },
	{ "rate-limit-interval", true, "SEC  the rate limit's interval (default 20)", parse_rate_limit_interval },
	{ "canary-starvation-ms", true,
	  "MS  canary starved this long: demote every real-time grant (default 10000, min 400)",
	  parse_canary_starvation },
	{ "autogroup", true, "0|1  a nice boost also raises its session's autogroup where the kernel has them "
	  "(default 1)", parse_autogroup },
	{ "canary-cooldown", true, "SEC  real-time refused this long after a starvation (default 300)",
	  parse_canary_cooldown },
	{}
};

static void booster_init(void *userdata)
{
	struct booster *booster = userdata;

	booster->cfg = BOOSTER_CONFIG_DEFAULT;
	booster->admin_gid = CUSEKIT_NO_GROUP;
}

const struct cusekit_device_ops booster_device = {
	.name = "booster",
	.description = "Serve /dev/cusekit/booster: thread priorities by policy, undone on close, "
		       "with rtkit's safety net.",
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
