/* SPDX-License-Identifier: MIT */
/*
 * zero-test: the book's test client for the Zero device. Reads 64 bytes into
 * a buffer prefilled 1..64 and checks that all came back zero; writes 1024
 * bytes and checks the count; prints the device's totals.
 */
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cusekit/zero.h>

#include "client.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: zero-test [--device PATH] [--clear]\n\n"
		   "Check that the Zero device reads zeros and swallows writes, then print its totals.\n\n"
		   "  --device PATH  the device (default: /dev/cusekit/zero, else /run/cusekit/zero)\n"
		   "  --clear        clear the device's counters after the checks\n"
		   "  --help         show this help\n");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "clear", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *device = NULL;
	unsigned char buffer[1024];
	struct zero_stats stats;
	bool clear = false, ok = true;
	ssize_t n;
	int c, fd;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'c':
			clear = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}

	device = client_device_path(device, "zero");
	fd = client_open(device, O_RDWR);

	for (int i = 0; i < 64; i++)
		buffer[i] = (unsigned char)(i + 1);
	n = read(fd, buffer, 64);
	if (n < 0) {
		client_error(device, "read");
		return EXIT_FAILURE;
	}
	if (n != 64) {
		fprintf(stderr, "Wrong number of bytes read: %zd, expected 64\n", n);
		ok = false;
	}
	for (int i = 0; i < 64; i++)
		if (buffer[i] != 0) {
			fprintf(stderr, "Wrong data: byte %d is %u\n", i, buffer[i]);
			ok = false;
			break;
		}

	n = write(fd, buffer, sizeof(buffer));
	if (n < 0) {
		client_error(device, "write");
		return EXIT_FAILURE;
	}
	if (n != (ssize_t)sizeof(buffer)) {
		fprintf(stderr, "Wrong byte count written: %zd, expected %zu\n", n, sizeof(buffer));
		ok = false;
	}

	if (ioctl(fd, ZERO_IOC_GET_STATS, &stats) < 0) {
		client_error(device, "ZERO_IOC_GET_STATS");
		return EXIT_FAILURE;
	}
	printf("Total Read: %llu, Total Write: %llu\n", (unsigned long long)stats.total_read,
	       (unsigned long long)stats.total_written);

	if (clear && ioctl(fd, ZERO_IOC_CLEAR_STATS) < 0) {
		client_error(device, "ZERO_IOC_CLEAR_STATS");
		return EXIT_FAILURE;
	}
	close(fd);
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
