/* SPDX-License-Identifier: MIT */
/*
 * boosterd's safety net through real syscalls: a runaway real-time thread
 * is stopped by the kernel (RLIMIT_RTTIME), the per-user rate limit, a
 * starved canary demotes every real-time grant and refuses new ones for a
 * cool-down, nice boosts raise the autogroup where the kernel schedules by
 * autogroup, and the daemon's descriptors follow threads, not requests.
 *
 * Every wait here is bounded by what it waits for: the kernel's RLIMIT_RTTIME
 * signal comes after the limit's CPU time, the canary acts within its
 * starvation time plus one period; the bounds only turn a defect into a
 * failure instead of a hang (and a runaway spinner is itself ended by its
 * RLIMIT_RTTIME).
 */
#include <check.h>
#include <dirent.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include "test-booster.h"

static struct daemon_proc boosterd;

static void teardown(void) { daemon_cleanup(&boosterd); }

static void start_booster(const char *const args[]) { daemon_start(&boosterd, "booster", args); }

static bool log_contains(const char *needle) { return daemon_log_contains(&boosterd, needle); }

/* The daemon's log lines containing what, for failure messages. */
static const char *log_lines(const char *what)
{
	static char lines[4096];
	char buf[1 << 16];
	size_t used = 0;
	ssize_t n;
	int fd = open(boosterd.log, O_RDONLY | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	lines[0] = '\0';
	for (char *line = strtok(buf, "\n"); line && used < sizeof(lines) - 1; line = strtok(NULL, "\n"))
		if (strstr(line, what))
			used += (size_t)snprintf(lines + used, sizeof(lines) - used, "\n  %s", line);
	return used ? lines : "(nothing)";
}

static int change(int fd, pid_t tid, uint32_t policy, int nice, uint32_t rt)
{
	return set_thread(fd, tid, policy, nice, rt, 0);
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* Pin the caller to the CPU it runs on: a spinner there hogs one CPU only. */
static int pin_here(void)
{
	int cpu = sched_getcpu();
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ck_assert_int_eq(sched_setaffinity(0, sizeof(set), &set), 0);
	return cpu;
}

static void unpin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static bool has_cap_sys_resource(void)
{
	char line[256];
	unsigned long long caps = 0;
	FILE *f = fopen("/proc/self/status", "re");

	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return caps & (1ull << CAP_SYS_RESOURCE);
}

/* A child never outlives a failed test by long: 300 s of CPU, then SIGKILL
 * (check's own SIGALRM handler makes alarm() useless in children). */
static void limit_cpu(void)
{
	CHILD_CHECK(setrlimit(RLIMIT_CPU, &(struct rlimit){ 300, 301 }) == 0);
}

/* A process that asks for SCHED_RR 1 for itself and then spins without ever
 * blocking. It reports its RLIMIT_RTTIME after the grant on report (or the
 * SET's -errno as rlim_cur = errno, rlim_max = 0), then spins. */
static pid_t spawn_runaway(const char *node, uid_t uid, const struct rlimit *own, int report)
{
	pid_t pid = uid ? fork_as(uid, uid, (gid_t[]){ group_id("cusekit-booster") }, 1) : fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(node, O_RDWR | O_CLOEXEC), r;
		struct rlimit now;

		CHILD_CHECK(fd >= 0);
		/* Safety net of the safety net: never spin forever. */
		limit_cpu();
		if (own)
			CHILD_CHECK(setrlimit(RLIMIT_RTTIME, own) == 0);
		r = change(fd, gettid(), BOOSTER_POLICY_RR, 0, 1);
		if (r < 0)
			now = (struct rlimit){ (rlim_t)-r, 0 };
		else
			CHILD_CHECK(getrlimit(RLIMIT_RTTIME, &now) == 0);
		CHILD_CHECK(write(report, &now, sizeof(now)) == sizeof(now));
		if (r < 0)
			_exit(0);
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	return pid;
}

static int runaway_ends(pid_t pid, int report, struct rlimit *limits)
{
	int status;

	ck_assert_int_eq(read(report, limits, sizeof(*limits)), (ssize_t)sizeof(*limits));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

/* Issue 17, 1: a spinning SCHED_RR thread granted by Booster is stopped by
 * the kernel, on a CPU it shares with us: we are still here to see it. */
START_TEST(test_rttime_stops_runaway)
{
	struct rlimit limits;
	int pipefd[2];
	pid_t pid;

	start_booster((const char *const[]){ "--rt-max-priority=5", NULL });
	pin_here();
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);

	/* Unbounded before: Booster bounds it to 200 ms; SIGKILL at the hard limit. */
	pid = spawn_runaway(boosterd.node, 0, NULL, pipefd[1]);
	ck_assert_int_eq(runaway_ends(pid, pipefd[0], &limits), SIGKILL);
	ck_assert_uint_eq(limits.rlim_cur, 200000);
	ck_assert_uint_eq(limits.rlim_max, 200000);

	/* A lower soft limit stays: SIGXCPU first, which terminates. */
	pid = spawn_runaway(boosterd.node, 0, &(struct rlimit){ 50000, 150000 }, pipefd[1]);
	ck_assert_int_eq(runaway_ends(pid, pipefd[0], &limits), SIGXCPU);
	ck_assert_uint_eq(limits.rlim_cur, 50000);
	ck_assert_uint_eq(limits.rlim_max, 150000);

	/* Another user's process: bounded by the daemon where it may change
	 * other users' limits (CAP_SYS_RESOURCE), else refused unless it bounded
	 * itself. */
	pid = spawn_runaway(boosterd.node, NOBODY, NULL, pipefd[1]);
	if (has_cap_sys_resource()) {
		ck_assert_int_eq(runaway_ends(pid, pipefd[0], &limits), SIGKILL);
		ck_assert_uint_eq(limits.rlim_max, 200000);
	} else {
		ck_assert_int_eq(runaway_ends(pid, pipefd[0], &limits), 0);
		ck_assert_uint_eq(limits.rlim_cur, EPERM);
		ck_assert(log_contains("Failed to bound RLIMIT_RTTIME"));
		pid = spawn_runaway(boosterd.node, NOBODY, &(struct rlimit){ 100000, 100000 }, pipefd[1]);
		ck_assert_int_eq(runaway_ends(pid, pipefd[0], &limits), SIGKILL);
		ck_assert_uint_eq(limits.rlim_max, 100000);
	}
	unpin();
	ck_assert(daemon_alive(&boosterd));
}
END_TEST

static int member_rate_limited(void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC);

	CHILD_CHECK(fd >= 0);
	for (int i = 0; i < 3; i++)
		CHILD_CHECK(change(fd, gettid(), BOOSTER_POLICY_OTHER, -(i % 2) - 1, 0) == 0);
	CHILD_CHECK(change(fd, gettid(), BOOSTER_POLICY_OTHER, -3, 0) == -EBUSY);
	CHILD_CHECK(book_write(fd, gettid(), 9) == -EBUSY);
	CHILD_CHECK(getpriority(PRIO_PROCESS, 0) == -1);
	close(fd);
	return 0;
}

START_TEST(test_rate_limit)
{
	const char *const member[] = { "cusekit-booster", NULL };
	int fd;

	start_booster((const char *const[]){ "--rate-limit-burst=3", "--rate-limit-interval=3600", NULL });
	ck_assert_int_eq(run_as_nobody(member, member_rate_limited, boosterd.node), 0);
	ck_assert(log_contains("rate limit reached"));
	/* Root is not limited. */
	fd = daemon_open(&boosterd, O_RDWR);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(change(fd, gettid(), BOOSTER_POLICY_OTHER, -(i % 2), 0), 0);
	close(fd);
}
END_TEST

struct spinner {
	pid_t tid;
	int cpu;
	bool stop;
};

static void *spin(void *arg)
{
	struct spinner *s = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	__atomic_store_n(&s->tid, gettid(), __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED))
		;
	return NULL;
}

static void *sleep_forever(void *arg)
{
	__atomic_store_n((pid_t *)arg, gettid(), __ATOMIC_SEQ_CST);
	for (;;)
		pause();
	return NULL;
}

static int policy_of(pid_t tid) { return sched_getscheduler(tid) & ~SCHED_RESET_ON_FORK; }

/* Issue 17, 3: real-time threads hog the canary's CPU; the watchdog demotes
 * every real-time grant, refuses new ones for the cool-down, logs. */
START_TEST(test_canary_demotes_every_grant)
{
	enum { STARVATION_MS = 1000, COOLDOWN_SEC = 5 };
	struct spinner s = {};
	pid_t sleeper = 0;
	pthread_t spinner_thread, sleeper_thread;
	uint64_t t0, deadline;
	int fd, r, policy;

	/* The daemon, and so its canary, on one CPU: one spinner starves it
	 * there and the other CPUs stay free. Its RLIMIT_RTTIME (20 s) ends
	 * the spinner by itself if the canary never acts. */
	s.cpu = pin_here();
	start_booster((const char *const[]){ "--rt-max-priority=10", "--rttime-limit-ms=20000",
						  "--canary-starvation-ms=1000", "--canary-cooldown=5", NULL });
	unpin();
	ck_assert(log_contains("canary running"));
	fd = daemon_open(&boosterd, O_RDWR);

	ck_assert_int_eq(pthread_create(&sleeper_thread, NULL, sleep_forever, &sleeper), 0);
	while (!__atomic_load_n(&sleeper, __ATOMIC_SEQ_CST))
		sched_yield();
	ck_assert_int_eq(change(fd, sleeper, BOOSTER_POLICY_FIFO, 0, 3), 0);
	ck_assert_int_eq(pthread_create(&spinner_thread, NULL, spin, &s), 0);
	while (!__atomic_load_n(&s.tid, __ATOMIC_SEQ_CST))
		sched_yield();
	t0 = now_usec();
	ck_assert_int_eq(change(fd, s.tid, BOOSTER_POLICY_RR, 0, 2), 0);

	/* The watchdog acts within STARVATION_MS plus one period (a quarter of
	 * it) of the spin; the bound is many times that. */
	deadline = t0 + 60ull * STARVATION_MS * 1000 * test_timeout_scale();
	while ((policy = policy_of(s.tid)) != SCHED_OTHER && now_usec() < deadline)
		usleep(10000);
	__atomic_store_n(&s.stop, true, __ATOMIC_RELAXED);
	ck_assert_int_eq(pthread_join(spinner_thread, NULL), 0);
	ck_assert_int_eq(policy, SCHED_OTHER);
	ck_assert_int_eq(policy_of(sleeper), SCHED_OTHER);
	/* The watchdog demotes first and logs after. */
	for (unsigned i = 0; i < 1000 * test_timeout_scale() && !log_contains("demoted 2 real-time thread(s)"); i++)
		usleep(10000);
	ck_assert_msg(log_contains("demoted 2 real-time thread(s)"), "the daemon said:%s", log_lines("anary"));

	/* Within the cool-down (it cannot have ended before t0 + 5 s),
	 * real-time is refused with EBUSY; a nice change is not. */
	r = change(fd, sleeper, BOOSTER_POLICY_RR, 0, 1);
	if (now_usec() < t0 + COOLDOWN_SEC * 1000000ull)
		ck_assert_int_eq(r, -EBUSY);
	ck_assert_int_eq(change(fd, sleeper, BOOSTER_POLICY_OTHER, -2, 0), 0);
	/* After it, real-time is granted again. */
	deadline = now_usec() + 60ull * COOLDOWN_SEC * 1000000 * test_timeout_scale();
	while ((r = change(fd, sleeper, BOOSTER_POLICY_RR, 0, 1)) == -EBUSY && now_usec() < deadline)
		usleep(100000);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_ge(now_usec(), t0 + COOLDOWN_SEC * 1000000ull);
	close(fd);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_int_eq(policy_of(sleeper), SCHED_OTHER);
}
END_TEST

static int read_autogroup(pid_t pid, unsigned long *id)
{
	char path[64], buf[128];
	int nice = 99;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/autogroup", (int)pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_int_eq(sscanf(buf, "/autogroup-%lu nice %d", id, &nice), 2);
	return nice;
}

/* Wait until pid's autogroup has nice want; the daemon retries every 100 ms
 * while the kernel's autogroup rate limit refuses. */
static bool autogroup_becomes(pid_t pid, int want)
{
	unsigned long id;

	for (unsigned i = 0; i < 200 * test_timeout_scale(); i++) {
		if (read_autogroup(pid, &id) == want)
			return true;
		daemon_wait_clients(&boosterd, 1);
		usleep(50000);
	}
	return false;
}

static bool autogroup_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/sched_autogroup_enabled", "re");
	int on = 0;

	if (f) {
		if (fscanf(f, "%d", &on) != 1)
			on = 0;
		fclose(f);
	}
	return on == 1;
}

/* A process in a session of its own (setsid done when this returns) that
 * spins or sleeps until killed, on cpu; its pid. */
static pid_t session_child(bool spinning, int cpu)
{
	int ready[2];
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		cpu_set_t set;

		CHILD_CHECK(setsid() > 0);
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		sched_setaffinity(0, sizeof(set), &set);
		limit_cpu();
		CHILD_CHECK(write(ready[1], "x", 1) == 1);
		if (spinning)
			for (;;)
				__asm__ volatile("" ::: "memory");
		for (;;)
			pause();
	}
	close(ready[1]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long utime, stime;
	const char *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	p = strrchr(buf, ')');
	ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime), 2);
	return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Issue 17, 4: with autogroup, a nice boost also raises the thread's
 * session, and so counts against another session's busy work. */
START_TEST(test_autogroup)
{
	unsigned long id, other_id;
	pid_t boosted, other;
	double a0, b0, a, b;
	int fd, cpu, status;

	start_booster(NULL);
	if (!autogroup_on()) {
		boosted = session_child(false, sched_getcpu());
		fd = daemon_open(&boosterd, O_RDWR);
		ck_assert_int_eq(change(fd, boosted, BOOSTER_POLICY_OTHER, -5, 0), 0);
		ck_assert(log_contains("Autogroup scheduling is off"));
		kill(boosted, SIGKILL);
		waitpid(boosted, &status, 0);
		close(fd);
		return;
	}
	ck_assert(log_contains("Autogroup scheduling is on"));

	/* Two sessions spinning on one CPU; one thread of the first boosted. */
	cpu = sched_getcpu();
	boosted = session_child(true, cpu);
	other = session_child(true, cpu);
	ck_assert_int_eq(read_autogroup(boosted, &id), 0);
	ck_assert_int_eq(read_autogroup(other, &other_id), 0);
	ck_assert_uint_ne(id, other_id);
	fd = daemon_open(&boosterd, O_RDWR);
	ck_assert_int_eq(change(fd, boosted, BOOSTER_POLICY_OTHER, -5, 0), 0);
	ck_assert_msg(autogroup_becomes(boosted, -5), "autogroup of the boosted session not raised");
	ck_assert_int_eq(read_autogroup(other, &other_id), 0);

	/* Weights 3121 (nice -5) against 1024: about 3:1. Without the group's
	 * boost both sessions would weigh 1024 and share 1:1. Measured over one
	 * second of their CPU time, however long that takes. */
	a0 = cpu_seconds(boosted);
	b0 = cpu_seconds(other);
	for (unsigned i = 0; i < 6000 * test_timeout_scale(); i++) {
		if (cpu_seconds(boosted) - a0 + cpu_seconds(other) - b0 >= 1.0)
			break;
		usleep(10000);
	}
	a = cpu_seconds(boosted) - a0;
	b = cpu_seconds(other) - b0;
	ck_assert_msg(a >= 2 * b, "boosted session had %.2f s of CPU, the other %.2f s", a, b);

	/* Undone with the rest: the file closes, the group gets its nice back. */
	close(fd);
	daemon_wait_clients(&boosterd, 0);
	ck_assert_msg(autogroup_becomes(boosted, 0), "autogroup not restored");
	ck_assert_int_eq(getpriority(PRIO_PROCESS, (id_t)boosted), 0);
	kill(boosted, SIGKILL);
	kill(other, SIGKILL);
	waitpid(boosted, &status, 0);
	waitpid(other, &status, 0);
}
END_TEST

static unsigned open_fds(pid_t pid)
{
	char path[64];
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2;
}

/* Wait until the daemon holds n descriptors: it forgets a thread when the
 * kernel's exit event reaches its loop, which a round trip lets run. */
static bool fds_become(unsigned n, unsigned clients_open)
{
	for (unsigned i = 0; i < 1000 * test_timeout_scale(); i++) {
		if (open_fds(boosterd.pid) == n)
			return true;
		daemon_wait_clients(&boosterd, clients_open);
		usleep(10000);
	}
	return false;
}

static void *wait_then_exit(void *arg)
{
	int *pipefd = arg;
	char c;

	__atomic_store_n(&pipefd[2], gettid(), __ATOMIC_SEQ_CST);
	return (void *)(intptr_t)read(pipefd[0], &c, 1);
}

/* Issue 15, 4: one descriptor per changed thread however many changes
 * stack on it, back to baseline when the thread exits. */
START_TEST(test_descriptors_follow_threads)
{
	int pipefd[3] = { -1, -1, 0 }, fd, status;
	unsigned baseline;
	pthread_t thread;
	pid_t target;

	start_booster(NULL);
	daemon_wait_clients(&boosterd, 0);
	baseline = open_fds(boosterd.pid);

	/* A process: 3,000 persistent changes through one file, then 300
	 * through as many files. */
	target = session_child(false, sched_getcpu());
	fd = daemon_open(&boosterd, O_RDWR);
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(book_write(fd, target, 9 + (i & 1)), 8);
	close(fd);
	for (int i = 0; i < 300; i++) {
		fd = daemon_open(&boosterd, O_RDWR);
		ck_assert_int_eq(book_write(fd, target, 9 + (i & 1)), 8);
		close(fd);
	}
	daemon_wait_clients(&boosterd, 0);
	ck_assert_uint_eq(open_fds(boosterd.pid), baseline + 1);
	ck_assert_int_eq(kill(target, SIGKILL), 0);
	ck_assert_int_eq(waitpid(target, &status, 0), target);
	ck_assert_msg(fds_become(baseline, 0), "daemon holds %u descriptors, baseline %u", open_fds(boosterd.pid),
		      baseline);

	/* A thread (not a process) that exits while its process lives on. */
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	ck_assert_int_eq(pthread_create(&thread, NULL, wait_then_exit, pipefd), 0);
	while (!__atomic_load_n(&pipefd[2], __ATOMIC_SEQ_CST))
		sched_yield();
	fd = daemon_open(&boosterd, O_RDWR);
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(change(fd, pipefd[2], BOOSTER_POLICY_OTHER, -(i & 1), 0), 0);
	ck_assert_int_eq(book_write(fd, pipefd[2], 10), 8);
	ck_assert_uint_eq(open_fds(boosterd.pid), baseline + 1);
	close(pipefd[1]);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_msg(fds_become(baseline, 1), "daemon holds %u descriptors, baseline %u", open_fds(boosterd.pid),
		      baseline);
	close(fd);
	close(pipefd[0]);
}
END_TEST

static int member_changes_one_thread(void *arg)
{
	int fd = open(arg, O_RDWR | O_CLOEXEC);

	CHILD_CHECK(fd >= 0);
	/* max-boosted-per-user counts threads: 40 changes of one thread. */
	for (int i = 0; i < 40; i++)
		CHILD_CHECK(book_write(fd, gettid(), 8 + (i & 1)) == 8);
	close(fd);
	return 0;
}

START_TEST(test_cap_counts_threads)
{
	const char *const member[] = { "cusekit-booster", NULL };

	start_booster((const char *const[]){ "--max-boosted-per-user=2", "--rate-limit-burst=1000", NULL });
	ck_assert_int_eq(run_as_nobody(member, member_changes_one_thread, boosterd.node), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("booster-safety");
	TCase *tc = tcase_create("booster-safety");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 300 * test_timeout_scale());
	tcase_add_test(tc, test_rttime_stops_runaway);
	tcase_add_test(tc, test_rate_limit);
	tcase_add_test(tc, test_canary_demotes_every_grant);
	tcase_add_test(tc, test_autogroup);
	tcase_add_test(tc, test_descriptors_follow_threads);
	tcase_add_test(tc, test_cap_counts_threads);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
