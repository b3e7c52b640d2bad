/* SPDX-License-Identifier: MIT */
/*
 * Booster: book-style writes and SET/GET/RESET by callers of every rank,
 * against threads this process owns and nothing else: three idle helper
 * threads (one root's, one of the user caller, one of the member caller:
 * credentials are per thread, set with the raw syscall) and the id of a
 * helper that exited. Thread ids above pid_max stay as they are (no thread
 * has one); every other id is mapped onto those. The fuzzer's own thread is
 * never a target: a boosted fuzzer would starve the machine.
 *
 * The device's own operations: a helper exits and another takes its place
 * (a boosted thread's death), or a helper's settings are changed behind the
 * daemon's back. After each input the helpers get their normal settings back.
 */
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cusekit/booster.h>

#include "fuzz-driver.h"
#include "policy.h"

extern const struct cusekit_device_ops booster_device;

static const char *const usual[] = { "--admin-group=cusekit-admin", NULL };
static const char *const tight[] = {
	"--admin-group=cusekit-admin", "--nice-floor=-5", "--rt-max-priority=10", "--max-boosted-per-user=2", NULL,
};
static const char *const none[] = { "--max-boosted-per-user=0", NULL };
static const char *const *const configs[] = { usual, tight, none, NULL };

static const unsigned ioctls[] = { BOOSTER_IOC_SET, BOOSTER_IOC_GET, BOOSTER_IOC_RESET, 0 };

static const char *const groups[] = { "cusekit-admin", NULL };

struct helper {
	pthread_t thread;
	uid_t uid;
	pid_t tid;
	int quit[2];   /* a byte here: exit */
};

static struct helper helpers[3] = { { .uid = 0 }, { .uid = FUZZ_UID_USER }, { .uid = FUZZ_UID_MEMBER } };
static pid_t dead_tid;
static uint32_t pid_max = 4194304;
static sem_t started;

static void *helper_main(void *arg)
{
	struct helper *h = arg;
	char byte;

	/* This thread only: the raw call, not glibc's process-wide one. */
	if (h->uid && syscall(SYS_setresuid, h->uid, h->uid, h->uid) < 0)
		abort();
	h->tid = (pid_t)syscall(SYS_gettid);
	sem_post(&started);
	while (read(h->quit[0], &byte, 1) < 0)
		;
	return NULL;
}

static void helper_start(struct helper *h)
{
	if (pipe(h->quit) < 0 || pthread_create(&h->thread, NULL, helper_main, h) != 0)
		abort();
	while (sem_wait(&started) < 0)
		;
}

static void set_nice(pid_t tid, int nice);

static void helper_stop(struct helper *h)
{
	/* A helper the input left at SCHED_IDLE or nice 19 would wait for an
	 * idle CPU to exit (tens of ms on a busy machine). The daemon never
	 * looks at a dead thread's settings: it sees the thread gone first. */
	set_nice(h->tid, 0);
	if (write(h->quit[1], "q", 1) != 1 || pthread_join(h->thread, NULL) != 0)
		abort();
	close(h->quit[0]);
	close(h->quit[1]);
	dead_tid = h->tid;
}

static int setup(const char *scratch)
{
	FILE *f = fopen("/proc/sys/kernel/pid_max", "re");

	if (f) {
		if (fscanf(f, "%u", &pid_max) != 1)
			pid_max = 4194304;
		fclose(f);
	}
	sem_init(&started, 0, 0);
	for (size_t i = 0; i < ELEMENTSOF(helpers); i++)
		helper_start(&helpers[i]);
	/* An id that was a thread of ours and is no longer. */
	helper_stop(&helpers[0]);
	helper_start(&helpers[0]);
	return 0;
}

/* 0 stays 0 (no thread): the zeros that pad a large write beyond the
 * input's bytes end it at the first padding record, instead of changing a
 * helper 131072 times per input. */
static uint32_t map_tid(uint32_t tid)
{
	if (tid == 0 || tid > pid_max)
		return tid;
	switch (tid % 5) {
	case 3:
		return (uint32_t)dead_tid;
	case 4:
		return 0;
	default:
		return (uint32_t)helpers[tid % 5].tid;
	}
}

static void fix_write(void *buf, size_t size, bool tame)
{
	for (size_t i = 0; i + sizeof(struct booster_thread_data) <= size; i += sizeof(struct booster_thread_data)) {
		struct booster_thread_data t;

		memcpy(&t, (char *)buf + i, sizeof(t));
		t.thread_id = map_tid(t.thread_id);
		if (tame)
			t.priority = BOOSTER_PRIORITY_MIN + (int32_t)((uint32_t)t.priority % BOOSTER_PRIORITY_MAX);
		memcpy((char *)buf + i, &t, sizeof(t));
	}
}

static void fix_ioctl(unsigned cmd, void *in, size_t size, bool tame)
{
	static const uint32_t policies[] = {
		BOOSTER_POLICY_OTHER, BOOSTER_POLICY_FIFO, BOOSTER_POLICY_RR, BOOSTER_POLICY_BATCH, BOOSTER_POLICY_IDLE,
	};
	struct booster_request r;
	uint32_t tid;

	if (cmd == BOOSTER_IOC_RESET && size == sizeof(tid)) {
		memcpy(&tid, in, sizeof(tid));
		tid = map_tid(tid);
		memcpy(in, &tid, sizeof(tid));
		return;
	}
	if ((cmd != BOOSTER_IOC_SET && cmd != BOOSTER_IOC_GET) || size != sizeof(r))
		return;
	memcpy(&r, in, sizeof(r));
	r.tid = map_tid(r.tid);
	if (tame) {
		r.policy = policies[r.policy % ELEMENTSOF(policies)];
		r.nice = -20 + (int32_t)((uint32_t)r.nice % 40);
		r.rt_priority = booster_policy_is_rt(r.policy) ? 1 + r.rt_priority % 99 : 0;
		r.flags &= BOOSTER_FLAG_PERSIST;
	}
	memcpy(in, &r, sizeof(r));
}

static void set_nice(pid_t tid, int nice)
{
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} attr = { .size = 48, .policy = SCHED_OTHER, .nice = nice };

	syscall(SYS_sched_setattr, tid, &attr, 0);
}

static void op(struct cusekit_device *d, uint8_t arg)
{
	struct helper *h = &helpers[arg % ELEMENTSOF(helpers)];

	if (arg & 0x80) {
		/* The thread a boost is on exits; a new one comes. */
		helper_stop(h);
		helper_start(h);
	} else
		/* Someone else changes it. */
		set_nice(h->tid, (int)(arg % 40) - 20);
}

static void reset(void)
{
	for (size_t i = 0; i < ELEMENTSOF(helpers); i++)
		set_nice(helpers[i].tid, 0);
}

const struct fuzz_target fuzz_target = {
	.ops = &booster_device,
	.configs = configs,
	.ioctls = ioctls,
	.record_size = sizeof(struct booster_thread_data),
	.groups = groups,
	.setup = setup,
	.fix_write = fix_write,
	.fix_ioctl = fix_ioctl,
	.op = op,
	.reset = reset,
};
