/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "canary.h"
#include "log.h"
#include "macro.h"
#include "procfs.h"
#include "thread.h"

struct tracked {
	pid_t tid;
	uint64_t start_time;
};

struct canary {
	struct canary_config cfg;
	int quit_fd;                    /* eventfd: both threads end */
	int event_fd;                   /* eventfd: a starvation happened */
	pthread_t canary_thread, watchdog_thread;
	bool canary_started, watchdog_started;
	pid_t canary_tid;
	uint64_t cheeped;               /* atomic: the canary's last note */
	uint64_t refuse_until;          /* atomic */
	unsigned starvations;           /* atomic */
	int start_error;                /* a thread could not take its priority */

	/* The watchdog demotes these; priority inheritance, so that the loop
	 * holding the lock while starved by real-time threads runs at the
	 * watchdog's priority until it lets go. */
	pthread_mutex_t lock;
	struct tracked *tracked;
	size_t n_tracked, allocated;
};

uint64_t canary_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

enum canary_verdict canary_judge(const struct canary_config *cfg, struct canary_watch *w, uint64_t due,
				 uint64_t woke, uint64_t cheeped, bool canary_runnable)
{
	uint64_t period = canary_period(cfg);

	if (woke > due && woke - due > period) {
		w->starving_since = 0;
		return CANARY_STALLED;
	}
	/* Starving now: due to note the time (a period after it last did) and
	 * waiting for a CPU. */
	if (!canary_runnable || woke <= cheeped + period) {
		w->starving_since = 0;
		return CANARY_FINE;
	}
	if (w->starving_since == 0)
		w->starving_since = woke;
	if (woke - w->starving_since < cfg->starvation_usec)
		return CANARY_FINE;
	w->starving_since = 0;
	return CANARY_STARVING;
}

/* Sleep until the monotonic time until (usec), or until quit: false then. */
static bool sleep_until(struct canary *c, uint64_t until)
{
	struct pollfd p = { .fd = c->quit_fd, .events = POLLIN };

	for (;;) {
		uint64_t now = canary_now();
		struct timespec ts;

		if (now >= until)
			return true;
		ts = (struct timespec){ .tv_sec = (time_t)((until - now) / 1000000),
					.tv_nsec = (long)((until - now) % 1000000) * 1000 };
		if (ppoll(&p, 1, &ts, NULL) > 0)
			return false;
	}
}

static int set_fifo(int priority)
{
	struct sched_param param = { .sched_priority = priority };

	return -pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
}

static void *canary_main(void *userdata)
{
	struct canary *c = userdata;
	uint64_t now;

	__atomic_store_n(&c->canary_tid, gettid(), __ATOMIC_SEQ_CST);
	do {
		now = canary_now();
		__atomic_store_n(&c->cheeped, now, __ATOMIC_SEQ_CST);
	} while (sleep_until(c, now + canary_period(&c->cfg)));
	return NULL;
}

static bool canary_runnable(struct canary *c)
{
	char path[64], buf[1024], state = 0;
	_cleanup_close_ int fd = -1;
	uint64_t start_time;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)__atomic_load_n(&c->canary_tid, __ATOMIC_SEQ_CST));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return proc_stat_parse(buf, NULL, &state, &start_time) == 0 && state == 'R';
}

/* Demote one tracked thread to SCHED_OTHER, nice 0, if it is still that
 * thread and still real-time. */
static bool demote(const struct tracked *t)
{
	const struct thread_sched other = { .sched_policy = SCHED_OTHER, .sched_flags = THREAD_SCHED_RESET_ON_FORK };
	struct thread thread = { .proc_fd = -1 };
	struct thread_sched now;
	bool done = false;

	if (thread_open(t->tid, &thread, NULL) < 0)
		return false;
	if (thread.start_time == t->start_time && thread_get_sched(t->tid, &now) == 0 &&
	    (now.sched_policy == SCHED_FIFO || now.sched_policy == SCHED_RR)) {
		done = thread_set_sched(t->tid, &other) == 0;
		log_info("Canary: thread %d (%s %u) %s.", (int)t->tid, now.sched_policy == SCHED_FIFO ? "fifo" : "rr",
			 now.sched_priority, done ? "demoted to SCHED_OTHER" : "could not be demoted");
	}
	thread_close(&thread);
	return done;
}

static void starved(struct canary *c, uint64_t now, uint64_t silent)
{
	unsigned demoted = 0;

	__atomic_store_n(&c->refuse_until, now + c->cfg.cooldown_usec, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_tracked; i++)
		demoted += demote(&c->tracked[i]);
	pthread_mutex_unlock(&c->lock);
	__atomic_add_fetch(&c->starvations, 1, __ATOMIC_SEQ_CST);
	log_warning("The canary was starved for %llu ms: demoted %u real-time thread(s) Booster granted to "
		    "SCHED_OTHER; real-time grants refused for %llu s.",
		    (unsigned long long)(silent / 1000), demoted, (unsigned long long)(c->cfg.cooldown_usec / 1000000));
	if (eventfd_write(c->event_fd, 1) < 0)
		log_warning_errno(errno, "Failed to signal the starvation to the loop: %m");
}

static void *watchdog_main(void *userdata)
{
	struct canary *c = userdata;
	uint64_t period = canary_period(&c->cfg), due = canary_now() + period;
	struct canary_watch watch = {};

	while (sleep_until(c, due)) {
		uint64_t woke = canary_now(), cheeped = __atomic_load_n(&c->cheeped, __ATOMIC_SEQ_CST);

		switch (canary_judge(&c->cfg, &watch, due, woke, cheeped, canary_runnable(c))) {
		case CANARY_STALLED:
			log_debug("The watchdog woke %llu ms late: the whole daemon was held up; counting again.",
				  (unsigned long long)((woke - due) / 1000));
			break;
		case CANARY_STARVING:
			starved(c, woke, woke - cheeped);
			break;
		case CANARY_FINE:
			break;
		}
		due = woke + period;
	}
	return NULL;
}

/* Each thread takes its priority before anything else runs in it. */
struct thread_start {
	struct canary *c;
	int priority;
	void *(*main)(void *);
	pthread_barrier_t *ready;
};

static void *thread_trampoline(void *userdata)
{
	struct thread_start *s = userdata;
	struct canary *c = s->c;
	void *(*fn)(void *) = s->main;
	int r = set_fifo(s->priority);

	if (r < 0)
		c->start_error = r;
	pthread_barrier_wait(s->ready);
	return r < 0 ? NULL : fn(c);
}

static int thread_start(struct canary *c, pthread_t *thread, int priority, void *(*fn)(void *))
{
	pthread_barrier_t ready;
	struct thread_start s = { .c = c, .priority = priority, .main = fn, .ready = &ready };
	sigset_t all, saved;
	int r;

	pthread_barrier_init(&ready, NULL, 2);
	/* Signals are the loop's: the threads start with all blocked. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	r = -pthread_create(thread, NULL, thread_trampoline, &s);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (r == 0)
		pthread_barrier_wait(&ready);
	pthread_barrier_destroy(&ready);
	return r;
}

int canary_start(const struct canary_config *cfg, struct canary **ret)
{
	pthread_mutexattr_t attr;
	struct canary *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->cfg = *cfg;
	c->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	c->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setprotocol(&attr, PTHREAD_PRIO_INHERIT);
	pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	if (c->quit_fd < 0 || c->event_fd < 0) {
		r = -errno;
		canary_stop(c);
		return r;
	}
	__atomic_store_n(&c->cheeped, canary_now(), __ATOMIC_SEQ_CST);

	r = thread_start(c, &c->canary_thread, CANARY_PRIORITY, canary_main);
	c->canary_started = r == 0;
	if (r == 0)
		r = thread_start(c, &c->watchdog_thread, CANARY_WATCHDOG_PRIORITY, watchdog_main);
	c->watchdog_started = c->canary_started && r == 0;
	if (r == 0)
		r = c->start_error;
	if (r < 0) {
		canary_stop(c);
		return r;
	}
	*ret = c;
	return 0;
}

struct canary *canary_stop(struct canary *c)
{
	if (!c)
		return NULL;
	if (c->quit_fd >= 0)
		eventfd_write(c->quit_fd, 1);
	if (c->canary_started)
		pthread_join(c->canary_thread, NULL);
	if (c->watchdog_started)
		pthread_join(c->watchdog_thread, NULL);
	if (c->quit_fd >= 0)
		close(c->quit_fd);
	if (c->event_fd >= 0)
		close(c->event_fd);
	pthread_mutex_destroy(&c->lock);
	free(c->tracked);
	free(c);
	return NULL;
}

int canary_track(struct canary *c, pid_t tid, uint64_t start_time)
{
	int r = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_tracked; i++)
		if (c->tracked[i].tid == tid && c->tracked[i].start_time == start_time)
			goto done;
	if (c->n_tracked == c->allocated) {
		size_t n = c->allocated ? c->allocated * 2 : 16;
		struct tracked *t = realloc(c->tracked, n * sizeof(*t));

		if (!t) {
			r = -ENOMEM;
			goto done;
		}
		c->tracked = t;
		c->allocated = n;
	}
	c->tracked[c->n_tracked++] = (struct tracked){ .tid = tid, .start_time = start_time };
done:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void canary_untrack(struct canary *c, pid_t tid, uint64_t start_time)
{
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_tracked; i++)
		if (c->tracked[i].tid == tid && c->tracked[i].start_time == start_time) {
			c->tracked[i] = c->tracked[--c->n_tracked];
			break;
		}
	pthread_mutex_unlock(&c->lock);
}

bool canary_refusing(struct canary *c, uint64_t now)
{
	return now < __atomic_load_n(&c->refuse_until, __ATOMIC_SEQ_CST);
}

unsigned canary_starvations(struct canary *c) { return __atomic_load_n(&c->starvations, __ATOMIC_SEQ_CST); }

int canary_event_fd(struct canary *c) { return c->event_fd; }
