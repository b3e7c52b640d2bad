/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

#include "autogroup.h"
#include "log.h"
#include "proc-connector.h"
#include "service.h"
#include "stack.h"

/* Where the kernel's exit events cannot be had: how often exited threads are
 * looked for instead. */
#define SWEEP_INTERVAL_USEC (5 * 1000000ull)

struct booster_service {
	struct booster_config cfg;
	sd_event *event;
	struct boost_table *table;
	struct ratelimit *ratelimit;
	struct canary *canary;              /* NULL: it could not start; no real-time then */
	struct autogroups *autogroups;      /* NULL: the kernel does not schedule by autogroup */
	struct proc_connector *exits;       /* NULL: swept by timer instead */
	sd_event_source *sweep_timer, *autogroup_timer, *canary_source;
};

static const char *const policy_names[] = {
	[BOOSTER_POLICY_OTHER] = "other", [BOOSTER_POLICY_FIFO] = "fifo", [BOOSTER_POLICY_RR] = "rr",
	[BOOSTER_POLICY_BATCH] = "batch", [BOOSTER_POLICY_IDLE] = "idle",
};

static const char *policy_name(uint32_t policy)
{
	return policy < ELEMENTSOF(policy_names) && policy_names[policy] ? policy_names[policy] : "?";
}

/* Autogroups */

static int autogroup_retry(sd_event_source *source, uint64_t usec, void *userdata);

static void autogroups_apply(struct booster_service *s)
{
	int r;

	if (autogroups_sync(s->autogroups) != -EAGAIN)
		return;
	/* The kernel takes one autogroup change per 100 ms from a caller
	 * without CAP_SYS_ADMIN: come back then. */
	if (s->autogroup_timer) {
		r = sd_event_source_set_time_relative(s->autogroup_timer, AUTOGROUP_RETRY_USEC);
		if (r >= 0)
			r = sd_event_source_set_enabled(s->autogroup_timer, SD_EVENT_ONESHOT);
	} else
		r = sd_event_add_time_relative(s->event, &s->autogroup_timer, CLOCK_MONOTONIC, AUTOGROUP_RETRY_USEC, 0,
					       autogroup_retry, s);
	if (r < 0)
		log_warning_errno(r, "Failed to schedule an autogroup retry: %m");
}

static int autogroup_retry(sd_event_source *source, uint64_t usec, void *userdata)
{
	autogroups_apply(userdata);
	return 0;
}

/* Booster changed a thread: the canary demotes real-time grants, the
 * autogroup follows nice boosts. */
static void thread_changed(void *userdata, const struct thread *t, const struct thread_sched *ours)
{
	struct booster_service *s = userdata;
	bool rt = ours && booster_policy_is_rt(ours->sched_policy);

	if (s->canary) {
		if (rt && canary_track(s->canary, t->tid, t->start_time) < 0)
			log_oom();
		else if (!rt)
			canary_untrack(s->canary, t->tid, t->start_time);
	}
	if (s->autogroups) {
		autogroups_thread(s->autogroups, t, ours);
		autogroups_apply(s);
	}
}

/* A real-time grant is tracked before the thread runs with it: a thread
 * that starves the daemon's loop on its CPU must still be demoted. */
static void thread_changing(void *userdata, const struct thread *t, const struct thread_sched *ours)
{
	struct booster_service *s = userdata;

	if (s->canary && booster_policy_is_rt(ours->sched_policy) && canary_track(s->canary, t->tid, t->start_time) < 0)
		log_oom();
}

static const struct boost_hooks hooks = { .changing = thread_changing, .changed = thread_changed };

/* Thread exits */

static void on_proc_event(const struct proc_event *ev, void *userdata)
{
	struct booster_service *s = userdata;

	if (ev->what == PROC_EVENT_EXIT)
		boost_table_thread_exited(s->table, ev->event_data.exit.process_pid);
}

static void on_proc_overrun(void *userdata)
{
	struct booster_service *s = userdata;

	log_warning("Thread exit events were lost: looking for exited threads.");
	boost_table_sweep(s->table);
}

static int on_sweep_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct booster_service *s = userdata;

	boost_table_sweep(s->table);
	return sd_event_source_set_time_relative(source, SWEEP_INTERVAL_USEC);
}

static int on_canary(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct booster_service *s = userdata;
	eventfd_t n;

	if (eventfd_read(fd, &n) == 0)
		/* The demoted threads' boosts can restore nothing now. */
		boost_table_sweep(s->table);
	return 0;
}

/* Lifetime */

int booster_service_new(const struct booster_config *cfg, sd_event *e, struct booster_service **ret)
{
	const struct canary_config canary = {
		.starvation_usec = cfg->canary_starvation_ms * 1000ull,
		.cooldown_usec = cfg->canary_cooldown_sec * 1000000ull,
	};
	struct booster_service *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return log_oom();
	s->cfg = *cfg;
	s->event = sd_event_ref(e);
	s->table = boost_table_new(&thread_proc_ops, &hooks, s);
	s->ratelimit = ratelimit_new(cfg->rate_limit_burst, cfg->rate_limit_interval_sec * 1000000ull);
	if (!s->table || !s->ratelimit) {
		booster_service_free(s);
		return log_oom();
	}

	r = canary_start(&canary, &s->canary);
	if (r < 0)
		log_warning_errno(r, "Failed to start the canary (SCHED_FIFO %d and %d): %m. Real-time grants are "
				  "refused without it.", CANARY_PRIORITY, CANARY_WATCHDOG_PRIORITY);
	else if ((r = sd_event_add_io(e, &s->canary_source, canary_event_fd(s->canary), EPOLLIN, on_canary, s)) < 0) {
		booster_service_free(s);
		return log_error_errno(r, "Failed to watch the canary: %m");
	}

	r = proc_connector_new(e, PROC_EVENT_EXIT, on_proc_event, on_proc_overrun, s, &s->exits);
	if (r < 0) {
		log_warning_errno(r, "No thread exit events from the proc connector (%m): exited threads are "
				  "forgotten every %llu s instead.", SWEEP_INTERVAL_USEC / 1000000);
		r = sd_event_add_time_relative(e, &s->sweep_timer, CLOCK_MONOTONIC, SWEEP_INTERVAL_USEC, 0,
					       on_sweep_timer, s);
		if (r >= 0)
			r = sd_event_source_set_enabled(s->sweep_timer, SD_EVENT_ON);
		if (r < 0) {
			booster_service_free(s);
			return log_error_errno(r, "Failed to add the sweep timer: %m");
		}
	}

	if (autogroup_enabled() > 0 && !cfg->autogroup)
		log_info("Autogroup scheduling is on (kernel.sched_autogroup_enabled = 1): a thread's nice counts "
			 "only within its session, and autogroup = 0: nice boosts do not raise it.");
	else if (autogroup_enabled() > 0) {
		s->autogroups = autogroups_new();
		if (!s->autogroups) {
			booster_service_free(s);
			return log_oom();
		}
		log_info("Autogroup scheduling is on (kernel.sched_autogroup_enabled = 1): a thread's nice counts "
			 "only within its session, so a nice boost also raises its session's autogroup.");
	} else
		log_info("Autogroup scheduling is off: nice values count across sessions.");
	log_info("Safety net: RLIMIT_RTTIME %u ms on real-time grants, %u grants per user per %u s, canary %s "
		 "(starvation %u ms, cool-down %u s).",
		 cfg->rttime_limit_ms, cfg->rate_limit_burst, cfg->rate_limit_interval_sec,
		 s->canary ? "running" : "NOT running", cfg->canary_starvation_ms, cfg->canary_cooldown_sec);
	*ret = s;
	return 0;
}

struct booster_service *booster_service_free(struct booster_service *s)
{
	if (!s)
		return NULL;
	/* What is left are persistent changes (clients were released first):
	 * they stay, and so do their autogroups' nice. The autogroups go
	 * first, so forgetting the threads restores nothing. */
	s->autogroups = autogroups_free(s->autogroups);
	s->table = boost_table_free(s->table);
	sd_event_source_disable_unref(s->canary_source);
	sd_event_source_disable_unref(s->sweep_timer);
	sd_event_source_disable_unref(s->autogroup_timer);
	proc_connector_free(s->exits);
	canary_stop(s->canary);
	ratelimit_free(s->ratelimit);
	sd_event_unref(s->event);
	free(s);
	return NULL;
}

/* Changing a thread */

static void sched_from_request(struct thread_sched *t, const struct booster_request *r)
{
	*t = (struct thread_sched){
		.sched_policy = r->policy,
		.sched_flags = THREAD_SCHED_RESET_ON_FORK,
		/* Real-time policies do not use nice: the kernel ignores it. */
		.sched_nice = booster_policy_is_rt(r->policy) ? 0 : r->nice,
		.sched_priority = r->rt_priority,
	};
}

/* Why the request is refused (*error: EPERM or EBUSY), or NULL. */
static const char *refusal(struct booster_service *s, const struct booster_caller *caller,
			   const struct thread_info *info, const struct boosted_thread *bt,
			   const struct booster_request *r, int *error)
{
	const struct booster_target target = { .ruid = info->ruid, .suid = info->suid };
	bool rt = booster_policy_is_rt(r->policy);
	unsigned held = caller->rank == BOOSTER_RANK_ROOT ? 0 : boost_table_threads_of(s->table, caller->uid, bt);
	const char *why;

	*error = -EPERM;
	why = booster_policy_refusal(&s->cfg.limits, caller->rank, caller->uid, &target, held, r);
	if (why)
		return why;
	if (rt && !s->canary)
		return "real-time is off: the canary is not running";
	/* What passes now may pass later: EBUSY, not EPERM. */
	*error = -EBUSY;
	if (rt && canary_refusing(s->canary, canary_now()))
		return "real-time refused for the canary's cool-down";
	if (caller->rank != BOOSTER_RANK_ROOT && ratelimit_check(s->ratelimit, caller->uid, canary_now()) < 0)
		return "rate limit reached (rate-limit-burst grants in rate-limit-interval)";
	return NULL;
}

int booster_service_change(struct booster_service *s, const void *owner, const struct booster_caller *caller,
			   const struct booster_request *r)
{
	struct thread_sched ours;
	struct thread_info info;
	struct boosted_thread *bt;
	const char *why;
	int err;

	err = booster_request_validate(r);
	if (err < 0)
		return err;
	if (r->tid > INT_MAX || boost_table_get(s->table, (pid_t)r->tid, &bt, &info) < 0)
		return -ESRCH;

	why = refusal(s, caller, &info, bt, r, &err);
	if (why) {
		log_notice("Refused %s nice %d rt %u for pid %d uid %u on thread %u of pid %d (%s, uid %u): %s.",
			   policy_name(r->policy), r->nice, r->rt_priority, (int)caller->pid, (unsigned)caller->uid,
			   r->tid, (int)info.pid, info.comm, (unsigned)info.ruid, why);
		boost_table_put(s->table, bt);
		return err;
	}
	/* A runaway real-time thread is stopped by the kernel, not by us. */
	if (booster_policy_is_rt(r->policy)) {
		err = rttime_apply(info.pid, s->cfg.rttime_limit_ms * 1000ull, NULL);
		if (err < 0) {
			boost_table_put(s->table, bt);
			return log_warning_errno(err, "Failed to bound RLIMIT_RTTIME of pid %d, real-time refused: %m",
						 (int)info.pid);
		}
	}

	sched_from_request(&ours, r);
	err = boost_table_push(s->table, bt, owner, caller->uid, &ours, r->flags & BOOSTER_FLAG_PERSIST);
	boost_table_put(s->table, bt);
	if (err < 0)
		return log_warning_errno(err, "Failed to set thread %u to %s: %m", r->tid, policy_name(r->policy));
	if (caller->rank != BOOSTER_RANK_ROOT && ratelimit_count(s->ratelimit, caller->uid, canary_now()) < 0)
		log_oom();
	log_debug("Thread %u of pid %d (%s) set to %s, nice %d, rt %u%s for pid %d uid %u.", r->tid, (int)info.pid,
		  info.comm, policy_name(r->policy), ours.sched_nice, r->rt_priority,
		  r->flags & BOOSTER_FLAG_PERSIST ? " (persistent)" : "", (int)caller->pid, (unsigned)caller->uid);
	return 0;
}

ssize_t booster_service_write(struct booster_service *s, const void *owner, const struct booster_caller *caller,
			      const void *buf, size_t size)
{
	size_t done;

	if (size == 0 || size % sizeof(struct booster_thread_data))
		return -EINVAL;
	/* Each record is a change with system calls: the loop, and every
	 * other client, must not wait on one write's hundred thousand. */
	size = MIN(size, BOOSTER_WRITE_RECORDS_MAX * sizeof(struct booster_thread_data));
	for (done = 0; done < size; done += sizeof(struct booster_thread_data)) {
		struct booster_thread_data data;
		struct booster_request r = { .flags = BOOSTER_FLAG_PERSIST };
		int err;

		memcpy(&data, (const char *)buf + done, sizeof(data));
		r.tid = data.thread_id;
		err = booster_scale_to_request(data.priority, &r);
		if (err == 0)
			err = booster_service_change(s, owner, caller, &r);
		/* The book's partial success: the records done before. */
		if (err < 0)
			return done == 0 ? err : (ssize_t)done;
	}
	return (ssize_t)size;
}

int booster_service_get(struct booster_service *s, struct booster_request *r)
{
	struct thread_sched now;
	int err;

	if (r->tid > INT_MAX)
		return -ESRCH;
	err = thread_get_sched((pid_t)r->tid, &now);
	if (err < 0)
		return err;
	*r = (struct booster_request){
		.tid = r->tid,
		.policy = now.sched_policy,
		.nice = now.sched_nice,
		.rt_priority = now.sched_priority,
	};
	return 0;
}

int booster_service_reset(struct booster_service *s, const void *owner, uint32_t tid)
{
	unsigned n = tid > INT_MAX ? 0 : boost_table_reset(s->table, owner, (pid_t)tid);

	return n > 0 || tid == 0 ? 0 : -ESRCH;
}

void booster_service_release(struct booster_service *s, const void *owner)
{
	boost_table_release(s->table, owner);
}
