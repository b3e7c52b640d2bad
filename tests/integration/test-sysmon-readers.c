/* SPDX-License-Identifier: MIT */
/*
 * sysmond's readers through real syscalls: several readers, exact loss
 * accounting, EMSGSIZE, blocking, EAGAIN, poll, epoll, eventfd, signals and
 * pthread_cancel of blocked readers, a killed reader, who sees what, the
 * reader limit, bad ioctls and the node's mode.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysmon-test.h"

/* The daemon's open eventfds. */
static unsigned daemon_eventfds(void)
{
	char dir[64], link[320], target[64];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)sysmond.pid);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d))) {
		ssize_t len;

		snprintf(link, sizeof(link), "%s/%s", dir, de->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = 0;
			n += !strcmp(target, "anon_inode:[eventfd]");
		}
	}
	closedir(d);
	return n;
}

static void on_usr1(int sig) {}

/* In a child that becomes uid (with groups): open a reader of exits, tell
 * the parent, read until the exit of the pid the parent names; exit 0 if
 * exactly the expected pids were seen. */
static void reader_as(uid_t uid, const gid_t *groups, size_t ngroups, int ready_fd, int pids_fd)
{
	pid_t expect[2];
	_Alignas(8) unsigned char buf[4096];
	int fd;
	bool seen_other = false, seen_own = false;

	if (setgroups(ngroups, groups) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		_exit(10);
	fd = open(sysmond.node, O_RDONLY);
	if (fd < 0)
		_exit(11);
	{
		struct sysmon_filter f = { .type_mask = SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT) };

		if (ioctl(fd, SYSMON_IOC_SET_FILTER, &f) < 0)
			_exit(12);
	}
	if (write(ready_fd, "r", 1) != 1 || read(pids_fd, expect, sizeof(expect)) != sizeof(expect))
		_exit(13);
	/* expect[0]: root's, expect[1]: uid's own, which exits later. */
	while (!seen_own) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			_exit(14);
		for (ssize_t off = 0; off < n; off += ((struct sysmon_header *)(buf + off))->size) {
			const struct sysmon_exit *e = (const void *)(buf + off);

			if (e->header.type != SYSMON_PROCESS_EXIT)
				continue;
			if (!groups && e->uid != uid)
				_exit(15);
			seen_other |= e->pid == (uint32_t)expect[0];
			seen_own |= e->pid == (uint32_t)expect[1];
		}
	}
	_exit(seen_other == (groups != NULL) ? 0 : 16);
}

static void check_visibility(const gid_t *groups, size_t ngroups)
{
	int ready[2], pids[2];
	pid_t reader, expect[2];
	char c;

	ck_assert_int_eq(pipe(ready), 0);
	ck_assert_int_eq(pipe(pids), 0);
	reader = fork();
	ck_assert_int_ge(reader, 0);
	if (reader == 0)
		reader_as(65534, groups, ngroups, ready[1], pids[0]);
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	/* Reaped first: its exit is queued before the second one's. */
	expect[0] = spawn_as(0, 1);
	reap(expect[0]);
	expect[1] = spawn_as(65534, 2);
	ck_assert_int_eq(write(pids[1], expect, sizeof(expect)), sizeof(expect));
	{
		int status = reap(reader);

		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader status %d", status);
	}
	reap(expect[1]);
	close(ready[0]);
	close(ready[1]);
	close(pids[0]);
	close(pids[1]);
}

START_TEST(test_two_readers)
{
	const char *const argv[] = { "/bin/true", NULL };
	struct record_log *a, *b;
	pid_t pid;

	start_sysmon("--queue-bytes=8388608");
	a = log_new(open_reader(0));
	b = log_new(open_reader(0));
	pid = spawn(argv);
	for (struct record_log *l = a; l; l = l == a ? b : NULL) {
		size_t create = await_record(l, SYSMON_PROCESS_CREATE, pid);
		size_t exec = await_record(l, SYSMON_PROCESS_EXEC, pid);
		size_t exit_ = await_record(l, SYSMON_PROCESS_EXIT, pid);

		await_record(l, SYSMON_IMAGE_LOAD, pid);
		ck_assert_uint_lt(create, exec);
		ck_assert_uint_lt(exec, exit_);
	}
	reap(pid);
	close(a->fd);
	close(b->fd);
	free(a);
	free(b);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_slow_reader_exact_loss)
{
	enum { BATCH = 50, BATCHES = 8, TOTAL = BATCH * BATCHES };
	/* 4096 bytes hold 102 exit records of 40 bytes. */
	const unsigned capacity = 4096 / sizeof(struct sysmon_exit);
	pid_t pids[TOTAL];
	uint32_t order[TOTAL];   /* exits in the order the fast reader got them */
	int slow, fast;
	unsigned seen = 0, got = 0, lost = 0;
	_Alignas(8) unsigned char buf[8192];
	struct sysmon_stats s;

	start_sysmon("--queue-bytes=4096");
	slow = open_uid_reader(0, UID_A);
	fast = open_uid_reader(0, UID_A);
	for (int b = 0; b < BATCHES; b++) {
		for (int i = 0; i < BATCH; i++)
			pids[b * BATCH + i] = spawn_as(UID_A, 0);
		/* The fast reader keeps up: it reads every batch. */
		while (seen < (unsigned)(b + 1) * BATCH) {
			ssize_t n;

			await_readable(fast);
			n = read(fast, buf, sizeof(buf));
			ck_assert_int_gt(n, 0);
			for (ssize_t off = 0; off < n; off += ((struct sysmon_header *)(buf + off))->size) {
				ck_assert_uint_eq(((struct sysmon_header *)(buf + off))->type, SYSMON_PROCESS_EXIT);
				ck_assert_uint_lt(seen, TOTAL);
				order[seen++] = record_pid((struct sysmon_header *)(buf + off));
			}
		}
	}
	for (int i = 0; i < TOTAL; i++)
		reap(pids[i]);
	ck_assert_uint_eq(seen, TOTAL);
	ck_assert_uint_eq(get_stats(fast).dropped, 0);

	/* The slow one: the loss first, counted exactly, then the newest. */
	s = get_stats(slow);
	ck_assert_uint_eq(s.queued, capacity);
	ck_assert_uint_eq(s.dropped, TOTAL - capacity);
	for (;;) {
		ssize_t n = read(slow, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		ck_assert_int_gt(n, 0);
		for (ssize_t off = 0; off < n; off += ((struct sysmon_header *)(buf + off))->size) {
			const struct sysmon_header *h = (const void *)(buf + off);

			if (h->type == SYSMON_EVENTS_LOST) {
				const struct sysmon_lost *ls = (const void *)h;

				ck_assert_uint_eq(got, 0);    /* before any record */
				ck_assert_uint_eq(ls->reasons, SYSMON_LOST_READER);
				ck_assert_uint_eq(ls->kernel_overruns, 0);
				lost += (unsigned)ls->count;
			} else {
				ck_assert_uint_eq(record_pid(h), order[TOTAL - capacity + got]);
				got++;
			}
		}
		if (got == capacity)
			break;
	}
	ck_assert_uint_eq(lost, TOTAL - capacity);
	ck_assert_uint_eq(got + lost, TOTAL);
	s = get_stats(slow);
	ck_assert_uint_eq(s.delivered, capacity);
	ck_assert_uint_eq(s.queued, 0);
	ck_assert_uint_eq(s.queue_bytes, 4096);
	{
		int flags = fcntl(slow, F_GETFL);

		ck_assert_int_eq(fcntl(slow, F_SETFL, flags | O_NONBLOCK), 0);
		ck_assert_int_eq(read(slow, buf, sizeof(buf)), -1);
		ck_assert_int_eq(errno, EAGAIN);
	}
	close(slow);
	close(fast);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_emsgsize_and_eagain)
{
	_Alignas(8) unsigned char buf[256];
	struct sysmon_exit *e = (void *)buf;
	pid_t a, b;
	int fd;

	start_sysmon(NULL);
	fd = open_uid_reader(O_NONBLOCK, UID_A);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);

	a = spawn_as(UID_A, 3);
	await_readable(fd);
	b = spawn_as(UID_A, 4);
	while (get_stats(fd).queued < 2)
		usleep(10000);
	/* Too small for the next record: it stays queued. */
	ck_assert_int_eq(read(fd, buf, 8), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	ck_assert_int_eq(read(fd, buf, sizeof(*e) - 1), -1);
	ck_assert_int_eq(errno, EMSGSIZE);
	/* Room for one and a half: one whole record. */
	ck_assert_int_eq(read(fd, buf, sizeof(*e) * 3 / 2), sizeof(*e));
	ck_assert_uint_eq(e->header.type, SYSMON_PROCESS_EXIT);
	ck_assert_uint_eq(e->pid, a);
	ck_assert_uint_eq(e->exit_code, 3);
	ck_assert_uint_eq(e->uid, UID_A);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(*e));
	ck_assert_uint_eq(e->pid, b);
	ck_assert_uint_eq(e->exit_code, 4);

	/* Exactly two records' room: both. A read far larger than any
	 * transport request returns what is there without blocking. */
	reap(a);
	reap(b);
	a = spawn_as(UID_A, 3);
	b = spawn_as(UID_A, 4);
	while (get_stats(fd).queued < 2)
		usleep(10000);
	ck_assert_int_eq(read(fd, buf, 2 * sizeof(*e)), 2 * sizeof(*e));
	reap(a);
	reap(b);
	a = spawn_as(UID_A, 3);
	b = spawn_as(UID_A, 4);
	while (get_stats(fd).queued < 2)
		usleep(10000);
	{
		size_t big_size = 4u << 20;
		unsigned char *big = malloc(big_size);

		ck_assert_int_eq(read(fd, big, big_size), 2 * sizeof(*e));
		free(big);
	}
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, EAGAIN);
	reap(a);
	reap(b);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_blocking_read)
{
	struct blocked_read br = { .buf = blocked_read_buffer() };
	pthread_t t;
	pid_t pid;

	start_sysmon(NULL);
	br.fd = open_uid_reader(0, UID_A);
	ck_assert_int_eq(pthread_create(&t, NULL, blocked_read_main, &br), 0);
	daemon_wait_waiting(&sysmond, 1);
	pid = spawn_as(UID_A, 9);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(br.n, sizeof(struct sysmon_exit));
	ck_assert_uint_eq(((struct sysmon_header *)br.buf)->type, SYSMON_PROCESS_EXIT);
	ck_assert_uint_eq(((struct sysmon_exit *)br.buf)->pid, pid);
	ck_assert_uint_eq(((struct sysmon_exit *)br.buf)->exit_code, 9);
	reap(pid);
	close(br.fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_poll_and_epoll)
{
	struct pollfd pfd;
	struct epoll_event ev = { .events = EPOLLIN }, out;
	_Alignas(8) unsigned char buf[256];
	int fd, ep;
	pid_t pid;

	start_sysmon(NULL);
	fd = open_uid_reader(O_NONBLOCK, UID_A);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ck_assert_int_ge(ep, 0);
	ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev), 0);
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	/* Nothing now (nothing of UID_A's happened). */
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ck_assert_int_eq(epoll_wait(ep, &out, 1, 0), 0);

	pid = spawn_as(UID_A, 0);
	ck_assert_int_eq(epoll_wait(ep, &out, 1, -1), 1);
	ck_assert(out.events & EPOLLIN);
	ck_assert_int_eq(poll(&pfd, 1, 0), 1);
	ck_assert(pfd.revents & POLLIN);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	/* Readable again on the next record, even from a process reaped at
	 * once: its uid comes from the events, not from /proc. */
	reap(pid);
	pid = spawn_as(UID_A, 0);
	reap(pid);
	ck_assert_int_eq(epoll_wait(ep, &out, 1, -1), 1);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	ck_assert_uint_eq(((struct sysmon_exit *)buf)->pid, pid);
	ck_assert_uint_eq(((struct sysmon_exit *)buf)->uid, UID_A);
	close(ep);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_eventfd)
{
	struct sysmon_eventfd set = {};
	struct pollfd pfd;
	uint64_t value;
	unsigned before;
	int fd, efd, pipefd[2];
	pid_t pid;

	start_sysmon(NULL);
	fd = open_uid_reader(O_NONBLOCK, UID_A);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ck_assert_int_ge(efd, 0);
	ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);

	/* Not an eventfd, not an open fd, reserved bits. */
	set.fd = pipefd[0];
	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_EVENTFD, &set), -1);
	ck_assert_int_eq(errno, EINVAL);
	set.fd = 999;
	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_EVENTFD, &set), -1);
	ck_assert_int_eq(errno, EBADF);
	set = (struct sysmon_eventfd){ .fd = efd, .reserved = 1 };
	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_EVENTFD, &set), -1);
	ck_assert_int_eq(errno, EINVAL);

	before = daemon_eventfds();
	set.reserved = 0;
	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_EVENTFD, &set), 0);
	ck_assert_uint_eq(daemon_eventfds(), before + 1);
	ck_assert_int_eq(read(efd, &value, sizeof(value)), -1);

	pid = spawn_as(UID_A, 0);
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, -1), 1);
	ck_assert_int_eq(read(efd, &value, sizeof(value)), sizeof(value));
	ck_assert_uint_ge(value, 1);
	{
		_Alignas(8) unsigned char buf[256];

		ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	}
	reap(pid);
	/* The daemon's reference goes with the file. */
	close(fd);
	daemon_wait_clients(&sysmond, 0);
	ck_assert_uint_eq(daemon_eventfds(), before);
	close(efd);
	close(pipefd[0]);
	close(pipefd[1]);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_signal_interrupts_read)
{
	struct sigaction sa = { .sa_handler = on_usr1 };   /* no SA_RESTART */
	struct blocked_read br = { .buf = blocked_read_buffer() };
	_Alignas(8) unsigned char buf[256];
	pthread_t t;
	pid_t pid;

	ck_assert_int_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	start_sysmon(NULL);
	br.fd = open_uid_reader(0, UID_A);
	ck_assert_int_eq(pthread_create(&t, NULL, blocked_read_main, &br), 0);
	daemon_wait_waiting(&sysmond, 1);
	ck_assert_int_eq(pthread_kill(t, SIGUSR1), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(br.n, -1);
	ck_assert_int_eq(br.error, EINTR);

	/* Nothing was lost: the next record comes to the next read. */
	pid = spawn_as(UID_A, 5);
	ck_assert_int_eq(read(br.fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	ck_assert_uint_eq(((struct sysmon_exit *)buf)->pid, pid);
	ck_assert_uint_eq(get_stats(br.fd).dropped, 0);
	reap(pid);
	close(br.fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_pthread_cancel_blocked_read)
{
	struct blocked_read br = { .buf = blocked_read_buffer() };
	_Alignas(8) unsigned char buf[256];
	struct cusekit_info info;
	pthread_t t;
	void *ret;
	pid_t pid;

	start_sysmon(NULL);
	br.fd = open_uid_reader(0, UID_A);
	ck_assert_int_eq(pthread_create(&t, NULL, blocked_read_main, &br), 0);
	daemon_wait_waiting(&sysmond, 1);
	ck_assert_int_eq(pthread_cancel(t), 0);
	ck_assert_int_eq(pthread_join(t, &ret), 0);
	ck_assert_ptr_eq(ret, PTHREAD_CANCELED);

	ck_assert_int_eq(ioctl(br.fd, CUSEKIT_IOC_GET_INFO, &info), 0);
	pid = spawn_as(UID_A, 6);
	ck_assert_int_eq(read(br.fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	ck_assert_uint_eq(((struct sysmon_exit *)buf)->pid, pid);
	reap(pid);
	close(br.fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_killed_blocked_reader)
{
	struct cusekit_info info;
	_Alignas(8) unsigned char buf[256];
	int fd;
	pid_t reader, pid;

	start_sysmon(NULL);
	reader = fork();
	ck_assert_int_ge(reader, 0);
	if (reader == 0) {
		int rfd = open(sysmond.node, O_RDONLY);
		struct sysmon_filter f = { SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT), SYSMON_FILTER_PID, 1, 0 };

		/* Blocks: init does not exit. */
		if (rfd >= 0 && ioctl(rfd, SYSMON_IOC_SET_FILTER, &f) == 0)
			(void)!read(rfd, buf, sizeof(buf));
		_exit(1);
	}
	/* Killed while its read is parked in the daemon. */
	daemon_wait_waiting(&sysmond, 1);
	ck_assert_int_eq(kill(reader, SIGKILL), 0);
	ck_assert(WIFSIGNALED(reap(reader)));

	/* Its read answered, its file released. */
	ck_assert(daemon_alive(&sysmond));
	daemon_wait_waiting(&sysmond, 0);
	daemon_wait_clients(&sysmond, 0);
	fd = open_uid_reader(0, UID_A);
	ck_assert_int_eq(ioctl(fd, CUSEKIT_IOC_GET_INFO, &info), 0);
	ck_assert_uint_eq(info.clients_open, 1);
	pid = spawn_as(UID_A, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	reap(pid);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_unprivileged_sees_own_only)
{
	start_sysmon(NULL);
	check_visibility(NULL, 0);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_group_sees_all)
{
	struct group *g = getgrnam("cusekit-sysmon");
	gid_t gid;

	ck_assert_msg(g, "group cusekit-sysmon missing (systemd/cusekit.sysusers)");
	gid = g->gr_gid;
	start_sysmon(NULL);
	check_visibility(&gid, 1);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* An unprivileged user's readers are bounded; root's are not. */
START_TEST(test_reader_limit)
{
	pid_t child;
	int fds[40], status;

	start_sysmon(NULL);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int fd;

		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		for (int i = 0; i < 16; i++)
			if (open(sysmond.node, O_RDONLY) < 0)
				_exit(11);
		fd = open(sysmond.node, O_RDONLY);
		_exit(fd < 0 && errno == EMFILE ? 0 : 12);
	}
	status = reap(child);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	for (int i = 0; i < 40; i++)
		fds[i] = open_reader(0);
	for (int i = 0; i < 40; i++)
		close(fds[i]);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_bad_ioctls_and_node)
{
	struct sysmon_filter f = { .type_mask = 1u << 31 };
	struct stat st;
	struct group *g = getgrnam("cusekit-sysmon");
	int fd;

	start_sysmon(NULL);
	fd = open_reader(0);
	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_FILTER, &f), -1);
	ck_assert_int_eq(errno, EINVAL);
	f = (struct sysmon_filter){ .type_mask = SYSMON_TYPES_ALL, .flags = 0x80 };
	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_FILTER, &f), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(ioctl(fd, _IOR('S', 0x7f, struct sysmon_stats), &f), -1);
	ck_assert_int_eq(errno, ENOTTY);
	ck_assert_int_eq(ioctl(fd, _IOR('S', 0x02, __u32), &f), -1);  /* GET_STATS, wrong size */
	ck_assert_int_eq(errno, ENOTTY);
	ck_assert_int_eq(write(fd, "x", 1), -1);
	close(fd);

	ck_assert_int_eq(stat(sysmond.node, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0666);
	ck_assert_ptr_nonnull(g);
	ck_assert_uint_eq(st.st_gid, g->gr_gid);
	ck_assert(daemon_alive(&sysmond));
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmon-readers");
	TCase *tc = tcase_create("readers");

	tcase_add_checked_fixture(tc, NULL, sysmon_teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_two_readers);
	tcase_add_test(tc, test_slow_reader_exact_loss);
	tcase_add_test(tc, test_emsgsize_and_eagain);
	tcase_add_test(tc, test_blocking_read);
	tcase_add_test(tc, test_poll_and_epoll);
	tcase_add_test(tc, test_eventfd);
	tcase_add_test(tc, test_signal_interrupts_read);
	tcase_add_test(tc, test_pthread_cancel_blocked_read);
	tcase_add_test(tc, test_killed_blocked_reader);
	tcase_add_test(tc, test_unprivileged_sees_own_only);
	tcase_add_test(tc, test_group_sees_all);
	tcase_add_test(tc, test_reader_limit);
	tcase_add_test(tc, test_bad_ioctls_and_node);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
