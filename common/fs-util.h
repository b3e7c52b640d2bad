/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Create directory path and its parents; an existing one is fine. */
int mkdir_p(const char *path, mode_t mode);
/* The whole buffer or an error; -EBADMSG when the file ends first. */
int read_full(int fd, void *buf, size_t size);
int write_full(int fd, const void *buf, size_t size);

struct stat;
/* Open path, which must name a regular file, without opening anything else
 * on the way: a FIFO would block, a device act on open. -EBADFD when it is
 * something else (*ret_st says what). O_NOFOLLOW in flags: a final symlink
 * is something else too. */
int open_regular(const char *path, int flags, struct stat *ret_st);
/* "a FIFO", "a directory", ...: what st is, for messages. */
const char *file_kind(const struct stat *st);
