/* SPDX-License-Identifier: MIT */
/*
 * sysmon: the book's SysMon client. Prints every record the device gives,
 * one line each with the time of day; --json for JSON lines. Reads block, so
 * nothing is polled on a timer.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/sysmon.h>

#include "client.h"
#include "record.h"

#define READ_SIZE 65536

static const struct {
	const char *name;
	uint32_t types;
} event_classes[] = {
	{ "fork", SYSMON_TYPE_BIT(SYSMON_PROCESS_CREATE) },
	{ "exec", SYSMON_TYPE_BIT(SYSMON_PROCESS_EXEC) },
	{ "exit", SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT) },
	{ "thread", SYSMON_TYPE_BIT(SYSMON_THREAD_CREATE) | SYSMON_TYPE_BIT(SYSMON_THREAD_EXIT) },
	{ "image", SYSMON_TYPE_BIT(SYSMON_IMAGE_LOAD) },
	{ "file", SYSMON_TYPE_BIT(SYSMON_FILE_WRITE) },
};

static bool json;

static void usage(FILE *f)
{
	fprintf(f, "Usage: sysmon [--device PATH] [--json] [-e CLASS[,CLASS...]] [--pid PID] [--count N]\n\n"
		   "Print process, thread, image and file events from the SysMon device, one line each.\n\n"
		   "  --device PATH   the device (default: /dev/cusekit/sysmon, else /run/cusekit/sysmon)\n"
		   "  --json          JSON lines\n"
		   "  -e, --events    fork,exec,exit,thread,image,file (default: all)\n"
		   "  --pid PID       only events of this process\n"
		   "  --count N       stop after N events (losses are reported, not counted)\n"
		   "  --help          show this help\n");
}

static int parse_events(const char *arg, uint32_t *mask)
{
	char *copy = strdup(arg), *save = NULL;

	*mask = 0;
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
		*mask |= event_classes[i].types;
	}
	free(copy);
	return *mask ? 0 : -EINVAL;
}

/* A string of len bytes: JSON-escaped, or as is (NULs as spaces). */
static void print_string(const char *s, size_t len)
{
	if (json)
		putchar('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!json)
			putchar(c ? c : ' ');
		else if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	if (json)
		putchar('"');
}

/* argv from a NUL-separated command line. */
static void print_argv(const char *s, size_t len)
{
	size_t start = 0;

	if (len > 0 && s[len - 1] == 0)
		len--;   /* the last argument's NUL */
	if (!json) {
		print_string(s, len);
		return;
	}
	putchar('[');
	for (size_t i = 0; i <= len; i++)
		if (i == len || s[i] == 0) {
			if (start > 0)
				putchar(',');
			print_string(s + start, i - start);
			start = i + 1;
		}
	putchar(']');
}

static void print_time(uint64_t time_ns)
{
	time_t sec = (time_t)(time_ns / 1000000000u);
	struct tm tm;
	char buf[32];

	localtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), json ? "%Y-%m-%dT%H:%M:%S" : "%H:%M:%S", &tm);
	printf(json ? "{\"time\":\"%s.%06u\",\"time_ns\":%llu," : "%s.%03u ", buf,
	       (unsigned)(time_ns % 1000000000u / (json ? 1000u : 1000000u)), json ? (unsigned long long)time_ns : 0ull);
}

/* "name":value or name value */
static void field(const char *name, unsigned long long value)
{
	printf(json ? ",\"%s\":%llu" : " %s %llu", name, value);
}

static void label(const char *name)
{
	printf(json ? ",\"%s\":" : " ", name);
}

static void print_record(const struct sysmon_header *h)
{
	const char *type = sm_type_name(h->type);

	print_time(h->time_ns);
	if (json)
		printf("\"type\":\"%s\"", type ? type : "unknown");
	else
		printf("%-13s", type ? type : "unknown");
	switch (h->type) {
	case SYSMON_PROCESS_CREATE:
	case SYSMON_THREAD_CREATE: {
		const struct sysmon_create *c = (const void *)h;

		field("pid", c->pid);
		field("tid", c->tid);
		field("ppid", c->ppid);
		if (c->creator_tid)
			field("creator", c->creator_tid);
		field("uid", c->uid);
		break;
	}
	case SYSMON_PROCESS_EXEC: {
		const struct sysmon_exec *x = (const void *)h;

		field("pid", x->pid);
		field("uid", x->uid);
		label("image");
		print_string(sm_record_string(x, x->image_offset), x->image_length);
		label("argv");
		print_argv(sm_record_string(x, x->cmdline_offset), x->cmdline_length);
		break;
	}
	case SYSMON_PROCESS_EXIT:
	case SYSMON_THREAD_EXIT: {
		const struct sysmon_exit *e = (const void *)h;

		field("pid", e->pid);
		if (h->type == SYSMON_THREAD_EXIT)
			field("tid", e->tid);
		field("code", e->exit_code);
		field("signal", e->signal);
		field("uid", e->uid);
		break;
	}
	case SYSMON_IMAGE_LOAD:
	case SYSMON_FILE_WRITE: {
		const struct sysmon_path *p = (const void *)h;

		field("pid", p->pid);
		field("uid", p->uid);
		label("path");
		print_string(sm_record_string(p, p->path_offset), p->path_length);
		break;
	}
	case SYSMON_EVENTS_LOST: {
		const struct sysmon_lost *l = (const void *)h;

		field("count", l->count);
		field("kernel_overruns", l->kernel_overruns);
		if (!json)
			printf(" (%s%s%s)", l->reasons & SYSMON_LOST_READER ? "reader too slow" : "",
			       l->reasons == (SYSMON_LOST_READER | SYSMON_LOST_KERNEL) ? ", " : "",
			       l->reasons & SYSMON_LOST_KERNEL ? "kernel overrun" : "");
		break;
	}
	default:
		break;
	}
	puts(json ? "}" : "");
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "events", required_argument, NULL, 'e' },
		{ "pid", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct sysmon_filter filter = { .type_mask = SYSMON_TYPES_ALL };
	const char *device = NULL, *path;
	unsigned long long count = 0, printed = 0;
	static _Alignas(8) unsigned char buf[READ_SIZE];
	unsigned long value;
	char *end;
	int c, fd;

	while ((c = getopt_long(argc, argv, "he:", options, NULL)) >= 0)
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'e':
			if (parse_events(optarg, &filter.type_mask) < 0) {
				fprintf(stderr, "sysmon: unknown event class in '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p':
			errno = 0;
			value = strtoul(optarg, &end, 10);
			filter.pid = (uint32_t)value;
			if (*end || !*optarg || optarg[0] == '-' || errno || value == 0 || value > INT32_MAX) {
				fprintf(stderr, "sysmon: bad pid '%s'\n", optarg);
				return 2;
			}
			filter.flags |= SYSMON_FILTER_PID;
			break;
		case 'n':
			count = strtoull(optarg, &end, 10);
			if (*end || !*optarg || count == 0) {
				fprintf(stderr, "sysmon: bad count '%s'\n", optarg);
				return 2;
			}
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
		for (size_t off = 0; off < (size_t)n && (!count || printed < count);) {
			int size = sm_record_check(buf + off, (size_t)n - off);

			if (size < 0) {
				fprintf(stderr, "sysmon: %s: malformed record\n", path);
				return EXIT_FAILURE;
			}
			print_record((const struct sysmon_header *)(buf + off));
			printed += ((const struct sysmon_header *)(buf + off))->type != SYSMON_EVENTS_LOST;
			off += (size_t)size;
		}
	}
	return EXIT_SUCCESS;
}
