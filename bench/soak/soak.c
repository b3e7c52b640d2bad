/* SPDX-License-Identifier: MIT */
/*
 * The soak: all five daemons on the test transport, each under mixed load
 * for a while (default 600 s, or argv[1] seconds), their open descriptors,
 * resident memory and clients printed every CUSEKIT_SOAK_EVERY seconds
 * (default 30). Not a test: the figures over time are the result (they
 * should be flat); bench/soak/run builds and runs it.
 *
 * The load, per device, from one worker process: clients that open, make a
 * few requests and close; every cycle a batch of clients that block in the
 * daemon where the device has such a request (SysMon reads, Melody drains)
 * or are busy, then are killed together; now and then a client killed in
 * the middle of its requests. Workers pace themselves (a cycle, then 10 ms)
 * so the machine stays usable.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
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

#define N_DEVICES 5
#define BATCH 20

static const char *const names[N_DEVICES] = { "zero", "melody", "booster", "sysmon", "kprotect" };
static struct daemon_proc daemons[N_DEVICES];
static char denied_file[N_DEVICES][256];
static unsigned seconds = 600, every = 30;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void requests(int dev, int fd)
{
	static char buf[65536];

	switch (dev) {
	case 0: {
		struct zero_stats st;

		for (int i = 0; i < 16; i++)
			if (read(fd, buf, sizeof(buf)) < 0 || write(fd, buf, sizeof(buf)) < 0)
				_exit(3);
		ioctl(fd, ZERO_IOC_GET_STATS, &st);
		break;
	}
	case 1: {
		struct melody_note n = { .frequency = 0, .duration = 1 };
		struct melody_status st;

		write(fd, &n, sizeof(n));
		ioctl(fd, MELODY_IOC_GET_STATUS, &st);
		break;
	}
	case 2: {
		struct booster_request r = { .tid = (__u32)syscall(SYS_gettid), .nice = 3 };

		ioctl(fd, BOOSTER_IOC_SET, &r);
		ioctl(fd, BOOSTER_IOC_GET, &r);
		break;
	}
	case 3: {
		struct sysmon_stats st;

		while (read(fd, buf, sizeof(buf)) > 0)
			;
		ioctl(fd, SYSMON_IOC_GET_STATS, &st);
		break;
	}
	case 4: {
		struct kprotect_status st;
		struct kprotect_path p = {};

		snprintf(p.path, sizeof(p.path), "%s", denied_file[dev]);
		ioctl(fd, KPROTECT_IOC_GET_STATUS, &st);
		ioctl(fd, KPROTECT_IOC_DENY_EXEC, &p);
		ioctl(fd, KPROTECT_IOC_ALLOW_EXEC, &p);
		break;
	}
	}
}

static int open_node(int dev, int flags)
{
	int fd = open(daemons[dev].node, flags | O_CLOEXEC);

	if (fd < 0)
		_exit(2);
	return fd;
}

/* A client that waits in the daemon (or is busy) until it is killed. */
static pid_t client_blocked(int dev)
{
	pid_t pid = fork();
	char buf[4096];
	int fd;

	if (pid != 0)
		return pid;
	signal(SIGTERM, SIG_DFL);
	fd = open_node(dev, O_RDWR);
	if (dev == 3) {
		struct sysmon_filter f = { .type_mask = SYSMON_TYPES_ALL, .flags = SYSMON_FILTER_PID, .pid = 0x7fff0000 };

		ioctl(fd, SYSMON_IOC_SET_FILTER, &f);
		read(fd, buf, sizeof(buf));
	} else if (dev == 1) {
		ioctl(fd, MELODY_IOC_DRAIN);
	}
	for (;;)
		requests(dev, fd);
}

static void worker(int dev)
{
	double end = now() + seconds;
	unsigned seed = (unsigned)dev + 1;

	signal(SIGTERM, SIG_DFL);
	while (now() < end) {
		pid_t batch[BATCH], victim;
		struct timespec pause = { 0, 10 * 1000 * 1000 };
		int fd;

		/* Ordinary clients. */
		for (int i = 0; i < 10; i++) {
			fd = open_node(dev, O_RDWR | O_NONBLOCK);
			requests(dev, fd);
			close(fd);
		}
		/* A batch that waits, killed together. */
		for (int i = 0; i < BATCH; i++)
			batch[i] = client_blocked(dev);
		victim = fork();
		if (victim == 0) {
			fd = open_node(dev, O_RDWR | O_NONBLOCK);
			for (;;)
				requests(dev, fd);
		}
		nanosleep(&(struct timespec){ 0, (long)(rand_r(&seed) % 20) * 1000 * 1000 }, NULL);
		kill(victim, SIGKILL);
		for (int i = 0; i < BATCH; i++)
			kill(batch[i], SIGKILL);
		waitpid(victim, NULL, 0);
		for (int i = 0; i < BATCH; i++)
			waitpid(batch[i], NULL, 0);
		nanosleep(&pause, NULL);
	}
	_exit(0);
}

static void status_of(pid_t pid, unsigned long *rss, unsigned *fds)
{
	char path[64], buf[8192], *p;
	struct dirent *e;
	ssize_t n;
	DIR *dir;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strstr(buf, "VmRSS:");
	*rss = p ? strtoul(p + 6, NULL, 10) : 0;
	*fds = 0;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	while (dir && (e = readdir(dir)))
		*fds += e->d_name[0] != '.';
	if (dir)
		closedir(dir);
}

static void print_samples(double t0)
{
	printf("%6.0f s", now() - t0);
	for (int dev = 0; dev < N_DEVICES; dev++) {
		unsigned long rss;
		unsigned fds;

		status_of(daemons[dev].pid, &rss, &fds);
		printf("  %s %3u fd %6lu KiB", names[dev], fds, rss);
	}
	printf("\n");
	fflush(stdout);
}

START_TEST(soak)
{
	struct rlimit nofile = { 4096, 4096 };
	const char *melody_args[] = { "--output=null", "--queue-size=16", NULL };
	const char *booster_args[] = { "--max-boosted-per-user=65536", NULL };
	pid_t workers[N_DEVICES];
	double t0, next;
	int status;

	ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &nofile), 0);
	for (int dev = 0; dev < N_DEVICES; dev++) {
		daemon_start(&daemons[dev], names[dev], dev == 1 ? melody_args : dev == 2 ? booster_args : NULL);
		snprintf(denied_file[dev], sizeof(denied_file[dev]), "%s/denied", daemons[dev].dir);
		close(open(denied_file[dev], O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	}
	printf("soak: %u s of mixed load on every device; daemons' descriptors and VmRSS:\n", seconds);
	t0 = now();
	print_samples(t0);
	for (int dev = 0; dev < N_DEVICES; dev++) {
		workers[dev] = fork();
		ck_assert_int_ge(workers[dev], 0);
		if (workers[dev] == 0)
			worker(dev);
	}
	for (next = t0 + every; next < t0 + seconds; next += every) {
		while (now() < next)
			nanosleep(&(struct timespec){ 0, 100 * 1000 * 1000 }, NULL);
		print_samples(t0);
	}
	for (int dev = 0; dev < N_DEVICES; dev++) {
		ck_assert_int_eq(waitpid(workers[dev], &status, 0), workers[dev]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s worker: status %#x", names[dev],
			      status);
	}
	for (int dev = 0; dev < N_DEVICES; dev++)
		daemon_wait_clients(&daemons[dev], 0);
	printf("after the load, every client gone:\n");
	print_samples(t0);
	for (int dev = 0; dev < N_DEVICES; dev++) {
		ck_assert_int_eq(daemon_stop(&daemons[dev]), 0);
		daemon_cleanup(&daemons[dev]);
	}
}
END_TEST

int main(int argc, char *argv[])
{
	Suite *s = suite_create("soak");
	TCase *tc = tcase_create("soak");
	const char *e;

	if (argc > 1)
		seconds = (unsigned)atoi(argv[1]);
	if ((e = getenv("CUSEKIT_SOAK_EVERY")))
		every = (unsigned)atoi(e);
	tcase_set_timeout(tc, seconds + 600);
	tcase_add_test(tc, soak);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
