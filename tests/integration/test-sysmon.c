/* SPDX-License-Identifier: MIT */
/*
 * sysmond through real syscalls: known processes and threads produce their
 * records in order with the right fields, IMAGE_LOAD, FILE_WRITE, several
 * readers, exact loss accounting, EMSGSIZE, blocking, EAGAIN, poll, epoll,
 * eventfd, signals and pthread_cancel of blocked readers, a killed reader,
 * and who sees what.
 *
 * To keep other processes' events out of the way, many tests let children
 * take an otherwise unused uid and filter on it.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/sysmon.h>

#include "harness.h"

/* A uid nothing else on the machine runs as, not even another run of this
 * test: children take it and readers filter on it. */
#define UID_A (200000u + (uid_t)getpid())

static struct daemon_proc sysmond;
static char watch_dir[64];
static char watch_arg[96];

static void teardown(void)
{
	char cmd[128];

	daemon_cleanup(&sysmond);
	if (watch_dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", watch_dir);
		ck_assert_int_eq(system(cmd), 0);
	}
}

static void start_sysmon(const char *queue_bytes)
{
	const char *args[3] = { watch_arg, queue_bytes, NULL };

	snprintf(watch_dir, sizeof(watch_dir), "/tmp/sysmon-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(watch_dir));
	snprintf(watch_arg, sizeof(watch_arg), "--watch=%s", watch_dir);
	daemon_start(&sysmond, "sysmon", args);
}

static int open_reader(int flags) { return daemon_open(&sysmond, flags | O_RDONLY); }

static void set_filter(int fd, uint32_t type_mask, uint32_t flags, uint32_t pid, uint32_t uid)
{
	struct sysmon_filter f = { .type_mask = type_mask, .flags = flags, .pid = pid, .uid = uid };

	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_SET_FILTER, &f), 0);
}

static struct sysmon_stats get_stats(int fd)
{
	struct sysmon_stats s;

	ck_assert_int_eq(ioctl(fd, SYSMON_IOC_GET_STATS, &s), 0);
	return s;
}

static int timeout_ms(void) { return 10000 * (int)test_timeout_scale(); }

/* Records read so far from one reader, in order. */
struct record_log {
	int fd;
	size_t len;
	_Alignas(8) unsigned char buf[4u << 20];
};

static void check_record(const struct sysmon_header *h, size_t avail)
{
	ck_assert_uint_ge(h->size, sizeof(*h));
	ck_assert_uint_eq(h->size % 8, 0);
	ck_assert_uint_le(h->size, avail);
}

/* Reads once (waiting up to the timeout); returns the bytes read. */
static size_t log_read(struct record_log *l)
{
	struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
	size_t room = sizeof(l->buf) - l->len;
	ssize_t n;

	ck_assert_uint_ge(room, 65536);
	ck_assert_int_eq(poll(&pfd, 1, timeout_ms()), 1);
	n = read(l->fd, l->buf + l->len, 65536);
	ck_assert_msg(n > 0, "read: %s", n < 0 ? strerror(errno) : "0 bytes");
	for (size_t off = 0; off < (size_t)n; off += ((struct sysmon_header *)(l->buf + l->len + off))->size)
		check_record((struct sysmon_header *)(l->buf + l->len + off), (size_t)n - off);
	l->len += (size_t)n;
	return (size_t)n;
}

static uint32_t record_pid(const struct sysmon_header *h)
{
	return h->type == SYSMON_EVENTS_LOST ? 0 : *(const uint32_t *)(h + 1);
}

/* The first record of type about process pid at or after *pos. */
static const struct sysmon_header *log_find(const struct record_log *l, size_t *pos, uint16_t type, uint32_t pid)
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

/* Reads until that record is there; its offset in the log. */
static size_t await_record(struct record_log *l, uint16_t type, uint32_t pid)
{
	size_t pos = 0;

	while (!log_find(l, &pos, type, pid))
		log_read(l);
	return pos;
}

static struct record_log *log_new(int fd)
{
	struct record_log *l = calloc(1, sizeof(*l));

	ck_assert_ptr_nonnull(l);
	l->fd = fd;
	return l;
}

static pid_t spawn(const char *const argv[])
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* A child that takes uid and exits with code; left unreaped. */
static pid_t spawn_as(uid_t uid, int code)
{
	pid_t pid = fork_as(uid, uid, NULL, 0);

	if (pid == 0)
		_exit(code);
	return pid;
}

static int reap(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static const void *at(const struct record_log *l, size_t pos) { return l->buf + pos; }

START_TEST(test_process_records)
{
	/* It waits for a line, so its /proc entry outlives the exec's
	 * handling however busy the machine is. */
	const char *const argv[] = { "/bin/sh", "-c", "read x; exit 7", NULL };
	static const char cmdline[] = "/bin/sh\0-c\0read x; exit 7";
	int go[2];
	char image[PATH_MAX];
	struct record_log *l;
	size_t create, exec, exit_, image_load;
	const struct sysmon_create *c;
	const struct sysmon_exec *x;
	const struct sysmon_exit *e;
	const struct sysmon_path *il;
	pid_t pid;

	start_sysmon("--queue-bytes=8388608");
	l = log_new(open_reader(0));
	ck_assert_ptr_nonnull(realpath("/bin/sh", image));
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(go[0], STDIN_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(go[0]);
	await_record(l, SYSMON_PROCESS_EXEC, pid);
	ck_assert_int_eq(write(go[1], "\n", 1), 1);
	close(go[1]);
	exit_ = await_record(l, SYSMON_PROCESS_EXIT, pid);
	ck_assert_int_eq(WEXITSTATUS(reap(pid)), 7);
	create = await_record(l, SYSMON_PROCESS_CREATE, pid);
	exec = await_record(l, SYSMON_PROCESS_EXEC, pid);
	image_load = await_record(l, SYSMON_IMAGE_LOAD, pid);
	ck_assert_uint_lt(create, exec);
	ck_assert_uint_lt(exec, exit_);

	c = at(l, create);
	ck_assert_uint_eq(c->header.size, sizeof(*c));
	ck_assert_uint_eq(c->pid, pid);
	ck_assert_uint_eq(c->tid, pid);
	ck_assert_uint_eq(c->ppid, getpid());
	ck_assert_uint_eq(c->creator_tid, getpid());
	ck_assert_uint_eq(c->uid, getuid());

	x = at(l, exec);
	ck_assert_uint_eq(x->uid, getuid());
	ck_assert_uint_eq(x->image_length, strlen(image));
	ck_assert_str_eq((const char *)x + x->image_offset, image);
	ck_assert_uint_eq(x->cmdline_length, sizeof(cmdline));
	ck_assert_mem_eq((const char *)x + x->cmdline_offset, cmdline, sizeof(cmdline));

	e = at(l, exit_);
	ck_assert_uint_eq(e->tid, pid);
	ck_assert_uint_eq(e->exit_code, 7);
	ck_assert_uint_eq(e->signal, 0);

	il = at(l, image_load);
	ck_assert_str_eq((const char *)il + il->path_offset, image);
	ck_assert_uint_eq(il->path_length, strlen(image));

	/* A signal's death. */
	{
		const char *const sleeper[] = { "/bin/sleep", "100", NULL };

		pid = spawn(sleeper);
		await_record(l, SYSMON_PROCESS_EXEC, pid);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		e = at(l, await_record(l, SYSMON_PROCESS_EXIT, pid));
		ck_assert_uint_eq(e->signal, SIGKILL);
		ck_assert_uint_eq(e->exit_code, 0);
		ck_assert(WIFSIGNALED(reap(pid)));
	}
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

static pid_t thread_tid;

static void *thread_main(void *arg)
{
	thread_tid = gettid();
	return NULL;
}

START_TEST(test_thread_records)
{
	struct record_log *l;
	const struct sysmon_create *c;
	const struct sysmon_exit *e;
	size_t create, exit_, pos = 0;
	pthread_t t;
	int fd;

	start_sysmon("--queue-bytes=8388608");
	fd = open_reader(0);
	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_THREAD_CREATE) | SYSMON_TYPE_BIT(SYSMON_THREAD_EXIT), SYSMON_FILTER_PID,
		   getpid(), 0);
	l = log_new(fd);
	ck_assert_int_eq(pthread_create(&t, NULL, thread_main, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);

	/* The pid filter: records of this process only, threads by tid. */
	while (!log_find(l, &pos, SYSMON_THREAD_EXIT, getpid()) ||
	       ((const struct sysmon_exit *)at(l, pos))->tid != (uint32_t)thread_tid) {
		pos = 0;
		log_read(l);
	}
	exit_ = pos;
	pos = 0;
	create = (log_find(l, &pos, SYSMON_THREAD_CREATE, getpid()), pos);
	c = at(l, create);
	ck_assert_uint_eq(c->header.type, SYSMON_THREAD_CREATE);
	ck_assert_uint_eq(c->tid, thread_tid);
	ck_assert_uint_eq(c->pid, getpid());
	ck_assert_uint_lt(create, exit_);
	e = at(l, exit_);
	ck_assert_uint_eq(e->pid, getpid());
	ck_assert_uint_eq(e->exit_code, 0);
	ck_assert_uint_eq(e->signal, 0);
	/* Nothing else passed the filter. */
	for (size_t off = 0; off < l->len; off += ((const struct sysmon_header *)at(l, off))->size)
		ck_assert_uint_eq(record_pid(at(l, off)), getpid());
	free(l);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_file_write)
{
	char file[192], nested[192];
	struct record_log *l;
	const struct sysmon_path *p;
	size_t pos;
	int fd;

	/* The watched tree exists before the daemon starts: its
	 * subdirectories are watched too. */
	start_sysmon("--queue-bytes=8388608");
	snprintf(nested, sizeof(nested), "%s/sub", watch_dir);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
	ck_assert_int_eq(mkdir(nested, 0755), 0);
	{
		const char *args[] = { watch_arg, NULL };

		daemon_start(&sysmond, "sysmon", args);
	}
	fd = open_reader(0);
	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_FILE_WRITE), SYSMON_FILTER_PID, getpid(), 0);
	l = log_new(fd);

	snprintf(file, sizeof(file), "%s/written", watch_dir);
	for (const char *path = file; path; path = path == file ? nested : NULL) {
		char target[256];
		int w;

		snprintf(target, sizeof(target), "%s%s", path, path == nested ? "/deeper" : "");
		w = open(target, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		ck_assert_int_ge(w, 0);
		ck_assert_int_eq(write(w, "x", 1), 1);
		close(w);
		for (pos = 0;; pos += p->header.size) {
			while (!log_find(l, &pos, SYSMON_FILE_WRITE, getpid()))
				log_read(l);
			p = at(l, pos);
			if (!strcmp((const char *)p + p->path_offset, target))
				break;
		}
		ck_assert_uint_eq(p->path_length, strlen(target));
		ck_assert_uint_eq(p->uid, getuid());
	}
	free(l);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

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

/* Exits of uid UID_A only. */
static int open_uid_reader(int flags, uid_t uid)
{
	int fd = open_reader(flags);

	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT), SYSMON_FILTER_UID, 0, uid);
	return fd;
}

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
			struct pollfd pfd = { .fd = fast, .events = POLLIN };
			ssize_t n;

			ck_assert_int_eq(poll(&pfd, 1, timeout_ms()), 1);
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

/* Waits until fd is readable. */
static void await_readable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	ck_assert_int_eq(poll(&pfd, 1, timeout_ms()), 1);
	ck_assert(pfd.revents & POLLIN);
}

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

struct blocked_read {
	int fd;
	ssize_t n;
	int error;
	unsigned char *buf;  /* a page of its own: see blocked_read_buffer() */
};

/* The test forks while the read is parked in the daemon. Before Linux 6.2
 * FUSE holds the reader's pages by plain reference, not pin: the parent's
 * next write to a page shared with the child after fork() breaks COW, and
 * the reply lands in the child's copy. So the buffer gets its own page,
 * which fork() leaves out. */
static unsigned char *blocked_read_buffer(void)
{
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(page, MAP_FAILED);
	ck_assert_int_eq(madvise(page, 4096, MADV_DONTFORK), 0);
	return page;
}

static void *blocked_read_main(void *arg)
{
	struct blocked_read *br = arg;

	br->n = read(br->fd, br->buf, 256);
	br->error = errno;
	return NULL;
}

/* Sure (enough) that the thread sits in read(): its state is S. */
static void await_blocked(pthread_t t)
{
	usleep(200000 * test_timeout_scale());
}

START_TEST(test_blocking_read)
{
	struct blocked_read br = { .buf = blocked_read_buffer() };
	pthread_t t;
	pid_t pid;

	start_sysmon(NULL);
	br.fd = open_uid_reader(0, UID_A);
	ck_assert_int_eq(pthread_create(&t, NULL, blocked_read_main, &br), 0);
	await_blocked(t);
	ck_assert_int_eq(br.n, 0);   /* still blocked */
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
	ck_assert_int_eq(poll(&pfd, 1, 100), 0);
	ck_assert_int_eq(epoll_wait(ep, &out, 1, 100), 0);

	pid = spawn_as(UID_A, 0);
	ck_assert_int_eq(epoll_wait(ep, &out, 1, timeout_ms()), 1);
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
	ck_assert_int_eq(epoll_wait(ep, &out, 1, timeout_ms()), 1);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	ck_assert_uint_eq(((struct sysmon_exit *)buf)->pid, pid);
	ck_assert_uint_eq(((struct sysmon_exit *)buf)->uid, UID_A);
	close(ep);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

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
	ck_assert_int_eq(poll(&pfd, 1, timeout_ms()), 1);
	ck_assert_int_eq(read(efd, &value, sizeof(value)), sizeof(value));
	ck_assert_uint_ge(value, 1);
	{
		_Alignas(8) unsigned char buf[256];

		ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	}
	reap(pid);
	/* The daemon's reference goes with the file. */
	close(fd);
	for (int i = 0; i < 100 && daemon_eventfds() != before; i++)
		usleep(10000);
	ck_assert_uint_eq(daemon_eventfds(), before);
	close(efd);
	close(pipefd[0]);
	close(pipefd[1]);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

static void on_usr1(int sig) { (void)sig; }

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
	await_blocked(t);
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
	await_blocked(t);
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
	usleep(300000 * test_timeout_scale());
	ck_assert_int_eq(kill(reader, SIGKILL), 0);
	ck_assert(WIFSIGNALED(reap(reader)));

	ck_assert(daemon_alive(&sysmond));
	fd = open_uid_reader(0, UID_A);
	for (int i = 0; i < 100; i++) {
		ck_assert_int_eq(ioctl(fd, CUSEKIT_IOC_GET_INFO, &info), 0);
		if (info.clients_open == 1)
			break;
		usleep(10000 * test_timeout_scale());
	}
	ck_assert_uint_eq(info.clients_open, 1);
	pid = spawn_as(UID_A, 0);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(struct sysmon_exit));
	reap(pid);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

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
	expect[0] = spawn_as(0, 1);
	usleep(100000);
	expect[1] = spawn_as(65534, 2);
	ck_assert_int_eq(write(pids[1], expect, sizeof(expect)), sizeof(expect));
	{
		int status = reap(reader);

		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "reader status %d", status);
	}
	reap(expect[0]);
	reap(expect[1]);
	close(ready[0]);
	close(ready[1]);
	close(pids[0]);
	close(pids[1]);
}

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

/* The client, waiting for the exit of a child that exits once the client
 * holds the device open; returns the client's output. */
static void run_client_on_exit(bool json, char *out, size_t size)
{
	char pid_arg[32], output[128];
	int go[2], fd, status, outfd;
	struct cusekit_info info;
	pid_t child, client;
	ssize_t n;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		char c;

		_exit(read(go[0], &c, 1) == 1 ? 5 : 1);
	}
	snprintf(pid_arg, sizeof(pid_arg), "--pid=%d", (int)child);
	snprintf(output, sizeof(output), "%s/client-output", watch_dir);
	client = fork();
	ck_assert_int_ge(client, 0);
	if (client == 0) {
		const char *argv[] = { build_path("clients/sysmon"), "--device", sysmond.node, "-e", "exit",
				       pid_arg, "--count=1", json ? "--json" : NULL, NULL };

		outfd = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (outfd < 0 || dup2(outfd, STDOUT_FILENO) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* The client has opened the device (and set its filter: one more
	 * request) when two clients are open. */
	fd = open_reader(0);
	for (int i = 0; i < 500; i++) {
		ck_assert_int_eq(ioctl(fd, CUSEKIT_IOC_GET_INFO, &info), 0);
		if (info.clients_open == 2)
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(info.clients_open, 2);
	usleep(100000 * test_timeout_scale());
	ck_assert_int_eq(write(go[1], "x", 1), 1);
	status = reap(client);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "client status %d", status);
	ck_assert_int_eq(WEXITSTATUS(reap(child)), 5);
	close(fd);
	close(go[0]);
	close(go[1]);
	outfd = open(output, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(outfd, 0);
	n = read(outfd, out, size - 1);
	ck_assert_int_gt(n, 0);
	out[n] = 0;
	close(outfd);
	snprintf(output, sizeof(output), "%d", (int)child);
	ck_assert_msg(strstr(out, output), "no pid %s in: %s", output, out);
}

START_TEST(test_client)
{
	char out[1024];

	start_sysmon(NULL);
	run_client_on_exit(false, out, sizeof(out));
	ck_assert_msg(strstr(out, " exit ") && strstr(out, "code 5 signal 0"), "text: %s", out);
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);   /* one line */
	run_client_on_exit(true, out, sizeof(out));
	ck_assert_msg(!strncmp(out, "{\"time\":\"", 9) && strstr(out, "\"type\":\"exit\"") &&
			      strstr(out, "\"code\":5,\"signal\":0"),
		      "json: %s", out);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* Where a journald runs, ask it; elsewhere (the sandbox, a bare VM) stand in
 * for it on its socket and look at what arrives. */
static bool journal_has(int sock, pid_t pid)
{
	char want_pid[64], buf[65536];

	snprintf(want_pid, sizeof(want_pid), "SYSMON_PID=%d\n", (int)pid);
	if (sock < 0) {
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "journalctl -q -o export SYSMON_EVENT=exit SYSMON_PID=%d | grep -q SYSMON_EXIT_CODE=8",
			 (int)pid);
		return system(cmd) == 0;
	}
	for (;;) {
		struct pollfd pfd = { .fd = sock, .events = POLLIN };
		ssize_t n;

		ck_assert_int_eq(poll(&pfd, 1, timeout_ms()), 1);
		n = recv(sock, buf, sizeof(buf) - 1, 0);
		ck_assert_int_gt(n, 0);
		buf[n] = 0;
		if (strstr(buf, want_pid) && strstr(buf, "SYSMON_EVENT=exit\n"))
			return strstr(buf, "SYSMON_EXIT_CODE=8\n") && strstr(buf, "MESSAGE=exit pid ");
	}
}

static bool journald_listens(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool listens;

	ck_assert_int_ge(fd, 0);
	listens = connect(fd, (const struct sockaddr *)addr, sizeof(*addr)) == 0;
	close(fd);
	return listens;
}

START_TEST(test_journal)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET };
	const char *args[] = { "--journal", NULL };
	int sock = -1;
	bool found = false;
	pid_t pid;

	if (!journald_listens(&addr)) {
		unlink(JOURNAL_SOCKET);   /* stale */
		ck_assert_int_eq(system("mkdir -p /run/systemd/journal"), 0);
		sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		ck_assert_int_ge(sock, 0);
		ck_assert_int_eq(bind(sock, (struct sockaddr *)&addr, sizeof(addr)), 0);
	}
	daemon_start(&sysmond, "sysmon", args);
	pid = spawn_as(0, 8);
	reap(pid);
	for (int i = 0; i < 50 && !found; i++) {
		found = journal_has(sock, pid);
		if (!found && sock < 0)
			usleep(100000 * test_timeout_scale());
	}
	if (sock >= 0) {
		close(sock);
		unlink(JOURNAL_SOCKET);
		rmdir("/run/systemd/journal");
		rmdir("/run/systemd");   /* only if we made them: both fail when not empty */
	}
	ck_assert_msg(found, "no journal entry for the exit of %d", (int)pid);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmon");
	TCase *tc = tcase_create("sysmon");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_process_records);
	tcase_add_test(tc, test_thread_records);
	tcase_add_test(tc, test_file_write);
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
	tcase_add_test(tc, test_client);
	tcase_add_test(tc, test_journal);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
