/* SPDX-License-Identifier: MIT */
/*
 * zerod through real syscalls: dd, concurrent clients, the ioctls, bad
 * ioctls, persistence across a graceful restart and across SIGKILL, odd
 * files where the counters live, both I/O styles, and the book's test
 * client.
 */
#include <check.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cusekit/zero.h>

#include "harness.h"

#define MiB (1024ull * 1024ull)

static struct daemon_proc zerod;

static void teardown(void) { daemon_cleanup(&zerod); }

static const char *io_args(const char *style)
{
	return !strcmp(style, "buffered") ? "--io=buffered" : "--io=direct";
}

static void start_zero(const char *style)
{
	const char *const args[] = { io_args(style), NULL };

	daemon_start(&zerod, "zero", args);
}

static struct zero_stats get_stats(void)
{
	struct zero_stats s;
	int fd = daemon_open(&zerod, O_RDONLY);

	ck_assert_int_eq(ioctl(fd, ZERO_IOC_GET_STATS, &s), 0);
	close(fd);
	return s;
}

/* The largest request the transport sends: the kernel splits larger ones. */
static unsigned long long max_request(void) { return test_on_cuse() ? 128 * 1024 : MiB; }

static unsigned long long requests_for(unsigned long long bs, unsigned long long count)
{
	return count * ((bs + max_request() - 1) / max_request());
}

/* The book's test: 64 zeros into a buffer prefilled 1..64, 1024 bytes
 * written; the counters grow by exactly that. */
static void check_read_write(void)
{
	struct zero_stats before = get_stats(), after;
	unsigned char buf[1024];
	int fd = daemon_open(&zerod, O_RDWR);

	for (int i = 0; i < 64; i++)
		buf[i] = (unsigned char)(i + 1);
	ck_assert_int_eq(read(fd, buf, 64), 64);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(buf[i], 0);
	ck_assert_int_eq(read(fd, buf, 0), 0);
	ck_assert_int_eq(write(fd, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	close(fd);

	after = get_stats();
	ck_assert_uint_eq(after.total_read - before.total_read, 64);
	ck_assert_uint_eq(after.read_calls - before.read_calls, 1);
	ck_assert_uint_eq(after.total_written - before.total_written, 1024);
	ck_assert_uint_eq(after.write_calls - before.write_calls, 1);
}

/* 1 GiB through the node; 256 MiB in the emulated guest, where it is slow. */
static unsigned long long dd_read_mib(void) { return getenv("CUSEKIT_IN_VM") ? 256 : 1024; }

static void check_dd(void)
{
	char out[4096], in_arg[300], out_arg[300], count_arg[32], bytes[64];

	snprintf(in_arg, sizeof(in_arg), "if=%s", zerod.node);
	snprintf(out_arg, sizeof(out_arg), "of=%s", zerod.node);
	snprintf(count_arg, sizeof(count_arg), "count=%llu", dd_read_mib());
	const char *const reader[] = { "dd", in_arg, "of=/dev/null", "bs=1M", count_arg, NULL };
	const char *const writer[] = { "dd", "if=/dev/zero", out_arg, "bs=64k", "count=1024", NULL };

	ck_assert_msg(run_program(out, sizeof(out), reader) == 0, "dd read failed: %s", out);
	snprintf(bytes, sizeof(bytes), "%llu bytes", dd_read_mib() * MiB);
	ck_assert_msg(strstr(out, bytes), "dd read: %s", out);
	ck_assert_msg(run_program(out, sizeof(out), writer) == 0, "dd write failed: %s", out);
	ck_assert_msg(strstr(out, "67108864 bytes"), "dd write: %s", out);

	struct zero_stats s = get_stats();
	ck_assert_uint_eq(s.total_read, dd_read_mib() * MiB);
	ck_assert_uint_eq(s.read_calls, requests_for(MiB, dd_read_mib()));
	ck_assert_uint_eq(s.total_written, 64 * MiB);
	ck_assert_uint_eq(s.write_calls, requests_for(64 * 1024, 1024));
}

START_TEST(test_direct_read_write)
{
	start_zero("direct");
	check_read_write();
}
END_TEST

START_TEST(test_buffered_read_write)
{
	start_zero("buffered");
	check_read_write();
}
END_TEST

START_TEST(test_direct_dd)
{
	start_zero("direct");
	check_dd();
}
END_TEST

START_TEST(test_buffered_dd)
{
	start_zero("buffered");
	check_dd();
}
END_TEST

/* Four readers and four writers at once, each with its own request size:
 * every byte and every call is counted, none twice. */
START_TEST(test_concurrent_exact)
{
	enum { CLIENTS = 4, ROUNDS = 2000 };
	unsigned long long want_read = 0, want_written = 0;
	pid_t pids[2 * CLIENTS];

	start_zero("direct");
	for (int i = 0; i < 2 * CLIENTS; i++) {
		size_t size = 512 * (size_t)(i + 1) + 3;

		if (i < CLIENTS)
			want_read += (unsigned long long)size * ROUNDS;
		else
			want_written += (unsigned long long)size * ROUNDS;
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			static char buf[8192];
			int fd = open(zerod.node, O_RDWR);

			if (fd < 0)
				_exit(2);
			for (int k = 0; k < ROUNDS; k++) {
				ssize_t n = i < CLIENTS ? read(fd, buf, size) : write(fd, buf, size);

				if (n != (ssize_t)size)
					_exit(3);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < 2 * CLIENTS; i++) {
		int status;

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client %d failed: %d", i, status);
	}

	struct zero_stats s = get_stats();
	ck_assert_uint_eq(s.total_read, want_read);
	ck_assert_uint_eq(s.read_calls, CLIENTS * ROUNDS);
	ck_assert_uint_eq(s.total_written, want_written);
	ck_assert_uint_eq(s.write_calls, CLIENTS * ROUNDS);
}
END_TEST

START_TEST(test_clear_stats)
{
	int fd;

	start_zero("direct");
	check_read_write();
	fd = daemon_open(&zerod, O_RDONLY);
	ck_assert_int_eq(ioctl(fd, ZERO_IOC_CLEAR_STATS), 0);
	close(fd);
	struct zero_stats s = get_stats();
	ck_assert_uint_eq(s.total_read + s.total_written + s.read_calls + s.write_calls, 0);
}
END_TEST

START_TEST(test_get_info_counts_clients)
{
	struct cusekit_info info;
	int fds[3];

	start_zero("direct");
	for (int i = 0; i < 3; i++)
		fds[i] = daemon_open(&zerod, O_RDONLY);
	ck_assert_int_eq(ioctl(fds[0], CUSEKIT_IOC_GET_INFO, &info), 0);
	ck_assert_uint_eq(info.abi_version, CUSEKIT_ABI_VERSION);
	ck_assert_uint_eq(info.clients_open, 3);
	ck_assert_uint_eq(info.opens_total, 3);
	ck_assert_str_eq(info.name, zerod.name);

	close(fds[1]);
	close(fds[2]);
	ck_assert_int_eq(ioctl(fds[0], CUSEKIT_IOC_GET_INFO, &info), 0);
	ck_assert_uint_eq(info.clients_open, 1);
	ck_assert_uint_eq(info.opens_total, 3);
	ck_assert_uint_eq(info.requests_waiting, 0);

	/* A program built against ABI 1 asks for 88 bytes and gets them. */
	char v1[88];
	ck_assert_int_eq(ioctl(fds[0], CUSEKIT_IOC_GET_INFO_V1, v1), 0);
	ck_assert_mem_eq(v1, &info, offsetof(struct cusekit_info, requests_total));
	ck_assert_str_eq(v1 + offsetof(struct cusekit_info, name), zerod.name);
	close(fds[0]);
}
END_TEST

/* nobody opens the node n times and holds the files until told (to_child
 * closed): exits 0 when the first `allowed` opens succeeded and the rest
 * failed with EMFILE. A byte on from_child says the opens are done. */
static pid_t open_as_nobody(unsigned n, unsigned allowed, const int to_child[2], const int from_child[2])
{
	pid_t pid = fork_as(65534, 65534, NULL, 0);

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char done = 0;

		close(to_child[1]);
		close(from_child[0]);
		for (unsigned i = 0; i < n; i++) {
			int fd = open(zerod.node, O_RDONLY);

			if ((i < allowed) != (fd >= 0) || (fd < 0 && errno != EMFILE))
				_exit(1 + (int)i);
		}
		_exit(write(from_child[1], &done, 1) == 1 && read(to_child[0], &done, 1) >= 0 ? 0 : 100);
	}
	return pid;
}

/* open_as_nobody(3, 2), and while nobody holds its two, root opens four:
 * root has no bound. Returns when every file is released. */
static void nobody_opens_two_of_three(void)
{
	int to_child[2], from_child[2], fds[4], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(to_child), 0);
	ck_assert_int_eq(pipe(from_child), 0);
	pid = open_as_nobody(3, 2, to_child, from_child);
	close(to_child[0]);
	close(from_child[1]);
	ck_assert_int_eq(read(from_child[0], &c, 1), 1);
	for (unsigned i = 0; i < 4; i++)
		fds[i] = daemon_open(&zerod, O_RDONLY);
	daemon_wait_clients(&zerod, 2 + 4);
	close(to_child[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody's opens: status %d", status);
	close(from_child[0]);
	for (unsigned i = 0; i < 4; i++)
		close(fds[i]);
	/* nobody's files went with it, root's with the closes. */
	daemon_wait_clients(&zerod, 0);
}

/* One user's open files are bounded (max-opens-per-user), root's are not,
 * and what the user closes (here by dying) is theirs to open again. */
START_TEST(test_opens_per_user)
{
	const char *const args[] = { "--max-opens-per-user=2", NULL };

	daemon_start(&zerod, "zero", args);
	nobody_opens_two_of_three();
	nobody_opens_two_of_three();
	ck_assert_int_eq(daemon_stop(&zerod), 0);
}
END_TEST

/* Unknown commands and wrong-sized variants of known ones fail alone. */
START_TEST(test_bad_ioctls)
{
	struct { char bytes[8]; } small;
	struct { char bytes[128]; } large;
	int fd;

	start_zero("direct");
	fd = daemon_open(&zerod, O_RDWR);
	errno = 0;
	ck_assert_int_eq(ioctl(fd, _IO('Z', 0x7f)), -1);
	ck_assert_int_eq(errno, ENOTTY);
	errno = 0;
	ck_assert_int_eq(ioctl(fd, _IOR('Z', 0x01, small), &small), -1);
	ck_assert_int_eq(errno, ENOTTY);
	errno = 0;
	ck_assert_int_eq(ioctl(fd, _IOWR('Z', 0x01, large), &large), -1);
	ck_assert_int_eq(errno, ENOTTY);
	errno = 0;
	ck_assert_int_eq(ioctl(fd, _IOW('C', 0x01, struct cusekit_info), &large), -1);
	ck_assert_int_eq(errno, ENOTTY);
	/* A bad pointer for a known command: the kernel copies, the caller gets EFAULT. */
	errno = 0;
	ck_assert_int_eq(ioctl(fd, ZERO_IOC_GET_STATS, (void *)8), -1);
	ck_assert_int_eq(errno, EFAULT);
	close(fd);

	ck_assert(daemon_alive(&zerod));
	check_read_write();
}
END_TEST

START_TEST(test_persist_across_restart)
{
	char state_dir[192];
	struct zero_stats before, after;

	start_zero("direct");
	check_dd();
	before = get_stats();
	ck_assert_int_eq(daemon_stop(&zerod), 0);

	snprintf(state_dir, sizeof(state_dir), "%s", zerod.state_dir);
	daemon_start_with_state(&zerod, "zero", NULL, state_dir);
	after = get_stats();
	ck_assert_mem_eq(&before, &after, sizeof(before));
	ck_assert_int_eq(daemon_stop(&zerod), 0);
}
END_TEST

/* Whatever sits at the counters' path that is no counter file: a warning,
 * a fresh start, never a hang (a FIFO) or a device opened (a node). */
START_TEST(test_odd_state_starts_from_zero)
{
	char dir[] = "/tmp/cusekit-test-zero-state-XXXXXX", path[256], out[8192];
	const char *const grep[] = { "grep", "-q", "Ignoring counters", zerod.log, NULL };
	const char *const rm[] = { "rm", "-rf", dir, NULL };
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/counters", dir);
	for (int kind = 0; kind < 5; kind++) {
		switch (kind) {
		case 0:
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			ck_assert_int_ge(fd, 0);
			ck_assert_int_eq(write(fd, "CUSEKIT\nthis is not a counter file", 34), 34);
			close(fd);
			break;
		case 1:
			ck_assert_int_eq(mkfifo(path, 0600), 0);
			break;
		case 2:
			ck_assert_int_eq(symlink("/dev/zero", path), 0);
			break;
		case 3:
			ck_assert_int_eq(mknod(path, S_IFCHR | 0600, makedev(1, 5)), 0);
			break;
		case 4:
			/* Cut short: a mapping of it would fault. */
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			ck_assert_int_eq(write(fd, "CUSEKIT\n\2\0\0\0\40\0\0\0", 16), 16);
			close(fd);
			break;
		}
		daemon_start_with_state(&zerod, "zero", NULL, dir);
		struct zero_stats st = get_stats();
		ck_assert_uint_eq(st.total_read + st.total_written, 0);
		ck_assert_msg(run_program(out, sizeof(out), grep) == 0, "kind %d: no warning in %s", kind, zerod.log);
		check_read_write();
		ck_assert_int_eq(daemon_stop(&zerod), 0);
		daemon_cleanup(&zerod);
		unlink(path);
	}
	run_program(NULL, 0, rm);
}
END_TEST

/* What each client was told, in memory shared with the test. */
struct client_tally {
	unsigned long long read, written;              /* acknowledged */
	unsigned long long read_failed, write_failed;  /* asked, and answered with an error */
};

static void tally_client(const char *node, struct client_tally *t, unsigned seed)
{
	static char buf[64 * 1024];
	int fd = open(node, O_RDWR);

	if (fd < 0)
		_exit(1);
	for (unsigned i = seed;; i = i * 1103515245 + 12345) {
		size_t size = 1 + (i >> 8) % sizeof(buf);
		ssize_t n;

		if (i & 0x10000) {
			n = read(fd, buf, size);
			if (n != (ssize_t)size) {
				t->read_failed += size;
				_exit(0);
			}
			t->read += size;
		} else {
			n = write(fd, buf, size);
			if (n != (ssize_t)size) {
				t->write_failed += size;
				_exit(0);
			}
			t->written += size;
		}
	}
}

/* SIGKILL at a random moment under load, many times over: after each
 * restart the counters hold everything acknowledged before the kill, and
 * no more than the requests whose clients were answered with an error. */
START_TEST(test_sigkill_loses_no_count)
{
	enum { CLIENTS = 4 };
	unsigned rounds = getenv("CUSEKIT_IN_VM") ? 8 : 25;
	struct client_tally *tally = mmap(NULL, sizeof(*tally) * CLIENTS, PROT_READ | PROT_WRITE,
					  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	unsigned long long read = 0, written = 0, read_slack = 0, write_slack = 0;
	char state_dir[] = "/tmp/cusekit-test-zero-state-XXXXXX";
	const char *const rm[] = { "rm", "-rf", state_dir, NULL };
	pid_t clients[CLIENTS];

	ck_assert_ptr_ne(tally, MAP_FAILED);
	ck_assert_ptr_nonnull(mkdtemp(state_dir));
	srand((unsigned)getpid());
	daemon_start_with_state(&zerod, "zero", NULL, state_dir);
	for (unsigned round = 0; round < rounds; round++) {
		struct zero_stats st;

		memset(tally, 0, sizeof(*tally) * CLIENTS);
		for (int i = 0; i < CLIENTS; i++) {
			clients[i] = fork();
			ck_assert_int_ge(clients[i], 0);
			if (clients[i] == 0)
				tally_client(zerod.node, &tally[i], (unsigned)rand());
		}
		/* Every client has the device open; let the load run a random
		 * while, then kill the daemon. */
		daemon_wait_clients(&zerod, CLIENTS);
		usleep((useconds_t)(1000 + rand() % 50000));
		ck_assert_int_eq(kill(zerod.pid, SIGKILL), 0);
		ck_assert_int_eq(waitpid(zerod.pid, NULL, 0), zerod.pid);
		zerod.pid = 0;
		for (int i = 0; i < CLIENTS; i++) {
			int status;

			ck_assert_int_eq(waitpid(clients[i], &status, 0), clients[i]);
			ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client %d: status %d", i, status);
			read += tally[i].read;
			written += tally[i].written;
			read_slack += tally[i].read_failed;
			write_slack += tally[i].write_failed;
		}
		daemon_cleanup(&zerod);
		daemon_start_with_state(&zerod, "zero", NULL, state_dir);
		st = get_stats();
		ck_assert_msg(st.total_read >= read && st.total_read <= read + read_slack,
			      "round %u: read %llu counted, %llu acknowledged (+ %llu in flight)", round,
			      (unsigned long long)st.total_read, read, read_slack);
		ck_assert_msg(st.total_written >= written && st.total_written <= written + write_slack,
			      "round %u: written %llu counted, %llu acknowledged (+ %llu in flight)", round,
			      (unsigned long long)st.total_written, written, write_slack);
		/* Start the next round from what was counted. */
		read = st.total_read;
		written = st.total_written;
		read_slack = write_slack = 0;
	}
	munmap(tally, sizeof(*tally) * CLIENTS);
	run_program(NULL, 0, rm);
}
END_TEST

/* A client killed in the middle of a stream of requests takes nothing down. */
START_TEST(test_client_killed_midway)
{
	pid_t pid;

	start_zero("direct");
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		static char buf[128 * 1024];
		int fd = open(zerod.node, O_RDWR);

		for (;;)
			if (read(fd, buf, sizeof(buf)) < 0 || write(fd, buf, sizeof(buf)) < 0)
				_exit(1);
	}
	/* Kill it once it is streaming, wherever it is in its loop. */
	daemon_wait_clients(&zerod, 1);
	usleep((useconds_t)(rand() % 100000));
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);

	/* Its file is released (the kernel does that after its death). */
	daemon_wait_clients(&zerod, 0);
	ck_assert(daemon_alive(&zerod));
	check_read_write();
	ck_assert_int_eq(daemon_stop(&zerod), 0);
}
END_TEST

START_TEST(test_book_client)
{
	char out[4096], dev_arg[300];
	const char *argv[] = { build_path("clients/zero-test"), "--device", zerod.node, NULL, NULL };

	start_zero("direct");
	argv[2] = zerod.node;
	ck_assert_msg(run_program(out, sizeof(out), argv) == 0, "zero-test: %s", out);
	ck_assert_str_eq(out, "Total Read: 64, Total Write: 1024\n");

	argv[3] = "--clear";
	ck_assert_msg(run_program(out, sizeof(out), argv) == 0, "zero-test --clear: %s", out);
	ck_assert_str_eq(out, "Total Read: 128, Total Write: 2048\n");
	argv[3] = NULL;
	ck_assert_msg(run_program(out, sizeof(out), argv) == 0, "zero-test: %s", out);
	ck_assert_str_eq(out, "Total Read: 64, Total Write: 1024\n");

	/* A missing device: non-zero exit, and the message names it. */
	snprintf(dev_arg, sizeof(dev_arg), "%s-missing", zerod.node);
	argv[2] = dev_arg;
	ck_assert_int_ne(run_program(out, sizeof(out), argv), 0);
	ck_assert_msg(strstr(out, dev_arg) && strstr(out, "No such file"), "error message: %s", out);
}
END_TEST

/* The node is what the device says it is: mode 0666 like /dev/zero, on a
 * character device when the transport is cuse. */
START_TEST(test_node_mode)
{
	struct stat st;

	start_zero("direct");
	ck_assert_int_eq(stat(zerod.node, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0666);
	ck_assert_uint_eq(st.st_uid, 0);
	if (test_on_cuse())
		ck_assert(S_ISCHR(st.st_mode));
	ck_assert_int_eq(daemon_stop(&zerod), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zero");
	TCase *tc = tcase_create("zero");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_direct_read_write);
	tcase_add_test(tc, test_buffered_read_write);
	tcase_add_test(tc, test_direct_dd);
	tcase_add_test(tc, test_buffered_dd);
	tcase_add_test(tc, test_concurrent_exact);
	tcase_add_test(tc, test_clear_stats);
	tcase_add_test(tc, test_get_info_counts_clients);
	tcase_add_test(tc, test_opens_per_user);
	tcase_add_test(tc, test_bad_ioctls);
	tcase_add_test(tc, test_persist_across_restart);
	tcase_add_test(tc, test_odd_state_starts_from_zero);
	tcase_add_test(tc, test_sigkill_loses_no_count);
	tcase_add_test(tc, test_client_killed_midway);
	tcase_add_test(tc, test_book_client);
	tcase_add_test(tc, test_node_mode);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
