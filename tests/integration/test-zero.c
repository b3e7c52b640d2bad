/* SPDX-License-Identifier: MIT */
/*
 * zerod through real syscalls: dd, concurrent clients, the ioctls, bad
 * ioctls, persistence across a graceful restart, both I/O styles, and the
 * book's test client.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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

static void check_read_write(void)
{
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

	struct zero_stats s = get_stats();
	ck_assert_uint_eq(s.total_read, 64);
	ck_assert_uint_eq(s.read_calls, 1);
	ck_assert_uint_eq(s.total_written, 1024);
	ck_assert_uint_eq(s.write_calls, 1);
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
	close(fds[0]);
}
END_TEST

/* Unknown commands and wrong-sized variants of known ones fail alone. */
START_TEST(test_bad_ioctls)
{
	struct { char bytes[8]; } small;
	struct { char bytes[64]; } large;
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

START_TEST(test_corrupt_state_starts_from_zero)
{
	char path[256], out[8192];
	const char *const grep[] = { "grep", "-q", "Ignoring counters", zerod.log, NULL };
	int fd;

	mkdir("/tmp/cusekit-test-zero-corrupt", 0755);
	snprintf(path, sizeof(path), "/tmp/cusekit-test-zero-corrupt/counters");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "CUSEKIT\nthis is not a counter file", 34), 34);
	close(fd);

	daemon_start_with_state(&zerod, "zero", NULL, "/tmp/cusekit-test-zero-corrupt");
	struct zero_stats s = get_stats();
	ck_assert_uint_eq(s.total_read + s.total_written, 0);
	ck_assert_msg(run_program(out, sizeof(out), grep) == 0, "no warning about the corrupt file in %s",
		      zerod.log);
	check_read_write();
	unlink(path);
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
	usleep(200 * 1000);
	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);

	ck_assert(daemon_alive(&zerod));
	struct cusekit_info info;
	int fd = daemon_open(&zerod, O_RDONLY);
	ck_assert_int_eq(ioctl(fd, CUSEKIT_IOC_GET_INFO, &info), 0);
	ck_assert_uint_eq(info.clients_open, 1);
	close(fd);
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
	tcase_add_test(tc, test_bad_ioctls);
	tcase_add_test(tc, test_persist_across_restart);
	tcase_add_test(tc, test_corrupt_state_starts_from_zero);
	tcase_add_test(tc, test_client_killed_midway);
	tcase_add_test(tc, test_book_client);
	tcase_add_test(tc, test_node_mode);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
