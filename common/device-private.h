/* SPDX-License-Identifier: MIT */
/*
 * The framework's own view of a running device; devices see device.h only.
 *
 * Requests come in through the transport-independent entry points below
 * (device_open(), device_read(), ...), called by the libfuse glue
 * (fuse-requests.c) for both transports, or by a test driver. Answers go out
 * through a backend: the one table of everything the framework needs from
 * whoever brought the request (libfuse, or a test's fake).
 */
#pragma once

#include "device.h"
#include "options.h"

struct transport;

/* What the framework needs from whoever delivers requests. A handle is the
 * backend's request (for libfuse, a fuse_req_t). Every reply consumes the
 * handle and returns 0, or -ENOENT when the caller is no longer there (it
 * was interrupted, or died) so the answer never arrived. */
struct cusekit_backend {
	void (*caller)(void *handle, struct cusekit_caller *ret);
	/* The caller's supplementary groups, like fuse_req_getgroups(). */
	int (*getgroups)(void *handle, int size, gid_t list[]);
	int (*reply_err)(void *handle, int error);
	int (*reply_data)(void *handle, const void *data, size_t size);
	int (*reply_write)(void *handle, size_t count);
	int (*reply_ioctl)(void *handle, int result, const void *out, size_t size);
	/* From now on, call device_request_interrupted(req) when the caller is
	 * interrupted; -EINTR (and nothing registered) if it already was. */
	int (*watch_interrupt)(void *handle, struct cusekit_request *req);
	/* Poll handles: tell the poller once (consuming the handle), or drop it. */
	void (*poll_notify)(void *poll_handle);
	void (*poll_destroy)(void *poll_handle);
};

enum request_kind {
	REQUEST_OPEN,
	REQUEST_READ,
	REQUEST_WRITE,
	REQUEST_IOCTL,
};

struct cusekit_request {
	struct cusekit_device *device;
	struct cusekit_client *client;   /* NULL while opening */
	void *handle;
	enum request_kind kind;
	struct cusekit_caller caller;
	bool nonblock;
	unsigned int cmd;                /* ioctl */
	size_t size;                     /* read: asked; write: data; ioctl: input */
	const void *data;                /* write data, ioctl input */
	void *out;                       /* ioctl output, out_size bytes */
	size_t out_size;
	const void *answer_from;         /* read: the device's own bytes */
	uint64_t tag;

	/* Parking: the handler's request lives on the stack; cusekit_park()
	 * makes the copy that waits, and marks the original. */
	struct cusekit_request *parked_copy;
	struct cusekit_waitq *waitq;
	struct list_node waitq_link;     /* waitq->requests */
	struct list_node client_link;    /* client->parked */
	_Alignas(8) unsigned char payload[];   /* parked: data, then out */
};

struct cusekit_device {
	const struct cusekit_device_ops *ops;
	void *userdata;
	struct cusekit_settings settings;
	gid_t group;

	const struct cusekit_backend *backend;
	sd_event *event;
	sd_event_source *fuse_source;
	sd_event_source *save_timer;
	const struct transport *transport;
	struct fuse_session *session;
	struct fuse_buf *buf;
	char *node_path;
	bool ready;
	bool stopping;

	/* Reads answer from here unless the device answers from its own. */
	void *read_buffer;
	size_t read_buffer_size;

	struct list_node clients;
	uint32_t clients_open;
	uint64_t opens_total;
	uint64_t requests_total;
	uint32_t requests_waiting;       /* parked now */
	uint64_t next_client_id;
};

/* A device and its state (ops->size bytes, then ops->init), not started. */
int device_new(const struct cusekit_device_ops *ops, struct cusekit_device **ret);
/* Resolve the node group and start the device (ops->start). */
int device_start(struct cusekit_device *d);
/* Stop taking work: answer every parked request (ENODEV), release every
 * client, then ops->stop. error: 0 for a stop asked for, -errno when the
 * device cannot go on (the exit status says so). */
void device_stop(struct cusekit_device *d, const char *why, int error);
/* Stop if not stopped, save what the device keeps if it came up, free all. */
void device_free(struct cusekit_device *d);
int device_save(struct cusekit_device *d);

/* The transport-independent requests. open: 0 and the new client, or
 * -errno (the caller replies). read/write/ioctl answer through the backend,
 * now or once parked. poll keeps poll_handle (may be NULL) and returns the
 * events ready now. */
int device_open(struct cusekit_device *d, void *handle, int flags, struct cusekit_client **ret);
void device_release(struct cusekit_device *d, struct cusekit_client *c);
void device_read(struct cusekit_device *d, void *handle, struct cusekit_client *c, size_t size, bool nonblock);
void device_write(struct cusekit_device *d, void *handle, struct cusekit_client *c, const void *buf, size_t size,
		  bool nonblock);
void device_ioctl(struct cusekit_device *d, void *handle, struct cusekit_client *c, unsigned int cmd,
		  const void *in, size_t in_size, size_t out_size);
unsigned device_poll(struct cusekit_device *d, struct cusekit_client *c, void *poll_handle);
/* The backend's interrupt callback for a parked request. */
void device_request_interrupted(struct cusekit_request *req);

/* Parked requests (waitq.c): unlink req from its queue and its client. */
void request_unpark(struct cusekit_request *req);
/* Answer req with result (see device.h), through the backend. */
void request_answer(struct cusekit_request *req, ssize_t result);
/* Answer every parked request of c with error; tell_queues: run their
 * queues' left functions (not while the daemon stops). */
void client_abandon_parked(struct cusekit_client *c, int error, bool tell_queues);

/* The node group's gid for the node itself: root where there is none. */
static inline gid_t device_node_gid(const struct cusekit_device *d)
{
	return d->group == CUSEKIT_NO_GROUP ? 0 : d->group;
}
/* The kernel made our node: apply its owner and mode, tell systemd. */
void device_node_ready(struct cusekit_device *d);

/* One way of making the node exist. */
struct transport {
	const char *name;
	int (*open)(struct cusekit_device *d);   /* sets d->session, d->node_path */
	void (*close)(struct cusekit_device *d); /* the node disappears */
};

extern const struct transport transport_cuse;
extern const struct transport transport_fuse;
/* The CUSE channel, checked to be the kernel's character device: fd or -errno. */
int cusekit_open_cuse(void);
