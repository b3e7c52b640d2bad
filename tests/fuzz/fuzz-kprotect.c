/* SPDX-License-Identifier: MIT */
/*
 * KProtect: rule changes by callers of every rank, lists, status. On this
 * host the BPF LSM is not active: ADD_PIDS answers EOPNOTSUPP (fuzzed as
 * such); the exec guard (fanotify) is real. So that a fuzzed rule never
 * denies a program someone runs, every absolute path is one of the files of
 * a scratch directory (a regular file, a hard link and a symlink to it, a
 * FIFO, a directory, a dangling symlink, a missing name); relative or
 * unterminated paths stay as they are (refused before anything is opened).
 * Pids are this process, a child of it that sleeps, a thread of it, a child
 * that exited, 0 and a pid no process has.
 *
 * A start costs a tenth of a second here: the kernel lists the BPF LSM as
 * active but refuses to load LSM programs, so every start reads the
 * kernel's BTF and tries. One device serves many inputs.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cusekit/kprotect.h>

#include "fuzz-driver.h"

extern const struct cusekit_device_ops kprotect_device;

/* The rules files: a scratch directory's (setup() names it). */
static char rules_arg[400];
static const char *const small[] = { "--capacity=2", "--exec-capacity=2", "--exe-capacity=2", rules_arg, NULL };
static const char *const usual[] = { rules_arg, NULL };
static const char *const fallback[] = { "--exec-guard=fanotify", "--mode=permissive", rules_arg, NULL };
static const char *const *const configs[] = { small, usual, fallback, NULL };

static const unsigned ioctls[] = {
	KPROTECT_IOC_ADD_PIDS, KPROTECT_IOC_REMOVE_PIDS, KPROTECT_IOC_CLEAR, KPROTECT_IOC_LIST,
	KPROTECT_IOC_DENY_EXEC, KPROTECT_IOC_ALLOW_EXEC, KPROTECT_IOC_LIST_EXEC, KPROTECT_IOC_GET_STATUS,
	KPROTECT_IOC_ADD_EXE, KPROTECT_IOC_REMOVE_EXE, KPROTECT_IOC_LIST_EXE, KPROTECT_IOC_SET_MODE,
	KPROTECT_IOC_CHECK_RULES, 0,
};

static const char *const groups[] = { "cusekit-admin", NULL };

static char exec_dir[300];
static const char *const names[] = { "a", "b", "link-a", "sym-a", "fifo", "dir", "dangling", "missing", "" };
static uint32_t pids[6];

static void path_of(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", exec_dir, name);
}

static int make_files(void)
{
	char a[400], p[400];
	FILE *f;

	/* Never open a file that may be denied: the fanotify guard marks
	 * denied files for opens too, and the daemon (this very process)
	 * could not answer for its own open. New files are new inodes. */
	path_of(a, sizeof(a), "a");
	unlink(a);
	f = fopen(a, "we");
	if (!f)
		return -1;
	fputs("#!/bin/false\n", f);
	fclose(f);
	chmod(a, 0755);
	path_of(p, sizeof(p), "b");
	unlink(p);
	f = fopen(p, "we");
	if (!f)
		return -1;
	fclose(f);
	path_of(p, sizeof(p), "link-a");
	unlink(p);
	if (link(a, p) < 0)
		return -1;
	return 0;
}

static int setup(const char *scratch)
{
	char p[400], target[400];
	pid_t child;
	FILE *f;


	snprintf(exec_dir, sizeof(exec_dir), "%s/exec", scratch);
	if (mkdir(exec_dir, 0755) < 0 || make_files() < 0)
		return -1;
	/* A rules file among the scratch files, for CHECK_RULES and starts
	 * (not among the names a rule may name: see make_files()). */
	snprintf(rules_arg, sizeof(rules_arg), "--rules-dir=%s", exec_dir);
	path_of(p, sizeof(p), "10-fuzz.rules");
	f = fopen(p, "we");
	if (!f)
		return -1;
	fprintf(f, "# a rule, a bad line\ndeny-exec %s/b\nfrobnicate\n", exec_dir);
	fclose(f);
	path_of(p, sizeof(p), "sym-a");
	path_of(target, sizeof(target), "a");
	if (symlink(target, p) < 0)
		return -1;
	path_of(p, sizeof(p), "fifo");
	if (mkfifo(p, 0644) < 0)
		return -1;
	path_of(p, sizeof(p), "dir");
	if (mkdir(p, 0755) < 0)
		return -1;
	path_of(p, sizeof(p), "dangling");
	path_of(target, sizeof(target), "missing");
	if (symlink(target, p) < 0)
		return -1;

	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	pids[0] = (uint32_t)fuzz_self();
	pids[1] = (uint32_t)child;
	pids[2] = (uint32_t)syscall(SYS_gettid) + 0;   /* main thread = pid; a thread below */
	pids[3] = 0;
	pids[4] = 0x7fff0000;
	child = fork();
	if (child == 0)
		_exit(0);
	waitpid(child, NULL, 0);
	pids[5] = (uint32_t)child;   /* exited */
	return 0;
}

static void *thread_main(void *arg) { return arg; }

static void fix_pids(struct kprotect_pids *p, bool tame)
{
	static uint32_t thread_tid;

	if (!thread_tid) {
		pthread_t t;

		/* A tid that is not a process's pid: a thread's, gone since. */
		pthread_create(&t, NULL, thread_main, NULL);
		pthread_join(t, NULL);
		thread_tid = pids[5] + 1;
		pids[2] = thread_tid;
	}
	if (tame)
		p->count = 1 + p->count % KPROTECT_PIDS_MAX;
	for (size_t i = 0; i < KPROTECT_PIDS_MAX; i++)
		p->pids[i] = pids[p->pids[i] % ELEMENTSOF(pids)];
}

/* Absolute paths name scratch files only. */
static void fix_path(char *path, size_t size)
{
	uint8_t which = (uint8_t)path[1];

	if (path[0] != '/' || !memchr(path, '\0', size))
		return;
	memset(path, 0, size);
	path_of(path, size, names[which % ELEMENTSOF(names)]);
}

static void fix_ioctl(unsigned cmd, void *in, size_t size, bool tame)
{
	switch (cmd) {
	case KPROTECT_IOC_ADD_PIDS:
	case KPROTECT_IOC_REMOVE_PIDS:
		if (size == sizeof(struct kprotect_pids))
			fix_pids(in, tame);
		break;
	case KPROTECT_IOC_DENY_EXEC:
	case KPROTECT_IOC_ALLOW_EXEC:
	case KPROTECT_IOC_ADD_EXE:
	case KPROTECT_IOC_REMOVE_EXE:
		if (size == sizeof(struct kprotect_path))
			fix_path(((struct kprotect_path *)in)->path, sizeof(((struct kprotect_path *)in)->path));
		break;
	case KPROTECT_IOC_CHECK_RULES:
		if (size == sizeof(struct kprotect_check))
			fix_path(((struct kprotect_check *)in)->path, sizeof(((struct kprotect_check *)in)->path));
		break;
	case KPROTECT_IOC_LIST:
		if (tame && size == sizeof(struct kprotect_pid_list))
			((struct kprotect_pid_list *)in)->offset %= 70;
		break;
	case KPROTECT_IOC_LIST_EXEC:
	case KPROTECT_IOC_LIST_EXE:
		if (tame && size == sizeof(struct kprotect_file_list))
			((struct kprotect_file_list *)in)->offset %= 8;
		break;
	}
}

/* The files change under the rules: deleted and made anew (a new inode
 * under the denied name), or renamed. */
static void op(struct cusekit_device *d, uint8_t arg)
{
	char a[400], b[400];

	path_of(a, sizeof(a), "a");
	path_of(b, sizeof(b), "b");
	switch (arg % 4) {
	case 0:
		unlink(a);
		break;
	case 1:
		make_files();
		break;
	case 2:
		rename(a, b);
		make_files();
		break;
	default:
		fuzz_pump(d);
		break;
	}
}

const struct fuzz_target fuzz_target = {
	.ops = &kprotect_device,
	.configs = configs,
	.ioctls = ioctls,
	.inputs_per_life = 1024,
	.groups = groups,
	.setup = setup,
	.fix_ioctl = fix_ioctl,
	.op = op,
	.reset = (void (*)(void))make_files,
};
