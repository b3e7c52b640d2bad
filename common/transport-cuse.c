/* SPDX-License-Identifier: MIT */
/*
 * The real thing: a character device registered through /dev/cuse. The node
 * appears as /dev/cusekit/<name> when the kernel accepts our init reply and
 * disappears when we close the channel.
 */
#include <cuse_lowlevel.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cusekit/common.h>

#include "fuse-requests.h"
#include "log.h"

int cusekit_open_cuse(void)
{
	_cleanup_close_ int fd = open("/dev/cuse", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	struct stat st;

	if (fd < 0)
		return negative_errno();
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISCHR(st.st_mode))
		return -ENODEV; /* a stray plain file, not the kernel's channel */
	return TAKE_FD(fd);
}

/* libfuse calls init_done right after it *sent* the INIT reply; the kernel
 * handled that reply inside the write: it made the node, or it refused the
 * name (taken by another CUSE device, or no device number left) and aborted
 * the connection. Look before claiming the node: the node at our path may be
 * another daemon's. */
static int cuse_node_check(struct cusekit_device *d)
{
	struct pollfd pfd = { .fd = fuse_requests_fd(d), .events = POLLIN };
	_cleanup_free_ char *sysfs = NULL;
	unsigned major, minor;
	struct stat st;
	FILE *f;

	if (poll(&pfd, 1, 0) < 0)
		return negative_errno();
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
		return -EEXIST;
	if (stat(d->node_path, &st) < 0)
		return negative_errno();
	if (!S_ISCHR(st.st_mode))
		return -ENOTTY;
	/* The kernel's name for our device, '/' written as '!'. */
	if (asprintf(&sysfs, "/sys/class/cuse/cusekit!%s/dev", d->settings.name) < 0)
		return -ENOMEM;
	f = fopen(sysfs, "re");
	if (!f)
		return 0; /* no sysfs here: the live channel is the proof */
	if (fscanf(f, "%u:%u", &major, &minor) != 2)
		major = minor = 0;
	fclose(f);
	return st.st_rdev == makedev(major, minor) ? 0 : -EEXIST;
}

static void cuse_init_done(void *userdata)
{
	struct cusekit_device *d = userdata;
	int r = cuse_node_check(d);

	if (r < 0) {
		if (r == -EEXIST)
			log_error("The kernel refused to create %s: the name is taken by another device.",
				  d->node_path);
		else
			log_error_errno(r, "The kernel did not create %s: %m", d->node_path);
		d->stopping = true;
		sd_event_exit(d->event, r);
		return;
	}
	device_node_ready(d);
}

static void cuse_open(fuse_req_t req, struct fuse_file_info *fi) { fuse_requests_open(req, fi); }
static void cuse_release(fuse_req_t req, struct fuse_file_info *fi) { fuse_requests_release(req, fi); }

/* The offset is always 0 on a character device. */
static void cuse_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_requests_read(req, size, fi);
}

static void cuse_write(fuse_req_t req, const char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_requests_write(req, buf, size, fi);
}

static void cuse_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi, unsigned flags,
		       const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	fuse_requests_ioctl(req, (unsigned int)cmd, fi, in_buf, in_bufsz, out_bufsz);
}

static void cuse_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	fuse_requests_poll(req, fi, ph);
}

static const struct cuse_lowlevel_ops cuse_ops = {
	.init_done = cuse_init_done,
	.open = cuse_open,
	.release = cuse_release,
	.read = cuse_read,
	.write = cuse_write,
	.ioctl = cuse_ioctl,
	.poll = cuse_poll,
};

static int cuse_transport_open(struct cusekit_device *d)
{
	char devname[sizeof("DEVNAME=cusekit/") + 64], channel[32];
	const char *dev_info[] = { devname };
	char *argv[] = { program_invocation_short_name, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	/* No CUSE_UNRESTRICTED_IOCTL: the kernel copies ioctl data by the
	 * _IOC direction and size, exactly as on the fuse transport. */
	struct cuse_info ci = { .dev_info_argc = 1, .dev_info_argv = dev_info };
	_cleanup_close_ int fd = -1;

	snprintf(devname, sizeof(devname), "DEVNAME=cusekit/%s", d->settings.name);
	if (asprintf(&d->node_path, CUSEKIT_DEV_DIR "/%s", d->settings.name) < 0)
		return log_oom();

	fd = cusekit_open_cuse();
	if (fd < 0)
		return log_error_errno(fd, "Failed to open /dev/cuse (is the cuse module loaded?): %m");

	d->session = cuse_lowlevel_new(&args, &ci, &cuse_ops, d);
	fuse_opt_free_args(&args);
	if (!d->session)
		return log_error_errno(-EIO, "Failed to create the CUSE session.");

	/* libfuse adopts an already open channel given as /dev/fd/N. */
	snprintf(channel, sizeof(channel), "/dev/fd/%d", fd);
	if (fuse_session_mount(d->session, channel) < 0)
		return log_error_errno(-EIO, "Failed to attach the CUSE channel.");
	TAKE_FD(fd);
	return 0;
}

static void cuse_transport_close(struct cusekit_device *d)
{
	/* Closing the channel unregisters the device and removes the node. */
	fuse_session_destroy(d->session);
	d->session = NULL;
	fuse_requests_done(d);
}

const struct transport transport_cuse = {
	.name = "cuse",
	.open = cuse_transport_open,
	.close = cuse_transport_close,
};
