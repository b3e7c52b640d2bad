/* SPDX-License-Identifier: MIT */
/* What every client shares: finding the device and saying what went wrong. */
#pragma once

#include <stdnoreturn.h>

/* --device PATH if given, else /dev/cusekit/<device> if it exists, else the
 * fuse fallback /run/cusekit/<device>. */
const char *client_device_path(const char *given, const char *device);

/* open(2) the device; on failure print "<program>: <path>: <errno text>"
 * and exit 1. */
int client_open(const char *path, int flags);

/* Print "<program>: <path>: <what>: <errno text>" for the current errno. */
void client_error(const char *path, const char *what);
