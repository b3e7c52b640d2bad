/* SPDX-License-Identifier: MIT */
/*
 * boosterd through real syscalls: the book's write() and its scale, the
 * native ioctls, the policy as root, as a group member and as an outsider,
 * undo on close and on SIGKILL, persistent changes, stacked boosts, limits,
 * bad input, and the boost client.
 *
 * Check runs every test in a process of its own, so the tests may change
 * their own threads' scheduling freely. Unprivileged callers are forked
 * children that drop to uid 65534 (with or without the device's group).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/booster.h>

#include "test-booster.h"

static struct daemon_proc boosterd;

static void teardown(void) { daemon_cleanup(&boosterd); }

static void start_booster(const char *const args[]) { daemon_start(&boosterd, "booster", args); }

static pid_t tid_self(void) { return gettid(); }

static int nice_of(pid_t tid)
{
	errno = 0;
	int n = getpriority(PRIO_PROCESS, (id_t)tid);
	ck_assert_int_eq(errno, 0);
	return n;
}

static int set_nice(int fd, pid_t tid, int nice) { return set_thread(fd, tid, BOOSTER_POLICY_OTHER, nice, 0, 0); }

static int reset_thread(int fd, pid_t tid)
{
	__u32 t = (__u32)tid;

	return ioctl(fd, BOOSTER_IOC_RESET, &t) < 0 ? -errno : 0;
}

/* A thread that sleeps until the test ends: a target that outlives clients. */
static void *sleeper(void *arg)
{
	int *report = arg;
	pid_t tid = gettid();

	if (write(*report, &tid, sizeof(tid)) != sizeof(tid))
		abort();
	for (;;)
		pause();
	return NULL;
}

/* The caller may be a real-time thread by now: it waits for the new thread
 * in a blocking read, never in a loop (RLIMIT_RTTIME counts that). */
static pid_t start_sleeper(void)
{
	static int pipes[8][2];
	static unsigned next;
	int *p = pipes[next++ % 8];
	pthread_t thread;
	pid_t tid;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&thread, NULL, sleeper, &p[1]), 0);
	ck_assert_int_eq(read(p[0], &tid, sizeof(tid)), (ssize_t)sizeof(tid));
	close(p[0]);
	close(p[1]);
	return tid;
}

static const char *const member[] = { "cusekit-booster", NULL };

static bool log_contains(const char *needle) { return daemon_log_contains(&boosterd, needle); }

/* The book's scale, written out independently of the daemon's formula. */
static const int book_nice[16] = { [1] = 19, 17, 14, 11, 8, 5, 2, 0, -2, -5, -8, -11, -14, -17, -20 };

START_TEST(test_book_scale)
{
	struct sched_param param;
	int fd;

	start_booster(NULL);
	fd = daemon_open(&boosterd, O_RDWR);
	for (int p = 1; p <= 15; p++) {
		ck_assert_int_eq(book_write(fd, tid_self(), p), 8);
		ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER | SCHED_RESET_ON_FORK);
		ck_assert_msg(nice_of(tid_self()) == book_nice[p], "priority %d gave nice %d, want %d", p,
			      nice_of(tid_self()), book_nice[p]);
	}
	for (int p = 16; p <= 31; p++) {
		ck_assert_int_eq(book_write(fd, tid_self(), p), 8);
		ck_assert_int_eq(sched_getscheduler(0), SCHED_RR | SCHED_RESET_ON_FORK);
		ck_assert_int_eq(sched_getparam(0, &param), 0);
		ck_assert_int_eq(param.sched_priority, p - 15);
	}
	/* Several records in one write, for another thread too. */
	pid_t other = start_sleeper();
	struct booster_thread_data two[2] = { { (__u32)tid_self(), 8 }, { (__u32)other, 12 } };
	ck_assert_int_eq(write(fd, two, sizeof(two)), (ssize_t)sizeof(two));
	ck_assert_int_eq(sched_getscheduler(0), SCHED_OTHER | SCHED_RESET_ON_FORK);
	ck_assert_int_eq(nice_of(tid_self()), 0);
	ck_assert_int_eq(nice_of(other), -11);

	/* A write of more records than one write does: a short write, and
	 * the records in it done. */
	struct booster_thread_data many[BOOSTER_WRITE_RECORDS_MAX + 2];
	for (size_t i = 0; i < BOOSTER_WRITE_RECORDS_MAX + 2; i++)
		many[i] = (struct booster_thread_data){ (__u32)tid_self(), i < BOOSTER_WRITE_RECORDS_MAX ? 9 : 10 };
	ck_assert_int_eq(write(fd, many, sizeof(many)), BOOSTER_WRITE_RECORDS_MAX * 8);
	ck_assert_int_eq(nice_of(tid_self()), -2);
	close(fd);
}
END_TEST

START_TEST(test_write_errors)
{
	struct booster_thread_data data[2] = { { (__u32)gettid(), 9 }, { (__u32)gettid(), 0 } };
	char bytes[12] = { 0 };
	int before = nice_of(tid_self()), fd, status;
	pid_t gone;

	start_booster(NULL);
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(write(fd, bytes, 7), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(write(fd, bytes, 12), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(book_write(fd, tid_self(), 0), -EINVAL);
	ck_assert_int_eq(book_write(fd, tid_self(), 32), -EINVAL);
	ck_assert_int_eq(book_write(fd, tid_self(), -1), -EINVAL);
	ck_assert_int_eq(nice_of(tid_self()), before);

	gone = fork();
	if (gone == 0)
		_exit(0);
	ck_assert_int_eq(waitpid(gone, &status, 0), gone);
	ck_assert_int_eq(book_write(fd, gone, 10), -ESRCH);
	ck_assert_int_eq(book_write(fd, 0, 10), -ESRCH);
	ck_assert_int_eq(book_write(fd, (pid_t)0x80000000u, 10), -ESRCH);

	/* The second record fails: the first stays done and is counted. */
	ck_assert_int_eq(write(fd, data, sizeof(data)), 8);
	ck_assert_int_eq(nice_of(tid_self()), -2);
	close(fd);
}
END_TEST

START_TEST(test_bad_ioctls)
{
	struct booster_request r = { .tid = (__u32)gettid() };
	char big[32] = { 0 };
	int fd;

	start_booster(NULL);
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(ioctl(fd, _IOW('B', 0x01, char[16]), big), -1);
	ck_assert_int_eq(errno, ENOTTY);
	ck_assert_int_eq(ioctl(fd, _IOWR('B', 0x02, char[32]), big), -1);
	ck_assert_int_eq(errno, ENOTTY);
	ck_assert_int_eq(ioctl(fd, _IO('B', 0x7f)), -1);
	ck_assert_int_eq(errno, ENOTTY);

	ck_assert_int_eq(set_thread(fd, tid_self(), 4, 0, 0, 0), -EINVAL);  /* SCHED_ISO: no */
	ck_assert_int_eq(set_thread(fd, tid_self(), 6, 0, 0, 0), -EINVAL);  /* SCHED_DEADLINE: no */
	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_OTHER, 20, 0, 0), -EINVAL);
	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_OTHER, -21, 0, 0), -EINVAL);
	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_OTHER, 0, 1, 0), -EINVAL);
	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_RR, 0, 0, 0), -EINVAL);
	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_FIFO, 0, 100, 0), -EINVAL);
	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_OTHER, 0, 0, 0x2), -EINVAL);
	ck_assert_int_eq(set_thread(fd, 0, BOOSTER_POLICY_OTHER, 0, 0, 0), -ESRCH);

	r.tid = 0;
	ck_assert_int_eq(ioctl(fd, BOOSTER_IOC_GET, &r), -1);
	ck_assert_int_eq(errno, ESRCH);
	ck_assert_int_eq(reset_thread(fd, tid_self()), -ESRCH);
	ck_assert_int_eq(reset_thread(fd, 0), 0);
	ck_assert(daemon_alive(&boosterd));
	close(fd);
}
END_TEST

START_TEST(test_get)
{
	struct booster_request r = { .tid = (__u32)gettid() };
	int fd;

	start_booster(NULL);
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_BATCH, 3, 0, 0), 0);
	ck_assert_int_eq(ioctl(fd, BOOSTER_IOC_GET, &r), 0);
	ck_assert_uint_eq(r.tid, (__u32)gettid());
	ck_assert_uint_eq(r.policy, BOOSTER_POLICY_BATCH);
	ck_assert_int_eq(r.nice, 3);
	ck_assert_uint_eq(r.rt_priority, 0);
	ck_assert_int_eq(sched_getscheduler(0), SCHED_BATCH | SCHED_RESET_ON_FORK);

	ck_assert_int_eq(set_thread(fd, tid_self(), BOOSTER_POLICY_FIFO, 0, 7, 0), 0);
	ck_assert_int_eq(ioctl(fd, BOOSTER_IOC_GET, &r), 0);
	ck_assert_uint_eq(r.policy, BOOSTER_POLICY_FIFO);
	ck_assert_uint_eq(r.rt_priority, 7);
	close(fd);
}
END_TEST

static int member_boosts_itself(void *arg)
{
	int before = nice_of(0), fd = open(arg, O_RDWR | O_CLOEXEC);
	struct booster_request r = { .tid = (__u32)gettid() };

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(set_nice(fd, gettid(), -5) == 0);
	CHILD_CHECK(getpriority(PRIO_PROCESS, 0) == -5);
	CHILD_CHECK(ioctl(fd, BOOSTER_IOC_GET, &r) == 0 && r.nice == -5);
	/* Raise it again while boosted: the undo still restores the original. */
	CHILD_CHECK(set_nice(fd, gettid(), -8) == 0);
	CHILD_CHECK(getpriority(PRIO_PROCESS, 0) == -8);
	CHILD_CHECK(book_write(fd, gettid(), 9) == 8);
	CHILD_CHECK(getpriority(PRIO_PROCESS, 0) == -2);
	CHILD_CHECK(reset_thread(fd, gettid()) == 0);
	CHILD_CHECK(getpriority(PRIO_PROCESS, 0) == before);

	CHILD_CHECK(set_nice(fd, gettid(), -5) == 0);
	close(fd);
	for (int i = 0; i < 1000 && getpriority(PRIO_PROCESS, 0) != before; i++)
		usleep(10000);
	CHILD_CHECK(getpriority(PRIO_PROCESS, 0) == before);
	return 0;
}

START_TEST(test_member_boosts_own_thread)
{
	start_booster(NULL);
	ck_assert_int_eq(run_as_nobody(member, member_boosts_itself, boosterd.node), 0);
}
END_TEST

struct target_call {
	const char *node;
	pid_t target;
	int expect;
};

static int boost_target(void *arg)
{
	struct target_call *call = arg;
	int fd = open(call->node, O_RDWR | O_CLOEXEC);

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(set_nice(fd, call->target, -3) == call->expect);
	CHILD_CHECK(book_write(fd, call->target, 10) == (call->expect ? call->expect : 8));
	CHILD_CHECK(set_thread(fd, call->target, BOOSTER_POLICY_IDLE, 0, 0, 0) == call->expect);
	close(fd);
	return 0;
}

START_TEST(test_other_uid_refused)
{
	struct target_call call = { .target = tid_self(), .expect = -EPERM };
	int before = nice_of(tid_self());
	char needle[64];

	start_booster(NULL);
	call.node = boosterd.node;
	ck_assert_int_eq(run_as_nobody(member, boost_target, &call), 0);
	ck_assert_int_eq(nice_of(tid_self()), before);
	ck_assert_int_eq(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, SCHED_OTHER);
	/* The refusal names the caller and the target. */
	snprintf(needle, sizeof(needle), "uid 65534 on thread %d", (int)tid_self());
	ck_assert_msg(log_contains(needle), "no refusal naming caller and target in %s", boosterd.log);
	ck_assert(log_contains("thread of another user"));
}
END_TEST

START_TEST(test_admin_group_may_boost_others)
{
	const char *const args[] = { "--admin-group=cusekit-admin", NULL };
	const char *const admin[] = { "cusekit-booster", "cusekit-admin", NULL };
	struct target_call call = { .target = tid_self(), .expect = 0 };

	start_booster(args);
	call.node = boosterd.node;
	ck_assert_int_eq(run_as_nobody(admin, boost_target, &call), 0);
	ck_assert_int_eq(sched_getscheduler(0) & ~SCHED_RESET_ON_FORK, SCHED_IDLE);
	/* Without the admin group the same member is refused. */
	call.expect = -EPERM;
	ck_assert_int_eq(run_as_nobody(member, boost_target, &call), 0);
}
END_TEST

/* A configured admin group that does not exist: a warning, and it grants
 * nothing (the framework's one rule for groups). */
START_TEST(test_unknown_admin_group)
{
	const char *const args[] = { "--admin-group=cusekit-no-such-group", NULL };
	struct target_call call = { .target = tid_self(), .expect = -EPERM };

	start_booster(args);
	ck_assert(log_contains("does not exist"));
	call.node = boosterd.node;
	ck_assert_int_eq(run_as_nobody(member, boost_target, &call), 0);
}
END_TEST

static int open_refused(void *arg)
{
	CHILD_CHECK(open(arg, O_RDWR | O_CLOEXEC) < 0 && errno == EACCES);
	CHILD_CHECK(open(arg, O_RDONLY | O_CLOEXEC) < 0 && errno == EACCES);
	return 0;
}

START_TEST(test_outsider_cannot_open)
{
	start_booster(NULL);
	ck_assert_int_eq(run_as_nobody(NULL, open_refused, boosterd.node), 0);
}
END_TEST

START_TEST(test_undo_on_close)
{
	pid_t target = start_sleeper();
	int before = nice_of(target), fd;

	start_booster(NULL);
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_thread(fd, target, BOOSTER_POLICY_RR, 0, 5, 0), 0);
	ck_assert_int_eq(sched_getscheduler(target), SCHED_RR | SCHED_RESET_ON_FORK);
	ck_assert_int_eq(set_nice(fd, tid_self(), -7), 0);
	close(fd);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(sched_getscheduler(target), SCHED_OTHER);
	ck_assert_int_eq(nice_of(target), before);
	ck_assert_int_eq(nice_of(tid_self()), before);

	/* Someone else changed it since: left alone. */
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_nice(fd, target, -7), 0);
	ck_assert_int_eq(setpriority(PRIO_PROCESS, (id_t)target, 4), 0);
	close(fd);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(nice_of(target), 4);
	ck_assert(log_contains("was changed since our boost"));
}
END_TEST

START_TEST(test_undo_on_sigkill)
{
	pid_t target = tid_self(), client;
	int before = nice_of(target), pipefd[2], status;
	char c;

	start_booster(NULL);
	ck_assert_int_eq(pipe(pipefd), 0);
	client = fork();
	ck_assert_int_ge(client, 0);
	if (client == 0) {
		int fd = open(boosterd.node, O_RDWR | O_CLOEXEC);

		CHILD_CHECK(fd >= 0);
		CHILD_CHECK(set_nice(fd, target, -6) == 0);
		CHILD_CHECK(write(pipefd[1], "x", 1) == 1);
		for (;;)
			pause();
	}
	close(pipefd[1]);
	ck_assert_int_eq(read(pipefd[0], &c, 1), 1);
	ck_assert_int_eq(nice_of(target), -6);
	ck_assert_int_eq(kill(client, SIGKILL), 0);
	ck_assert_int_eq(waitpid(client, &status, 0), client);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(nice_of(target), before);
	ck_assert(daemon_alive(&boosterd));
}
END_TEST

START_TEST(test_persistent_survives_close)
{
	pid_t other = start_sleeper();
	int fd;

	start_booster(NULL);
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(book_write(fd, tid_self(), 12), 8);
	ck_assert_int_eq(set_thread(fd, other, BOOSTER_POLICY_OTHER, -4, 0, BOOSTER_FLAG_PERSIST), 0);
	close(fd);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(nice_of(tid_self()), -11);
	ck_assert_int_eq(nice_of(other), -4);

	/* RESET through the same file undoes a persistent change too. */
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_thread(fd, other, BOOSTER_POLICY_OTHER, -9, 0, BOOSTER_FLAG_PERSIST), 0);
	ck_assert_int_eq(reset_thread(fd, 0), 0);
	ck_assert_int_eq(nice_of(other), -4);
	close(fd);
}
END_TEST

START_TEST(test_stacked_boosts_unwind)
{
	pid_t target = start_sleeper();
	int before = nice_of(target), a, b;

	start_booster(NULL);
	a = daemon_open(&boosterd, O_RDWR);
	b = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_nice(a, target, -3), 0);
	ck_assert_int_eq(set_nice(b, target, -6), 0);
	close(a);  /* the lower one ends first: b now restores the original */
	daemon_wait_clients(&boosterd, 1);
	ck_assert_int_eq(nice_of(target), -6);
	close(b);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(nice_of(target), before);

	a = daemon_open(&boosterd, O_RDWR);
	b = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_nice(a, target, -3), 0);
	ck_assert_int_eq(set_nice(b, target, -6), 0);
	close(b);
	daemon_wait_clients(&boosterd, 1);
	ck_assert_int_eq(nice_of(target), -3);
	close(a);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(nice_of(target), before);
}
END_TEST

static int member_hits_limits(void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC);
	struct sched_param param;
	pid_t second = start_sleeper(), third = start_sleeper();

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(set_nice(fd, gettid(), -6) == -EPERM);
	CHILD_CHECK(book_write(fd, gettid(), 11) == -EPERM);   /* nice -8 */
	CHILD_CHECK(set_nice(fd, gettid(), -5) == 0);
	CHILD_CHECK(set_thread(fd, gettid(), BOOSTER_POLICY_RR, 0, 4, 0) == -EPERM);
	/* Bounded as rtkit demands of its clients: the daemon may lack the
	 * privilege to bound another user's process itself. */
	CHILD_CHECK(setrlimit(RLIMIT_RTTIME, &(struct rlimit){ 100000, 100000 }) == 0);
	CHILD_CHECK(set_thread(fd, gettid(), BOOSTER_POLICY_FIFO, 0, 3, 0) == 0);
	CHILD_CHECK(sched_getscheduler(0) == (SCHED_FIFO | SCHED_RESET_ON_FORK));
	CHILD_CHECK(sched_getparam(0, &param) == 0 && param.sched_priority == 3);
	/* Two threads at most: the own thread and one more. */
	CHILD_CHECK(set_nice(fd, second, -1) == 0);
	CHILD_CHECK(set_nice(fd, third, -1) == -EPERM);
	CHILD_CHECK(reset_thread(fd, gettid()) == 0);
	CHILD_CHECK(set_nice(fd, third, -1) == 0);
	/* A thread whose boost someone else replaced no longer counts. */
	CHILD_CHECK(setpriority(PRIO_PROCESS, (id_t)second, 2) == 0);
	CHILD_CHECK(set_nice(fd, gettid(), 1) == 0);
	close(fd);
	return 0;
}

START_TEST(test_limits)
{
	char dir[] = "/tmp/cusekit-test-booster.XXXXXX", config[64], arg[80];
	const char *const args[] = { arg, "--rt-max-priority=3", NULL };
	FILE *f;

	/* The limits from a configuration file, and one from the command line. */
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(config, sizeof(config), "%s/booster.conf", dir);
	f = fopen(config, "we");
	ck_assert_ptr_nonnull(f);
	fputs("# booster policy\nnice-floor = -5\nmax-boosted-per-user = 2\n", f);
	ck_assert_int_eq(fclose(f), 0);
	snprintf(arg, sizeof(arg), "--config=%s", config);
	start_booster(args);
	unlink(config);
	rmdir(dir);
	ck_assert(log_contains("nice-floor -5, rt-max-priority 3, max-boosted-per-user 2"));
	ck_assert_int_eq(run_as_nobody(member, member_hits_limits, boosterd.node), 0);
	ck_assert(log_contains("nice below nice-floor"));
	ck_assert(log_contains("max-boosted-per-user reached"));
}
END_TEST

static int member_no_rt(void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC);

	CHILD_CHECK(fd >= 0);
	CHILD_CHECK(set_thread(fd, gettid(), BOOSTER_POLICY_RR, 0, 1, 0) == -EPERM);
	CHILD_CHECK(book_write(fd, gettid(), 16) == -EPERM);
	CHILD_CHECK(book_write(fd, gettid(), 13) == -EPERM);  /* nice -14 < -10 */
	CHILD_CHECK(book_write(fd, gettid(), 12) == -EPERM);  /* nice -11 */
	CHILD_CHECK(book_write(fd, gettid(), 11) == 8);       /* nice -8 */
	CHILD_CHECK(getpriority(PRIO_PROCESS, 0) == -8);
	return 0;
}

START_TEST(test_default_policy)
{
	start_booster(NULL);
	ck_assert_int_eq(run_as_nobody(member, member_no_rt, boosterd.node), 0);
}
END_TEST

START_TEST(test_target_dies)
{
	pid_t target;
	int fd, status;

	start_booster(NULL);
	target = fork();
	if (target == 0) {
		pause();
		_exit(0);
	}
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_nice(fd, target, -2), 0);
	ck_assert_int_eq(kill(target, SIGKILL), 0);
	ck_assert_int_eq(waitpid(target, &status, 0), target);
	ck_assert_int_eq(set_nice(fd, target, -2), -ESRCH);
	close(fd);
	daemon_wait_clients(&boosterd, 0);
	ck_assert(daemon_alive(&boosterd));
}
END_TEST

/* Fork a child that gets exactly pid want (asking the kernel for it through
 * ns_last_pid, retrying while other processes race us for it), sets its own
 * nice and waits until release is closed; -1 when the pid could not be had. */
static pid_t fork_with_pid(pid_t want, int nice, int *release)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		int fds[2];
		char c;
		pid_t pid;
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");

		ck_assert_msg(f, "ns_last_pid: %s", strerror(errno));
		fprintf(f, "%d", (int)want - 1);
		ck_assert_int_eq(fclose(f), 0);
		ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
		pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			/* Hold none of the parent's files, the device's least. */
			dup2(fds[0], STDIN_FILENO);
			close_range(STDERR_FILENO + 1, ~0u, 0);
			setpriority(PRIO_PROCESS, 0, nice);
			_exit(read(STDIN_FILENO, &c, 1) < 0);
		}
		close(fds[0]);
		if (pid == want) {
			*release = fds[1];
			return pid;
		}
		close(fds[1]);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

/* A thread that died and whose tid was reused is never touched: neither by
 * the undo at close nor by a stale count. */
START_TEST(test_reused_tid_untouched)
{
	pid_t target, reused;
	int fd, status, release;

	start_booster(NULL);
	target = fork();
	ck_assert_int_ge(target, 0);
	if (target == 0) {
		pause();
		_exit(0);
	}
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_nice(fd, target, -6), 0);
	ck_assert_int_eq(kill(target, SIGKILL), 0);
	ck_assert_int_eq(waitpid(target, &status, 0), target);

	/* A new process with the same id and exactly the settings we gave the
	 * old one: a daemon going by number would "restore" it. */
	reused = fork_with_pid(target, -6, &release);
	ck_assert_msg(reused == target, "could not get pid %d again", (int)target);
	for (int i = 0; i < 1000 && nice_of(reused) != -6; i++)
		usleep(1000);
	ck_assert_int_eq(nice_of(reused), -6);
	close(fd);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(nice_of(reused), -6);
	/* Forgotten when the kernel said it exited, or at the latest found gone
	 * at the undo. */
	ck_assert(log_contains("exited: its boosts are forgotten") || log_contains("is gone, nothing to undo"));
	close(release);
	ck_assert_int_eq(waitpid(reused, &status, 0), reused);
}
END_TEST

/* A graceful stop undoes what open files changed and keeps persistent
 * changes; the daemon exits 0 (under ASan: without leaks). */
START_TEST(test_stop_undoes_boosts)
{
	pid_t target = start_sleeper(), kept = start_sleeper();
	int before = nice_of(target), fd, closed;

	start_booster(NULL);
	closed = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(book_write(closed, kept, 11), 8);
	close(closed);
	daemon_wait_clients(&boosterd, 0);
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(set_nice(fd, target, -9), 0);
	ck_assert_int_eq(daemon_stop(&boosterd), 0);
	ck_assert_int_eq(nice_of(target), before);
	ck_assert_int_eq(nice_of(kept), -8);
	close(fd);
}
END_TEST

START_TEST(test_boost_client)
{
	char out[4096], tid[16], prio[16];
	const char *boost = build_path("clients/boost");

	start_booster(NULL);
	snprintf(tid, sizeof(tid), "%d", (int)tid_self());

	snprintf(prio, sizeof(prio), "%d", 10);
	const char *const book[] = { boost, "--device", boosterd.node, tid, prio, NULL };
	ck_assert_int_eq(run_program(out, sizeof(out), book), 0);
	ck_assert_msg(strstr(out, "Priority change succeeded!"), "output: %s", out);
	ck_assert_int_eq(nice_of(tid_self()), -5);

	const char *const bad[] = { boost, "--device", boosterd.node, tid, "32", NULL };
	ck_assert_int_ne(run_program(out, sizeof(out), bad), 0);
	ck_assert_msg(strstr(out, "Invalid argument"), "output: %s", out);

	const char *const get[] = { boost, "--device", boosterd.node, "--get", tid, NULL };
	ck_assert_int_eq(run_program(out, sizeof(out), get), 0);
	ck_assert_msg(strstr(out, "nice -5"), "output: %s", out);

	/* The command runs boosted: nice(1) prints its own niceness. */
	const char *const run[] = { boost, "--device", boosterd.node, "--nice", "-4", "--", "nice", NULL };
	ck_assert_int_eq(run_program(out, sizeof(out), run), 0);
	ck_assert_msg(!strcmp(out, "-4\n"), "output: %s", out);
	const char *const rr[] = { boost, "--device", boosterd.node, "--rr", "2", "--", "chrt", "-p", "0", NULL };
	ck_assert_int_eq(run_program(out, sizeof(out), rr), 0);
	ck_assert_msg(strstr(out, "SCHED_RR|SCHED_RESET_ON_FORK") && strstr(out, "priority: 2"), "output: %s",
		      out);
	daemon_wait_clients(&boosterd, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("booster");
	TCase *tc = tcase_create("booster");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_book_scale);
	tcase_add_test(tc, test_write_errors);
	tcase_add_test(tc, test_bad_ioctls);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_member_boosts_own_thread);
	tcase_add_test(tc, test_other_uid_refused);
	tcase_add_test(tc, test_admin_group_may_boost_others);
	tcase_add_test(tc, test_unknown_admin_group);
	tcase_add_test(tc, test_outsider_cannot_open);
	tcase_add_test(tc, test_undo_on_close);
	tcase_add_test(tc, test_undo_on_sigkill);
	tcase_add_test(tc, test_persistent_survives_close);
	tcase_add_test(tc, test_stacked_boosts_unwind);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_default_policy);
	tcase_add_test(tc, test_target_dies);
	tcase_add_test(tc, test_reused_tid_untouched);
	tcase_add_test(tc, test_stop_undoes_boosts);
	tcase_add_test(tc, test_boost_client);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
