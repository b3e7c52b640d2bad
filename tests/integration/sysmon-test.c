/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sysmon-test.h"

struct daemon_proc sysmond;
char watch_dir[64];
static char watch_arg[96];

void sysmon_teardown(void)
{
	char cmd[128];

	daemon_cleanup(&sysmond);
	if (watch_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", watch_dir);
		ck_assert_int_eq(system(cmd), 0);
		watch_dir[0] = '\0';
	}
}

void start_sysmon_args(const char *const extra[])
{
	const char *args[8] = { watch_arg };
	size_t n = 1;

	for (; extra && *extra; extra++) {
		ck_assert_uint_lt(n, 7);
		args[n++] = *extra;
	}
	snprintf(watch_dir, sizeof(watch_dir), "/tmp/sysmon-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(watch_dir));
	snprintf(watch_arg, sizeof(watch_arg), "--watch=%s", watch_dir);
	daemon_start(&sysmond, "sysmon", args);
}

void start_sysmon(const char *queue_bytes)
{
	const char *args[] = { queue_bytes, NULL };

	start_sysmon_args(args);
}

int open_reader(int flags)
{
	return daemon_open(&sysmond, flags | O_RDONLY);
}

void set_filter(int fd, uint32_t type_mask, uint32_t flags, uint32_t pid, uint32_t uid)
{
	struct sysmon_filter f = { .type_mask = type_mask, .flags = flags, .pid = pid, .uid = uid };

	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_FILTER, &f), 0);
}

int open_uid_reader(int flags, uid_t uid)
{
	int fd = open_reader(flags);

	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT), SYSMON_FILTER_UID, 0, uid);
	return fd;
}

struct sysmon_stats get_stats(int fd)
{
	struct sysmon_stats s;

	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_GET_STATS, &s), 0);
	return s;
}

struct sysmon_status get_status(int fd)
{
	struct sysmon_status s;

	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_GET_STATUS, &s), 0);
	return s;
}

static char awaited[64];

/* Until fd is readable: however long the daemon takes (the test's timeout
 * is the only bound), saying now and then what is awaited. */
void await_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int n;

	while ((n = poll(&pfd, 1, 10000)) == 0)
		fprintf(stderr, "still waiting for %s\n", awaited[0] ? awaited : "a record");
	ck_assert_int_eq(n, 1);
	ck_assert(pfd.revents & POLLIN);
}

struct record_log *log_new(int fd)
{
	struct record_log *l = calloc(1, sizeof(*l));

	ck_assert_ptr_nonnull(l);
	l->fd = fd;
	return l;
}

size_t log_read(struct record_log *l)
{
	size_t room = sizeof(l->buf) - l->len;
	ssize_t n;
	int bad = 0;

	ck_assert_uint_ge(room, 65536);
	await_readable(l->fd);
	n = read(l->fd, l->buf + l->len, 65536);
	ck_assert_msg(n > 0, "read: %s", n < 0 ? strerror(errno) : "0 bytes");
	for (const struct sysmon_header *h = sysmon_record_first(l->buf + l->len, (size_t)n, &bad); h;
	     h = sysmon_record_next(l->buf + l->len, (size_t)n, h, &bad))
		;
	ck_assert_int_eq(bad, 0);
	l->len += (size_t)n;
	return (size_t)n;
}

uint32_t record_pid(const struct sysmon_header *h)
{
	return h->type == SYSMON_EVENTS_LOST ? 0 : *(const uint32_t *)(h + 1);
}

const struct sysmon_header *log_find(const struct record_log *l, size_t *pos, uint16_t type, uint32_t pid)
{
	for (size_t off = *pos; off < l->len; off += ((const struct sysmon_header *)(l->buf + off))->size) {
		const struct sysmon_header *h = (const void *)(l->buf + off);

		if (h->type == type && record_pid(h) == pid) {
			*pos = off;
			return h;
		}
	}
	return NULL;
}

/* What await_record() waits for, to say when it does not come. */
size_t await_record(struct record_log *l, uint16_t type, uint32_t pid)
{
	size_t pos = 0;

	snprintf(awaited, sizeof(awaited), "a record of type %u of pid %u", type, pid);
	while (!log_find(l, &pos, type, pid))
		log_read(l);
	awaited[0] = '\0';
	return pos;
}

const void *at(const struct record_log *l, size_t pos)
{
	return l->buf + pos;
}

pid_t spawn(const char *const argv[])
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

pid_t spawn_as(uid_t uid, int code)
{
	pid_t pid = fork_as(uid, uid, NULL, 0);

	if (pid == 0)
		_exit(code);
	return pid;
}

int reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

/* The test forks while the read is parked in the daemon. Before Linux 6.2
 * FUSE holds the reader's pages by plain reference, not pin: the parent's
 * next write to a page shared with the child after fork() breaks COW, and
 * the reply lands in the child's copy. So the buffer gets its own page,
 * which fork() leaves out. */
unsigned char *blocked_read_buffer(void)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(page, MAP_FAILED);
	ck_assert_int_eq(madvise(page, 4096, MADV_DONTFORK), 0);
	return page;
}

void *blocked_read_main(void *arg)
{
	struct blocked_read *br = arg;

	br->n = read(br->fd, br->buf, 256);
	br->error = errno;
	return NULL;
}
