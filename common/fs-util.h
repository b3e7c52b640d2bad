/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* Create directory path and its parents; an existing one is fine. */
int mkdir_p(const char *path, mode_t mode);
/* The whole buffer or an error; -EBADMSG when the file ends first. */
int read_full(int fd, void *buf, size_t size);
int write_full(int fd, const void *buf, size_t size);
