/* SPDX-License-Identifier: MIT */
/*
 * Options common to every daemon, plus the device's own. A device option can
 * be given on the command line (--name=value) or in the device's
 * configuration file (name = value); the command line wins.
 */
#pragma once

#include <stdio.h>

#include "device.h"

enum cusekit_transport_choice {
	CUSEKIT_TRANSPORT_AUTO,
	CUSEKIT_TRANSPORT_CUSE,
	CUSEKIT_TRANSPORT_FUSE,
};

struct cusekit_settings {
	enum cusekit_transport_choice transport;
	char *name;        /* node cusekit/<name> */
	char *fuse_dir;    /* fuse transport: <fuse_dir>/<name> */
	char *state_dir;
	char *config;      /* NULL: <config dir>/<device>.conf if it exists */
	int log_level;
	/* Files one user other than root may hold open on the node; the next
	 * open fails with EMFILE. Each costs the daemon memory, and without a
	 * bound one user's many processes could make it grow without end. */
	unsigned max_opens_per_user;
};

#define CUSEKIT_MAX_OPENS_PER_USER 1024

void cusekit_settings_done(struct cusekit_settings *s);

/* Parse the command line and the configuration file into s and the device's
 * options. Returns 0 to run, 1 when --help or --version was answered, -errno
 * (after saying why on stderr) on a bad option or setting. */
int cusekit_parse_args(int argc, char *argv[], const struct cusekit_device_ops *ops, void *userdata,
		       struct cusekit_settings *s);

/* One configuration file, "name = value" lines, '#' comments. */
int cusekit_parse_config(FILE *f, const char *path, const struct cusekit_device_ops *ops, void *userdata,
			 struct cusekit_settings *s);
