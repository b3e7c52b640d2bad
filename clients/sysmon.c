/* SPDX-License-Identifier: MIT */
/*
 * sysmon: the book's SysMon client. Prints every record the device gives,
 * one line each with the time of day; --json for JSON lines, --format=
 * sysmon-xml for Sysmon for Linux's XML events. Reads block, so nothing is
 * polled on a timer. Records are walked with <cusekit/sysmon.h> alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cusekit/sysmon.h>

#include "client.h"
#include "parse.h"
#include "sysmon-output.h"

#define READ_SIZE 65536
#define ALL_EXITS (SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT) | SYSMON_TYPE_BIT(SYSMON_THREAD_EXIT))
#define ALL_FILES                                                                                 \
	(SYSMON_TYPE_BIT(SYSMON_FILE_WRITE) | SYSMON_TYPE_BIT(SYSMON_FILE_CREATE) |                \
	 SYSMON_TYPE_BIT(SYSMON_FILE_DELETE) | SYSMON_TYPE_BIT(SYSMON_FILE_RENAME))

/* forkstat's -e names, then cusekit's own. */
static const struct {
	const char *name;
	uint32_t types;
} event_classes[] = {
	{ "fork", SYSMON_TYPE_BIT(SYSMON_PROCESS_CREATE) },
	{ "exec", SYSMON_TYPE_BIT(SYSMON_PROCESS_EXEC) },
	{ "exit", ALL_EXITS },
	{ "core", SYSMON_TYPE_BIT(SYSMON_COREDUMP) },
	{ "comm", SYSMON_TYPE_BIT(SYSMON_COMM) },
	{ "clone", SYSMON_TYPE_BIT(SYSMON_THREAD_CREATE) },
	{ "ptrce", SYSMON_TYPE_BIT(SYSMON_PTRACE) },
	{ "uid", SYSMON_TYPE_BIT(SYSMON_UID_CHANGE) | SYSMON_TYPE_BIT(SYSMON_GID_CHANGE) },
	{ "sid", SYSMON_TYPE_BIT(SYSMON_SESSION) },
	{ "nonzeroexit", ALL_EXITS },   /* and SYSMON_FILTER_NONZERO_EXIT */
	{ "all", SYSMON_TYPES_ALL },
	{ "thread", SYSMON_TYPE_BIT(SYSMON_THREAD_CREATE) | SYSMON_TYPE_BIT(SYSMON_THREAD_EXIT) },
	{ "ptrace", SYSMON_TYPE_BIT(SYSMON_PTRACE) },
	{ "gid", SYSMON_TYPE_BIT(SYSMON_GID_CHANGE) },
	{ "image", SYSMON_TYPE_BIT(SYSMON_IMAGE_LOAD) },
	{ "file", ALL_FILES },
	{ "file-create", SYSMON_TYPE_BIT(SYSMON_FILE_CREATE) },
	{ "file-delete", SYSMON_TYPE_BIT(SYSMON_FILE_DELETE) },
	{ "file-rename", SYSMON_TYPE_BIT(SYSMON_FILE_RENAME) },
	{ "file-write", SYSMON_TYPE_BIT(SYSMON_FILE_WRITE) },
};

static void (*print_record)(const struct sysmon_header *h) = print_text;

static void usage(FILE *f)
{
	fprintf(f, "Usage: sysmon [--device PATH] [--json | --format=text|json|sysmon-xml] [-e EVENT[,EVENT...]]\n"
		   "              [--pid PID] [--uid UID] [--count N]\n\n"
		   "Print process, thread, image and file events from the SysMon device, one line each.\n\n"
		   "  --device PATH   the device (default: /dev/cusekit/sysmon, else /run/cusekit/sysmon)\n"
		   "  --json          JSON lines (the same as --format=json)\n"
		   "  --format=F      text (default), json, or sysmon-xml (Sysmon for Linux's XML events)\n"
		   "  -e, --events    forkstat's fork,exec,exit,core,comm,clone,ptrce,uid,sid,nonzeroexit,\n"
		   "                  all, and thread,ptrace,gid,image,file,file-create,file-delete,\n"
		   "                  file-rename,file-write (default: all)\n"
		   "  --pid PID       only events of this process\n"
		   "  --uid UID       only events of processes whose real uid is UID\n"
		   "  --count N       stop after N events (losses are reported, not counted)\n"
		   "  --help          show this help\n");
}

static int parse_events(const char *arg, struct sysmon_filter *filter)
{
	char *copy = strdup(arg), *save = NULL;
	bool nonzero_only = false, exits = false;

	filter->type_mask = 0;
	if (!copy)
		return -ENOMEM;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < sizeof(event_classes) / sizeof(event_classes[0]); i++)
			if (!strcmp(p, event_classes[i].name))
				break;
		if (i == sizeof(event_classes) / sizeof(event_classes[0])) {
			free(copy);
			return -EINVAL;
		}
		filter->type_mask |= event_classes[i].types;
		if (!strcmp(p, "nonzeroexit"))
			nonzero_only = true;
		else if (event_classes[i].types & ALL_EXITS)
			exits = true;   /* exit or all: every exit */
	}
	free(copy);
	if (nonzero_only && !exits)
		filter->flags |= SYSMON_FILTER_NONZERO_EXIT;
	return filter->type_mask ? 0 : -EINVAL;
}

static int parse_format(const char *arg)
{
	if (!strcmp(arg, "text"))
		print_record = print_text;
	else if (!strcmp(arg, "json"))
		print_record = print_json;
	else if (!strcmp(arg, "sysmon-xml"))
		print_record = print_sysmon_xml;
	else
		return -EINVAL;
	return 0;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ "events", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "uid", required_argument, NULL, 'u' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct sysmon_filter filter = { .type_mask = SYSMON_TYPES_ALL };
	const char *device = NULL, *path;
	unsigned long long count = 0, printed = 0;
	static _Alignas(8) unsigned char buf[READ_SIZE];
	long long value;
	int c, fd;

	while ((c = getopt_long(argc, argv, "he:", options, NULL)) >= 0)
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'j':
			print_record = print_json;
			break;
		case 'f':
			if (parse_format(optarg) < 0) {
				fprintf(stderr, "sysmon: unknown format '%s'\n", optarg);
				return 2;
			}
			break;
		case 'e':
			if (parse_events(optarg, &filter) < 0) {
				fprintf(stderr, "sysmon: unknown event class in '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			if (cusekit_parse_integer(optarg, 1, INT32_MAX, &value) < 0) {
				fprintf(stderr, "sysmon: bad pid '%s'\n", optarg);
				return 2;
			}
			filter.pid = (uint32_t)value;
			filter.flags |= SYSMON_FILTER_PID;
			break;
		case 'u':
			if (cusekit_parse_integer(optarg, 0, UINT32_MAX - 1, &value) < 0) {
				fprintf(stderr, "sysmon: bad uid '%s'\n", optarg);
				return 2;
			}
			filter.uid = (uint32_t)value;
			filter.flags |= SYSMON_FILTER_UID;
			break;
		case 'n':
			if (cusekit_parse_integer(optarg, 1, LLONG_MAX, &value) < 0) {
				fprintf(stderr, "sysmon: bad count '%s'\n", optarg);
				return 2;
			}
			count = (unsigned long long)value;
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

	path = client_device_path(device, "sysmon");
	fd = client_open(path, O_RDONLY);
	if (ioctl(fd, SYSMON_IOC_SET_FILTER, &filter) < 0) {
		client_error(path, "set filter");
		return EXIT_FAILURE;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (!count || printed < count) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			client_error(path, "read");
			return EXIT_FAILURE;
		}
		int bad = 0;

		for (const struct sysmon_header *h = sysmon_record_first(buf, (size_t)n, &bad);
		     h && (!count || printed < count); h = sysmon_record_next(buf, (size_t)n, h, &bad)) {
			print_record(h);
			printed += h->type != SYSMON_EVENTS_LOST;
		}
		if (bad) {
			fprintf(stderr, "sysmon: %s: malformed record\n", path);
			return EXIT_FAILURE;
		}
	}
	return EXIT_SUCCESS;
}
