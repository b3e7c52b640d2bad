/* SPDX-License-Identifier: MIT */
/*
 * kprotectd's file rules through real syscalls, as an adversary would walk
 * around them.
 *
 * Exec denial: a denied file is tried directly, through a hard link, after
 * a rename, through a bind mount, through /proc/self/fd/N, by execveat() of
 * an O_PATH descriptor, through the dynamic loader run by hand, by dlopen,
 * by mmap(PROT_EXEC), by mprotect to PROT_EXEC, as a #! interpreter and as
 * a #! script; a copy runs. Each case asserts exactly what GET_STATUS says
 * the active guard covers: refused where it claims to refuse, and allowed
 * where it says it cannot (so the status never lies). The BPF LSM guard
 * where it works (the VM: always), the fanotify guard everywhere
 * (exec-guard=fanotify).
 *
 * Also: permissive mode refuses nothing and counts everything; protection
 * by program (add-exe) across a daemon restart; rules files with bad lines,
 * their origin, reload on SIGHUP and checking; a rule dropped at start
 * leaves the state file.
 */
#include <check.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kprotect-test.h"

#define RAN 0
#define REFUSED EXEC_REFUSED
#define LOADER_FAILED 127   /* ld.so's exit status when it cannot load the program */

static const char *const fanotify_args[] = { "--exec-guard=fanotify", NULL };

/* Each test's files, apart from any daemon's scratch directory (daemons
 * come and go across restarts), and the daemons it restarted. */
static char work_dir[64];
static struct daemon_proc retired[4];
static size_t n_retired;

static void work_setup(void)
{
	strcpy(work_dir, "/tmp/kprotect-exec-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(work_dir));
}

static void work_teardown(void)
{
	char cmd[128];

	for (size_t i = 0; i < n_retired; i++)
		daemon_cleanup(&retired[i]);
	n_retired = 0;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* buf = <work_dir>/name */
static char *work_path(char buf[static 256], const char *name)
{
	snprintf(buf, 256, "%s/%s", work_dir, name);
	return buf;
}

/* Stop kprotectd and start another on its state with args. */
static void restart(const char *const args[])
{
	char state[sizeof(kprotectd.state_dir)];

	snprintf(state, sizeof(state), "%s", kprotectd.state_dir);
	ck_assert_int_eq(daemon_stop(&kprotectd), 0);
	ck_assert_uint_lt(n_retired, sizeof(retired) / sizeof(retired[0]));
	retired[n_retired++] = kprotectd;
	daemon_start_with_state(&kprotectd, "kprotect", args, state);
}

/* One attempt in a child: fn _exits with RAN, REFUSED or something else. */
static int attempt(void (*fn)(const char *path), const char *path)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		child_init();
		fn(path);
		_exit(99);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status), "attempt on %s died of signal %d", path, WTERMSIG(status));
	return WEXITSTATUS(status);
}

static void exit_exec_error(void)
{
	_exit(errno == EPERM ? REFUSED : 98);
}

static void try_proc_fd(const char *path)
{
	char link[64];
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		_exit(97);
	/* Not O_CLOEXEC for the exec itself to find it: dup it. */
	snprintf(link, sizeof(link), "/proc/self/fd/%d", dup(fd));
	execl(link, link, (char *)NULL);
	exit_exec_error();
}

static void try_execveat(const char *path)
{
	char *const argv[] = { (char *)path, NULL };
	int fd = open(path, O_PATH | O_CLOEXEC);

	if (fd < 0)
		_exit(97);
	syscall(SYS_execveat, fd, "", argv, environ, AT_EMPTY_PATH);
	exit_exec_error();
}

static int find_loader(struct dl_phdr_info *info, size_t size, void *data)
{
	if (info->dlpi_addr == getauxval(AT_BASE) && info->dlpi_name[0] == '/') {
		snprintf(data, 256, "%s", info->dlpi_name);
		return 1;
	}
	return 0;
}

/* The dynamic loader of this process, by its path. */
static const char *loader(void)
{
	static char path[256];

	if (!path[0])
		ck_assert_msg(dl_iterate_phdr(find_loader, path) == 1, "no dynamic loader found");
	return path;
}

/* ld.so FILE: the loader opens the file, reads it and maps it. */
static void try_loader(const char *path)
{
	execl(loader(), loader(), path, (char *)NULL);
	_exit(96);
}

/* The loader's message does not always carry the errno ("failed to map
 * segment from shared object"): the refusal counters say whose it was. */
static void try_dlopen(const char *path)
{
	if (dlopen(path, RTLD_NOW))
		_exit(RAN);
	fprintf(stderr, "dlopen: %s\n", dlerror());
	_exit(REFUSED);
}

static void try_mmap(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		_exit(97);
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	_exit(p != MAP_FAILED ? RAN : errno == EPERM ? REFUSED : 94);
}

static void try_mprotect(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		_exit(97);
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		_exit(93);
	_exit(mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0 ? RAN : errno == EPERM ? REFUSED : 92);
}

/* sh FILE: the shell reads the script; nothing executes it. */
static void try_sh(const char *path)
{
	execl("/bin/sh", "sh", path, (char *)NULL);
	_exit(96);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	ck_assert_msg(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

static const char *module_path(void)
{
	return build_path("tests/integration/libkprotect-test-library.so");
}

/* Which exec guard runs, checked against what the kernel offers: the BPF
 * LSM one in the VM unless fanotify is forced. */
static struct kprotect_status exec_guard_status(bool forced_fanotify)
{
	struct kprotect_status st = get_status();

	if (forced_fanotify)
		ck_assert_msg(st.guards & KPROTECT_EXEC_FANOTIFY, "exec-guard=fanotify, yet guards %#x", st.guards);
	else if (in_vm())
		ck_assert_msg(st.guards & KPROTECT_EXEC_LSM, "the VM kernel has the BPF LSM, but the exec guard is "
			      "not it: %s", strerror(st.exec_guard_error));
	if (st.guards & KPROTECT_EXEC_LSM)
		ck_assert_uint_eq(st.exec_covers, KPROTECT_COVERS_EXECVE | KPROTECT_COVERS_LOADER |
						  KPROTECT_COVERS_DLOPEN | KPROTECT_COVERS_MMAP |
						  KPROTECT_COVERS_MPROTECT);
	else if (st.guards & KPROTECT_EXEC_FANOTIFY)
		ck_assert_uint_eq(st.exec_covers,
				  KPROTECT_COVERS_EXECVE | KPROTECT_COVERS_LOADER | KPROTECT_COVERS_DLOPEN);
	return st;
}

/* What an attempt gives under covers: refused if covered, else it runs. */
static int expected(uint32_t covers, uint32_t way)
{
	return covers & way ? REFUSED : RAN;
}

static void every_path(bool forced_fanotify)
{
	char bin[256], lib[256], script[256], denied_script[256], bind[256], p[256];
	struct kprotect_status before, after;
	uint32_t covers;
	uint64_t maps;

	start(forced_fanotify ? fanotify_args : NULL);
	if (!exec_guard())
		return;
	covers = exec_guard_status(forced_fanotify).exec_covers;
	work_path(bin, "denied"), work_path(lib, "libdenied.so"), work_path(script, "interpreted");
	work_path(denied_script, "denied-script"), work_path(bind, "bind");
	copy_file("/bin/true", bin);
	copy_file(module_path(), lib);
	{
		char text[512];

		snprintf(text, sizeof(text), "#!%s\n", bin);
		write_text(script, text, 0755);
	}
	write_text(denied_script, "#!/bin/sh\nexit 0\n", 0755);

	/* Before the rules, everything runs. */
	ck_assert_int_eq(run(bin), RAN);
	ck_assert_int_eq(attempt(try_loader, bin), RAN);
	ck_assert_int_eq(attempt(try_dlopen, lib), RAN);
	ck_assert_int_eq(attempt(try_mmap, bin), RAN);
	ck_assert_int_eq(run(script), RAN);

	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, lib), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, denied_script), 0);
	before = get_status();

	/* Executions: every name and every handle of the file. */
	ck_assert_int_eq(run(bin), REFUSED);
	ck_assert_int_eq(link(bin, work_path(p, "hardlink")), 0);
	ck_assert_int_eq(run(work_path(p, "hardlink")), REFUSED);
	ck_assert_int_eq(rename(p, work_path(bind, "renamed")), 0);
	work_path(bind, "bind");
	ck_assert_int_eq(run(work_path(p, "renamed")), REFUSED);
	ck_assert_int_eq(mkdir(bind, 0755), 0);
	ck_assert_int_eq(mount(work_dir, bind, NULL, MS_BIND, NULL), 0);
	ck_assert_int_eq(run(work_path(p, "bind/denied")), REFUSED);
	ck_assert_int_eq(umount2(bind, MNT_DETACH), 0);
	ck_assert_int_eq(attempt(try_proc_fd, bin), REFUSED);
	ck_assert_int_eq(attempt(try_execveat, bin), REFUSED);
	ck_assert_int_eq(run(script), REFUSED);           /* the denied file as a #! interpreter */
	ck_assert_int_eq(run(denied_script), REFUSED);    /* a denied #! script */
	after = get_status();
	ck_assert_uint_eq(after.exec_denials - before.exec_denials, 8);

	/* The loader's ways, and mappings. */
	ck_assert_int_eq(attempt(try_loader, bin), covers & KPROTECT_COVERS_LOADER ? LOADER_FAILED : RAN);
	ck_assert_int_eq(attempt(try_dlopen, lib), expected(covers, KPROTECT_COVERS_DLOPEN));
	ck_assert_int_eq(attempt(try_mmap, bin), expected(covers, KPROTECT_COVERS_MMAP));
	ck_assert_int_eq(attempt(try_mprotect, bin), expected(covers, KPROTECT_COVERS_MPROTECT));
	maps = !!(covers & KPROTECT_COVERS_LOADER) + !!(covers & KPROTECT_COVERS_DLOPEN) +
	       !!(covers & KPROTECT_COVERS_MMAP) + !!(covers & KPROTECT_COVERS_MPROTECT);
	before = after;
	after = get_status();
	ck_assert_uint_eq(after.map_denials - before.map_denials, maps);
	ck_assert_uint_eq(after.exec_denials, before.exec_denials);

	/* What neither guard covers, documented: a shell reading the script. */
	ck_assert_int_eq(attempt(try_sh, denied_script), RAN);
	/* Reading is not executing; a copy is another file. */
	ck_assert_int_ge(open(bin, O_RDONLY | O_CLOEXEC), 0);
	copy_file(bin, work_path(p, "copy"));
	ck_assert_int_eq(run(p), RAN);
	ck_assert_int_eq(run("/bin/true"), RAN);

	/* Allowed again: everything runs. */
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, work_path(p, "renamed")), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, lib), 0);
	ck_assert_int_eq(run(bin), RAN);
	ck_assert_int_eq(attempt(try_loader, bin), RAN);
	ck_assert_int_eq(attempt(try_dlopen, lib), RAN);
	ck_assert_int_eq(attempt(try_mprotect, bin), RAN);
}

START_TEST(test_every_path_default_guard)
{
	every_path(false);
}
END_TEST

START_TEST(test_every_path_fanotify_guard)
{
	every_path(true);
}
END_TEST

static void set_mode(uint32_t mode)
{
	struct kprotect_mode m = { .mode = mode };

	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_SET_MODE, &m), 0);
}

static bool log_has(const char *text);

/* Until the daemon's log says text: reports reach it on its event loop,
 * in no set order with requests. */
static void wait_log(const char *text)
{
	while (!log_has(text)) {
		ck_assert(daemon_alive(&kprotectd));
		usleep(10000);
	}
}

START_TEST(test_permissive_refuses_nothing_counts_everything)
{
	const char *const permissive[] = { "--mode=permissive", NULL };
	struct kprotect_status before, after;
	char bin[256], out[4096];
	uint32_t covers;

	start(NULL);
	if (!exec_guard())
		return;
	covers = exec_guard_status(false).exec_covers;
	work_path(bin, "denied");
	copy_file("/bin/true", bin);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), 0);
	ck_assert_uint_eq(get_status().mode, KPROTECT_MODE_ENFORCING);
	ck_assert_int_eq(run(bin), REFUSED);

	set_mode(KPROTECT_MODE_PERMISSIVE);
	before = get_status();
	ck_assert_uint_eq(before.mode, KPROTECT_MODE_PERMISSIVE);
	ck_assert_int_eq(run(bin), RAN);
	ck_assert_int_eq(attempt(try_execveat, bin), RAN);
	ck_assert_int_eq(attempt(try_loader, bin), RAN);
	ck_assert_int_eq(attempt(try_mmap, bin), RAN);
	after = get_status();
	ck_assert_uint_eq(after.exec_denials - before.exec_denials, 2);
	/* Every executable mapping the loader makes counts once mapping is
	 * watched; where only the loader's open is, that open. */
	if (covers & KPROTECT_COVERS_MMAP)
		ck_assert_uint_ge(after.map_denials - before.map_denials, 2);
	else
		ck_assert_uint_eq(after.map_denials - before.map_denials, 1);
	ck_assert_int_eq(protect(out, sizeof(out), "mode", NULL, NULL), 0);
	ck_assert_str_eq(out, "permissive\n");
	snprintf(out, sizeof(out), "executing %s.", bin);
	wait_log(out);
	wait_log("Would refuse (permissive)");

	/* Kept across a restart... */
	restart(NULL);
	ck_assert_uint_eq(get_status().mode, KPROTECT_MODE_PERMISSIVE);
	ck_assert_int_eq(run(bin), RAN);
	/* ...until the configured mode changes: then the configuration's. */
	set_mode(KPROTECT_MODE_ENFORCING);
	ck_assert_int_eq(run(bin), REFUSED);
	restart(permissive);
	ck_assert_uint_eq(get_status().mode, KPROTECT_MODE_PERMISSIVE);
	ck_assert_int_eq(run(bin), RAN);
	ck_assert_int_eq(protect(out, sizeof(out), "mode", "enforcing", NULL), 0);
	ck_assert_int_eq(run(bin), REFUSED);
	restart(permissive);
	ck_assert_uint_eq(get_status().mode, KPROTECT_MODE_ENFORCING);
	ck_assert_int_eq(run(bin), REFUSED);

	ck_assert_int_eq(protect(out, sizeof(out), "mode", "lenient", NULL), 2);
	{
		struct kprotect_mode m = { .mode = 7 };

		ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_SET_MODE, &m), -EINVAL);
	}
}
END_TEST

/* Protection by program */

/* path PATH 600, a child of ours. */
static pid_t spawn_program(const char *path)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		child_init();
		execl(path, path, "600", (char *)NULL);
		_exit(127);
	}
	ck_assert_uint_lt(n_children, sizeof(children) / sizeof(children[0]));
	children[n_children++] = pid;
	return pid;
}

/* Until pid executes path (or fails to). */
static void wait_exec(pid_t pid, const char *path)
{
	char link[64], exe[4096], want[4096];
	ssize_t n;

	ck_assert_ptr_nonnull(realpath(path, want));
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	for (;;) {
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n > 0) {
			exe[n] = '\0';
			if (!strcmp(exe, want))
				return;
		}
		ck_assert_msg(alive(pid), "pid %d died before executing %s", (int)pid, path);
		usleep(10000);
	}
}

static void assert_protected(pid_t pid)
{
	ck_assert_int_eq(kill(pid, SIGKILL), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(kill(pid, SIGTERM), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ptrace(PTRACE_ATTACH, pid, NULL, NULL), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert(alive(pid));
}

START_TEST(test_protect_by_program)
{
	static struct kprotect_file_list page;
	char svc[256], script[256], copy[256], linked_path[256];
	pid_t before, after, linked, other;

	start(NULL);
	work_path(svc, "svc"), work_path(script, "script"), work_path(copy, "svc-copy");
	work_path(linked_path, "svc-link");
	copy_file("/bin/sleep", svc);
	write_text(script, "#!/bin/sh\nsleep 600\n", 0755);
	if (!kill_guard()) {
		ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ADD_EXE, svc), -EOPNOTSUPP);
		return;
	}
	/* Running before the rule: protected from the rule on. */
	before = spawn_program(svc);
	wait_exec(before, svc);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ADD_EXE, svc), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ADD_EXE, svc), 0);   /* again: one rule */
	ck_assert_uint_eq(get_status().exe_count, 1);
	assert_protected(before);
	/* Started after it, under any name of the file. */
	after = spawn_program(svc);
	wait_exec(after, svc);
	assert_protected(after);
	ck_assert_int_eq(link(svc, linked_path), 0);
	linked = spawn_program(linked_path);
	wait_exec(linked, linked_path);
	assert_protected(linked);
	/* A copy is another program. */
	copy_file(svc, copy);
	other = spawn_program(copy);
	wait_exec(other, copy);
	ck_assert_int_eq(kill(other, SIGKILL), 0);
	/* A script runs as its interpreter: no process ever executes it. */
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ADD_EXE, script), -EINVAL);

	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST_EXE, &page), 0);
	ck_assert_uint_eq(page.total, 1);
	ck_assert_str_eq(page.entries[0].path, svc);
	ck_assert_str_eq(page.entries[0].origin, "");

	/* Across a restart of the daemon, for the running and the new. */
	restart(NULL);
	ck_assert_uint_eq(get_status().exe_count, 1);
	assert_protected(before);
	after = spawn_program(svc);
	wait_exec(after, svc);
	assert_protected(after);

	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_REMOVE_EXE, svc), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_REMOVE_EXE, svc), -ENOENT);
	ck_assert_int_eq(kill(before, SIGKILL), 0);
	ck_assert_int_eq(kill(after, SIGKILL), 0);
}
END_TEST

/* Rules files */

/* Replace the rules file whole, as configuration management does. */
static void write_rules(const char *text)
{
	char tmp[256], path[256];

	write_text(work_path(tmp, "10-test.rules.tmp"), text, 0644);
	ck_assert_int_eq(rename(tmp, work_path(path, "10-test.rules")), 0);
}

static bool log_has(const char *text)
{
	char buf[65536];
	FILE *f = fopen(kprotectd.log, "r");
	size_t n;

	ck_assert_ptr_nonnull(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, text);
}

static const struct kprotect_file_entry *exec_rule(const char *path)
{
	static struct kprotect_file_list page;

	memset(&page, 0, sizeof(page));
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST_EXEC, &page), 0);
	for (__u32 i = 0; i < page.count; i++)
		if (!strcmp(page.entries[i].path, path))
			return &page.entries[i];
	return NULL;
}

/* After SIGHUP: until the daemon has read the files again, which it says
 * by its status (rules_errors is what the files now hold). */
static void wait_reload(unsigned errors)
{
	ck_assert_int_eq(kill(kprotectd.pid, SIGHUP), 0);
	while (get_status().rules_errors != errors) {
		ck_assert(daemon_alive(&kprotectd));
		usleep(10000);
	}
}

static bool file_has(const char *path, const char *text)
{
	static char buf[1 << 20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	ck_assert_int_ge(n, 0);
	return memmem(buf, (size_t)n, text, strlen(text)) != NULL;
}

START_TEST(test_rules_files)
{
	char text[2048], arg[128], out[8192], state_file[256], bin1[256], bin2[256], svc[256], p[256];
	const char *args[] = { arg, NULL };
	bool killing, executing;
	unsigned errors;

	work_path(bin1, "bin1"), work_path(bin2, "bin2"), work_path(svc, "svc");
	copy_file("/bin/true", bin1);
	copy_file("/bin/true", bin2);
	copy_file("/bin/sleep", svc);
	snprintf(text, sizeof(text),
		 "# KProtect rules of the test\n"
		 "deny-exec %s\n"
		 "add-exe %s\n"
		 "deny-exec relative/bin\n"
		 "allow-exec %s\n"
		 "deny-exec %s/missing\n"
		 "  \n",
		 bin1, svc, bin1, work_dir);
	write_rules(text);
	write_text(work_path(p, "README"), "not a rules file\n", 0644);
	snprintf(arg, sizeof(arg), "--rules-dir=%s", work_dir);
	start(args);
	killing = kill_guard();
	executing = exec_guard();

	/* Three bad lines, reported by file and line; and the rules a guard
	 * cannot enforce here. */
	errors = 3 + !killing + !executing;
	ck_assert_uint_eq(get_status().rules_files, 1);
	ck_assert_uint_eq(get_status().rules_errors, errors);
	ck_assert(log_has("10-test.rules:4: the path must be absolute; line skipped."));
	ck_assert(log_has("10-test.rules:5: unknown rule"));
	ck_assert(log_has("10-test.rules:6: deny-exec "));
	ck_assert_int_eq(protect(out, sizeof(out), "check", NULL, NULL), 1);
	ck_assert_msg(strstr(out, "10-test.rules:4: the path must be absolute\n"), "check said: %s", out);
	ck_assert_msg(strstr(out, "10-test.rules:6: deny-exec ") && strstr(out, "No such file or directory"),
		      "check said: %s", out);
	snprintf(text, sizeof(text), "the rules directory: 1 files, %u rules, %u problems\n", 2 - !killing - !executing,
		 errors);
	ck_assert_msg(strstr(out, text), "check said: %s", out);

	if (!executing)
		return;
	ck_assert_int_eq(run(bin1), REFUSED);
	ck_assert_ptr_nonnull(exec_rule(bin1));
	ck_assert_str_eq(exec_rule(bin1)->origin, "10-test.rules:2");
	/* The file's rule belongs to the file. */
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, bin1), -EROFS);
	ck_assert_int_eq(protect(out, sizeof(out), "list", NULL, NULL), 0);
	snprintf(text, sizeof(text), "deny-exec %s\t10-test.rules:2\n", bin1);
	ck_assert_msg(strstr(out, text), "list said: %s", out);

	/* Made through the device, then by the file: the file's. */
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin2), 0);
	ck_assert_str_eq(exec_rule(bin2)->origin, "");
	snprintf(state_file, sizeof(state_file), "%s/rules", kprotectd.state_dir);
	ck_assert(file_has(state_file, bin2));
	snprintf(text, sizeof(text), "deny-exec %s\n", bin2);
	write_rules(text);
	ck_assert_int_eq(protect(out, sizeof(out), "check", NULL, NULL), 0);
	wait_reload(0);
	ck_assert_uint_eq(get_status().exec_count, 1);
	ck_assert_uint_eq(get_status().exe_count, 0);
	ck_assert_int_eq(run(bin1), RAN);
	ck_assert_int_eq(run(bin2), REFUSED);
	ck_assert_str_eq(exec_rule(bin2)->origin, "10-test.rules:1");
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, bin2), -EROFS);
	ck_assert(!file_has(state_file, bin2));

	/* Read again at start. */
	restart(args);
	ck_assert_int_eq(run(bin2), REFUSED);
	ck_assert_str_eq(exec_rule(bin2)->origin, "10-test.rules:1");
	ck_assert_uint_eq(get_status().rules_errors, 0);

	/* Gone from the files: lifted. */
	ck_assert_int_eq(unlink(work_path(p, "10-test.rules")), 0);
	ck_assert_int_eq(kill(kprotectd.pid, SIGHUP), 0);
	while (get_status().exec_count != 0) {
		ck_assert(daemon_alive(&kprotectd));
		usleep(10000);
	}
	ck_assert_int_eq(run(bin2), RAN);
}
END_TEST

/* A rules file the fanotify guard marks (someone denied executing it) is
 * not opened: kprotectd's own open would wait for its own answer. */
START_TEST(test_denied_rules_file_not_read)
{
	char text[512], arg[128], bin[256], rules[256];
	const char *args[] = { "--exec-guard=fanotify", arg, NULL };

	work_path(bin, "bin");
	copy_file("/bin/true", bin);
	snprintf(text, sizeof(text), "deny-exec %s\n", bin);
	write_rules(text);
	snprintf(arg, sizeof(arg), "--rules-dir=%s", work_dir);
	start(args);
	if (!exec_guard())
		return;
	ck_assert_int_eq(run(bin), REFUSED);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, work_path(rules, "10-test.rules")), 0);
	wait_reload(1);
	ck_assert(log_has("10-test.rules: not read: kprotect denies executing it."));
	ck_assert_int_eq(run(bin), RAN);
	ck_assert(daemon_alive(&kprotectd));
}
END_TEST

/* A rule dropped at start (its file is gone) leaves the state file at once,
 * not at the next save: a daemon killed right after keeps it out. */
START_TEST(test_dropped_rule_leaves_state_file)
{
	char state_file[256], bin[256];

	start(NULL);
	if (!exec_guard())
		return;
	work_path(bin, "vanishing");
	copy_file("/bin/true", bin);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), 0);
	snprintf(state_file, sizeof(state_file), "%s/rules", kprotectd.state_dir);
	ck_assert(file_has(state_file, bin));
	ck_assert_int_eq(unlink(bin), 0);
	restart(NULL);
	ck_assert_uint_eq(get_status().exec_count, 0);
	ck_assert_int_eq(kill(kprotectd.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(kprotectd.pid, NULL, 0), kprotectd.pid);
	kprotectd.pid = 0;
	ck_assert(!file_has(state_file, bin));
}
END_TEST

/* The fanotify marks kprotectd holds, from its fanotify fd's fdinfo. */
static unsigned fanotify_marks(void)
{
	char dir[64], link[384], target[64], line[512];
	unsigned marks = 0, groups = 0;
	struct dirent *de;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)kprotectd.pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		ssize_t n;
		FILE *f;

		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, "anon_inode:[fanotify]"))
			continue;
		groups++;
		snprintf(link, sizeof(link), "/proc/%d/fdinfo/%s", (int)kprotectd.pid, de->d_name);
		f = fopen(link, "r");
		ck_assert_ptr_nonnull(f);
		while (fgets(line, sizeof(line), f))
			marks += !strncmp(line, "fanotify ino:", 13);
		fclose(f);
	}
	closedir(d);
	ck_assert_uint_eq(groups, 1);
	return marks;
}

/* What a rule holds in the kernel goes with it: a mark per denied file,
 * and the mark of a rule removed by a name its file no longer has goes at
 * the file's next open. */
START_TEST(test_marks_go_with_their_rules)
{
	char a[256], b[256], c[256];
	int fd;

	start(fanotify_args);
	if (!exec_guard())
		return;
	work_path(a, "a"), work_path(b, "b"), work_path(c, "c");
	copy_file("/bin/true", a);
	copy_file("/bin/true", c);
	ck_assert_uint_eq(fanotify_marks(), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, a), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, c), 0);
	ck_assert_uint_eq(fanotify_marks(), 2);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, c), 0);
	ck_assert_uint_eq(fanotify_marks(), 1);
	/* Only b reaches the file now; the rule goes by the name a. */
	ck_assert_int_eq(link(a, b), 0);
	ck_assert_int_eq(unlink(a), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, a), 0);
	ck_assert_uint_eq(get_status().exec_count, 0);
	ck_assert_int_eq(run(b), RAN);
	fd = open(b, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_uint_eq(fanotify_marks(), 0);
}
END_TEST

/* Found by fuzz-kprotect: a mark left by a rule removed by a name its file
 * no longer has, then a program rule for that file by another name. The
 * daemon looks into the file (is it a script?) and its own open waited for
 * its own answer: every client hung. The mark goes first now. */
START_TEST(test_left_mark_never_blocks_the_daemon)
{
	char a[256], b[256];
	int r;

	start(fanotify_args);
	if (!exec_guard())
		return;
	work_path(a, "a"), work_path(b, "b");
	copy_file("/bin/true", a);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, a), 0);
	ck_assert_int_eq(link(a, b), 0);
	ck_assert_int_eq(unlink(a), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, a), 0);
	ck_assert_uint_eq(fanotify_marks(), 1);
	r = path_ioctl(KPROTECT_IOC_ADD_EXE, b);
	ck_assert_int_eq(r, kill_guard() ? 0 : -EOPNOTSUPP);
	ck_assert_uint_eq(fanotify_marks(), 0);
	ck_assert_int_eq(run(b), RAN);
	ck_assert_uint_eq(get_status().exec_count, 0);
}
END_TEST

START_TEST(test_file_rule_capacity)
{
	const char *const args[] = { "--exec-capacity=2", "--exe-capacity=1", NULL };
	const char *const too_many[] = { "--exec-capacity=1537", NULL };
	char out[4096];

	start(args);
	ck_assert_uint_eq(get_status().exec_capacity, 2);
	ck_assert_uint_eq(get_status().exe_capacity, 1);
	if (exec_guard()) {
		for (int i = 0; i < 3; i++) {
			char name[16], bin[256];

			snprintf(name, sizeof(name), "bin%d", i);
			copy_file("/bin/true", work_path(bin, name));
			ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), i < 2 ? 0 : -ENOSPC);
		}
	}
	/* More than the state file can hold is refused at start. */
	{
		const char *argv[] = { build_path("daemons/kprotect/kprotectd"), too_many[0], "--config=/dev/null",
				       "--transport=fuse", "--fuse-dir=/nonexistent", NULL };

		ck_assert_int_ne(run_program(out, sizeof(out), argv), 0);
		ck_assert_msg(strstr(out, "bad value '1537' for --exec-capacity"), "kprotectd said: %s", out);
	}
}
END_TEST

static TCase *work_tcase(Suite *s, const char *name)
{
	TCase *tc = tcase(s, name);

	tcase_add_checked_fixture(tc, work_setup, work_teardown);
	return tc;
}

int main(void)
{
	Suite *s = suite_create("kprotect-exec");
	TCase *tc;

	tc = work_tcase(s, "paths");
	tcase_add_test(tc, test_every_path_default_guard);
	tcase_add_test(tc, test_every_path_fanotify_guard);
	tcase_add_test(tc, test_left_mark_never_blocks_the_daemon);
	tc = work_tcase(s, "permissive");
	tcase_add_test(tc, test_permissive_refuses_nothing_counts_everything);
	tc = work_tcase(s, "programs");
	tcase_add_test(tc, test_protect_by_program);
	tc = work_tcase(s, "rules-files");
	tcase_add_test(tc, test_rules_files);
	tcase_add_test(tc, test_denied_rules_file_not_read);
	tc = work_tcase(s, "state");
	tcase_add_test(tc, test_dropped_rule_leaves_state_file);
	tcase_add_test(tc, test_marks_go_with_their_rules);
	tcase_add_test(tc, test_file_rule_capacity);
	return harness_run(s);
}
