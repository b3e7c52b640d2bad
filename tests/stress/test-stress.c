/* SPDX-License-Identifier: MIT */
/*
 * The stress layer: one device per run (argv[1]), driven on the test
 * transport by hundreds of clients at once, blocked clients killed in bulk,
 * and clients killed at random moments in the middle of their requests. The
 * daemon's open descriptors and resident memory are sampled after a warm-up
 * round and again after ROUNDS more rounds of the same load:
 *
 *   descriptors  exactly back: nothing a client made the daemon hold (a
 *                /proc/<tid> of a boost, an eventfd, a pidfd) outlives it.
 *   memory       back within the slack rss_slack_kib() computes: what the
 *                kernel's own RSS counters and glibc's malloc may show
 *                without anything leaking (see there). A leak grows with
 *                the rounds; what the allocator keeps does not, because the
 *                warm-up round already made the allocator as large as one
 *                round needs.
 *
 * No wait here is a sleep: a round waits for the daemon's own counts
 * (clients open, requests parked) and for the children's exit. Sizes:
 * CUSEKIT_STRESS_CLIENTS (default 200), CUSEKIT_STRESS_ROUNDS (default 3).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/booster.h>
#include <cusekit/kprotect.h>
#include <cusekit/melody.h>
#include <cusekit/sysmon.h>
#include <cusekit/zero.h>

#include "harness.h"

#define PAGE_KIB 4
/* glibc's M_TRIM_THRESHOLD: free memory at the top of a heap that free()
 * keeps rather than give back (128 KiB; it only grows when a chunk served
 * by mmap() is freed, which none of the daemons' per-request allocations
 * is: they are far below the 128 KiB mmap threshold). */
#define GLIBC_TRIM_THRESHOLD_KIB 128

static struct daemon_proc daemond;
static const char *device;
static unsigned n_clients = 200, n_rounds = 3;
static char scratch_file[256];   /* kprotect: a file to deny and allow */

/* Samples */

struct sample {
	unsigned fds;        /* open descriptors, fanotify event fds aside */
	unsigned long rss_kib, anon_kib;
	unsigned threads;
};

/* A descriptor sysmond holds only while it handles one fanotify event: a
 * file another program just executed, anywhere on the machine (perhaps
 * deleted since). It is closed in the same turn of the loop it was read in,
 * so the daemon holds it only between two samples by chance: such fds are
 * not counted. Every file a daemon keeps open lies in its scratch directory,
 * /dev (the fuse or cuse channel, /dev/null) or /proc (a boost's thread). */
static bool transient_event_fd(const char *target)
{
	return target[0] == '/' && strncmp(target, daemond.dir, strlen(daemond.dir)) != 0 &&
	       strncmp(target, "/dev/", 5) != 0 && strncmp(target, "/proc/", 6) != 0;
}

static unsigned count_fds(pid_t pid)
{
	char path[64], link[PATH_MAX + 1], target[PATH_MAX + 1];
	struct dirent *e;
	unsigned n = 0;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	ck_assert_ptr_nonnull(dir);
	while ((e = readdir(dir))) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "%s/%s", path, e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;   /* closed meanwhile */
		target[len] = '\0';
		if (!transient_event_fd(target))
			n++;
	}
	closedir(dir);
	return n;
}

static unsigned long status_field(const char *status, const char *name)
{
	const char *p = strstr(status, name);

	ck_assert_msg(p, "no %s in /proc/<pid>/status", name);
	return strtoul(p + strlen(name), NULL, 10);
}

static void sample(struct sample *s)
{
	char path[64], status[8192];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)daemond.pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	n = read(fd, status, sizeof(status) - 1);
	close(fd);
	ck_assert_int_gt(n, 0);
	status[n] = '\0';
	s->rss_kib = status_field(status, "VmRSS:");
	s->anon_kib = status_field(status, "RssAnon:");
	s->threads = (unsigned)status_field(status, "Threads:");
	s->fds = count_fds(daemond.pid);
}

/* What VmRSS may differ by between two samples of a daemon that holds no
 * more memory than before:
 *  - the kernel's RSS counters are approximate, by design: Linux 6.2 and
 *    later keep them in per-CPU counters that /proc sums without the
 *    per-CPU deltas, each up to the batch max(32, 2 * CPUs) pages; before
 *    6.2 each thread cached up to 64 page events (TASK_RSS_EVENTS_THRESH)
 *    before adding them to the process. Either way, per sample, at most
 *    the larger of batch * CPUs and 64 * threads pages, and a difference of
 *    two samples twice that;
 *  - glibc keeps up to M_TRIM_THRESHOLD of free memory at the top of each
 *    heap (the main one, and a player thread's arena) instead of giving
 *    it back, so the top of a heap may stand that much higher after the
 *    rounds than at the baseline.
 * Anything that grows with the number of clients or rounds (a leaked 100
 * bytes per client is 60 KiB over 3 rounds of 200; a leaked /proc fd or
 * queue much more) must show as descriptors or exceed this by the next
 * multiple of rounds: the figures are printed for that. */
static unsigned long rss_slack_kib(unsigned threads)
{
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	unsigned long batch = (unsigned long)(cpus > 16 ? 2 * cpus : 32);
	unsigned long per_sample = batch * (unsigned long)cpus;

	if (per_sample < 64ul * threads)
		per_sample = 64ul * threads;
	return 2 * per_sample * PAGE_KIB + (unsigned long)threads * GLIBC_TRIM_THRESHOLD_KIB;
}

/* Clients */

/* What a client does to the device, once. Children loop on it until they
 * are killed. */
static void busy_once(int fd)
{
	static char buf[65536];

	if (!strcmp(device, "zero")) {
		struct zero_stats st;

		ck_assert_int_eq(read(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
		ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
		ck_assert_int_eq(ioctl(fd, ZERO_IOC_GET_STATS, &st), 0);
	} else if (!strcmp(device, "booster")) {
		struct booster_request r = { .tid = (__u32)syscall(SYS_gettid), .nice = 5 };

		/* Not persistent: undone when this file closes, or this
		 * process dies. */
		ck_assert_int_eq(ioctl(fd, BOOSTER_IOC_SET, &r), 0);
		ck_assert_int_eq(ioctl(fd, BOOSTER_IOC_GET, &r), 0);
	} else if (!strcmp(device, "melody")) {
		struct melody_status st;
		struct melody_note n = { .frequency = 440, .duration = 1 };

		ck_assert_int_eq(ioctl(fd, MELODY_IOC_GET_STATUS, &st), 0);
		/* Full, or not: either is an answer. */
		ck_assert(write(fd, &n, sizeof(n)) == sizeof(n) || errno == EAGAIN);
	} else if (!strcmp(device, "sysmon")) {
		struct sysmon_stats st;

		ck_assert(read(fd, buf, sizeof(buf)) >= 0 || errno == EAGAIN);
		ck_assert_int_eq(ioctl(fd, SYSMON_IOC_GET_STATS, &st), 0);
	} else if (!strcmp(device, "kprotect")) {
		struct kprotect_status st;
		struct kprotect_path p = {};

		snprintf(p.path, sizeof(p.path), "%s", scratch_file);
		ck_assert_int_eq(ioctl(fd, KPROTECT_IOC_GET_STATUS, &st), 0);
		/* EOPNOTSUPP where the kernel has no fanotify permission
		 * events. */
		ck_assert(ioctl(fd, KPROTECT_IOC_DENY_EXEC, &p) == 0 || errno == EOPNOTSUPP);
		ck_assert(ioctl(fd, KPROTECT_IOC_ALLOW_EXEC, &p) == 0 || errno == ENOENT);
	}
}

static int open_flags(void)
{
	/* Nonblocking where a busy client would otherwise wait. */
	return O_RDWR | (!strcmp(device, "melody") || !strcmp(device, "sysmon") ? O_NONBLOCK : 0);
}

/* Devices with requests that wait in the daemon: set fd up so that
 * block_once() waits there. */
static bool device_blocks(void) { return !strcmp(device, "melody") || !strcmp(device, "sysmon"); }

static void block_once(int fd)
{
	char buf[4096];

	if (!strcmp(device, "sysmon")) {
		/* Only events of a process that does not exist: a read waits
		 * forever. The reader's eventfd is held by the daemon too. */
		struct sysmon_filter f = { .type_mask = SYSMON_TYPES_ALL, .flags = SYSMON_FILTER_PID, .pid = 0x7fff0000 };
		struct sysmon_eventfd e = { .fd = eventfd(0, EFD_CLOEXEC) };

		ck_assert_int_ge(e.fd, 0);
		ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_EVENTFD, &e), 0);
		ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_FILTER, &f), 0);
		fprintf(stderr, "client %d: read returned %zd (%m)\n", (int)getpid(), read(fd, buf, sizeof(buf)));
	} else {
		/* The queue is full of long notes (fill_melody): waits. */
		fprintf(stderr, "client %d: DRAIN returned %d (%m)\n", (int)getpid(), ioctl(fd, MELODY_IOC_DRAIN));
	}
	_exit(1);   /* only a signal ends the wait */
}

static pid_t client_fork(bool blocking)
{
	pid_t pid = fork();
	int fd;

	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	signal(SIGTERM, SIG_DFL);
	fd = open(daemond.node, (blocking ? O_RDWR : open_flags()) | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "client %d: open %s: %m\n", (int)getpid(), daemond.node);
		_exit(2);
	}
	if (blocking)
		block_once(fd);
	for (;;)
		busy_once(fd);
}

static void reap(pid_t *pids, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		int status;

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		/* Killed in the middle of what it did, never failed. */
		ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "client %d: status %#x",
			      (int)pids[i], status);
	}
}

/* melody: one client fills the queue with long notes, so that drains and
 * writes wait; it flushes them at the end of the round. */
static int fill_melody(void)
{
	/* Each plays for hours: nothing completes while a round runs. */
	struct melody_note n = {
		.frequency = 440, .duration = MELODY_DURATION_MAX, .delay = MELODY_DELAY_MAX, .repeat = MELODY_REPEAT_MAX,
	};
	int fd = daemon_open(&daemond, O_RDWR | O_NONBLOCK);
	struct melody_status st;

	/* Short notes of the previous round may still wait: drop them. */
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_FLUSH), 0);
	while (write(fd, &n, sizeof(n)) == sizeof(n))
		;
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_GET_STATUS, &st), 0);
	ck_assert_uint_eq(st.queued, st.capacity);
	return fd;
}

/* Phases */

/* Hundreds at once: every client opens and waits (in the daemon where the
 * device has such a request, else busy), then all are killed together. */
static void phase_bulk(void)
{
	pid_t *pids = calloc(n_clients, sizeof(pid_t));
	bool blocking = device_blocks();

	ck_assert_ptr_nonnull(pids);
	for (unsigned i = 0; i < n_clients; i++)
		pids[i] = client_fork(blocking);
	daemon_wait_clients(&daemond, n_clients + (strcmp(device, "melody") ? 0 : 1));
	if (blocking)
		daemon_wait_waiting(&daemond, n_clients);
	for (unsigned i = 0; i < n_clients; i++)
		ck_assert_int_eq(kill(pids[i], SIGKILL), 0);
	reap(pids, n_clients);
	free(pids);
}

/* Clients die at random moments of their requests. The moments come from
 * a fixed seed; what the test asserts does not depend on them. */
static void phase_random_death(void)
{
	unsigned n = n_clients / 4, seed = 15;
	pid_t *pids = calloc(n, sizeof(pid_t));

	ck_assert_ptr_nonnull(pids);
	for (unsigned i = 0; i < n; i++)
		pids[i] = client_fork(false);
	daemon_wait_clients(&daemond, n + (strcmp(device, "melody") ? 0 : 1));
	for (unsigned i = 0; i < n; i++) {
		struct timespec t = { 0, (long)(rand_r(&seed) % 2000) * 1000 };

		nanosleep(&t, NULL);
		ck_assert_int_eq(kill(pids[i], SIGKILL), 0);
	}
	reap(pids, n);
	free(pids);
}

/* Hundreds of open files in one process, a request on each, all closed. */
static void phase_many_files(void)
{
	int *fds = calloc(n_clients, sizeof(int));

	ck_assert_ptr_nonnull(fds);
	for (unsigned i = 0; i < n_clients; i++)
		fds[i] = daemon_open(&daemond, open_flags());
	for (unsigned i = 0; i < n_clients; i++)
		busy_once(fds[i]);
	for (unsigned i = 0; i < n_clients; i++)
		close(fds[i]);
	free(fds);
}

static void round_once(void)
{
	int filler = -1;

	if (!strcmp(device, "melody"))
		filler = fill_melody();
	phase_bulk();
	phase_random_death();
	if (filler >= 0) {
		ck_assert_int_eq(ioctl(filler, MELODY_IOC_FLUSH), 0);
		close(filler);
	}
	phase_many_files();
	daemon_wait_clients(&daemond, 0);
	daemon_wait_waiting(&daemond, 0);
}

static void start(void)
{
	char watch[256], file_dir[128];
	const char *args[4] = { NULL };

	if (!strcmp(device, "melody")) {
		args[0] = "--output=null";
		args[1] = "--queue-size=4";
	} else if (!strcmp(device, "sysmon")) {
		/* Writes under the daemon's own scratch directory only. */
		snprintf(file_dir, sizeof(file_dir), "/tmp/cusekit-stress-XXXXXX");
		ck_assert_ptr_nonnull(mkdtemp(file_dir));
		snprintf(watch, sizeof(watch), "--watch=%s", file_dir);
		args[0] = watch;
	} else if (!strcmp(device, "booster")) {
		args[0] = "--max-boosted-per-user=65536";
	}
	daemon_start(&daemond, device, args);
	if (!strcmp(device, "sysmon"))
		rmdir(file_dir);
	if (!strcmp(device, "kprotect")) {
		FILE *f;

		snprintf(scratch_file, sizeof(scratch_file), "%s/denied", daemond.dir);
		f = fopen(scratch_file, "we");
		ck_assert_ptr_nonnull(f);
		fclose(f);
	}
}

START_TEST(test_back_to_baseline)
{
	struct rlimit nofile = { n_clients + 256, n_clients + 256 };
	struct sample before, after;
	unsigned long slack;
	int fd;

	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &nofile), 0);
	start();
	round_once();   /* warm-up: the allocator grows to what a round needs */
	sample(&before);
	for (unsigned r = 0; r < n_rounds; r++)
		round_once();
	sample(&after);
	slack = rss_slack_kib(after.threads);
	printf("%s: %u clients x %u rounds: descriptors %u -> %u; VmRSS %lu -> %lu KiB (RssAnon %lu -> %lu), "
	       "slack %lu KiB\n",
	       device, n_clients, n_rounds, before.fds, after.fds, before.rss_kib, after.rss_kib, before.anon_kib,
	       after.anon_kib, slack);
	ck_assert_uint_eq(after.fds, before.fds);
	ck_assert_uint_le(after.rss_kib, before.rss_kib + slack);

	/* And it still serves. */
	fd = daemon_open(&daemond, open_flags());
	busy_once(fd);
	close(fd);
	ck_assert_int_eq(daemon_stop(&daemond), 0);
}
END_TEST

static void teardown(void) { daemon_cleanup(&daemond); }

/* test-stress DEVICE...: each device in turn. */
int main(int argc, char *argv[])
{
	const char *e;
	int status = EXIT_SUCCESS;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DEVICE...\n", argv[0]);
		return EXIT_FAILURE;
	}
	if ((e = getenv("CUSEKIT_STRESS_CLIENTS")))
		n_clients = (unsigned)atoi(e);
	if ((e = getenv("CUSEKIT_STRESS_ROUNDS")))
		n_rounds = (unsigned)atoi(e);
	for (int i = 1; i < argc; i++) {
		Suite *s = suite_create(argv[i]);
		TCase *tc = tcase_create("baseline");

		device = argv[i];
		/* A bound that turns a hang into a failure; meson's is lower. */
		tcase_set_timeout(tc, 900 * test_timeout_scale());
		tcase_add_checked_fixture(tc, NULL, teardown);
		tcase_add_test(tc, test_back_to_baseline);
		suite_add_tcase(s, tc);
		if (harness_run(s) != EXIT_SUCCESS)
			status = EXIT_FAILURE;
	}
	return status;
}
