/* SPDX-License-Identifier: MIT */
/*
 * Requests, whichever transport brought them: per-open clients, the ioctl
 * table with its size checks, CUSEKIT_IOC_GET_INFO, deferred requests and
 * their interruption, and poll handles.
 */
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include <cusekit/common.h>

#include "device-private.h"
#include "log.h"

void *cusekit_device_userdata(struct cusekit_device *d) { return d->userdata; }
sd_event *cusekit_device_event(struct cusekit_device *d) { return d->event; }
const char *cusekit_device_name(struct cusekit_device *d) { return d->settings.name; }
gid_t cusekit_device_group(struct cusekit_device *d) { return d->group; }
bool cusekit_device_stopping(struct cusekit_device *d) { return d->stopping; }
const char *cusekit_device_state_dir(struct cusekit_device *d) { return d->settings.state_dir; }

void cusekit_device_foreach_client(struct cusekit_device *d,
				   void (*fn)(struct cusekit_client *c, void *arg), void *arg)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &d->clients)
		fn(list_entry(i, struct cusekit_client, link), arg);
}

static struct cusekit_client *client_of(struct fuse_file_info *fi)
{
	return (struct cusekit_client *)(uintptr_t)fi->fh;
}

/* Deferred requests */

static void pending_interrupted(fuse_req_t req, void *data)
{
	struct cusekit_pending *p = data;

	(void)req;
	log_debug("Client %" PRIu64 ": request interrupted.", p->client->id);
	if (p->on_interrupt)
		p->on_interrupt(p);
	else
		fuse_reply_err(cusekit_pending_take(p), EINTR);
}

struct cusekit_pending *cusekit_defer(struct cusekit_client *c, fuse_req_t req,
				      cusekit_interrupt_fn on_interrupt, size_t payload_size)
{
	struct cusekit_pending *p;

	/* libfuse would call the interrupt function from inside its own
	 * registration, under a lock the reply frees: answer here instead. */
	if (fuse_req_interrupted(req)) {
		fuse_reply_err(req, EINTR);
		return NULL;
	}
	p = calloc(1, sizeof(*p) + payload_size);
	if (!p) {
		fuse_reply_err(req, ENOMEM);
		return NULL;
	}
	p->client = c;
	p->req = req;
	p->on_interrupt = on_interrupt;
	p->payload_size = payload_size;
	list_init(&p->link);
	list_add_tail(&c->pending, &p->client_link);
	fuse_req_interrupt_func(req, pending_interrupted, p);
	return p;
}

fuse_req_t cusekit_pending_take(struct cusekit_pending *p)
{
	fuse_req_t req = p->req;

	/* No need to unregister the interrupt callback: answering removes req
	 * from libfuse's list, where an interrupt looks for it. (Unregistering
	 * would also deadlock when called from that callback, which runs
	 * under the request's own lock.) */
	list_del(&p->link);
	list_del(&p->client_link);
	free(p);
	return req;
}

static void client_answer_pending(struct cusekit_client *c, int error)
{
	while (!list_empty(&c->pending)) {
		struct cusekit_pending *p = list_first_entry(&c->pending, struct cusekit_pending, client_link);

		fuse_reply_err(cusekit_pending_take(p), error);
	}
}

void device_answer_all_pending(struct cusekit_device *d, int error)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &d->clients)
		client_answer_pending(list_entry(i, struct cusekit_client, link), error);
}

/* Poll */

void cusekit_client_wake(struct cusekit_client *c)
{
	if (!c->poll_handle)
		return;
	fuse_lowlevel_notify_poll(c->poll_handle);
	fuse_pollhandle_destroy(c->poll_handle);
	c->poll_handle = NULL;
}

void device_poll(struct cusekit_device *d, fuse_req_t req, struct fuse_file_info *fi,
		 struct fuse_pollhandle *ph)
{
	struct cusekit_client *c = client_of(fi);
	unsigned revents;

	d->requests_total++;
	/* Keep only the newest handle: the kernel polls again after every
	 * notification, handing us a fresh one. */
	if (ph) {
		if (c->poll_handle)
			fuse_pollhandle_destroy(c->poll_handle);
		c->poll_handle = ph;
	}
	revents = d->ops->poll ? d->ops->poll(c) : POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM;
	fuse_reply_poll(req, revents);
}

/* Open and release */

static void client_free(struct cusekit_client *c)
{
	struct cusekit_device *d = c->device;

	client_answer_pending(c, EINTR);
	if (d->ops->release)
		d->ops->release(c);
	if (c->poll_handle)
		fuse_pollhandle_destroy(c->poll_handle);
	list_del(&c->link);
	d->clients_open--;
	log_debug("Client %" PRIu64 " closed, %" PRIu32 " open.", c->id, d->clients_open);
	free(c);
}

void device_free_clients(struct cusekit_device *d)
{
	struct list_node *i, *tmp;

	device_answer_all_pending(d, ENODEV);
	list_for_each_safe(i, tmp, &d->clients)
		client_free(list_entry(i, struct cusekit_client, link));
}

void device_open(struct cusekit_device *d, fuse_req_t req, struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct cusekit_client *c;
	int r;

	d->requests_total++;
	if (d->stopping) {
		fuse_reply_err(req, ENODEV);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	c->device = d;
	c->id = ++d->next_client_id;
	c->open_flags = fi->flags;
	c->opener_pid = ctx->pid;
	c->opener_uid = ctx->uid;
	c->opener_gid = ctx->gid;
	list_init(&c->pending);
	list_add_tail(&d->clients, &c->link);
	d->clients_open++;

	r = d->ops->open ? d->ops->open(c, req) : 0;
	if (r < 0) {
		log_debug_errno(r, "Open by pid %d uid %u refused: %m", (int)ctx->pid, (unsigned)ctx->uid);
		c->private = NULL;
		list_del(&c->link);
		d->clients_open--;
		free(c);
		fuse_reply_err(req, -r);
		return;
	}

	d->opens_total++;
	fi->fh = (uintptr_t)c;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	log_debug("Client %" PRIu64 " opened by pid %d uid %u, %" PRIu32 " open.", c->id,
		  (int)c->opener_pid, (unsigned)c->opener_uid, d->clients_open);
	/* The opener died before the answer reached it: the kernel will send
	 * no release for this file, so release it here. */
	if (fuse_reply_open(req, fi) == -ENOENT)
		client_free(c);
}

void device_release(struct cusekit_device *d, fuse_req_t req, struct fuse_file_info *fi)
{
	(void)d;
	client_free(client_of(fi));
	fuse_reply_err(req, 0);
}

/* Data */

void device_read(struct cusekit_device *d, fuse_req_t req, size_t size, struct fuse_file_info *fi)
{
	d->requests_total++;
	if (!d->ops->read) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	d->ops->read(client_of(fi), req, size, fi->flags & O_NONBLOCK);
}

void device_write(struct cusekit_device *d, fuse_req_t req, const char *buf, size_t size,
		  struct fuse_file_info *fi)
{
	d->requests_total++;
	if (!d->ops->write) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	d->ops->write(client_of(fi), req, buf, size, fi->flags & O_NONBLOCK);
}

/* ioctl */

static int ioctl_get_info(struct cusekit_client *c, fuse_req_t req, const void *in, void *out)
{
	struct cusekit_device *d = c->device;
	struct cusekit_info *info = out;

	(void)req;
	(void)in;
	info->abi_version = CUSEKIT_ABI_VERSION;
	info->clients_open = d->clients_open;
	info->opens_total = d->opens_total;
	info->requests_total = d->requests_total;
	snprintf(info->name, sizeof(info->name), "%s", d->settings.name);
	return 0;
}

static const struct cusekit_ioctl framework_ioctls[] = {
	{ CUSEKIT_IOC_GET_INFO, ioctl_get_info },
	{}
};

static const struct cusekit_ioctl *ioctl_find(const struct cusekit_ioctl *table, unsigned int cmd)
{
	for (; table && table->cmd; table++)
		if (table->cmd == cmd)
			return table;
	return NULL;
}

void device_ioctl(struct cusekit_device *d, fuse_req_t req, unsigned int cmd, struct fuse_file_info *fi,
		  const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	const struct cusekit_ioctl *entry;
	_cleanup_free_ void *out = NULL;
	size_t in_size, out_size;
	int r;

	d->requests_total++;
	entry = ioctl_find(framework_ioctls, cmd) ?: ioctl_find(d->ops->ioctls, cmd);
	if (!entry) {
		/* A wrong-sized variant of a known command is a different number:
		 * it lands here too, as it would on a kernel driver. */
		fuse_reply_err(req, ENOTTY);
		return;
	}

	/* Restricted ioctls: the kernel copied _IOC_SIZE bytes by direction.
	 * Anything else did not come through the kernel's normal path. */
	in_size = _IOC_DIR(cmd) & _IOC_WRITE ? _IOC_SIZE(cmd) : 0;
	out_size = _IOC_DIR(cmd) & _IOC_READ ? _IOC_SIZE(cmd) : 0;
	if (in_bufsz != in_size || out_bufsz < out_size) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (out_size > 0) {
		out = calloc(1, out_size);
		if (!out) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}

	r = entry->handler(client_of(fi), req, in_buf, out);
	if (r == CUSEKIT_DEFERRED)
		return;
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_ioctl(req, 0, out, out_size);
}

/* Caller identity */

const struct fuse_ctx *cusekit_caller(fuse_req_t req) { return fuse_req_ctx(req); }

int cusekit_caller_privileged(fuse_req_t req, gid_t gid)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	_cleanup_free_ gid_t *groups = NULL;
	int n;

	if (ctx->uid == 0)
		return 1;
	if (gid == CUSEKIT_NO_GROUP)
		return 0;
	if (ctx->gid == gid)
		return 1;
	/* Supplementary groups come from /proc/<tid>/status of the caller:
	 * ask for the count, then for the list. */
	n = fuse_req_getgroups(req, 0, NULL);
	if (n <= 0)
		return n;
	groups = calloc((size_t)n, sizeof(gid_t));
	if (!groups)
		return -ENOMEM;
	n = MIN(fuse_req_getgroups(req, n, groups), n);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* Ready */

void device_node_ready(struct cusekit_device *d)
{
	/* Where no udev runs (VMs, containers) the node would stay root 0600:
	 * give it the documented owner ourselves. The fuse transport reports
	 * mode and group through getattr instead. */
	if (d->transport == &transport_cuse) {
		if (chown(d->node_path, 0, device_node_gid(d)) < 0)
			log_warning_errno(negative_errno(), "Failed to chown %s: %m", d->node_path);
		if (chmod(d->node_path, d->ops->node_mode) < 0)
			log_warning_errno(negative_errno(), "Failed to chmod %s: %m", d->node_path);
	}
	d->ready = true;
	log_info("Serving %s (%s transport, mode %04o, group %u).", d->node_path, d->transport->name,
		 (unsigned)d->ops->node_mode, (unsigned)device_node_gid(d));
	sd_notifyf(false, "READY=1\nSTATUS=Serving %s", d->node_path);
}
