/* SPDX-License-Identifier: MIT */
/*
 * State files: a daemon's state kept across restarts. A file is a small
 * header (magic, the caller's format version, length, CRC-32) and the
 * payload, written to a temporary file, synced and renamed over the old one:
 * a crash leaves either the old state or the new, never a torn mix.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Returns 0 and a malloc()ed payload, -ENOENT if there is no file, -EBADMSG if
 * it is corrupt or of another version, other -errno on I/O errors. */
int cusekit_state_load(const char *path, uint32_t version, void **ret, size_t *ret_size);
int cusekit_state_save(const char *path, uint32_t version, const void *data, size_t size);

uint32_t cusekit_crc32(const void *data, size_t size);
