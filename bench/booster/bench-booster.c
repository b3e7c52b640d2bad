/* SPDX-License-Identifier: MIT */
/*
 * bench-booster DEVICE PLAIN RAW [ITERATIONS]: one thread priority change through
 * the Booster device beside what people use instead, all on the calling
 * thread, in one run:
 *   setpriority(2), sched_setattr(2)   the direct syscalls (no policy at all)
 *   raw libfuse ioctl                  RAW: rawboost, the least any device on
 *                                      this transport can do (one ioctl, one
 *                                      sched_setattr, nothing else)
 *   device SET nice / SET rr / write   Booster: policy, identity, undo record;
 *                                      rr also bounds RLIMIT_RTTIME; nice also
 *                                      raises the autogroup where the kernel
 *                                      has them (this alternates boost and no
 *                                      boost: an autogroup write every call)
 *   SET nice, autogroup=0              PLAIN: a boosterd that leaves
 *                                      autogroups alone
 *   device SET+RESET                   a change and its undo (2 calls)
 *   rtkit MakeThreadHighPriority,      rtkit over the system bus (D-Bus and
 *   rtkit MakeThreadRealtime           polkit on every call)
 *   GameMode Register+UnregisterGame   gamemoded over the session bus (2 calls)
 *   renice(1)                          the shell tool, fork and exec included
 * The buses are DBUS_SYSTEM_BUS_ADDRESS and DBUS_SESSION_BUS_ADDRESS (bench/
 * booster/run starts private ones with rtkit and gamemoded on them). Every
 * method runs ROUNDS times in rotated order; the median is printed, in
 * nanoseconds per call and as ratios against Booster's SET: absolute times
 * on a shared machine are noise, the ratios are the figures.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <systemd/sd-bus.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/booster.h>

#define ROUNDS 3

struct sched_attr_v0 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static int device = -1, plain = -1, raw = -1;
static pid_t tid;
static sd_bus *system_bus, *session_bus;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int error)
{
	fprintf(stderr, "bench-booster: %s: %s\n", what, strerror(error));
	exit(EXIT_FAILURE);
}

/* Alternate between two values so every call really changes the thread. */
static void by_setpriority(unsigned i)
{
	if (setpriority(PRIO_PROCESS, (id_t)tid, -(int)(i & 1)) < 0)
		die("setpriority", errno);
}

static void by_sched_setattr(unsigned i)
{
	struct sched_attr_v0 a = { .size = sizeof(a), .sched_nice = -(int)(i & 1) };

	if (syscall(SYS_sched_setattr, tid, &a, 0) < 0)
		die("sched_setattr", errno);
}

static void set(int fd, const char *what, uint32_t policy, int nice, uint32_t rt)
{
	struct booster_request r = { .tid = (__u32)tid, .policy = policy, .nice = nice, .rt_priority = rt };

	if (ioctl(fd, BOOSTER_IOC_SET, &r) < 0)
		die(what, errno);
}

static void by_raw(unsigned i) { set(raw, "raw ioctl", BOOSTER_POLICY_OTHER, -(int)(i & 1), 0); }

static void by_set_nice(unsigned i) { set(device, "BOOSTER_IOC_SET", BOOSTER_POLICY_OTHER, -(int)(i & 1), 0); }

static void by_set_plain(unsigned i) { set(plain, "BOOSTER_IOC_SET", BOOSTER_POLICY_OTHER, -(int)(i & 1), 0); }

static void by_set_rr(unsigned i) { set(device, "BOOSTER_IOC_SET rr", BOOSTER_POLICY_RR, 0, 1 + (i & 1)); }

static void by_set_reset(unsigned i)
{
	__u32 t = (__u32)tid;

	set(device, "BOOSTER_IOC_SET", BOOSTER_POLICY_OTHER, -1 - (int)(i & 1), 0);
	if (ioctl(device, BOOSTER_IOC_RESET, &t) < 0)
		die("BOOSTER_IOC_RESET", errno);
}

static void by_write(unsigned i)
{
	/* Book priorities 8 and 9: nice 0 and -2. */
	struct booster_thread_data d = { .thread_id = (__u32)tid, .priority = 8 + (int)(i & 1) };

	if (write(device, &d, sizeof(d)) != sizeof(d))
		die("write", errno);
}

static void bus_call(sd_bus *bus, const char *dest, const char *path, const char *iface, const char *method,
		     const char *types, ...)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, dest, path, iface, method);
	if (r >= 0) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &error, &reply);
	if (r < 0) {
		fprintf(stderr, "bench-booster: %s.%s: %s\n", iface, method, error.message ?: strerror(-r));
		exit(EXIT_FAILURE);
	}
	sd_bus_error_free(&error);
	sd_bus_message_unref(m);
	sd_bus_message_unref(reply);
}

#define RTKIT "org.freedesktop.RealtimeKit1", "/org/freedesktop/RealtimeKit1", "org.freedesktop.RealtimeKit1"
#define GAMEMODE "com.feralinteractive.GameMode", "/com/feralinteractive/GameMode", "com.feralinteractive.GameMode"

static void by_rtkit_nice(unsigned i)
{
	bus_call(system_bus, RTKIT, "MakeThreadHighPriority", "ti", (uint64_t)tid, (int32_t)(-1 - (int)(i & 1)));
}

static void by_rtkit_rt(unsigned i)
{
	bus_call(system_bus, RTKIT, "MakeThreadRealtime", "tu", (uint64_t)tid, (uint32_t)(1 + (i & 1)));
}

static void by_gamemode(unsigned i)
{
	bus_call(session_bus, GAMEMODE, "RegisterGame", "i", (int32_t)getpid());
	bus_call(session_bus, GAMEMODE, "UnregisterGame", "i", (int32_t)getpid());
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
		die("fork", errno);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, STDOUT_FILENO);
		execlp("renice", "renice", "-n", nice, "-p", target, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("renice", EIO);
}

struct method {
	const char *name;
	void (*fn)(unsigned);
	unsigned divisor;      /* iterations: n / divisor */
	unsigned calls;        /* calls per iteration */
	double samples[ROUNDS];
};

static struct method methods[] = {
	{ "setpriority(2)", by_setpriority, 1, 1 },
	{ "sched_setattr(2)", by_sched_setattr, 1, 1 },
	{ "raw libfuse ioctl", by_raw, 1, 1 },
	{ "Booster SET nice", by_set_nice, 1, 1 },
	{ "Booster SET, autogroup=0", by_set_plain, 1, 1 },
	{ "Booster write() (book)", by_write, 1, 1 },
	{ "Booster SET rr", by_set_rr, 1, 1 },
	{ "Booster SET+RESET", by_set_reset, 1, 2 },
	{ "rtkit HighPriority", by_rtkit_nice, 10, 1 },
	{ "rtkit Realtime", by_rtkit_rt, 10, 1 },
	{ "GameMode Reg+Unreg", by_gamemode, 10, 2 },
	{ "renice(1)", by_renice, 100, 1 },
};
#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

/* Back to SCHED_OTHER, nice 0, between methods. */
static void normal(void)
{
	struct sched_attr_v0 a = { .size = sizeof(a) };

	if (syscall(SYS_sched_setattr, tid, &a, 0) < 0)
		die("sched_setattr", errno);
}

/* Nanoseconds per iteration of m. */
static double run(struct method *m, unsigned n)
{
	unsigned iterations = n / m->divisor + 10;
	double start;

	for (unsigned i = 0; i < iterations / 10 + 1; i++)  /* warm up */
		m->fn(i);
	start = now_ns();
	for (unsigned i = 0; i < iterations; i++)
		m->fn(i);
	return (now_ns() - start) / iterations;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(struct method *m)
{
	qsort(m->samples, ROUNDS, sizeof(double), compare);
	return m->samples[ROUNDS / 2];
}

static struct method *find(const char *name)
{
	for (size_t i = 0; i < N_METHODS; i++)
		if (!strcmp(methods[i].name, name))
			return &methods[i];
	abort();
}

int main(int argc, char *argv[])
{
	/* rtkit grants real-time only to processes that bound it themselves. */
	const struct rlimit rttime = { 200000, 200000 };
	unsigned n = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 20000;
	double set_ns, setprio_ns;
	int r;

	if (argc < 4 || n == 0) {
		fprintf(stderr, "Usage: bench-booster DEVICE PLAIN RAW [ITERATIONS]\n");
		return 2;
	}
	device = open(argv[1], O_RDWR | O_CLOEXEC);
	if (device < 0)
		die(argv[1], errno);
	plain = open(argv[2], O_RDWR | O_CLOEXEC);
	if (plain < 0)
		die(argv[2], errno);
	raw = open(argv[3], O_RDWR | O_CLOEXEC);
	if (raw < 0)
		die(argv[3], errno);
	if (setrlimit(RLIMIT_RTTIME, &rttime) < 0)
		die("setrlimit", errno);
	r = sd_bus_open_system(&system_bus);
	if (r < 0)
		die("system bus", -r);
	r = sd_bus_open_user(&session_bus);
	if (r < 0)
		die("session bus", -r);
	tid = gettid();

	for (unsigned round = 0; round < ROUNDS; round++)
		for (size_t k = 0; k < N_METHODS; k++) {
			struct method *m = &methods[(k + round) % N_METHODS];

			m->samples[round] = run(m, n) / m->calls;
			normal();
		}

	set_ns = median(find("Booster SET nice"));
	setprio_ns = median(find("setpriority(2)"));
	printf("%-24s %10s %14s %14s\n", "one priority change", "ns/call", "x Booster SET", "x setpriority");
	for (size_t k = 0; k < N_METHODS; k++) {
		double ns = median(&methods[k]);

		printf("%-24s %10.0f %14.2f %14.2f\n", methods[k].name, ns, ns / set_ns, ns / setprio_ns);
	}
	printf("Booster SET nice: %.2fx the raw libfuse limit; %.1fx faster than rtkit HighPriority, "
	       "%.1fx than GameMode Reg+Unreg per call, %.1fx than renice(1)\n",
	       set_ns / median(find("raw libfuse ioctl")), median(find("rtkit HighPriority")) / set_ns,
	       median(find("GameMode Reg+Unreg")) / set_ns, median(find("renice(1)")) / set_ns);
	set_ns = median(find("Booster SET, autogroup=0"));
	printf("Booster SET nice, autogroup=0: %.2fx the raw libfuse limit; %.1fx faster than rtkit HighPriority, "
	       "%.1fx than GameMode Reg+Unreg per call\n",
	       set_ns / median(find("raw libfuse ioctl")), median(find("rtkit HighPriority")) / set_ns,
	       median(find("GameMode Reg+Unreg")) / set_ns);
	printf("Booster SET rr: %.1fx faster than rtkit Realtime\n",
	       median(find("rtkit Realtime")) / median(find("Booster SET rr")));
	sd_bus_flush_close_unref(system_bus);
	sd_bus_flush_close_unref(session_bus);
	close(device);
	close(raw);
	return EXIT_SUCCESS;
}
