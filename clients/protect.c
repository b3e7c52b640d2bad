/* SPDX-License-Identifier: MIT */
/*
 * protect: the book's KProtect client, with the book's exercise (list),
 * executables, programs, rules files and modes.
 *
 *   protect add|remove PID...         protect or unprotect processes
 *   protect clear                     unprotect every process
 *   protect list                      every rule and where it comes from
 *   protect deny-exec|allow-exec PATH refuse executing the file (any name of it), or stop
 *   protect list-exec                 the denied files
 *   protect add-exe|remove-exe PATH   protect every process executing the file, or stop
 *   protect list-exe                  the protected programs
 *   protect mode [enforcing|permissive]
 *   protect check [PATH]              read rules files as a reload would, apply nothing
 *   protect status                    which guards enforce what, counts, refusals
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cusekit/kprotect.h>

#include "client.h"
#include "parse.h"

static const char *device;

static void usage(FILE *f)
{
	fprintf(f, "Usage: protect [--device PATH] COMMAND [ARG...]\n\n"
		   "Protect processes from being killed, stopped or traced by others, and deny\n"
		   "executables, through the KProtect device. Rules files: /etc/cusekit/kprotect.d/*.rules\n"
		   "(lines 'deny-exec PATH' and 'add-exe PATH'; systemctl reload cusekit-kprotect).\n\n"
		   "  add PID...        protect processes\n"
		   "  remove PID...     unprotect processes\n"
		   "  clear             unprotect every process\n"
		   "  list              list every rule and where it comes from\n"
		   "  deny-exec PATH    refuse executing the file, under any of its names\n"
		   "  allow-exec PATH   allow executing the file again\n"
		   "  list-exec         list the denied files\n"
		   "  add-exe PATH      protect every process executing the file\n"
		   "  remove-exe PATH   stop protecting them\n"
		   "  list-exe          list the protected programs\n"
		   "  mode [MODE]       show or set the mode: enforcing, or permissive (refuse\n"
		   "                    nothing, log and count what would be refused)\n"
		   "  check [PATH]      check the rules files (or the file or directory PATH)\n"
		   "                    as a reload would read them, without applying them\n"
		   "  status            show which guards enforce what, counts and refusals\n\n"
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
	long long v;
	int r = cusekit_parse_integer(s, 1, INT_MAX, &v);

	if (r >= 0)
		*ret = (__u32)v;
	return r;
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

/* The pid rules: as rules (with their origin), or the book's one pid a line. */
static int cmd_list_pids(int fd, bool rules_syntax)
{
	struct kprotect_pid_list page = {};

	do {
		if (ioctl(fd, KPROTECT_IOC_LIST, &page) < 0)
			return fail("list");
		for (__u32 i = 0; i < page.count; i++)
			if (rules_syntax)
				printf("add %" PRIu32 "\tioctl\n", page.entries[i].pid);
			else
				printf("%" PRIu32 "\n", page.entries[i].pid);
		page.offset += page.count;
	} while (page.count > 0 && page.offset < page.total);
	return EXIT_SUCCESS;
}

static int cmd_list_files(int fd, unsigned long cmd, const char *verb, bool rules_syntax)
{
	static struct kprotect_file_list page;

	memset(&page, 0, sizeof(page));
	do {
		if (ioctl(fd, cmd, &page) < 0)
			return fail(verb);
		for (__u32 i = 0; i < page.count; i++) {
			const struct kprotect_file_entry *entry = &page.entries[i];
			const char *origin = entry->origin[0] ? entry->origin : "ioctl";

			if (rules_syntax)
				printf("%s %s\t%s\n", cmd == KPROTECT_IOC_LIST_EXEC ? "deny-exec" : "add-exe", entry->path,
				       origin);
			else
				printf("%s\t(device %u:%u, inode %" PRIu64 ", from %s)\n", entry->path,
				       major((dev_t)entry->dev), minor((dev_t)entry->dev), (uint64_t)entry->ino, origin);
		}
		page.offset += page.count;
	} while (page.count > 0 && page.offset < page.total);
	return EXIT_SUCCESS;
}

/* Every rule, one a line as a command would make it, a tab and its origin
 * ("ioctl", or NAME:LINE of a rules file). */
static int cmd_list(int fd)
{
	int r = cmd_list_pids(fd, true);

	if (r == EXIT_SUCCESS)
		r = cmd_list_files(fd, KPROTECT_IOC_LIST_EXE, "list", true);
	if (r == EXIT_SUCCESS)
		r = cmd_list_files(fd, KPROTECT_IOC_LIST_EXEC, "list", true);
	return r;
}

static int cmd_list_exec(int fd)
{
	return cmd_list_files(fd, KPROTECT_IOC_LIST_EXEC, "list-exec", false);
}

static int cmd_list_exe(int fd)
{
	return cmd_list_files(fd, KPROTECT_IOC_LIST_EXE, "list-exe", false);
}

static const char *mode_name(__u32 mode)
{
	return mode == KPROTECT_MODE_ENFORCING ? "enforcing" : mode == KPROTECT_MODE_PERMISSIVE ? "permissive" : "unknown";
}

static int cmd_mode(int fd, const char *arg)
{
	struct kprotect_mode m;
	struct kprotect_status st;

	if (!arg) {
		if (ioctl(fd, KPROTECT_IOC_GET_STATUS, &st) < 0)
			return fail("mode");
		printf("%s\n", mode_name(st.mode));
		return EXIT_SUCCESS;
	}
	if (!strcmp(arg, "enforcing"))
		m.mode = KPROTECT_MODE_ENFORCING;
	else if (!strcmp(arg, "permissive"))
		m.mode = KPROTECT_MODE_PERMISSIVE;
	else {
		fprintf(stderr, "protect: mode is enforcing or permissive, not '%s'\n", arg);
		return 2;
	}
	if (ioctl(fd, KPROTECT_IOC_SET_MODE, &m) < 0)
		return fail("mode");
	printf("Operation succeeded.\n");
	return EXIT_SUCCESS;
}

static int absolute_path(const char *path, char *buf, size_t size)
{
	char cwd[PATH_MAX];
	int n;

	/* The daemon resolves paths in its own working directory: send an
	 * absolute one. */
	if (path[0] == '/')
		n = snprintf(buf, size, "%s", path);
	else if (getcwd(cwd, sizeof(cwd)))
		n = snprintf(buf, size, "%s/%s", cwd, path);
	else
		return -errno;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int cmd_path(int fd, unsigned long cmd, const char *verb, const char *path)
{
	static struct kprotect_path p;

	memset(&p, 0, sizeof(p));
	if (absolute_path(path, p.path, sizeof(p.path)) < 0) {
		fprintf(stderr, "protect: bad path: %s\n", path);
		return EXIT_FAILURE;
	}
	if (ioctl(fd, cmd, &p) < 0)
		return fail(verb);
	printf("Operation succeeded.\n");
	return EXIT_SUCCESS;
}

/* Exit status 0 when the files have no problem, 1 when they have. */
static int cmd_check(int fd, const char *path)
{
	static struct kprotect_check check;
	const char *where;

	memset(&check, 0, sizeof(check));
	if (path && absolute_path(path, check.path, sizeof(check.path)) < 0) {
		fprintf(stderr, "protect: bad path: %s\n", path);
		return EXIT_FAILURE;
	}
	if (ioctl(fd, KPROTECT_IOC_CHECK_RULES, &check) < 0)
		return fail("check");
	where = check.path[0] ? check.path : "the rules directory";
	for (__u32 i = 0; i < check.problems && i < KPROTECT_CHECK_PROBLEMS; i++) {
		const struct kprotect_check_problem *p = &check.entries[i];

		if (p->line > 0)
			printf("%s:%" PRIu32 ": %s\n", p->file, p->line, p->message);
		else
			printf("%s: %s\n", p->file, p->message);
	}
	if (check.problems > KPROTECT_CHECK_PROBLEMS)
		printf("... and %" PRIu32 " more problems\n", check.problems - KPROTECT_CHECK_PROBLEMS);
	printf("%s: %" PRIu32 " files, %" PRIu32 " rules, %" PRIu32 " problems\n", where, check.files, check.rules,
	       check.problems);
	return check.problems == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static void print_guard(const char *name, int active, int error)
{
	if (active)
		printf("%s: active\n", name);
	else
		printf("%s: NOT active (%s)\n", name, strerror(error));
}

static void print_covers(__u32 covers)
{
	static const struct {
		__u32 bit;
		const char *what;
	} ways[] = {
		{ KPROTECT_COVERS_EXECVE, "execve/execveat/#!" },
		{ KPROTECT_COVERS_LOADER, "ld.so FILE" },
		{ KPROTECT_COVERS_DLOPEN, "dlopen" },
		{ KPROTECT_COVERS_MMAP, "mmap PROT_EXEC" },
		{ KPROTECT_COVERS_MPROTECT, "mprotect PROT_EXEC" },
	};
	const char *sep = "";

	printf("  refuses:");
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
		if (covers & ways[i].bit) {
			printf("%s %s", sep, ways[i].what);
			sep = ",";
		}
	printf("\n  does not refuse:");
	sep = "";
	for (size_t i = 0; i < sizeof(ways) / sizeof(ways[0]); i++)
		if (!(covers & ways[i].bit)) {
			printf("%s %s", sep, ways[i].what);
			sep = ",";
		}
	printf("%s 'sh FILE' (an interpreter reading a denied script), a copy of a denied file\n", sep);
}

static int cmd_status(int fd)
{
	struct kprotect_status st;

	if (ioctl(fd, KPROTECT_IOC_GET_STATUS, &st) < 0)
		return fail("status");
	printf("Mode: %s\n", st.mode == KPROTECT_MODE_PERMISSIVE ? "permissive (nothing is refused; the counts "
								   "below are what enforcing would refuse)"
								 : mode_name(st.mode));
	print_guard("Kill guard (BPF LSM)", st.guards & KPROTECT_KILL_GUARD, st.kill_guard_error);
	if (st.guards & KPROTECT_EXEC_LSM)
		printf("Exec guard: active, BPF LSM\n");
	else if (st.guards & KPROTECT_EXEC_FANOTIFY)
		printf("Exec guard: active, fanotify (BPF LSM: %s)\n",
		       st.exec_guard_error == ECANCELED ? "not used, exec-guard=fanotify" : strerror(st.exec_guard_error));
	else
		print_guard("Exec guard", 0, st.exec_guard_error);
	if (st.guards & KPROTECT_EXEC_GUARD)
		print_covers(st.exec_covers);
	printf("Protected processes: %" PRIu32 " of %" PRIu32 "\n", st.pid_count, st.pid_capacity);
	printf("Protected programs: %" PRIu32 " of %" PRIu32 "\n", st.exe_count, st.exe_capacity);
	printf("Denied executables: %" PRIu32 " of %" PRIu32 "\n", st.exec_count, st.exec_capacity);
	printf("Rules files: %" PRIu32 " read, %" PRIu32 " problems\n", st.rules_files, st.rules_errors);
	printf("Signals refused: %" PRIu64 "\n", (uint64_t)st.kill_denials);
	printf("Ptrace attaches refused: %" PRIu64 "\n", (uint64_t)st.ptrace_denials);
	printf("Executions refused: %" PRIu64 "\n", (uint64_t)st.exec_denials);
	printf("Executable mappings refused: %" PRIu64 "\n", (uint64_t)st.map_denials);
	if (st.events_lost)
		printf("Refusals not logged (buffer full): %" PRIu64 "\n", (uint64_t)st.events_lost);
	return EXIT_SUCCESS;
}

struct path_command {
	const char *name;
	unsigned long cmd;
};

static const struct path_command path_commands[] = {
	{ "deny-exec", KPROTECT_IOC_DENY_EXEC },
	{ "allow-exec", KPROTECT_IOC_ALLOW_EXEC },
	{ "add-exe", KPROTECT_IOC_ADD_EXE },
	{ "remove-exe", KPROTECT_IOC_REMOVE_EXE },
};

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
	for (size_t i = 0; i < sizeof(path_commands) / sizeof(path_commands[0]); i++)
		if (!strcmp(command, path_commands[i].name) && nargs == 1)
			return cmd_path(client_open(device, O_RDONLY), path_commands[i].cmd, command, args[0]);
	if (!strcmp(command, "mode") && nargs <= 1)
		return cmd_mode(client_open(device, O_RDONLY), nargs ? args[0] : NULL);
	if (!strcmp(command, "check") && nargs <= 1)
		return cmd_check(client_open(device, O_RDONLY), nargs ? args[0] : NULL);
	if (nargs == 0) {
		int (*fn)(int) = !strcmp(command, "clear")       ? cmd_clear
				 : !strcmp(command, "list")      ? cmd_list
				 : !strcmp(command, "list-exec") ? cmd_list_exec
				 : !strcmp(command, "list-exe")  ? cmd_list_exe
				 : !strcmp(command, "status")    ? cmd_status
								 : NULL;

		if (fn)
			return fn(client_open(device, O_RDONLY));
	}
	usage(stderr);
	return 2;
}
