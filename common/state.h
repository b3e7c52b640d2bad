/* SPDX-License-Identifier: MIT */
/*
 * State files: a daemon's state kept across restarts. A file is a small
 * header (magic, the caller's format version, length, CRC-32) and the
 * payload.
 *
 * Saved state is written to a temporary file, synced and renamed over the
 * old one: a crash leaves either the old state or the new, never a torn mix.
 * Mapped state (counters updated on every request) lives in a shared mapping
 * of its file: every store is in the page cache at once, so a crash of the
 * daemon loses nothing; the kernel writes it back.
 *
 * Loading opens nothing but a regular file (a FIFO would block, a device
 * act); whatever else is found, corrupt or of another version, is a warning
 * naming what was found, and the daemon starts fresh.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The largest payload a state file may hold. */
#define CUSEKIT_STATE_MAX_SIZE (16u << 20)

/* 0 and a malloc()ed payload; -ENOENT if there is no file; another -errno
 * when the file cannot be used, after a warning that names what (e.g.
 * "counters") is ignored and why (what NULL: no warning). */
int cusekit_state_load(const char *path, uint32_t version, const char *what, void **ret, size_t *ret_size);
int cusekit_state_save(const char *path, uint32_t version, const void *data, size_t size);

/* Map size bytes of state shared with path. Returns 1 when they hold the
 * saved state, 0 when they were started fresh (zeroed; after a warning if a
 * file was there but unusable), -errno when nothing could be mapped. */
int cusekit_state_map(const char *path, uint32_t version, const char *what, size_t size, void **ret);
void cusekit_state_unmap(void *data, size_t size);
/* Write data as mapped state, replacing whatever path holds: to carry state
 * saved in an older format over to the mapped one. */
int cusekit_state_save_mapped(const char *path, uint32_t version, const void *data, size_t size);
/* Ask the kernel to write mapped state back now (for power cuts). */
int cusekit_state_sync(void *data, size_t size);

uint32_t cusekit_crc32(const void *data, size_t size);
