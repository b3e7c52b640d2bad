/* SPDX-License-Identifier: MIT */
/*
 * The framework's promises, through the mailbox test device: a blocked read
 * is a deferred request that a write completes; a signal, pthread_cancel or
 * SIGKILL ends it promptly and loses nothing; O_NONBLOCK gives EAGAIN; poll
 * and epoll wake up; a graceful stop answers blocked readers; clients are
 * counted.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cusekit/common.h>

#include "harness.h"

static struct daemon_proc mailbox;

static void setup(void)
{
	daemon_start_program(&mailbox, build_path("tests/integration/mailboxd"), "mailbox", NULL, NULL);
}

static void teardown(void) { daemon_cleanup(&mailbox); }

static void post(const char *text)
{
	int fd = daemon_open(&mailbox, O_WRONLY);

	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static void expect_message(int fd, const char *text)
{
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));

	ck_assert_msg(n >= 0, "read: %s", strerror(errno));
	ck_assert_int_eq(n, (ssize_t)strlen(text));
	ck_assert_mem_eq(buf, text, (size_t)n);
}

static struct cusekit_info info(void)
{
	struct cusekit_info i;
	int fd = daemon_open(&mailbox, O_RDONLY);

	ck_assert_int_eq(ioctl(fd, CUSEKIT_IOC_GET_INFO, &i), 0);
	close(fd);
	return i;
}

/* Fork a reader that blocks on an empty mailbox and reports what its read
 * returned through a pipe; returns once its read is parked in the daemon. */
static pid_t blocked_reader(int *result_fd)
{
	int pipefd[2];
	pid_t pid;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char buf[256];
		int fd = open(mailbox.node, O_RDONLY);
		ssize_t n = read(fd, buf, sizeof(buf));
		int report[2] = { (int)n, n < 0 ? errno : 0 };

		if (write(pipefd[1], report, sizeof(report)) < 0)
			_exit(2);
		_exit(0);
	}
	close(pipefd[1]);
	*result_fd = pipefd[0];
	daemon_wait_waiting(&mailbox, 1);
	return pid;
}

START_TEST(test_write_completes_blocked_read)
{
	int result, report[2], status;
	pid_t pid = blocked_reader(&result);

	post("hello");
	ck_assert_int_eq(read(result, report, sizeof(report)), sizeof(report));
	ck_assert_int_eq(report[0], 5);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

static void on_sigusr1(int sig) { (void)sig; }

struct blocked_thread {
	int fd;
	ssize_t n;
	int error;
	bool returned;
};

static void *read_thread(void *arg)
{
	struct blocked_thread *t = arg;
	char buf[256];

	t->n = read(t->fd, buf, sizeof(buf));
	t->error = errno;
	t->returned = true;
	return NULL;
}

/* A signal (no SA_RESTART) ends a blocked read with EINTR, and the
 * interrupted request no longer waits in the daemon: the next message goes
 * to the next reader, not into the void. */
START_TEST(test_signal_interrupts_blocked_read)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct blocked_thread t = { .fd = daemon_open(&mailbox, O_RDONLY) };
	pthread_t thread;

	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	ck_assert_int_eq(pthread_create(&thread, NULL, read_thread, &t), 0);
	daemon_wait_waiting(&mailbox, 1);
	ck_assert(!t.returned);
	ck_assert_int_eq(pthread_kill(thread, SIGUSR1), 0);
	ck_assert_int_eq(pthread_join(thread, NULL), 0);
	ck_assert_int_eq(t.n, -1);
	ck_assert_int_eq(t.error, EINTR);

	post("after the signal");
	expect_message(t.fd, "after the signal");
	close(t.fd);
}
END_TEST

static void *cancellable_read_thread(void *arg)
{
	struct blocked_thread *t = arg;
	char buf[256];

	t->n = read(t->fd, buf, sizeof(buf)); /* a cancellation point */
	t->returned = true;
	return NULL;
}

START_TEST(test_pthread_cancel_blocked_read)
{
	struct blocked_thread t = { .fd = daemon_open(&mailbox, O_RDONLY) };
	pthread_t thread;
	void *ret;

	ck_assert_int_eq(pthread_create(&thread, NULL, cancellable_read_thread, &t), 0);
	daemon_wait_waiting(&mailbox, 1);
	ck_assert_int_eq(pthread_cancel(thread), 0);
	ck_assert_int_eq(pthread_join(thread, &ret), 0);
	ck_assert_ptr_eq(ret, PTHREAD_CANCELED);
	ck_assert(!t.returned);
	daemon_wait_waiting(&mailbox, 0);

	post("after the cancel");
	expect_message(t.fd, "after the cancel");
	close(t.fd);
}
END_TEST

/* SIGKILL of a blocked reader: it dies (it is not left unkillable), its
 * file is released, and it takes no message with it. */
START_TEST(test_sigkill_blocked_reader)
{
	int result, status, fd;
	pid_t pid = blocked_reader(&result);

	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	daemon_wait_clients(&mailbox, 0);
	ck_assert_uint_eq(info().requests_waiting, 0);
	ck_assert(daemon_alive(&mailbox));

	post("still here");
	fd = daemon_open(&mailbox, O_RDONLY | O_NONBLOCK);
	expect_message(fd, "still here");
	close(fd);
}
END_TEST

START_TEST(test_nonblocking_read)
{
	char buf[16];
	int fd = daemon_open(&mailbox, O_RDONLY | O_NONBLOCK);

	errno = 0;
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(fd);

	/* O_NONBLOCK set after open counts too: it is read per request. */
	fd = daemon_open(&mailbox, O_RDONLY);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	errno = 0;
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	close(fd);
}
END_TEST

static pid_t post_later(const char *text)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		usleep(200 * 1000);
		fd = open(mailbox.node, O_WRONLY);
		_exit(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : 1);
	}
	return pid;
}

START_TEST(test_poll_wakes_up)
{
	int fd = daemon_open(&mailbox, O_RDONLY);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	pid_t writer;

	ck_assert_int_eq(poll(&p, 1, 0), 0);
	writer = post_later("polled");
	ck_assert_int_eq(poll(&p, 1, -1), 1);
	ck_assert(p.revents & POLLIN);
	expect_message(fd, "polled");
	ck_assert_int_eq(waitpid(writer, NULL, 0), writer);

	p.revents = 0;
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	close(fd);
}
END_TEST

START_TEST(test_epoll_wakes_up)
{
	int fd = daemon_open(&mailbox, O_RDONLY | O_NONBLOCK), ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN }, got;
	pid_t writer;

	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	ck_assert_int_eq(epoll_wait(ep, &got, 1, 0), 0);
	writer = post_later("epolled");
	ck_assert_int_eq(epoll_wait(ep, &got, 1, -1), 1);
	ck_assert(got.events & EPOLLIN);
	expect_message(fd, "epolled");
	ck_assert_int_eq(waitpid(writer, NULL, 0), writer);
	close(ep);
	close(fd);
}
END_TEST

/* A message too large for the reader's buffer stays queued. */
START_TEST(test_emsgsize_keeps_message)
{
	char small[4];
	int fd = daemon_open(&mailbox, O_RDONLY | O_NONBLOCK);

	post("a longer message");
	errno = 0;
	ck_assert_int_eq(read(fd, small, sizeof(small)), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	expect_message(fd, "a longer message");
	close(fd);
}
END_TEST

/* SIGTERM while a reader waits: the reader is answered, the daemon exits 0
 * and its node goes away. */
START_TEST(test_stop_answers_blocked_reader)
{
	int result, report[2], status;
	pid_t pid = blocked_reader(&result);

	ck_assert_int_eq(daemon_stop(&mailbox), 0);
	ck_assert_int_eq(read(result, report, sizeof(report)), sizeof(report));
	ck_assert_int_eq(report[0], -1);
	ck_assert_msg(report[1] == ENODEV || report[1] == ENOTCONN, "blocked reader got %s", strerror(report[1]));
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}
END_TEST

START_TEST(test_clients_counted)
{
	int fds[50];
	struct cusekit_info i;

	for (int k = 0; k < 50; k++)
		fds[k] = daemon_open(&mailbox, O_RDONLY);
	i = info();
	ck_assert_uint_eq(i.clients_open, 51);
	ck_assert_uint_ge(i.opens_total, 51);
	for (int k = 0; k < 50; k++)
		close(fds[k]);
	daemon_wait_clients(&mailbox, 0);
}
END_TEST

/* What the device does not implement fails cleanly. */
START_TEST(test_unsupported_requests)
{
	char buf[4];
	int fd = daemon_open(&mailbox, O_RDWR);

	errno = 0;
	ck_assert_int_eq(ioctl(fd, _IO('X', 1)), -1);
	ck_assert_int_eq(errno, ENOTTY);
	errno = 0;
	ck_assert_int_eq(write(fd, buf, 0), 0); /* the kernel answers 0-byte writes itself */
	ck_assert(daemon_alive(&mailbox));
	close(fd);
}
END_TEST

/* A node taken from under the daemon (fuse: unmounted) is a failure, not a
 * stop: the exit status says so, for systemd's Restart=on-failure. CUSE has
 * no way to unregister a device from outside, so this is fuse-only. */
START_TEST(test_node_removed_is_failure)
{
	int status;

	ck_assert_int_eq(umount2(mailbox.node, MNT_DETACH), 0);
	ck_assert_int_eq(waitpid(mailbox.pid, &status, 0), mailbox.pid);
	mailbox.pid = 0;
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "daemon ended with status %d", status);
}
END_TEST

/* Two daemons claiming one name: the second fails at once, loudly, and
 * leaves the node (its mode and group) and the first daemon alone. On CUSE
 * the kernel refuses the name; on fuse the mount point is served already. */
START_TEST(test_name_taken)
{
	char out[8192], name_arg[128], fuse_arg[300], state_dir[] = "/tmp/cusekit-test-clash-XXXXXX", state_arg[128],
		transport_arg[64];
	const char *argv[] = { build_path("daemons/booster/boosterd"), transport_arg, name_arg, fuse_arg, state_arg,
			       "--config=/dev/null", NULL };
	const char *const rm[] = { "rm", "-rf", state_dir, NULL };
	struct stat before, after;
	int status;

	ck_assert_ptr_nonnull(mkdtemp(state_dir));
	snprintf(transport_arg, sizeof(transport_arg), "--transport=%s", test_transport());
	snprintf(name_arg, sizeof(name_arg), "--name=%s", mailbox.name);
	snprintf(fuse_arg, sizeof(fuse_arg), "--fuse-dir=%.*s", (int)(strrchr(mailbox.node, '/') - mailbox.node),
		 mailbox.node);
	snprintf(state_arg, sizeof(state_arg), "--state-dir=%s", state_dir);
	ck_assert_int_eq(stat(mailbox.node, &before), 0);

	/* boosterd's node would be 0660 group cusekit-booster: a clash that
	 * took the node over would show. */
	status = run_program(out, sizeof(out), argv);
	ck_assert_msg(status != 0, "a second daemon on %s exited 0:\n%s", mailbox.name, out);
	ck_assert_msg(strstr(out, test_on_cuse() ? "the name is taken" : "already served"),
		      "no clear error:\n%s", out);
	ck_assert_msg(!strstr(out, "Serving"), "the second daemon claimed the node:\n%s", out);

	ck_assert_int_eq(stat(mailbox.node, &after), 0);
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	ck_assert_uint_eq(after.st_uid, before.st_uid);
	ck_assert_uint_eq(after.st_gid, before.st_gid);
	ck_assert_uint_eq(after.st_rdev, before.st_rdev);
	ck_assert(daemon_alive(&mailbox));
	post("still mine");
	int fd = daemon_open(&mailbox, O_RDONLY | O_NONBLOCK);
	expect_message(fd, "still mine");
	close(fd);
	run_program(NULL, 0, rm);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("framework");
	TCase *tc = tcase_create("mailbox");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60 * test_timeout_scale());
	tcase_add_test(tc, test_write_completes_blocked_read);
	tcase_add_test(tc, test_signal_interrupts_blocked_read);
	tcase_add_test(tc, test_pthread_cancel_blocked_read);
	tcase_add_test(tc, test_sigkill_blocked_reader);
	tcase_add_test(tc, test_nonblocking_read);
	tcase_add_test(tc, test_poll_wakes_up);
	tcase_add_test(tc, test_epoll_wakes_up);
	tcase_add_test(tc, test_emsgsize_keeps_message);
	tcase_add_test(tc, test_stop_answers_blocked_reader);
	tcase_add_test(tc, test_clients_counted);
	tcase_add_test(tc, test_unsupported_requests);
	tcase_add_test(tc, test_name_taken);
	if (!test_on_cuse())
		tcase_add_test(tc, test_node_removed_is_failure);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
