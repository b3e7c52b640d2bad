/* SPDX-License-Identifier: MIT */
/*
 * libfuse, as the framework uses it on both transports: the backend that
 * answers requests, the glue from libfuse's calls to the framework's
 * requests (device-private.h), and the receiving end of the channel.
 */
#pragma once

#ifndef FUSE_USE_VERSION
#define FUSE_USE_VERSION 312 /* libfuse 3.12 API: what Debian 12 (3.14) has */
#endif
#include <fuse_lowlevel.h>

#include "device-private.h"

extern const struct cusekit_backend fuse_requests_backend;

/* The device a request is for: the session's userdata. */
static inline struct cusekit_device *fuse_requests_device(fuse_req_t req) { return fuse_req_userdata(req); }

void fuse_requests_open(fuse_req_t req, struct fuse_file_info *fi);
void fuse_requests_release(fuse_req_t req, struct fuse_file_info *fi);
void fuse_requests_read(fuse_req_t req, size_t size, struct fuse_file_info *fi);
void fuse_requests_write(fuse_req_t req, const char *buf, size_t size, struct fuse_file_info *fi);
void fuse_requests_ioctl(fuse_req_t req, unsigned int cmd, struct fuse_file_info *fi, const void *in,
			 size_t in_size, size_t out_size);
void fuse_requests_poll(fuse_req_t req, struct fuse_file_info *fi, struct fuse_pollhandle *ph);

/* The channel's fd, once a transport opened the session. */
int fuse_requests_fd(struct cusekit_device *d);
/* Receive and handle one request: 0, -EAGAIN when there is none now,
 * -ENODEV when the channel is gone (unmounted, the node removed or refused),
 * other -errno on errors. */
int fuse_requests_receive(struct cusekit_device *d);
/* The session's receive buffer. */
void fuse_requests_done(struct cusekit_device *d);
