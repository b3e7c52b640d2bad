/* SPDX-License-Identifier: MIT */
/*
 * protect: the book's KProtect client, with the book's exercise (list) and
 * executables.
 *
 *   protect add|remove PID...    protect or unprotect processes
 *   protect clear                unprotect every process
 *   protect list                 the protected processes
 *   protect deny-exec PATH       refuse executing the file (any name of it)
 *   protect allow-exec PATH      allow it again
 *   protect list-exec            the denied files
 *   protect status               which guards enforce, counts, denials
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cusekit/kprotect.h>

#include "client.h"

static const char *device;

static void usage(FILE *f)
{
	fprintf(f, "Usage: protect [--device PATH] COMMAND [ARG...]\n\n"
		   "Protect processes from being killed, stopped or traced by others, and deny\n"
		   "executables, through the KProtect device.\n\n"
		   "  add PID...        protect processes\n"
		   "  remove PID...     unprotect processes\n"
		   "  clear             unprotect every process\n"
		   "  list              list the protected processes\n"
		   "  deny-exec PATH    refuse executing the file, under any of its names\n"
		   "  allow-exec PATH   allow executing the file again\n"
		   "  list-exec         list the denied files\n"
		   "  status            show which guards enforce, counts and denials\n\n"
		   "  --device PATH     the device (default: /dev/cusekit/kprotect, else /run/cusekit/kprotect)\n"
		   "  --help            show this help\n");
}

static int fail(const char *what)
{
	client_error(device, what);
	return EXIT_FAILURE;
}

static int parse_pid(const char *s, __u32 *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v == 0 || v > INT_MAX || s[0] == '-')
		return -EINVAL;
	*ret = (__u32)v;
	return 0;
}

/* add/remove: batches of KPROTECT_PIDS_MAX; the count done comes back. */
static int cmd_pids(int fd, unsigned long cmd, const char *verb, int n, char *args[])
{
	struct kprotect_pids pids;
	unsigned done = 0;

	for (int i = 0; i < n; i += KPROTECT_PIDS_MAX) {
		pids = (struct kprotect_pids){ .count = (__u32)(n - i < KPROTECT_PIDS_MAX ? n - i : KPROTECT_PIDS_MAX) };
		for (__u32 j = 0; j < pids.count; j++)
			if (parse_pid(args[i + (int)j], &pids.pids[j]) < 0) {
				fprintf(stderr, "protect: invalid pid '%s'\n", args[i + (int)j]);
				return 2;
			}
		if (ioctl(fd, cmd, &pids) < 0)
			return fail(verb);
		done += pids.count;
	}
	if (done == (unsigned)n)
		printf("Operation succeeded.\n");
	else
		printf("Operation succeeded. %u of %d pids %s.\n", done, n,
		       cmd == KPROTECT_IOC_ADD_PIDS ? "added" : "removed");
	return EXIT_SUCCESS;
}

static int cmd_clear(int fd)
{
	if (ioctl(fd, KPROTECT_IOC_CLEAR) < 0)
		return fail("clear");
	printf("Operation succeeded.\n");
	return EXIT_SUCCESS;
}

static int cmd_list(int fd)
{
	struct kprotect_pid_list page = {};

	do {
		if (ioctl(fd, KPROTECT_IOC_LIST, &page) < 0)
			return fail("list");
		for (__u32 i = 0; i < page.count; i++)
			printf("%" PRIu32 "\n", page.entries[i].pid);
		page.offset += page.count;
	} while (page.count > 0 && page.offset < page.total);
	return EXIT_SUCCESS;
}

static int cmd_path(int fd, unsigned long cmd, const char *verb, const char *path)
{
	struct kprotect_path p = {};
	char cwd[PATH_MAX];
	int n;

	/* The daemon resolves paths in its own working directory: send an
	 * absolute one. */
	if (path[0] == '/')
		n = snprintf(p.path, sizeof(p.path), "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(p.path, sizeof(p.path), "%s/%s", cwd, path);
	else
		return fail("getcwd");
	if (n < 0 || (size_t)n >= sizeof(p.path)) {
		fprintf(stderr, "protect: path too long: %s\n", path);
		return EXIT_FAILURE;
	}
	if (ioctl(fd, cmd, &p) < 0)
		return fail(verb);
	printf("Operation succeeded.\n");
	return EXIT_SUCCESS;
}

static int cmd_list_exec(int fd)
{
	static struct kprotect_exec_list page;

	do {
		if (ioctl(fd, KPROTECT_IOC_LIST_EXEC, &page) < 0)
			return fail("list-exec");
		for (__u32 i = 0; i < page.count; i++)
			printf("%s\t(device %u:%u, inode %" PRIu64 ")\n", page.entries[i].path,
			       major((dev_t)page.entries[i].dev), minor((dev_t)page.entries[i].dev),
			       (uint64_t)page.entries[i].ino);
		page.offset += page.count;
	} while (page.count > 0 && page.offset < page.total);
	return EXIT_SUCCESS;
}

static void print_guard(const char *name, int active, int error)
{
	if (active)
		printf("%s: active\n", name);
	else
		printf("%s: NOT active (%s)\n", name, strerror(error));
}

static int cmd_status(int fd)
{
	struct kprotect_status st;

	if (ioctl(fd, KPROTECT_IOC_GET_STATUS, &st) < 0)
		return fail("status");
	print_guard("Kill guard (BPF LSM)", st.guards & KPROTECT_KILL_GUARD, st.kill_guard_error);
	print_guard("Exec guard (fanotify)", st.guards & KPROTECT_EXEC_GUARD, st.exec_guard_error);
	printf("Protected processes: %" PRIu32 " of %" PRIu32 "\n", st.pid_count, st.pid_capacity);
	printf("Denied executables: %" PRIu32 " of %" PRIu32 "\n", st.exec_count, st.exec_capacity);
	printf("Signals refused: %" PRIu64 "\n", (uint64_t)st.kill_denials);
	printf("Ptrace attaches refused: %" PRIu64 "\n", (uint64_t)st.ptrace_denials);
	printf("Executions refused: %" PRIu64 "\n", (uint64_t)st.exec_denials);
	return EXIT_SUCCESS;
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *command;
	int c, fd, nargs;
	char **args;

	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	command = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;

	device = client_device_path(device, "kprotect");
	if ((!strcmp(command, "add") || !strcmp(command, "remove")) && nargs > 0) {
		fd = client_open(device, O_RDONLY);
		return cmd_pids(fd, !strcmp(command, "add") ? KPROTECT_IOC_ADD_PIDS : KPROTECT_IOC_REMOVE_PIDS,
				command, nargs, args);
	}
	if ((!strcmp(command, "deny-exec") || !strcmp(command, "allow-exec")) && nargs == 1) {
		fd = client_open(device, O_RDONLY);
		return cmd_path(fd, !strcmp(command, "deny-exec") ? KPROTECT_IOC_DENY_EXEC : KPROTECT_IOC_ALLOW_EXEC,
				command, args[0]);
	}
	if (nargs == 0) {
		int (*fn)(int) = !strcmp(command, "clear")       ? cmd_clear
				 : !strcmp(command, "list")      ? cmd_list
				 : !strcmp(command, "list-exec") ? cmd_list_exec
				 : !strcmp(command, "status")    ? cmd_status
								 : NULL;

		if (fn)
			return fn(client_open(device, O_RDONLY));
	}
	usage(stderr);
	return 2;
}
