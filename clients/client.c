/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cusekit/common.h>

#include "client.h"

const char *client_device_path(const char *given, const char *device)
{
	static char path[256];

	if (given)
		return given;
	snprintf(path, sizeof(path), CUSEKIT_DEV_DIR "/%s", device);
	if (access(path, F_OK) == 0)
		return path;
	snprintf(path, sizeof(path), CUSEKIT_FUSE_DIR "/%s", device);
	return path;
}

void client_error(const char *path, const char *what)
{
	fprintf(stderr, "%s: %s: %s: %s\n", program_invocation_short_name, path, what, strerror(errno));
}

int client_open(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, path, strerror(errno));
		exit(EXIT_FAILURE);
	}
	return fd;
}
