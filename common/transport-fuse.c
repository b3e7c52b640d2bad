/* SPDX-License-Identifier: MIT */
/*
 * The fallback: a one-file FUSE file system mounted on a regular file,
 * <fuse-dir>/<name>, for kernels and containers without /dev/cuse. The root
 * inode is the file; it reports the device's mode and group, and the kernel
 * enforces them (default_permissions) for every user (allow_other).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "fuse-requests.h"
#include "fs-util.h"
#include "log.h"

static void node_stat(struct cusekit_device *d, struct stat *st)
{
	*st = (struct stat){
		.st_ino = FUSE_ROOT_ID,
		.st_mode = S_IFREG | d->ops->node_mode,
		.st_nlink = 1,
		.st_uid = 0,
		.st_gid = device_node_gid(d),
	};
}

static void fuse_init(void *userdata, struct fuse_conn_info *conn)
{
	/* The kernel holds every request until INIT is answered, which
	 * libfuse does right after this returns. */
	device_node_ready(userdata);
}

static void fuse_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	node_stat(fuse_requests_device(req), &st);
	fuse_reply_attr(req, &st, 60.0);
}

/* Like a device node: truncation (dd's O_TRUNC) is a no-op; the node's
 * owner and mode are the daemon's to say. */
static void fuse_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			 struct fuse_file_info *fi)
{
	if (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fuse_getattr(req, ino, fi);
}

static void fuse_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) { fuse_requests_open(req, fi); }

static void fuse_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fuse_requests_release(req, fi);
}

/* nonseekable: the offset means nothing */
static void fuse_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_requests_read(req, size, fi);
}

static void fuse_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	fuse_requests_write(req, buf, size, fi);
}

static void fuse_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg, struct fuse_file_info *fi,
		       unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	fuse_requests_ioctl(req, cmd, fi, in_buf, in_bufsz, out_bufsz);
}

static void fuse_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct fuse_pollhandle *ph)
{
	fuse_requests_poll(req, fi, ph);
}

static const struct fuse_lowlevel_ops fuse_ops = {
	.init = fuse_init,
	.getattr = fuse_getattr,
	.setattr = fuse_setattr,
	.open = fuse_open,
	.release = fuse_release,
	.read = fuse_read,
	.write = fuse_write,
	.ioctl = fuse_ioctl,
	.poll = fuse_poll,
};

/* The mount point must be a plain file we own: clear a mount left by a
 * daemon that died, and refuse to stack on one that is alive. */
static int prepare_mount_point(const char *path)
{
	_cleanup_free_ char *copy = strdup(path);
	_cleanup_close_ int fd = -1;
	struct stat st, dst;
	const char *dir;
	int r;

	if (!copy)
		return -ENOMEM;
	dir = dirname(copy);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return log_error_errno(r, "Failed to create %s: %m", dir);

	if (stat(path, &st) < 0) {
		if (errno == ENOTCONN) {
			log_warning("%s is a stale mount of a dead daemon; unmounting it.", path);
			if (umount2(path, MNT_DETACH) < 0)
				return log_error_errno(negative_errno(), "Failed to unmount %s: %m", path);
		} else if (errno != ENOENT)
			return log_error_errno(negative_errno(), "Failed to stat %s: %m", path);
	} else if (stat(dir, &dst) == 0 && st.st_dev != dst.st_dev)
		return log_error_errno(-EBUSY, "%s is already served by another daemon.", path);

	fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return log_error_errno(negative_errno(), "Failed to create %s: %m", path);
	return 0;
}

static int fuse_transport_open(struct cusekit_device *d)
{
	char options[256];
	char *argv[] = { program_invocation_short_name, "-o", options, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	int r;

	if (asprintf(&d->node_path, "%s/%s", d->settings.fuse_dir, d->settings.name) < 0)
		return log_oom();
	r = prepare_mount_point(d->node_path);
	if (r < 0)
		return r;

	snprintf(options, sizeof(options), "allow_other,default_permissions,fsname=cusekit-%s,subtype=cusekit",
		 d->settings.name);
	d->session = fuse_session_new(&args, &fuse_ops, sizeof(fuse_ops), d);
	fuse_opt_free_args(&args);
	if (!d->session)
		return log_error_errno(-EIO, "Failed to create the FUSE session.");
	if (fuse_session_mount(d->session, d->node_path) < 0)
		return log_error_errno(-EIO, "Failed to mount %s.", d->node_path);
	return 0;
}

static void fuse_transport_close(struct cusekit_device *d)
{
	fuse_session_unmount(d->session);
	fuse_session_destroy(d->session);
	d->session = NULL;
	fuse_requests_done(d);
	/* No node, no file: a client must not write into a plain file under
	 * the daemon's name after it stopped. */
	if (unlink(d->node_path) < 0 && errno != ENOENT)
		log_warning_errno(negative_errno(), "Failed to remove %s: %m", d->node_path);
}

const struct transport transport_fuse = {
	.name = "fuse",
	.open = fuse_transport_open,
	.close = fuse_transport_close,
};
