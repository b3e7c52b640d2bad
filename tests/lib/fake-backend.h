/* SPDX-License-Identifier: MIT */
/*
 * The framework driven without a kernel: a device served by a fake backend,
 * so a unit test or a fuzzer hands it opens, reads, writes, ioctls, polls,
 * interrupts and releases, and reads back the answers. Everything else (the
 * handlers, the wait queues, the lifecycle) is the framework's own code.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "device-private.h"

enum fake_answer {
	FAKE_PENDING,        /* not answered (yet) */
	FAKE_ERROR,          /* error */
	FAKE_DATA,           /* a read's bytes: data, size */
	FAKE_WRITTEN,        /* a write's count: size */
	FAKE_IOCTL,          /* result, then the output: data, size */
};

/* One request of one caller: the backend's handle. */
struct fake_request {
	struct cusekit_caller caller;
	const gid_t *groups;          /* supplementary groups */
	int n_groups;
	bool gone;                    /* answers no longer reach the caller */

	enum fake_answer answer;
	int error;
	int result;
	size_t size;
	unsigned char *data;          /* malloc()ed copy */
	struct cusekit_request *parked;
};

/* The poll handle the fake hands out: counts its notifications. */
struct fake_poller {
	unsigned notified;
};

/* Make and start a device as cusekit_main() would, but served by the fake
 * backend: argv (argv[0] the program's name) parsed as its options. */
int fake_device_start(const struct cusekit_device_ops *ops, int argc, char *argv[], struct cusekit_device **ret);

/* A request of caller uid/gid; free with fake_request_done(). */
void fake_request_init(struct fake_request *rq, pid_t pid, uid_t uid, gid_t gid);
void fake_request_done(struct fake_request *rq);

/* The caller is interrupted: a parked request is answered EINTR. */
void fake_interrupt(struct fake_request *rq);

