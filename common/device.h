/* SPDX-License-Identifier: MIT */
/*
 * The cusekit device framework.
 *
 * A daemon is one device: a table of handlers (struct cusekit_device_ops) and
 * the device's own state. The framework owns everything else: the transport
 * (a real CUSE character device, or a one-file FUSE mount as fallback), the
 * single-threaded sd-event loop, per-open client objects, ioctl size checks,
 * CUSEKIT_IOC_GET_INFO, deferred requests and their interruption, poll
 * handles, client counting, option parsing, sd_notify and graceful stop.
 *
 * Everything runs on one thread, so handlers never lock. A handler either
 * answers its request at once (fuse_reply_*) or defers it (cusekit_defer())
 * and answers later from any other callback: the inverted call.
 */
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312 /* libfuse 3.12 API: what Debian 12 (3.14) has */
#endif
#include <fuse_lowlevel.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "list.h"

struct cusekit_device;
struct cusekit_client;
struct cusekit_pending;

/* One open file of the device. Clients are keyed by the open file, never by
 * pid: CUSE's release carries no credentials, and pids are reused. */
struct cusekit_client {
	struct cusekit_device *device;
	void *private;         /* the device's per-open state */
	uint64_t id;           /* 1, 2, ... in open order, for logs */
	int open_flags;        /* O_ACCMODE, O_NONBLOCK, ... at open time */
	pid_t opener_pid;      /* thread that opened it, in the daemon's pid ns */
	uid_t opener_uid;
	gid_t opener_gid;

	/* framework-private */
	struct list_node link;            /* device->clients */
	struct list_node pending;         /* cusekit_pending.client_link */
	struct fuse_pollhandle *poll_handle;
};

/* A request kept to be answered later. */
typedef void (*cusekit_interrupt_fn)(struct cusekit_pending *p);

struct cusekit_pending {
	struct cusekit_client *client;
	fuse_req_t req;
	/* Called when the caller is interrupted (a signal, pthread_cancel, or its
	 * death). It must answer through cusekit_pending_take(). NULL: the
	 * framework answers EINTR. */
	cusekit_interrupt_fn on_interrupt;
	struct list_node link;            /* free for the device's own queue */

	/* framework-private */
	struct list_node client_link;
	size_t payload_size;
	_Alignas(8) unsigned char payload[]; /* the device's copy of request data */
};

/* ioctl handlers see exactly _IOC_SIZE(cmd) bytes in and out: the framework
 * checks the sizes against the command before calling. Return 0 to answer with
 * *out, -errno to fail, or CUSEKIT_DEFERRED after deferring req. */
#define CUSEKIT_DEFERRED 1

struct cusekit_ioctl {
	unsigned int cmd;
	int (*handler)(struct cusekit_client *c, fuse_req_t req, const void *in, void *out);
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
	const char *node_group;     /* NULL: root; a missing group warns, falls back to root */
	const struct cusekit_option *options;   /* NULL-name terminated, or NULL */

	/* Daemon lifetime. start() runs once the options are parsed, before the
	 * node exists: open kernel channels and add event sources there. stop()
	 * runs on SIGTERM/SIGINT before the framework answers what is still
	 * pending (ENODEV) and calls save(). save() persists state; it also runs
	 * every CUSEKIT_SAVE_INTERVAL_SEC so a crash loses little. */
	int (*start)(struct cusekit_device *d);
	void (*stop)(struct cusekit_device *d);
	int (*save)(struct cusekit_device *d);
	void (*destroy)(struct cusekit_device *d);

	/* Requests. open returns 0 or -errno; release must drop every reference
	 * to c (the framework has answered its pending requests, EINTR, before).
	 * read/write answer or defer req themselves. poll returns the events that
	 * are ready now; call cusekit_client_wake() when that may have changed.
	 * A NULL handler answers: open 0, read EINVAL, write EINVAL, poll
	 * "readable and writable". */
	int (*open)(struct cusekit_client *c, fuse_req_t req);
	void (*release)(struct cusekit_client *c);
	void (*read)(struct cusekit_client *c, fuse_req_t req, size_t size, bool nonblock);
	void (*write)(struct cusekit_client *c, fuse_req_t req, const void *buf, size_t size,
		      bool nonblock);
	unsigned (*poll)(struct cusekit_client *c);
	const struct cusekit_ioctl *ioctls;     /* terminated by cmd 0 */
};

#define CUSEKIT_SAVE_INTERVAL_SEC 30

/* The program: parse options, start the device, serve until stopped.
 * Returns the process exit status. */
int cusekit_main(int argc, char *argv[], const struct cusekit_device_ops *ops, void *userdata);

void *cusekit_device_userdata(struct cusekit_device *d);
sd_event *cusekit_device_event(struct cusekit_device *d);
const char *cusekit_device_name(struct cusekit_device *d);   /* --name, default ops->name */
/* The resolved node_group; CUSEKIT_NO_GROUP when there is none, which no
 * caller is ever in. */
gid_t cusekit_device_group(struct cusekit_device *d);
#define CUSEKIT_NO_GROUP ((gid_t)-1)
bool cusekit_device_stopping(struct cusekit_device *d);
/* $STATE_DIRECTORY, --state-dir, or /var/lib/cusekit/<device>. */
const char *cusekit_device_state_dir(struct cusekit_device *d);
/* Calls fn for every open client. */
void cusekit_device_foreach_client(struct cusekit_device *d,
				   void (*fn)(struct cusekit_client *c, void *arg), void *arg);

static inline void *cusekit_client_userdata(struct cusekit_client *c)
{
	return cusekit_device_userdata(c->device);
}

/* Keep req to answer later. Registers the interrupt callback, so the caller
 * can always be interrupted. payload_size bytes of zeroed payload come with
 * it (for example a copy of write data, since libfuse reuses its buffer).
 * Returns NULL when req is already answered (interrupted before we got here:
 * EINTR; no memory: ENOMEM). */
struct cusekit_pending *cusekit_defer(struct cusekit_client *c, fuse_req_t req,
				      cusekit_interrupt_fn on_interrupt, size_t payload_size);
/* Unlink p from every list, free it, and hand back its request to answer. */
fuse_req_t cusekit_pending_take(struct cusekit_pending *p);

/* Tell a client's poller that what cusekit_device_ops.poll reports may have
 * changed. Cheap when nobody polls. */
void cusekit_client_wake(struct cusekit_client *c);

/* Caller identity of a request, from the kernel's request context. */
const struct fuse_ctx *cusekit_caller(fuse_req_t req);
/* 1 if the caller is root or has gid among its groups, 0 if not, -errno. */
int cusekit_caller_privileged(fuse_req_t req, gid_t gid);
