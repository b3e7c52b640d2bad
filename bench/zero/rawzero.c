/* SPDX-License-Identifier: MIT */
/*
 * The benchmark's anchor: the least a libfuse server can do to serve zeros.
 * One file, libfuse's own single-threaded loop, reads answered from a static
 * zero buffer, writes acknowledged. No framework, no counters, no options.
 *
 *     rawzero FILE     (FILE must exist; unmount with umount FILE)
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static const char zeros[1 << 20];

static void raw_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st = { .st_ino = 1, .st_mode = S_IFREG | 0666, .st_nlink = 1 };

	fuse_reply_attr(req, &st, 60.0);
}

static void raw_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

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
	char *fuse_argv[] = { argv[0], "-o", "allow_other", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
	struct fuse_session *se;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	se = fuse_session_new(&args, &raw_ops, sizeof(raw_ops), NULL);
	if (!se || fuse_set_signal_handlers(se) < 0 || fuse_session_mount(se, argv[1]) < 0)
		return 1;
	r = fuse_session_loop(se);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	return r ? 1 : 0;
}
