/* SPDX-License-Identifier: MIT */
/*
 * kprotectd through real syscalls.
 *
 * Everywhere: the ioctl contract (bad inputs, who may change rules, paging of
 * the exec list), persistence, a second instance refused, the client.
 * Enforcement needs the kernel: the kill guard (BPF LSM) and the exec guard
 * (fanotify permission events). Where a guard is active its tests assert
 * enforcement; where it is not, they assert that the daemon says so and
 * refuses with EOPNOTSUPP; in the VM (CUSEKIT_IN_VM) a missing guard FAILS,
 * since the guest kernel has both.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/kprotect.h>

#include "harness.h"
#include "kprotect-test.h"

#define NOBODY 65534

/* Kill guard */

START_TEST(test_protected_survives_kill_and_ptrace)
{
	pid_t child;
	int status;

	start(NULL);
	if (!kill_guard())
		return;
	child = spawn_sleeper();
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &child), 1);
	ck_assert(listed(child));

	/* We are root and another process. */
	ck_assert_int_eq(getuid(), 0);
	ck_assert_int_eq(kill(child, SIGKILL), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(kill(child, SIGTERM), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(kill(child, SIGSTOP), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(syscall(SYS_tgkill, child, child, SIGINT), -1);
	ck_assert_int_eq(errno, EPERM);
	/* Harmless signals and the existence check go through. */
	ck_assert_int_eq(kill(child, 0), 0);
	ck_assert_int_eq(kill(child, SIGCONT), 0);
	ck_assert_int_eq(kill(child, SIGWINCH), 0);

	ck_assert_int_eq(ptrace(PTRACE_ATTACH, child, NULL, NULL), -1);
	ck_assert_int_eq(errno, EPERM);
	ck_assert_int_eq(ptrace(PTRACE_SEIZE, child, NULL, NULL), -1);
	ck_assert_int_eq(errno, EPERM);

	usleep(100 * 1000);
	ck_assert(alive(child));
	ck_assert_uint_ge(get_status().kill_denials, 4);
	ck_assert_uint_ge(get_status().ptrace_denials, 2);

	/* Unprotected: killable again. */
	ck_assert_int_eq(change_pids(KPROTECT_IOC_REMOVE_PIDS, 1, &child), 1);
	ck_assert(!listed(child));
	ck_assert_int_eq(kill(child, SIGKILL), 0);
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}
END_TEST

START_TEST(test_killable_after_daemon_stops)
{
	pid_t child;

	start(NULL);
	if (!kill_guard())
		return;
	child = spawn_sleeper();
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &child), 1);
	ck_assert_int_eq(kill(child, SIGTERM), -1);
	ck_assert_int_eq(daemon_stop(&kprotectd), 0);
	/* Fail open: without kprotectd, nothing is protected. */
	ck_assert_int_eq(kill(child, SIGTERM), 0);
	ck_assert_int_eq(waitpid(child, NULL, 0), child);
}
END_TEST

/* The book's limit: a protected process may still end itself; either way
 * it leaves the list. */
START_TEST(test_self_signal_and_exit_leave_list)
{
	int go[2], pipefd[2], status;
	pid_t self_killer, exiter;
	char c = 0;

	start(NULL);
	if (!kill_guard())
		return;
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	self_killer = fork();
	ck_assert_int_ge(self_killer, 0);
	if (self_killer == 0) {
		child_init();
		/* Once protected, end ourselves. */
		if (read(go[0], &c, 1) == 1)
			raise(SIGTERM);
		_exit(1);
	}
	children[n_children++] = self_killer;
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &self_killer), 1);
	ck_assert_int_eq(kill(self_killer, SIGTERM), -1);
	ck_assert_int_eq(write(go[1], &c, 1), 1);
	ck_assert_int_eq(waitpid(self_killer, &status, 0), self_killer);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	wait_until_unlisted(self_killer);

	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	exiter = spawn_waiter(pipefd);
	close(pipefd[0]);
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &exiter), 1);
	close(pipefd[1]);  /* it exits now, unreaped */
	wait_until_unlisted(exiter);
	ck_assert_int_eq(get_status().pid_count, 0);
}
END_TEST

/* A pid reused by a new process does not protect that process. */
START_TEST(test_reused_pid_not_protected)
{
	int pipefd[2];
	pid_t old, reuse = -1;
	FILE *f;

	start(NULL);
	if (!kill_guard())
		return;
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	old = spawn_waiter(pipefd);
	close(pipefd[0]);
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &old), 1);
	close(pipefd[1]);
	ck_assert_int_eq(waitpid(old, NULL, 0), old);
	n_children--;
	wait_until_unlisted(old);

	/* Make the next fork get the old pid. */
	for (int attempt = 0; attempt < 20 && reuse != old; attempt++) {
		f = fopen("/proc/sys/kernel/ns_last_pid", "w");
		ck_assert_msg(f, "ns_last_pid: %s", strerror(errno));
		fprintf(f, "%d", (int)old - 1);
		fclose(f);
		reuse = spawn_sleeper();
		if (reuse != old) {
			kill(reuse, SIGKILL);
			waitpid(reuse, NULL, 0);
			n_children--;
		}
	}
	ck_assert_int_eq(reuse, old);
	ck_assert(!listed(reuse));
	ck_assert_int_eq(kill(reuse, SIGKILL), 0);
}
END_TEST

/* A thread that says its id, then waits to be cancelled. */
static void *thread_tid(void *arg)
{
	__atomic_store_n((pid_t *)arg, (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	for (;;)
		pause();
	return NULL;
}

START_TEST(test_partial_success_and_capacity)
{
	const char *const args[] = { "--capacity=2", NULL };
	pid_t a, b, c, list[4];
	struct kprotect_status st;

	start(args);
	if (!kill_guard())
		return;
	a = spawn_sleeper();
	b = spawn_sleeper();
	c = spawn_sleeper();
	/* Duplicates ignored; no room for the last. */
	list[0] = a, list[1] = a, list[2] = b, list[3] = c;
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 4, list), 2);
	st = get_status();
	ck_assert_uint_eq(st.pid_count, 2);
	ck_assert_uint_eq(st.pid_capacity, 2);
	ck_assert(listed(a) && listed(b) && !listed(c));
	ck_assert_int_eq(kill(c, 0), 0);

	/* Pids of no process are not added, even with room. */
	list[0] = 0x3ffffff0, list[1] = 1 << 30;
	ck_assert_int_eq(change_pids(KPROTECT_IOC_REMOVE_PIDS, 1, &b), 1);
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 2, list), 0);

	/* Remove counts only what was there. */
	list[0] = a, list[1] = b, list[2] = c;
	ck_assert_int_eq(change_pids(KPROTECT_IOC_REMOVE_PIDS, 3, list), 1);
	ck_assert_int_eq(get_status().pid_count, 0);

	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 2, list), 2);
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_CLEAR, NULL), 0);
	ck_assert_int_eq(get_status().pid_count, 0);
	ck_assert_int_eq(kill(a, SIGKILL), 0);
}
END_TEST

START_TEST(test_thread_id_not_added)
{
	pthread_t thread;
	pid_t tid = 0;
	struct kprotect_pids p = { .count = 1 };

	start(NULL);
	if (!kill_guard())
		return;
	/* A thread of ours that lives while we ask. */
	ck_assert_int_eq(pthread_create(&thread, NULL, thread_tid, &tid), 0);
	for (int i = 0; i < 1000 && __atomic_load_n(&tid, __ATOMIC_ACQUIRE) == 0; i++)
		usleep(1000);
	ck_assert_int_gt(tid, 0);
	p.pids[0] = (__u32)tid;
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_ADD_PIDS, &p), 0);
	ck_assert_uint_eq(p.count, 0);
	pthread_cancel(thread);
	pthread_join(thread, NULL);
}
END_TEST

START_TEST(test_list_paging)
{
	pid_t pids[70];
	struct kprotect_pid_list page = {};
	__u32 previous = 0;

	start(NULL);
	if (!kill_guard())
		return;
	for (size_t i = 0; i < 70; i++)
		pids[i] = spawn_sleeper();
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 64, pids), 64);
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 6, pids + 64), 6);

	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST, &page), 0);
	ck_assert_uint_eq(page.count, 64);
	ck_assert_uint_eq(page.total, 70);
	for (__u32 i = 0; i < page.count; i++) {
		ck_assert_uint_gt(page.entries[i].pid, previous);   /* ordered by pid */
		ck_assert_uint_gt(page.entries[i].start_time, 0);
		previous = page.entries[i].pid;
	}
	page.offset = 64;
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST, &page), 0);
	ck_assert_uint_eq(page.count, 6);
	ck_assert_uint_gt(page.entries[0].pid, previous);
	page.offset = 70;
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST, &page), 0);
	ck_assert_uint_eq(page.count, 0);
	ck_assert_uint_eq(page.total, 70);
	page.offset = 0xffffffff;
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST, &page), 0);
	ck_assert_uint_eq(page.count, 0);
}
END_TEST

START_TEST(test_pid_rules_persist)
{
	char state[sizeof(kprotectd.state_dir)];
	pid_t child, gone;

	start(NULL);
	if (!kill_guard())
		return;
	child = spawn_sleeper();
	gone = spawn_sleeper();
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &child), 1);
	ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &gone), 1);
	snprintf(state, sizeof(state), "%s", kprotectd.state_dir);
	ck_assert_int_eq(daemon_stop(&kprotectd), 0);
	/* While nobody guards, one of them dies. */
	ck_assert_int_eq(kill(gone, SIGKILL), 0);
	ck_assert_int_eq(waitpid(gone, NULL, 0), gone);

	daemon_start_with_state(&kprotectd2, "kprotect", NULL, state);
	kprotectd = kprotectd2;     /* the helpers talk to kprotectd */
	memset(&kprotectd2, 0, sizeof(kprotectd2));
	ck_assert(listed(child));
	ck_assert(!listed(gone));
	ck_assert_int_eq(get_status().pid_count, 1);
	ck_assert_int_eq(kill(child, SIGKILL), -1);
	ck_assert_int_eq(errno, EPERM);
}
END_TEST

/* Exec guard */

START_TEST(test_exec_denied_by_identity)
{
	const char *bin, *link_path, *renamed, *copy;

	start(NULL);
	if (!exec_guard()) {
		ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, "/bin/true"), -EOPNOTSUPP);
		return;
	}
	bin = scratch("denied"), link_path = scratch("hardlink"), renamed = scratch("renamed");
	copy = scratch("copy");
	copy_file("/bin/true", bin);
	ck_assert_int_eq(run(bin), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), 0);   /* again: fine, one rule */
	ck_assert_uint_eq(get_status().exec_count, 1);

	ck_assert_int_eq(run(bin), EXEC_REFUSED);
	ck_assert_int_eq(link(bin, link_path), 0);
	ck_assert_int_eq(run(link_path), EXEC_REFUSED);
	ck_assert_int_eq(rename(bin, renamed), 0);
	ck_assert_int_eq(run(renamed), EXEC_REFUSED);
	/* A copy is another file; other programs run. */
	copy_file(renamed, copy);
	ck_assert_int_eq(run(copy), 0);
	ck_assert_int_eq(run("/bin/true"), 0);
	/* Reading is not executing. */
	ck_assert_int_ge(open(link_path, O_RDONLY | O_CLOEXEC), 0);
	ck_assert_uint_eq(get_status().exec_denials, 3);

	/* Allowed again, through any of its names. */
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, link_path), 0);
	ck_assert_int_eq(run(renamed), 0);
	ck_assert_uint_eq(get_status().exec_count, 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, link_path), -ENOENT);

	/* Denied, then deleted: the rule goes by the name it was denied under. */
	copy_file("/bin/true", bin);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), 0);
	ck_assert_int_eq(unlink(bin), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, bin), 0);
	ck_assert_uint_eq(get_status().exec_count, 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, bin), -ENOENT);
}
END_TEST

START_TEST(test_exec_rules_persist_and_fail_open)
{
	char state[sizeof(kprotectd.state_dir)];
	char bin[256], replaced[256];
	struct kprotect_file_list *page = calloc(1, sizeof(*page));

	start(NULL);
	if (!exec_guard())
		return;
	snprintf(bin, sizeof(bin), "%s", scratch("denied"));
	snprintf(replaced, sizeof(replaced), "%s", scratch("replaced"));
	copy_file("/bin/true", bin);
	copy_file("/bin/true", replaced);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, bin), 0);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, replaced), 0);
	ck_assert_int_eq(run(bin), EXEC_REFUSED);

	snprintf(state, sizeof(state), "%s", kprotectd.state_dir);
	ck_assert_int_eq(daemon_stop(&kprotectd), 0);
	/* Fail open, documented: without kprotectd everything runs. */
	ck_assert_int_eq(run(bin), 0);
	/* Another file under a denied name is not the denied file (the old
	 * one kept under another name, so its inode number is not reused). */
	ck_assert_int_eq(rename(replaced, scratch("replaced-old")), 0);
	copy_file("/bin/true", replaced);

	daemon_start_with_state(&kprotectd2, "kprotect", NULL, state);
	ck_assert_int_eq(node_ioctl(kprotectd2.node, KPROTECT_IOC_LIST_EXEC, page), 0);
	ck_assert_uint_eq(page->total, 1);
	ck_assert_str_eq(page->entries[0].path, bin);
	ck_assert_int_eq(run(bin), EXEC_REFUSED);
	ck_assert_int_eq(run(replaced), 0);
	free(page);
}
END_TEST

START_TEST(test_exec_list_paging)
{
	struct kprotect_file_list *page = calloc(1, sizeof(*page));
	char name[32];
	bool seen[7] = {};

	start(NULL);
	if (!exec_guard())
		return;
	for (int i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "bin%d", i);
		copy_file("/bin/true", scratch(name));
		ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, scratch(name)), 0);
	}
	for (__u32 offset = 0, pages = 0;; offset += page->count, pages++) {
		memset(page, 0, sizeof(*page));
		page->offset = offset;
		ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST_EXEC, page), 0);
		ck_assert_uint_eq(page->total, 7);
		ck_assert_uint_eq(page->count, offset >= 7 ? 0 : offset + 3 <= 7 ? 3 : 7 - offset);
		if (page->count == 0) {
			ck_assert_uint_eq(pages, 3);
			break;
		}
		for (__u32 i = 0; i < page->count; i++) {
			int n = -1;
			struct stat st;

			ck_assert_int_eq(sscanf(strrchr(page->entries[i].path, '/'), "/bin%d", &n), 1);
			ck_assert(n >= 0 && n < 7 && !seen[n]);
			seen[n] = true;
			ck_assert_int_eq(stat(page->entries[i].path, &st), 0);
			ck_assert_uint_eq(page->entries[i].dev, st.st_dev);
			ck_assert_uint_eq(page->entries[i].ino, st.st_ino);
		}
	}
	free(page);
}
END_TEST

/* Contract */

START_TEST(test_bad_inputs)
{
	struct kprotect_pids p = {};
	static struct kprotect_path path;
	struct stat st;
	pid_t self = getpid();

	start(NULL);
	ck_assert_int_eq(stat(kprotectd.node, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0666);

	p.count = 0;
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_ADD_PIDS, &p), -EINVAL);
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_REMOVE_PIDS, &p), -EINVAL);
	p.count = KPROTECT_PIDS_MAX + 1;
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_ADD_PIDS, &p), -EINVAL);
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_REMOVE_PIDS, &p), -EINVAL);
	p.count = 0xffffffff;
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_ADD_PIDS, &p), -EINVAL);
	/* Removing what is not there: success, 0 done. */
	ck_assert_int_eq(change_pids(KPROTECT_IOC_REMOVE_PIDS, 1, &self), 0);

	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, ""), -EINVAL);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, "relative/true"), -EINVAL);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, "relative/true"), -EINVAL);
	memset(path.path, 'a', sizeof(path.path));
	path.path[0] = '/';
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_DENY_EXEC, &path), -EINVAL);   /* no NUL */
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_ALLOW_EXEC, &path), -EINVAL);
	if (exec_guard()) {
		ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, "/tmp"), -EINVAL);          /* a directory */
		ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, "/dev/null"), -EINVAL);     /* a device */
		ck_assert_int_eq(path_ioctl(KPROTECT_IOC_DENY_EXEC, "/nonexistent/x"), -ENOENT);
	}
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, "/bin/true"), -ENOENT);       /* not denied */
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ALLOW_EXEC, "/nonexistent/x"), -ENOENT);

	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_ADD_EXE, "relative/sleep"), -EINVAL);
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_REMOVE_EXE, ""), -EINVAL);
	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_ADD_EXE, &path), -EINVAL);             /* no NUL */
	ck_assert_int_eq(path_ioctl(KPROTECT_IOC_REMOVE_EXE, "/bin/sleep"), -ENOENT);  /* not protected */
	{
		static struct kprotect_check check;
		static struct kprotect_file_list page;

		memset(&check, 'a', sizeof(check.path));
		ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_CHECK_RULES, &check), -EINVAL);  /* no NUL */
		memset(&check, 0, sizeof(check));
		strcpy(check.path, "relative");
		ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_CHECK_RULES, &check), -EINVAL);
		strcpy(check.path, "/nonexistent/rules.d");
		ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_CHECK_RULES, &check), 0);
		ck_assert_uint_eq(check.files, 0);
		ck_assert_uint_eq(check.problems, 1);
		ck_assert_int_eq(check.entries[0].error, ENOENT);
		page.offset = 0xffffffff;
		ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST_EXE, &page), 0);
		ck_assert_uint_eq(page.count, 0);
	}
	ck_assert_int_eq(kp_ioctl(_IO('K', 0x7f), NULL), -ENOTTY);
	ck_assert_int_eq(kp_ioctl(_IOWR('K', 0x01, __u32), &p), -ENOTTY);    /* wrong size */

	/* Still serving. */
	ck_assert(daemon_alive(&kprotectd));
	get_status();
}
END_TEST

static int expect(bool ok, const char *what)
{
	if (!ok)
		fprintf(stderr, "as uid %d: %s: %s\n", (int)getuid(), what, strerror(errno));
	return ok ? 0 : 1;
}

/* As nobody without the admin group: everything readable, nothing changeable. */
static int outsider_checks(void)
{
	struct kprotect_pids p = { .count = 1, .pids = { (__u32)getppid() } };
	static struct kprotect_path path = { .path = "/bin/true" };
	static struct kprotect_file_list exec_page;
	static struct kprotect_check check = { .path = "/etc/shadow" };
	struct kprotect_mode mode = { .mode = KPROTECT_MODE_PERMISSIVE };
	struct kprotect_pid_list page = {};
	struct kprotect_status st;
	int failed = 0;

	failed += expect(kp_ioctl(KPROTECT_IOC_GET_STATUS, &st) == 0, "status");
	failed += expect(kp_ioctl(KPROTECT_IOC_LIST, &page) == 0, "list");
	failed += expect(kp_ioctl(KPROTECT_IOC_LIST_EXEC, &exec_page) == 0, "list-exec");
	failed += expect(kp_ioctl(KPROTECT_IOC_ADD_PIDS, &p) == -EPERM, "add");
	failed += expect(kp_ioctl(KPROTECT_IOC_REMOVE_PIDS, &p) == -EPERM, "remove");
	failed += expect(kp_ioctl(KPROTECT_IOC_CLEAR, NULL) == -EPERM, "clear");
	failed += expect(kp_ioctl(KPROTECT_IOC_DENY_EXEC, &path) == -EPERM, "deny");
	failed += expect(kp_ioctl(KPROTECT_IOC_ALLOW_EXEC, &path) == -EPERM, "allow");
	failed += expect(kp_ioctl(KPROTECT_IOC_LIST_EXE, &exec_page) == 0, "list-exe");
	failed += expect(kp_ioctl(KPROTECT_IOC_ADD_EXE, &path) == -EPERM, "add-exe");
	failed += expect(kp_ioctl(KPROTECT_IOC_REMOVE_EXE, &path) == -EPERM, "remove-exe");
	failed += expect(kp_ioctl(KPROTECT_IOC_SET_MODE, &mode) == -EPERM, "mode");
	/* Checking reads files as root: it would show anyone any file. */
	failed += expect(kp_ioctl(KPROTECT_IOC_CHECK_RULES, &check) == -EPERM, "check");
	/* EPERM comes first, before the input is looked at. */
	p.count = 0;
	failed += expect(kp_ioctl(KPROTECT_IOC_ADD_PIDS, &p) == -EPERM, "add, bad count");
	mode.mode = 99;
	failed += expect(kp_ioctl(KPROTECT_IOC_SET_MODE, &mode) == -EPERM, "mode, bad mode");
	return failed;
}

/* As nobody in cusekit-admin: changes are allowed. */
static int admin_checks(void)
{
	struct kprotect_pids p = { .count = 1, .pids = { 0x3ffffff0 } };
	int failed = 0;

	failed += expect(kp_ioctl(KPROTECT_IOC_REMOVE_PIDS, &p) == 0 && p.count == 0, "remove");
	failed += expect(kp_ioctl(KPROTECT_IOC_CLEAR, NULL) == 0, "clear");
	return failed;
}

static int as_nobody(bool admin, int (*fn)(void))
{
	struct group *g = getgrnam("cusekit-admin");
	gid_t gid;
	pid_t pid;
	int status;

	ck_assert_msg(g, "group cusekit-admin missing (systemd/cusekit.sysusers)");
	gid = g->gr_gid;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (setgroups(admin ? 1 : 0, &gid) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
		    setresuid(NOBODY, NOBODY, NOBODY) < 0)
			_exit(99);
		_exit(fn());
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

START_TEST(test_who_may_change_rules)
{
	start(NULL);
	ck_assert_int_eq(as_nobody(false, outsider_checks), 0);
	ck_assert_int_eq(as_nobody(true, admin_checks), 0);
	if (kill_guard()) {
		pid_t child = spawn_sleeper();

		ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &child), 1);
		ck_assert_int_eq(as_nobody(false, outsider_checks), 0);
		ck_assert(listed(child));
	}
}
END_TEST

START_TEST(test_second_instance_refused)
{
	char transport[64], name[96], fuse_dir[256], state[256], out[4096];
	const char *const argv[] = { build_path("daemons/kprotect/kprotectd"), transport, name, fuse_dir, state,
				     "--config=/dev/null", NULL };

	start(NULL);
	/* Same rules (state directory), another node name. */
	snprintf(transport, sizeof(transport), "--transport=%s", test_transport());
	snprintf(name, sizeof(name), "--name=%s-second", kprotectd.name);
	snprintf(fuse_dir, sizeof(fuse_dir), "--fuse-dir=%s/fuse2", kprotectd.dir);
	snprintf(state, sizeof(state), "--state-dir=%s", kprotectd.state_dir);
	ck_assert_int_ne(run_program(out, sizeof(out), argv), 0);
	ck_assert_msg(strstr(out, "Another kprotectd"), "second instance said: %s", out);
	ck_assert(daemon_alive(&kprotectd));
	get_status();
}
END_TEST

/* Client */

START_TEST(test_client)
{
	char out[8192], pid_text[16];
	pid_t child;

	start(NULL);
	ck_assert_int_eq(protect(out, sizeof(out), "status", NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "Kill guard (BPF LSM): "));
	ck_assert_ptr_nonnull(strstr(out, "Protected processes: 0 of 1024"));
	ck_assert_int_eq(protect(out, sizeof(out), "add", "12x", NULL), 2);
	ck_assert_int_eq(protect(out, sizeof(out), "bogus", NULL, NULL), 2);

	if (exec_guard()) {
		const char *bin = scratch("client-denied");

		copy_file("/bin/true", bin);
		ck_assert_int_eq(protect(out, sizeof(out), "deny-exec", bin, NULL), 0);
		ck_assert_str_eq(out, "Operation succeeded.\n");
		ck_assert_int_eq(protect(out, sizeof(out), "list-exec", NULL, NULL), 0);
		ck_assert_ptr_nonnull(strstr(out, bin));
		ck_assert_int_eq(run(bin), EXEC_REFUSED);
		ck_assert_int_eq(protect(out, sizeof(out), "allow-exec", bin, NULL), 0);
		ck_assert_int_eq(run(bin), 0);
		ck_assert_int_ne(protect(out, sizeof(out), "allow-exec", bin, NULL), 0);
		ck_assert_ptr_nonnull(strstr(out, "No such file or directory"));
	}
	if (kill_guard()) {
		child = spawn_sleeper();
		snprintf(pid_text, sizeof(pid_text), "%d", (int)child);
		ck_assert_int_eq(protect(out, sizeof(out), "add", pid_text, "1073741824"), 0);
		ck_assert_str_eq(out, "Operation succeeded. 1 of 2 pids added.\n");
		ck_assert_int_eq(protect(out, sizeof(out), "list", NULL, NULL), 0);
		ck_assert_ptr_nonnull(strstr(out, pid_text));
		ck_assert_int_eq(protect(out, sizeof(out), "remove", pid_text, NULL), 0);
		ck_assert_str_eq(out, "Operation succeeded.\n");
		ck_assert_int_eq(protect(out, sizeof(out), "clear", NULL, NULL), 0);
		ck_assert_str_eq(out, "Operation succeeded.\n");
	} else {
		ck_assert_int_ne(protect(out, sizeof(out), "add", "1", NULL), 0);
		ck_assert_ptr_nonnull(strstr(out, "Operation not supported"));
	}
}
END_TEST

/* One case per area, so CK_RUN_CASE can pick one. */
static Suite *kprotect_suite(void)
{
	Suite *s = suite_create("kprotect");
	TCase *tc;

	tc = tcase(s, "contract");
	tcase_add_test(tc, test_bad_inputs);
	tcase_add_test(tc, test_who_may_change_rules);
	tcase_add_test(tc, test_second_instance_refused);
	tc = tcase(s, "kill");
	tcase_add_test(tc, test_protected_survives_kill_and_ptrace);
	tcase_add_test(tc, test_killable_after_daemon_stops);
	tcase_add_test(tc, test_self_signal_and_exit_leave_list);
	tcase_add_test(tc, test_reused_pid_not_protected);
	tc = tcase(s, "pids");
	tcase_add_test(tc, test_partial_success_and_capacity);
	tcase_add_test(tc, test_thread_id_not_added);
	tcase_add_test(tc, test_list_paging);
	tcase_add_test(tc, test_pid_rules_persist);
	tc = tcase(s, "exec");
	tcase_add_test(tc, test_exec_denied_by_identity);
	tcase_add_test(tc, test_exec_rules_persist_and_fail_open);
	tcase_add_test(tc, test_exec_list_paging);
	tc = tcase(s, "client");
	tcase_add_test(tc, test_client);
	return s;
}

int main(void)
{
	return harness_run(kprotect_suite());
}
