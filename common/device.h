/* SPDX-License-Identifier: MIT */
/*
 * The cusekit device framework: what a device sees.
 *
 * A daemon is one device: a table of handlers (struct cusekit_device_ops)
 * and the device's own state. The framework owns everything else: the
 * transport (a real CUSE character device, or a one-file FUSE mount as
 * fallback), the single-threaded sd-event loop, per-open clients, ioctl size
 * checks, CUSEKIT_IOC_GET_INFO, parked requests and their interruption, poll,
 * client counting, option parsing, sd_notify and the lifecycle.
 *
 * One answer contract: every handler returns its result, and the framework
 * answers the request with it:
 *
 *     >= 0       bytes read or written, or the ioctl's return value
 *     -errno     the request fails with that errno
 *     cusekit_park(q, req)
 *                the request waits in the wait queue q (waitq.h) and is
 *                answered later, when q's try function gives a result
 *
 * Device code never talks to libfuse: requests and callers reach it as the
 * framework's own types, so a device's logic runs under a unit test or a
 * fuzzer without a kernel.
 *
 * Lifecycle, in this order:
 *     init        defaults of the device's state (before the options)
 *     start       options parsed: open kernel channels, add event sources
 *     ...         the node exists (READY=1 once the kernel made *this* node)
 *     stop        SIGTERM/SIGINT: every parked request is answered (ENODEV)
 *                 and every client released first, then stop() runs
 *     reload      SIGHUP (systemctl reload), if the device has one
 *     save        after stop, and every CUSEKIT_SAVE_INTERVAL_SEC meanwhile
 *     destroy     free what init and start made; runs after a failed start too
 *
 * Everything runs on one thread: handlers never lock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "list.h"
#include "parse.h"
#include "request.h"
#include "waitq.h"

struct cusekit_device;

/* One open file of the device. Clients are keyed by the open file, never by
 * pid: CUSE's release carries no credentials, and pids are reused. */
struct cusekit_client {
	struct cusekit_device *device;
	void *private;                  /* the device's per-open state */
	uint64_t id;                    /* 1, 2, ... in open order, for logs */
	int open_flags;                 /* O_ACCMODE, O_NONBLOCK, ... at open time */
	struct cusekit_caller opener;   /* who opened it */

	/* framework-private */
	struct list_node link;          /* device->clients */
	struct list_node parked;        /* its parked requests */
	void *poll_handle;
};

/* ioctl handlers see exactly _IOC_SIZE(cmd) bytes in and out: the framework
 * checks the sizes against the command before calling, and answers with
 * *out when the handler returns >= 0 (the ioctl's return value). */
struct cusekit_ioctl {
	unsigned int cmd;
	int (*handler)(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out);
};

/* A device option: --NAME[=ARG] on the command line, or "NAME = ARG" in
 * /etc/cusekit/<device>.conf. parse returns 0 or -errno (-EINVAL: bad value). */
struct cusekit_option {
	const char *name;
	bool has_arg;
	const char *help;   /* "ARG  what it does" */
	int (*parse)(void *userdata, const char *arg);
};


struct cusekit_device_ops {
	const char *name;           /* "zero": node cusekit/zero, config zero.conf */
	const char *description;    /* one line for --help */
	mode_t node_mode;           /* e.g. 0666 */
	const char *node_group;     /* NULL: root. See cusekit_group_resolve(). */
	const struct cusekit_option *options;   /* NULL-name terminated, or NULL */

	/* The device's state: size bytes, zeroed, then init() sets defaults. */
	size_t size;
	void (*init)(void *userdata);

	int (*start)(struct cusekit_device *d);
	void (*stop)(struct cusekit_device *d);
	int (*save)(struct cusekit_device *d);
	/* Read the device's configuration again (SIGHUP, on the loop). A
	 * device without it ends on SIGHUP's default: it is not caught. */
	int (*reload)(struct cusekit_device *d);
	void (*destroy)(struct cusekit_device *d);

	/* Requests. A NULL handler answers: open 0, read EINVAL, write EINVAL,
	 * poll "readable and writable".
	 *
	 * open returns 0 or -errno. release drops every reference to c; its
	 * parked requests were answered (EINTR) before.
	 *
	 * read answers with the bytes of cusekit_request_buffer(req), which it
	 * fills, or of memory of its own named by cusekit_request_answer_from().
	 * read_done and write_done (optional) run right after an answer of >= 0
	 * bytes was sent; delivered says whether it reached the caller (false:
	 * the caller was interrupted or died first, and those bytes were never
	 * read or acknowledged). Consume there what a delivered answer gave, or
	 * undo what an undelivered one counted.
	 *
	 * poll returns the events ready now; call cusekit_client_wake() when
	 * that may have changed. */
	int (*open)(struct cusekit_client *c, struct cusekit_request *req);
	void (*release)(struct cusekit_client *c);
	ssize_t (*read)(struct cusekit_client *c, struct cusekit_request *req, size_t size);
	void (*read_done)(struct cusekit_client *c, size_t bytes, bool delivered);
	ssize_t (*write)(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size);
	void (*write_done)(struct cusekit_client *c, size_t bytes, bool delivered);
	unsigned (*poll)(struct cusekit_client *c);
	const struct cusekit_ioctl *ioctls;     /* terminated by cmd 0 */
};

#define CUSEKIT_SAVE_INTERVAL_SEC 30

/* The program: parse options, start the device, serve until stopped.
 * Returns the process exit status. */
int cusekit_main(int argc, char *argv[], const struct cusekit_device_ops *ops);
#define CUSEKIT_MAIN(ops) \
	int main(int argc, char *argv[]) { return cusekit_main(argc, argv, &(ops)); }

void *cusekit_device_userdata(struct cusekit_device *d);
sd_event *cusekit_device_event(struct cusekit_device *d);
const char *cusekit_device_name(struct cusekit_device *d);   /* --name, default ops->name */
/* The resolved node_group, or CUSEKIT_NO_GROUP. */
gid_t cusekit_device_group(struct cusekit_device *d);
/* $STATE_DIRECTORY, --state-dir, or /var/lib/cusekit/<device>. */
const char *cusekit_device_state_dir(struct cusekit_device *d);
/* Calls fn for every open client. */
void cusekit_device_foreach_client(struct cusekit_device *d,
				   void (*fn)(struct cusekit_client *c, void *arg), void *arg);

static inline void *cusekit_client_userdata(struct cusekit_client *c)
{
	return cusekit_device_userdata(c->device);
}

/* Tell a client's poller, or every client's, that what ops->poll reports
 * may have changed. Cheap when nobody polls. */
void cusekit_client_wake(struct cusekit_client *c);
void cusekit_device_wake_all(struct cusekit_device *d);

/* One policy for every configured group, the node's and a device's own (an
 * admin group): a group that does not exist is a warning at start, and then
 * grants nothing (CUSEKIT_NO_GROUP, which no caller is ever in; a node
 * without its group belongs to root). Never a fallback to a real group:
 * gid 0 would hand the group's rights to everyone in group root. what says
 * what the group is for, in the warning. */
#define CUSEKIT_NO_GROUP ((gid_t)-1)
gid_t cusekit_group_resolve(const char *name, const char *what);
