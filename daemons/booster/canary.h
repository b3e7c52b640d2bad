/* SPDX-License-Identifier: MIT */
/*
 * The canary, rtkit's starvation watchdog: a canary thread at the lowest
 * real-time priority (SCHED_FIFO 1) notes the time every period; a watchdog
 * thread at the highest (SCHED_FIFO 99) checks it every period. When the
 * canary, runnable, has not run for the configured starvation time, real-time
 * threads are hogging every CPU it may use: the watchdog itself (it must not
 * wait for the daemon's loop, which is starved too) demotes every real-time
 * grant Booster made to SCHED_OTHER, and real-time grants are refused for a
 * cool-down.
 *
 * Times are CLOCK_MONOTONIC, which stops in suspend. But tasks are frozen
 * for a while around suspend while that clock still runs (the freezer, device
 * suspend, writing a hibernation image), and a VM's CPU can stop for seconds:
 * a canary silent "for T" proves nothing when everything was stopped. So the
 * watchdog counts only starvation it saw itself: the canary runnable and
 * overdue at every one of its checks, on time, for the whole starvation time;
 * a check that comes more than a period late (the watchdog was held up too)
 * or finds the canary fine starts the count again. rtkit's watchdog only asks
 * whether a cheep came within its period; it wakes first on thaw, before the
 * canary could run, hence its known false alarm after resume.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define CANARY_STARVATION_MS_DEFAULT 10000   /* rtkit: watchdog 10 s */
#define CANARY_STARVATION_MS_MIN 400
#define CANARY_STARVATION_MS_MAX 600000
#define CANARY_COOLDOWN_SEC_DEFAULT 300      /* rtkit: canary-refuse-sec */
#define CANARY_COOLDOWN_SEC_MAX 86400
#define CANARY_PRIORITY 1
#define CANARY_WATCHDOG_PRIORITY 99

struct canary_config {
	uint64_t starvation_usec;   /* runnable and silent this long: starving */
	uint64_t cooldown_usec;     /* real-time refused this long after */
};

/* How often the canary notes the time and the watchdog looks. */
static inline uint64_t canary_period(const struct canary_config *cfg) { return cfg->starvation_usec / 4; }

enum canary_verdict {
	CANARY_FINE,
	CANARY_STALLED,     /* the watchdog itself woke late: count again */
	CANARY_STARVING,
};

/* What the watchdog saw so far: since when it has found the canary starving
 * at every check (0: it did not). */
struct canary_watch {
	uint64_t starving_since;
};

/* The watchdog's judgement at woke (it meant to wake at due) of a canary that
 * last noted the time at cheeped and is runnable or not now. Pure:
 * unit-tested. */
enum canary_verdict canary_judge(const struct canary_config *cfg, struct canary_watch *w, uint64_t due,
				 uint64_t woke, uint64_t cheeped, bool canary_runnable);

struct canary;

/* Start both threads. -EPERM when they cannot have their real-time
 * priorities (no CAP_SYS_NICE). */
int canary_start(const struct canary_config *cfg, struct canary **ret);
struct canary *canary_stop(struct canary *c);

/* Booster gave thread (tid, start_time) a real-time policy, or no longer
 * has it so: the threads a starvation demotes. Called from the loop. */
int canary_track(struct canary *c, pid_t tid, uint64_t start_time);
void canary_untrack(struct canary *c, pid_t tid, uint64_t start_time);

/* While true, real-time grants are refused. now: CLOCK_MONOTONIC, usec. */
bool canary_refusing(struct canary *c, uint64_t now);
/* Starvations so far, and an eventfd that becomes readable after each (for
 * the loop to notice; read it to clear it). */
unsigned canary_starvations(struct canary *c);
int canary_event_fd(struct canary *c);

uint64_t canary_now(void);
