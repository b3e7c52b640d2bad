/* SPDX-License-Identifier: MIT */
/*
 * boost: the book's Booster client, plus the native calls.
 *
 *   boost TID PRIORITY             the book: a persistent change on its 1..31 scale
 *   boost --get TID                a thread's policy, nice and real-time priority
 *   boost --nice N|--fifo P|--rr P -- COMMAND...
 *                                  run COMMAND with its main thread boosted
 *
 * Running a command: boost changes its own thread, then execs COMMAND in that
 * same thread with the device still open (the descriptor is deliberately
 * inherited across exec). The change lives as long as that open file, so it
 * is undone exactly when COMMAND exits (or is killed), and when the last of
 * any children that inherited the descriptor has gone: no process stays
 * behind to wait, and signals reach COMMAND directly. Before a real-time
 * change, boost bounds its RLIMIT_RTTIME (200 ms unless lower, which COMMAND
 * inherits): a COMMAND that spins without blocking is killed by the kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cusekit/booster.h>

#include "client.h"
#include "parse.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: boost [--device PATH] <threadid> <priority>\n"
		   "       boost [--device PATH] --get TID\n"
		   "       boost [--device PATH] --nice N|--fifo P|--rr P -- COMMAND [ARG...]\n\n"
		   "Set a thread's priority through the Booster device.\n\n"
		   "  <threadid> <priority>  the book's call: priority 1..31 (8 = normal; 1..15 nice,\n"
		   "                         16..31 round-robin real-time); the change stays\n"
		   "  --get TID              show a thread's policy, nice and real-time priority\n"
		   "  --nice N               run COMMAND at nice N (-20..19)\n"
		   "  --fifo P, --rr P       run COMMAND with SCHED_FIFO/SCHED_RR priority P (1..99)\n"
		   "                         COMMAND's main thread keeps the setting while it runs\n"
		   "  --device PATH          the device (default: /dev/cusekit/booster, else\n"
		   "                         /run/cusekit/booster)\n"
		   "  --help                 show this help\n");
}

static int parse_number(const char *arg, long min, long max, long *value)
{
	long long v;

	if (cusekit_parse_integer(arg, min, max, &v) < 0) {
		fprintf(stderr, "boost: invalid number: %s\n", arg);
		return -EINVAL;
	}
	*value = (long)v;
	return 0;
}

static const char *policy_name(__u32 policy)
{
	switch (policy) {
	case BOOSTER_POLICY_OTHER: return "other";
	case BOOSTER_POLICY_FIFO: return "fifo";
	case BOOSTER_POLICY_RR: return "rr";
	case BOOSTER_POLICY_BATCH: return "batch";
	case BOOSTER_POLICY_IDLE: return "idle";
	default: return "unknown";
	}
}

static int book_boost(const char *device, const char *tid, const char *priority)
{
	struct booster_thread_data data;
	long t, p;
	int fd;

	if (parse_number(tid, 0, UINT_MAX, &t) < 0 || parse_number(priority, INT_MIN, INT_MAX, &p) < 0)
		return 2;
	data = (struct booster_thread_data){ .thread_id = (__u32)t, .priority = (__s32)p };
	fd = client_open(device, O_WRONLY);
	if (write(fd, &data, sizeof(data)) != (ssize_t)sizeof(data)) {
		client_error(device, "Priority change failed!");
		return EXIT_FAILURE;
	}
	printf("Priority change succeeded!\n");
	close(fd);
	return EXIT_SUCCESS;
}

static int get(const char *device, const char *tid)
{
	struct booster_request r = {};
	long t;
	int fd;

	if (parse_number(tid, 0, UINT_MAX, &t) < 0)
		return 2;
	r.tid = (__u32)t;
	fd = client_open(device, O_RDONLY);
	if (ioctl(fd, BOOSTER_IOC_GET, &r) < 0) {
		client_error(device, "BOOSTER_IOC_GET");
		return EXIT_FAILURE;
	}
	printf("thread %u: policy %s, nice %d, rt priority %u\n", r.tid, policy_name(r.policy), r.nice,
	       r.rt_priority);
	close(fd);
	return EXIT_SUCCESS;
}

/* What boosterd bounds every real-time grant's RLIMIT_RTTIME to by default
 * (and rtkit demands of its clients): a runaway real-time COMMAND is killed
 * by the kernel after this much CPU time without blocking. Set here too, so
 * it holds even where the daemon may not change our limits. */
#define RTTIME_BOUND_USEC 200000

static int bound_rttime(void)
{
	struct rlimit l;

	if (getrlimit(RLIMIT_RTTIME, &l) < 0)
		return -errno;
	if (l.rlim_max > RTTIME_BOUND_USEC)
		l.rlim_max = RTTIME_BOUND_USEC;
	if (l.rlim_cur > l.rlim_max)
		l.rlim_cur = l.rlim_max;
	return setrlimit(RLIMIT_RTTIME, &l) < 0 ? -errno : 0;
}

static int run_boosted(const char *device, const struct booster_request *request, char *argv[])
{
	struct booster_request r = *request;
	int fd = client_open(device, O_RDWR);

	if ((r.policy == BOOSTER_POLICY_FIFO || r.policy == BOOSTER_POLICY_RR) && bound_rttime() < 0) {
		client_error(device, "setrlimit(RLIMIT_RTTIME)");
		return EXIT_FAILURE;
	}
	r.tid = (__u32)gettid();
	if (ioctl(fd, BOOSTER_IOC_SET, &r) < 0) {
		client_error(device, "BOOSTER_IOC_SET");
		return EXIT_FAILURE;
	}
	/* Keep the device open in COMMAND: closing it undoes the boost. */
	if (fcntl(fd, F_SETFD, 0) < 0) {
		client_error(device, "fcntl");
		return EXIT_FAILURE;
	}
	execvp(argv[0], argv);
	fprintf(stderr, "boost: %s: %s\n", argv[0], strerror(errno));
	return 127;
}

int main(int argc, char *argv[])
{
	enum { ARG_GET = 0x100, ARG_NICE, ARG_FIFO, ARG_RR };
	static const struct option options[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "get", required_argument, NULL, ARG_GET },
		{ "nice", required_argument, NULL, ARG_NICE },
		{ "fifo", required_argument, NULL, ARG_FIFO },
		{ "rr", required_argument, NULL, ARG_RR },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct booster_request request = {};
	const char *device = NULL, *get_tid = NULL;
	bool boosted = false;
	long value;
	int c;

	/* "+": stop at the first non-option, COMMAND's options are its own. */
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case ARG_GET:
			get_tid = optarg;
			break;
		case ARG_NICE:
			if (parse_number(optarg, -20, 19, &value) < 0)
				return 2;
			request = (struct booster_request){ .policy = BOOSTER_POLICY_OTHER, .nice = (__s32)value };
			boosted = true;
			break;
		case ARG_FIFO:
		case ARG_RR:
			if (parse_number(optarg, 1, 99, &value) < 0)
				return 2;
			request = (struct booster_request){
				.policy = c == ARG_FIFO ? BOOSTER_POLICY_FIFO : BOOSTER_POLICY_RR,
				.rt_priority = (__u32)value,
			};
			boosted = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}

	device = client_device_path(device, "booster");
	if (get_tid && !boosted && optind == argc)
		return get(device, get_tid);
	if (boosted && !get_tid && optind < argc)
		return run_boosted(device, &request, argv + optind);
	if (!get_tid && !boosted && argc - optind == 2)
		return book_boost(device, argv[optind], argv[optind + 1]);
	usage(stderr);
	return 2;
}
