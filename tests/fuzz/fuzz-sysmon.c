/* SPDX-License-Identifier: MIT */
/*
 * SysMon: readers of every rank with filters, eventfds and blocked reads,
 * fed real events: the device's own operation makes them (a thread, a
 * child, a program run, a file written under the watched directory) and
 * runs the event loop, which also brings whatever else the machine did.
 * Eventfds are this process's own: two real ones (one full), a pipe, and
 * numbers that are no descriptor.
 */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cusekit/sysmon.h>

#include "fuzz-driver.h"

extern const struct cusekit_device_ops sysmon_device;
extern char **environ;

static char watch_dir[300], watch_arg[320], watched_file[320];
static const char *const small[] = { watch_arg, "--queue-bytes=4096", NULL };
static const char *const usual[] = { watch_arg, NULL };
static const char *const *const configs[] = { small, usual, NULL };

static const unsigned ioctls[] = { SYSMON_IOC_SET_FILTER, SYSMON_IOC_GET_STATS, SYSMON_IOC_SET_EVENTFD, 0 };

static const char *const groups[] = { "cusekit-sysmon", NULL };

static int eventfds[2], pipe_fds[2];

/* The second eventfd cannot take another event without blocking. */
static void eventfds_reset(void)
{
	uint64_t v;

	while (read(eventfds[0], &v, sizeof(v)) > 0)
		;
	while (read(eventfds[1], &v, sizeof(v)) > 0)
		;
	v = UINT64_MAX - 1;
	if (write(eventfds[1], &v, sizeof(v)) != sizeof(v))
		abort();
}

static int setup(const char *scratch)
{
	snprintf(watch_dir, sizeof(watch_dir), "%s/watch", scratch);
	snprintf(watch_arg, sizeof(watch_arg), "--watch=%s", watch_dir);
	snprintf(watched_file, sizeof(watched_file), "%s/file", watch_dir);
	if (mkdir(watch_dir, 0755) < 0)
		return -1;
	eventfds[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	eventfds[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (eventfds[0] < 0 || eventfds[1] < 0 || pipe2(pipe_fds, O_CLOEXEC) < 0)
		return -1;
	eventfds_reset();
	return 0;
}

static void fix_ioctl(unsigned cmd, void *in, size_t size, bool tame)
{
	if (cmd == SYSMON_IOC_SET_EVENTFD && size == sizeof(struct sysmon_eventfd)) {
		struct sysmon_eventfd e;

		memcpy(&e, in, sizeof(e));
		if (tame) {
			const int fds[] = { eventfds[0], eventfds[1], pipe_fds[0], -1, -2, 1 << 20 };

			e.fd = fds[(uint32_t)e.fd % ELEMENTSOF(fds)];
			e.reserved = 0;
		}
		memcpy(in, &e, sizeof(e));
	} else if (cmd == SYSMON_IOC_SET_FILTER && size == sizeof(struct sysmon_filter) && tame) {
		struct sysmon_filter f;

		memcpy(&f, in, sizeof(f));
		f.type_mask &= SYSMON_TYPES_ALL;
		f.flags &= SYSMON_FILTER_PID | SYSMON_FILTER_UID;
		f.pid = f.pid % 2 ? (uint32_t)fuzz_self() : f.pid;
		f.uid = (const uint32_t[]){ 0, FUZZ_UID_USER, FUZZ_UID_MEMBER }[f.uid % 3];
		memcpy(in, &f, sizeof(f));
	}
}

static void *thread_main(void *arg) { return arg; }

static void op(struct cusekit_device *d, uint8_t arg)
{
	pthread_t t;
	pid_t pid;
	int fd;

	switch (arg % 8) {
	case 0:
	case 1:
		if (pthread_create(&t, NULL, thread_main, NULL) == 0)
			pthread_join(t, NULL);
		break;
	case 2:
		pid = vfork();
		if (pid == 0)
			_exit(arg >> 3);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		break;
	case 3:
		if (arg & 0x80) {
			char *argv[] = { (char *)"true", NULL };

			if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
				waitpid(pid, NULL, 0);
		}
		break;
	case 4:
		fd = open(watched_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd >= 0) {
			if (write(fd, "x", 1) < 0)
				abort();
			close(fd);
		}
		break;
	default:
		break;
	}
	fuzz_pump(d);
}

const struct fuzz_target fuzz_target = {
	.ops = &sysmon_device,
	.configs = configs,
	.ioctls = ioctls,
	.inputs_per_life = 64,
	.groups = groups,
	.setup = setup,
	.fix_ioctl = fix_ioctl,
	.op = op,
	.reset = eventfds_reset,
};
