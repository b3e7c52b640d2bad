/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/common.h>

#include "check-run.h"
#include "harness.h"

const char *test_transport(void)
{
	const char *t = getenv("CUSEKIT_TEST_TRANSPORT");

	return t && *t ? t : "fuse";
}

bool test_on_cuse(void) { return !strcmp(test_transport(), "cuse"); }

unsigned test_timeout_scale(void) { return getenv("CUSEKIT_IN_VM") ? 10 : 1; }

const char *build_path(const char *relative)
{
	static char path[4][512];
	static unsigned next;
	const char *root = getenv("CUSEKIT_BUILD_ROOT");
	char *p = path[next++ % 4];

	ck_assert_msg(root && *root, "CUSEKIT_BUILD_ROOT is not set (run through meson test)");
	snprintf(p, sizeof(path[0]), "%s/%s", root, relative);
	return p;
}

static int exit_status(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int run_program(char *out, size_t size, const char *const argv[])
{
	int pipefd[2] = { -1, -1 }, status;
	size_t used = 0;
	pid_t pid;

	if (out)
		ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (out) {
			dup2(pipefd[1], STDOUT_FILENO);
			dup2(pipefd[1], STDERR_FILENO);
		}
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (out) {
		ssize_t n;

		close(pipefd[1]);
		while ((n = read(pipefd[0], out + used, size - 1 - used)) > 0)
			used += (size_t)n;
		out[used] = '\0';
		/* Drain anything past the buffer so the child never blocks. */
		for (char sink[4096]; read(pipefd[0], sink, sizeof(sink)) > 0;)
			;
		close(pipefd[0]);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return exit_status(status);
}

/* Wait for READY=1 on our notify socket, or for the daemon to die. */
static bool wait_ready(int fd, pid_t pid, unsigned seconds)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char msg[4096];
		ssize_t n;

		if (waitpid(pid, NULL, WNOHANG) == pid)
			return false;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > (time_t)seconds)
			return false;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(fd, msg, sizeof(msg) - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = '\0';
		if (!strncmp(msg, "READY=1", 7) || strstr(msg, "\nREADY=1"))
			return true;
	}
}

void daemon_start_with_state(struct daemon_proc *d, const char *device, const char *const extra_args[],
			     const char *state_dir)
{
	char program[128];

	snprintf(program, sizeof(program), "daemons/%s/%sd", device, device);
	daemon_start_program(d, build_path(program), device, extra_args, state_dir);
}

void daemon_start_program(struct daemon_proc *d, const char *program, const char *label,
			  const char *const extra_args[], const char *state_dir)
{
	static unsigned counter;
	char binary[256], socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)], fuse_dir[192], arg_transport[64], arg_name[96], arg_fuse[256],
		arg_state[256];
	const char *argv[32];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = 0;
	int fd;

	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s-t%d-%u", label, (int)getpid(), counter++);
	/* A fresh directory of our own: never one someone prepared. */
	snprintf(d->dir, sizeof(d->dir), "/tmp/cusekit-test-XXXXXX");
	ck_assert_msg(mkdtemp(d->dir), "mkdtemp: %s", strerror(errno));
	ck_assert_int_eq(chmod(d->dir, 0755), 0);
	snprintf(fuse_dir, sizeof(fuse_dir), "%s/fuse", d->dir);
	snprintf(d->state_dir, sizeof(d->state_dir), "%s", state_dir ? state_dir : d->dir);
	snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
	if (test_on_cuse())
		snprintf(d->node, sizeof(d->node), "/dev/cusekit/%s", d->name);
	else
		snprintf(d->node, sizeof(d->node), "%s/%s", fuse_dir, d->name);

	ck_assert_int_lt(snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", d->dir), (int)sizeof(sa.sun_path));
	snprintf(socket_path, sizeof(socket_path), "%s", sa.sun_path);
	unlink(socket_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);

	snprintf(binary, sizeof(binary), "%s", program);
	snprintf(arg_transport, sizeof(arg_transport), "--transport=%s", test_transport());
	snprintf(arg_name, sizeof(arg_name), "--name=%s", d->name);
	snprintf(arg_fuse, sizeof(arg_fuse), "--fuse-dir=%s", fuse_dir);
	snprintf(arg_state, sizeof(arg_state), "--state-dir=%s", d->state_dir);
	argv[n++] = binary;
	argv[n++] = arg_transport;
	argv[n++] = arg_name;
	argv[n++] = arg_fuse;
	argv[n++] = arg_state;
	argv[n++] = "--config=/dev/null";
	argv[n++] = "--verbose";
	for (size_t i = 0; extra_args && extra_args[i] && n < 31; i++)
		argv[n++] = extra_args[i];
	argv[n] = NULL;

	d->pid = fork();
	ck_assert_int_ge(d->pid, 0);
	if (d->pid == 0) {
		int log = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		/* A test that fails midway exits without cleaning up: its daemon
		 * then stops gracefully with it, taking the node along. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (log >= 0)
			dup2(log, STDERR_FILENO);
		setenv("NOTIFY_SOCKET", socket_path, 1);
		unsetenv("JOURNAL_STREAM");
		unsetenv("STATE_DIRECTORY");
		execv(binary, (char *const *)argv);
		_exit(127);
	}
	if (!wait_ready(fd, d->pid, 30 * test_timeout_scale())) {
		char log[4096] = "";
		int lfd = open(d->log, O_RDONLY);

		if (lfd >= 0) {
			ssize_t r = read(lfd, log, sizeof(log) - 1);
			log[r > 0 ? r : 0] = '\0';
			close(lfd);
		}
		close(fd);
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		ck_abort_msg("%s did not become ready on %s. Its log:\n%s", binary, test_transport(), log);
	}
	close(fd);

	struct stat st;
	ck_assert_msg(stat(d->node, &st) == 0, "node %s missing after READY=1: %s", d->node, strerror(errno));
	if (test_on_cuse())
		ck_assert_msg(S_ISCHR(st.st_mode), "%s is not a character device", d->node);
	else
		ck_assert_msg(S_ISREG(st.st_mode), "%s is not the fuse node", d->node);
}

void daemon_start(struct daemon_proc *d, const char *device, const char *const extra_args[])
{
	daemon_start_with_state(d, device, extra_args, NULL);
}

bool daemon_alive(struct daemon_proc *d)
{
	return d->pid > 0 && waitpid(d->pid, NULL, WNOHANG) == 0;
}

int daemon_stop(struct daemon_proc *d)
{
	int status;
	struct stat st;

	ck_assert_int_gt(d->pid, 0);
	ck_assert_int_eq(kill(d->pid, SIGTERM), 0);
	ck_assert_int_eq(waitpid(d->pid, &status, 0), d->pid);
	d->pid = 0;
	ck_assert_msg(stat(d->node, &st) < 0 && errno == ENOENT, "node %s still there after stop", d->node);
	return exit_status(status);
}

void daemon_cleanup(struct daemon_proc *d)
{
	char path[256];
	const char *const argv[] = { "rm", "-rf", d->dir, NULL };

	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
	/* A daemon killed on the fuse transport leaves a dead mount behind. */
	if (!test_on_cuse())
		umount2(d->node, MNT_DETACH);
	snprintf(path, sizeof(path), "%s", d->dir);
	if (path[0])
		run_program(NULL, 0, argv);
}

int daemon_open(const struct daemon_proc *d, int flags)
{
	int fd = open(d->node, flags | O_CLOEXEC);

	ck_assert_msg(fd >= 0, "open %s: %s", d->node, strerror(errno));
	return fd;
}

static struct cusekit_info daemon_info(const struct daemon_proc *d)
{
	struct cusekit_info info = {};
	int fd = daemon_open(d, O_RDONLY);

	ck_assert_int_eq(ioctl(fd, CUSEKIT_IOC_GET_INFO, &info), 0);
	close(fd);
	return info;
}

/* Poll the daemon's own count until it is what the test waits for. The
 * daemon gets there by itself (the kernel's asynchronous release, a read on
 * its way), so this ends; the limit only turns a bug into a failure. */
void daemon_wait_clients(const struct daemon_proc *d, unsigned still_open)
{
	struct timespec delay = { 0, 10 * 1000 * 1000 };
	struct cusekit_info info = {};

	for (unsigned i = 0; i < 3000 * test_timeout_scale(); i++) {
		info = daemon_info(d);
		if (info.clients_open == still_open + 1)
			return;
		nanosleep(&delay, NULL);
	}
	ck_abort_msg("the daemon still has %u clients open, want %u", info.clients_open - 1, still_open);
}

void daemon_wait_waiting(const struct daemon_proc *d, unsigned waiting)
{
	struct timespec delay = { 0, 10 * 1000 * 1000 };
	struct cusekit_info info = {};

	for (unsigned i = 0; i < 3000 * test_timeout_scale(); i++) {
		info = daemon_info(d);
		if (info.requests_waiting == waiting)
			return;
		nanosleep(&delay, NULL);
	}
	ck_abort_msg("the daemon has %u requests waiting, want %u", info.requests_waiting, waiting);
}

void wait_blocked_in_syscall(pid_t pid, long nr)
{
	struct timespec delay = { 0, 10 * 1000 * 1000 };
	char path[64], buf[512];

	for (unsigned i = 0; i < 3000 * test_timeout_scale(); i++) {
		long current = -1;
		char state = '?';
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		sscanf(buf, "%ld", &current);
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		ck_assert_int_ge(fd, 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strrchr(buf, ')'))
			sscanf(strrchr(buf, ')') + 1, " %c", &state);
		if (current == nr && (state == 'S' || state == 'D'))
			return;
		nanosleep(&delay, NULL);
	}
	ck_abort_msg("process %d never blocked in system call %ld", (int)pid, nr);
}

pid_t fork_as(uid_t uid, gid_t gid, const gid_t *groups, size_t n)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	/* Check's SIGTERM handler survives fork() and would take the whole
	 * test down with a child that is sent SIGTERM. */
	if (pid == 0)
		signal(SIGTERM, SIG_DFL);
	if (pid == 0 && (setgroups(n, groups) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)) {
		fprintf(stderr, "fork_as(%u): %s\n", (unsigned)uid, strerror(errno));
		_exit(126);
	}
	return pid;
}

int harness_run(Suite *s)
{
	int status = check_run(s);

	printf("%s transport\n", test_transport());
	return status;
}
