/* SPDX-License-Identifier: MIT */
/*
 * Requests, whichever transport brought them: per-open clients, the
 * handlers' calls and their answers, the ioctl table with its size checks,
 * CUSEKIT_IOC_GET_INFO, and poll.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include <cusekit/common.h>

#include "device-private.h"
#include "log.h"

void *cusekit_device_userdata(struct cusekit_device *d) { return d->userdata; }
sd_event *cusekit_device_event(struct cusekit_device *d) { return d->event; }
const char *cusekit_device_name(struct cusekit_device *d) { return d->settings.name; }
gid_t cusekit_device_group(struct cusekit_device *d) { return d->group; }
const char *cusekit_device_state_dir(struct cusekit_device *d) { return d->settings.state_dir; }

void cusekit_device_foreach_client(struct cusekit_device *d,
				   void (*fn)(struct cusekit_client *c, void *arg), void *arg)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &d->clients)
		fn(list_entry(i, struct cusekit_client, link), arg);
}

/* A request as the handler sees it, on the stack of the call. */
static struct cusekit_request request_new(struct cusekit_device *d, void *handle, struct cusekit_client *c,
					  enum request_kind kind, bool nonblock)
{
	struct cusekit_request req = {
		.device = d,
		.client = c,
		.handle = handle,
		.kind = kind,
		.nonblock = nonblock,
	};

	d->backend->caller(handle, &req.caller);
	d->requests_total++;
	return req;
}

/* The handler's result: answer it, or it was parked. */
static void request_finish(struct cusekit_request *req, ssize_t r)
{
	if (r == CUSEKIT_PARKED) {
		assert(req->parked_copy);
		return;
	}
	if (req->parked_copy) {
		/* A handler that parks must return what cusekit_park() did. */
		log_error("Bug: device %s parked a request and answered it too.", req->device->ops->name);
		request_unpark(req->parked_copy);
		free(req->parked_copy);
		r = -EIO;
	}
	request_answer(req, r);
}

/* Poll */

void cusekit_client_wake(struct cusekit_client *c)
{
	if (!c->poll_handle)
		return;
	c->device->backend->poll_notify(c->poll_handle);
	c->poll_handle = NULL;
}

static void wake(struct cusekit_client *c, void *arg) { cusekit_client_wake(c); }

void cusekit_device_wake_all(struct cusekit_device *d) { cusekit_device_foreach_client(d, wake, NULL); }

unsigned device_poll(struct cusekit_device *d, struct cusekit_client *c, void *poll_handle)
{
	d->requests_total++;
	/* Keep only the newest handle: the kernel polls again after every
	 * notification, handing us a fresh one. */
	if (poll_handle) {
		if (c->poll_handle)
			d->backend->poll_destroy(c->poll_handle);
		c->poll_handle = poll_handle;
	}
	return d->ops->poll ? d->ops->poll(c) : POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
}

/* Open and release */

static unsigned opens_by(struct cusekit_device *d, uid_t uid)
{
	struct list_node *i;
	unsigned n = 0;

	list_for_each(i, &d->clients)
		n += list_entry(i, struct cusekit_client, link)->opener.uid == uid;
	return n;
}

int device_open(struct cusekit_device *d, void *handle, int flags, struct cusekit_client **ret)
{
	struct cusekit_request req = request_new(d, handle, NULL, REQUEST_OPEN, flags & O_NONBLOCK);
	struct cusekit_client *c;
	int r;

	if (d->stopping)
		return -ENODEV;
	if (req.caller.uid != 0 && opens_by(d, req.caller.uid) >= d->settings.max_opens_per_user) {
		log_debug("Open by pid %d uid %u refused: %u files open by that user.", (int)req.caller.pid,
			  (unsigned)req.caller.uid, d->settings.max_opens_per_user);
		return -EMFILE;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	*c = (struct cusekit_client){
		.device = d,
		.id = d->next_client_id + 1,
		.open_flags = flags,
		.opener = req.caller,
	};
	list_init(&c->parked);
	req.client = c;

	r = d->ops->open ? d->ops->open(c, &req) : 0;
	if (r < 0) {
		log_debug_errno(r, "Open by pid %d uid %u refused: %m", (int)c->opener.pid, (unsigned)c->opener.uid);
		free(c);
		return r;
	}
	d->next_client_id++;
	list_add_tail(&d->clients, &c->link);
	d->clients_open++;
	d->opens_total++;
	log_debug("Client %" PRIu64 " opened by pid %d uid %u, %" PRIu32 " open.", c->id, (int)c->opener.pid,
		  (unsigned)c->opener.uid, d->clients_open);
	*ret = c;
	return 0;
}

void device_release(struct cusekit_device *d, struct cusekit_client *c)
{
	client_abandon_parked(c, EINTR, !d->stopping);
	if (d->ops->release)
		d->ops->release(c);
	if (c->poll_handle)
		d->backend->poll_destroy(c->poll_handle);
	list_del(&c->link);
	d->clients_open--;
	log_debug("Client %" PRIu64 " closed, %" PRIu32 " open.", c->id, d->clients_open);
	free(c);
}

/* Data */

void device_read(struct cusekit_device *d, void *handle, struct cusekit_client *c, size_t size, bool nonblock)
{
	struct cusekit_request req = request_new(d, handle, c, REQUEST_READ, nonblock);

	req.size = size;
	request_finish(&req, d->ops->read ? d->ops->read(c, &req, size) : -EINVAL);
}

void device_write(struct cusekit_device *d, void *handle, struct cusekit_client *c, const void *buf, size_t size,
		  bool nonblock)
{
	struct cusekit_request req = request_new(d, handle, c, REQUEST_WRITE, nonblock);

	req.size = size;
	req.data = buf;
	request_finish(&req, d->ops->write ? d->ops->write(c, &req, buf, size) : -EINVAL);
}

/* ioctl */

static int ioctl_get_info(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct cusekit_device *d = c->device;
	struct cusekit_info info = {
		.abi_version = CUSEKIT_ABI_VERSION,
		.clients_open = d->clients_open,
		.opens_total = d->opens_total,
		.requests_total = d->requests_total,
		.requests_waiting = d->requests_waiting,
	};

	snprintf(info.name, sizeof(info.name), "%s", d->settings.name);
	/* Older callers ask for less: the struct's start. */
	memcpy(out, &info, MIN(req->out_size, sizeof(info)));
	return 0;
}

static const struct cusekit_ioctl framework_ioctls[] = {
	{ CUSEKIT_IOC_GET_INFO, ioctl_get_info },
	{ CUSEKIT_IOC_GET_INFO_V1, ioctl_get_info },
	{}
};

static const struct cusekit_ioctl *ioctl_find(const struct cusekit_ioctl *table, unsigned int cmd)
{
	for (; table && table->cmd; table++)
		if (table->cmd == cmd)
			return table;
	return NULL;
}

static int ioctl_call(struct cusekit_request *req, const void *in, size_t in_size, size_t out_size)
{
	struct cusekit_device *d = req->device;
	const struct cusekit_ioctl *entry;

	entry = ioctl_find(framework_ioctls, req->cmd) ?: ioctl_find(d->ops->ioctls, req->cmd);
	/* A wrong-sized variant of a known command is a different number: it
	 * lands here too, as it would on a kernel driver. */
	if (!entry)
		return -ENOTTY;
	/* Restricted ioctls: the kernel copied _IOC_SIZE bytes by direction.
	 * Anything else did not come through the kernel's normal path. */
	req->size = _IOC_DIR(req->cmd) & _IOC_WRITE ? _IOC_SIZE(req->cmd) : 0;
	req->out_size = _IOC_DIR(req->cmd) & _IOC_READ ? _IOC_SIZE(req->cmd) : 0;
	if (in_size != req->size || out_size < req->out_size)
		return -EINVAL;
	req->data = in;
	return entry->handler(req->client, req, in, req->out);
}

void device_ioctl(struct cusekit_device *d, void *handle, struct cusekit_client *c, unsigned int cmd,
		  const void *in, size_t in_size, size_t out_size)
{
	struct cusekit_request req = request_new(d, handle, c, REQUEST_IOCTL, c->open_flags & O_NONBLOCK);
	_cleanup_free_ void *out = NULL;
	size_t want = _IOC_DIR(cmd) & _IOC_READ ? _IOC_SIZE(cmd) : 0;

	req.cmd = cmd;
	if (want > 0) {
		out = calloc(1, want);
		if (!out) {
			request_finish(&req, -ENOMEM);
			return;
		}
	}
	req.out = out;
	request_finish(&req, ioctl_call(&req, in, in_size, out_size));
}

/* Groups */

gid_t cusekit_group_resolve(const char *name, const char *what)
{
	struct group *g;

	if (!name)
		return CUSEKIT_NO_GROUP;
	g = getgrnam(name);
	if (!g) {
		log_warning("Group '%s' (%s) does not exist: it grants nothing; only root has its rights.", name,
			    what);
		return CUSEKIT_NO_GROUP;
	}
	return g->gr_gid;
}
