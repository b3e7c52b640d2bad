/* SPDX-License-Identifier: MIT */
/* What the kprotectd integration test programs share. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kprotect-test.h"


struct daemon_proc kprotectd, kprotectd2;
pid_t children[80];
size_t n_children;

void teardown(void)
{
	/* Stopping the daemon detaches the guards: the children die. */
	daemon_cleanup(&kprotectd);
	daemon_cleanup(&kprotectd2);
	for (size_t i = 0; i < n_children; i++) {
		kill(children[i], SIGKILL);
		waitpid(children[i], NULL, 0);
	}
	n_children = 0;
}

void start(const char *const args[])
{
	daemon_start(&kprotectd, "kprotect", args);
}

bool in_vm(void)
{
	return getenv("CUSEKIT_IN_VM") != NULL;
}

/* The ioctl on a fresh open of node: 0 or -errno. */
int node_ioctl(const char *node, unsigned long cmd, void *arg)
{
	int fd = open(node, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, cmd, arg) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int kp_ioctl(unsigned long cmd, void *arg)
{
	return node_ioctl(kprotectd.node, cmd, arg);
}

struct kprotect_status get_status(void)
{
	struct kprotect_status st;

	ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_GET_STATUS, &st), 0);
	return st;
}

struct kprotect_pids pids_of(size_t n, const pid_t *pids)
{
	struct kprotect_pids p = { .count = (__u32)n };

	for (size_t i = 0; i < n; i++)
		p.pids[i] = (__u32)pids[i];
	return p;
}

/* ADD or REMOVE: the count done, or -errno. */
int change_pids(unsigned long cmd, size_t n, const pid_t *pids)
{
	struct kprotect_pids p = pids_of(n, pids);
	int r = kp_ioctl(cmd, &p);

	return r < 0 ? r : (int)p.count;
}

bool listed(pid_t pid)
{
	struct kprotect_pid_list page = {};

	do {
		ck_assert_int_eq(kp_ioctl(KPROTECT_IOC_LIST, &page), 0);
		for (__u32 i = 0; i < page.count; i++)
			if (page.entries[i].pid == (__u32)pid)
				return true;
		page.offset += page.count;
	} while (page.count > 0);
	return false;
}

/* In a forked child: Check's handlers are inherited, and its SIGTERM
 * handler would kill the whole test process group. */
void child_init(void)
{
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
}

/* A child that waits until killed, or, given a pipe, until its write end
 * (closed in the child) is closed. */
pid_t spawn_waiter(const int *pipefd)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;

		child_init();
		if (pipefd) {
			close(pipefd[1]);
			while (read(pipefd[0], &c, 1) > 0)
				;
			_exit(0);
		}
		for (;;)
			pause();
	}
	ck_assert_uint_lt(n_children, sizeof(children) / sizeof(children[0]));
	children[n_children++] = pid;
	return pid;
}

pid_t spawn_sleeper(void)
{
	return spawn_waiter(NULL);
}

bool alive(pid_t pid)
{
	return waitpid(pid, NULL, WNOHANG) == 0;
}

/* The kill guard is active here? In the VM it must be. */
bool kill_guard(void)
{
	struct kprotect_status st = get_status();
	bool active = st.guards & KPROTECT_KILL_GUARD;

	if (in_vm())
		ck_assert_msg(active, "the VM kernel has BPF LSM, but the kill guard is not active: %s",
			      strerror(st.kill_guard_error));
	if (!active) {
		pid_t self = getpid();

		/* Never pretend: say why, and refuse to add. */
		ck_assert_int_ne(st.kill_guard_error, 0);
		ck_assert_int_eq(change_pids(KPROTECT_IOC_ADD_PIDS, 1, &self), -EOPNOTSUPP);
	}
	return active;
}

bool exec_guard(void)
{
	struct kprotect_status st = get_status();
	bool active = st.guards & KPROTECT_EXEC_GUARD;

	if (in_vm())
		ck_assert_msg(active, "the VM kernel has fanotify permission events, but the exec guard "
			      "is not active: %s", strerror(st.exec_guard_error));
	if (!active)
		ck_assert_int_ne(st.exec_guard_error, 0);
	return active;
}

void wait_until_unlisted(pid_t pid)
{
	for (unsigned i = 0; i < 100 * test_timeout_scale() && listed(pid); i++)
		usleep(50 * 1000);
	ck_assert_msg(!listed(pid), "pid %d still listed after it exited", (int)pid);
}

void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ssize_t n;

	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	ck_assert_int_eq(n, 0);
	close(in);
	ck_assert_int_eq(close(out), 0);
}

/* Exit status of running path (0 for a copy of true), EXEC_REFUSED when
 * execve() failed with EPERM. */
int run(const char *path)
{
	pid_t pid = fork();
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(errno == EPERM ? EXEC_REFUSED : 127);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

int path_ioctl(unsigned long cmd, const char *path)
{
	static struct kprotect_path p;

	memset(&p, 0, sizeof(p));
	snprintf(p.path, sizeof(p.path), "%s", path);
	return kp_ioctl(cmd, &p);
}

const char *scratch(const char *name)
{
	static char paths[8][256];
	static unsigned next;
	char *p = paths[next++ % 8];

	snprintf(p, sizeof(paths[0]), "%s/%s", kprotectd.dir, name);
	return p;
}

int protect(char *out, size_t size, const char *cmd, const char *arg, const char *arg2)
{
	const char *argv[] = { build_path("clients/protect"), "--device", kprotectd.node, cmd, arg, arg2, NULL };

	return run_program(out, size, argv);
}

TCase *tcase(Suite *s, const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	suite_add_tcase(s, tc);
	return tc;
}

