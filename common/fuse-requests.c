/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include "fuse-requests.h"
#include "log.h"

/* The backend: answers through libfuse */

static void fuse_caller(void *handle, struct cusekit_caller *ret)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(handle);

	*ret = (struct cusekit_caller){ .pid = ctx->pid, .uid = ctx->uid, .gid = ctx->gid };
}

static int fuse_getgroups(void *handle, int size, gid_t list[]) { return fuse_req_getgroups(handle, size, list); }
static int fuse_answer_err(void *handle, int error) { return fuse_reply_err(handle, error); }

static int fuse_answer_data(void *handle, const void *data, size_t size)
{
	return fuse_reply_buf(handle, data, size);
}

static int fuse_answer_write(void *handle, size_t count) { return fuse_reply_write(handle, count); }

static int fuse_answer_ioctl(void *handle, int result, const void *out, size_t size)
{
	return fuse_reply_ioctl(handle, result, out, size);
}

static void fuse_interrupted(fuse_req_t req, void *data) { device_request_interrupted(data); }

static int fuse_watch_interrupt(void *handle, struct cusekit_request *req)
{
	/* libfuse would call the interrupt function from inside its own
	 * registration, under a lock the answer frees: say so instead, and the
	 * framework answers EINTR. */
	if (fuse_req_interrupted(handle))
		return -EINTR;
	fuse_req_interrupt_func(handle, fuse_interrupted, req);
	return 0;
}

static void fuse_poll_notify(void *ph)
{
	fuse_lowlevel_notify_poll(ph);
	fuse_pollhandle_destroy(ph);
}

static void fuse_poll_destroy(void *ph) { fuse_pollhandle_destroy(ph); }

const struct cusekit_backend fuse_requests_backend = {
	.caller = fuse_caller,
	.getgroups = fuse_getgroups,
	.reply_err = fuse_answer_err,
	.reply_data = fuse_answer_data,
	.reply_write = fuse_answer_write,
	.reply_ioctl = fuse_answer_ioctl,
	.watch_interrupt = fuse_watch_interrupt,
	.poll_notify = fuse_poll_notify,
	.poll_destroy = fuse_poll_destroy,
};

/* The glue: libfuse's calls to the framework's requests */

static struct cusekit_client *client_of(struct fuse_file_info *fi)
{
	return (struct cusekit_client *)(uintptr_t)fi->fh;
}

void fuse_requests_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct cusekit_device *d = fuse_requests_device(req);
	struct cusekit_client *c;
	int r;

	r = device_open(d, req, fi->flags, &c);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)c;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	/* No FLUSH on close (the fuse transport sends one; CUSE does not):
	 * devices keep nothing to flush, and a close, even an exec's of a
	 * close-on-exec fd, must never wait on the daemon. */
	fi->noflush = 1;
	/* The opener died before the answer reached it: the kernel will send
	 * no release for this file, so release it here. */
	if (fuse_reply_open(req, fi) == -ENOENT)
		device_release(d, c);
}

void fuse_requests_release(fuse_req_t req, struct fuse_file_info *fi)
{
	device_release(fuse_requests_device(req), client_of(fi));
	fuse_reply_err(req, 0);
}

void fuse_requests_read(fuse_req_t req, size_t size, struct fuse_file_info *fi)
{
	device_read(fuse_requests_device(req), req, client_of(fi), size, fi->flags & O_NONBLOCK);
}

void fuse_requests_write(fuse_req_t req, const char *buf, size_t size, struct fuse_file_info *fi)
{
	device_write(fuse_requests_device(req), req, client_of(fi), buf, size, fi->flags & O_NONBLOCK);
}

void fuse_requests_ioctl(fuse_req_t req, unsigned int cmd, struct fuse_file_info *fi, const void *in,
			 size_t in_size, size_t out_size)
{
	device_ioctl(fuse_requests_device(req), req, client_of(fi), cmd, in, in_size, out_size);
}

void fuse_requests_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	fuse_reply_poll(req, device_poll(fuse_requests_device(req), client_of(fi), ph));
}

/* The channel */

int fuse_requests_fd(struct cusekit_device *d) { return fuse_session_fd(d->session); }

int fuse_requests_receive(struct cusekit_device *d)
{
	int r;

	if (!d->buf) {
		d->buf = calloc(1, sizeof(*d->buf));
		if (!d->buf)
			return -ENOMEM;
	}
	r = fuse_session_receive_buf(d->session, d->buf);
	if (r == -EAGAIN || r == -EINTR)
		return -EAGAIN;
	if (r < 0)
		return r;
	/* ENODEV: unmounted under us, or the CUSE node is gone. */
	if (fuse_session_exited(d->session))
		return -ENODEV;
	if (r > 0)
		fuse_session_process_buf(d->session, d->buf);
	return 0;
}

void fuse_requests_done(struct cusekit_device *d)
{
	if (d->buf)
		free(d->buf->mem);
	free(d->buf);
	d->buf = NULL;
}
