/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's anchor: the least a libfuse device can do to change a
 * thread's priority. One file, libfuse's own single-threaded loop,
 * BOOSTER_IOC_SET answered by one sched_setattr(2) of the nice asked for: no
 * framework, no policy, no identity check, no undo record.
 *
 *     rawboost FILE     (FILE must exist; unmount with umount FILE)
 */
#include <errno.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cusekit/booster.h>

#include "raw-fuse.h"

struct sched_attr_v0 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

static void raw_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg, struct fuse_file_info *fi,
		      unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	const struct booster_request *r = in_buf;
	struct sched_attr_v0 a = { .size = sizeof(a) };

	if (cmd != BOOSTER_IOC_SET || in_bufsz != sizeof(*r)) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	a.sched_nice = r->nice;
	if (syscall(SYS_sched_setattr, r->tid, &a, 0) < 0)
		fuse_reply_err(req, errno);
	else
		fuse_reply_ioctl(req, 0, NULL, 0);
}

static const struct fuse_lowlevel_ops raw_ops = {
	.getattr = raw_getattr,
	.open = raw_open,
	.ioctl = raw_ioctl,
};

int main(int argc, char *argv[])
{
	return raw_fuse_main(argc, argv, &raw_ops);
}
