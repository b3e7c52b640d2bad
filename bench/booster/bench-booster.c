/* SPDX-License-Identifier: MIT */
/*
 * bench-booster DEVICE [ITERATIONS]: the cost of one thread priority change
 * through the Booster device beside its anchors, all on the calling thread:
 *   setpriority(2)      the direct syscall for nice
 *   sched_setattr(2)    the direct syscall the daemon itself makes
 *   device SET          BOOSTER_IOC_SET round trip (policy, identity, undo record)
 *   device write        the book's 8-byte write()
 *   renice(1)           the shell tool, fork and exec included
 * Prints nanoseconds per change and ratios against the syscalls; absolute
 * times on a shared machine are noise, the ratios are the figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
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

struct sched_attr_v0 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static int fd = -1;
static pid_t tid;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench-booster: %s: %s\n", what, strerror(errno));
	exit(EXIT_FAILURE);
}

/* Alternate between two nice values so every call really changes the thread. */
static void by_setpriority(unsigned i)
{
	if (setpriority(PRIO_PROCESS, (id_t)tid, -(int)(i & 1)) < 0)
		die("setpriority");
}

static void by_sched_setattr(unsigned i)
{
	struct sched_attr_v0 a = { .size = sizeof(a), .sched_nice = -(int)(i & 1) };

	if (syscall(SYS_sched_setattr, tid, &a, 0) < 0)
		die("sched_setattr");
}

static void by_ioctl(unsigned i)
{
	struct booster_request r = { .tid = (__u32)tid, .policy = BOOSTER_POLICY_OTHER, .nice = -(int)(i & 1) };

	if (ioctl(fd, BOOSTER_IOC_SET, &r) < 0)
		die("BOOSTER_IOC_SET");
}

static void by_write(unsigned i)
{
	/* Book priorities 8 and 9: nice 0 and -2. */
	struct booster_thread_data d = { .thread_id = (__u32)tid, .priority = 8 + (int)(i & 1) };

	if (write(fd, &d, sizeof(d)) != sizeof(d))
		die("write");
}

static void by_renice(unsigned i)
{
	char nice[8], target[16];
	int status;
	pid_t pid;

	snprintf(nice, sizeof(nice), "%d", -(int)(i & 1));
	snprintf(target, sizeof(target), "%d", (int)tid);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execlp("renice", "renice", "-n", nice, "-p", target, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("renice");
}

static double ns_per_call(void (*fn)(unsigned), unsigned n)
{
	double start;

	for (unsigned i = 0; i < n / 10 + 1; i++)  /* warm up */
		fn(i);
	start = now_ns();
	for (unsigned i = 0; i < n; i++)
		fn(i);
	return (now_ns() - start) / n;
}

int main(int argc, char *argv[])
{
	unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 20000;
	double setprio, setattr, set, wr, renice;

	if (argc < 2 || n == 0) {
		fprintf(stderr, "Usage: bench-booster DEVICE [ITERATIONS]\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(argv[1]);
	tid = gettid();

	setprio = ns_per_call(by_setpriority, n);
	setattr = ns_per_call(by_sched_setattr, n);
	set = ns_per_call(by_ioctl, n);
	wr = ns_per_call(by_write, n);
	renice = ns_per_call(by_renice, n / 100 + 10);

	printf("%-22s %10s %14s %16s\n", "one priority change", "ns/call", "x setpriority", "x sched_setattr");
	printf("%-22s %10.0f %14.2f %16.2f\n", "setpriority(2)", setprio, 1.0, setprio / setattr);
	printf("%-22s %10.0f %14.2f %16.2f\n", "sched_setattr(2)", setattr, setattr / setprio, 1.0);
	printf("%-22s %10.0f %14.2f %16.2f\n", "device BOOSTER_IOC_SET", set, set / setprio, set / setattr);
	printf("%-22s %10.0f %14.2f %16.2f\n", "device write() (book)", wr, wr / setprio, wr / setattr);
	printf("%-22s %10.0f %14.2f %16.2f\n", "renice(1)", renice, renice / setprio, renice / setattr);
	printf("device SET is %.1fx faster than renice(1)\n", renice / set);
	close(fd);
	return EXIT_SUCCESS;
}
