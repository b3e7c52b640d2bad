/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's anchor: the least a libfuse server can do to serve zeros.
 * One file, libfuse's own single-threaded loop, reads answered from a static
 * zero buffer, writes acknowledged. No framework, no counters, no options.
 *
 *     rawzero FILE     (FILE must exist; unmount with umount FILE)
 */
#include "raw-fuse.h"

static const char zeros[1 << 20];

static void raw_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_reply_buf(req, zeros, size < sizeof(zeros) ? size : sizeof(zeros));
}

static void raw_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	fuse_reply_write(req, size);
}

static void raw_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi)
{
	raw_getattr(req, ino, fi);
}

static const struct fuse_lowlevel_ops raw_ops = {
	.getattr = raw_getattr,
	.setattr = raw_setattr,
	.open = raw_open,
	.read = raw_read,
	.write = raw_write,
};

int main(int argc, char *argv[])
{
	return raw_fuse_main(argc, argv, &raw_ops);
}
