/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What every raw-libfuse anchor of the benchmarks shares: one file served by
 * libfuse's own single-threaded loop, no framework. An anchor supplies its
 * request handlers; getattr and open are the same for all.
 */
#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>

void raw_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void raw_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);

/* Mounts ops on argv[1] (an existing file) and serves until unmounted or
 * signalled; the exit status for main(). */
int raw_fuse_main(int argc, char *argv[], const struct fuse_lowlevel_ops *ops);
