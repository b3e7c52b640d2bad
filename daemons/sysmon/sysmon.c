/* SPDX-License-Identifier: MIT */
/*
 * sysmond: process, thread, image and file events as a device.
 *
 * Sources: the kernel's process events connector (fork, exec, exit of
 * processes and threads) and fanotify (files opened for execution anywhere
 * on the root file system; files closed after writing under the watched
 * directories). Each event becomes one record, encoded once and shared by the
 * queues of every reader allowed to see it and asking for it. Readers are
 * open files: each has its own bounded queue, filter, counters and eventfd;
 * losses are counted per reader and reported in-band (EVENTS_LOST).
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/pidfd.h>
#include <systemd/sd-journal.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/sysmon.h>

#include "device.h"
#include "log.h"
#include "procfs.h"
#include "macro.h"
#include "proc-connector.h"
#include "record.h"
#include "uid-table.h"

#define SYSMON_QUEUE_BYTES_DEFAULT (1u << 20)
#define SYSMON_QUEUE_BYTES_MIN 4096u
#define SYSMON_QUEUE_BYTES_MAX (256u << 20)
#define SYSMON_READ_MAX (1u << 20)
#define SYSMON_SPLIT_READ_MIN (64u << 10)   /* below every transport's request size */
#define SYSMON_READERS_PER_USER 16     /* unprivileged readers per uid */
#define SYSMON_WATCH_DIRS_MAX 4096     /* directories marked per watched tree */

struct sysmon {
	struct cusekit_device *device;
	size_t queue_bytes;
	char **watch;                /* NULL-terminated directories */
	bool journal;                /* --journal: every event to the journal too */
	struct proc_connector *proc;
	struct uid_table uids;       /* live processes' real uids, from the events */
	int fanotify_fd;
	sd_event_source *fanotify_source;
	pid_t self;
	uint64_t kernel_overruns;
};

struct reader {
	struct sm_queue queue;
	struct sm_filter filter;
	bool see_all;                /* root or cusekit-sysmon at open time */
	uid_t uid;                   /* otherwise: only this real uid */
	int eventfd;                 /* our reference to the reader's eventfd, or -1 */
	struct cusekit_waitq reads;  /* blocked reads */
	struct sm_fill answered;     /* what the last answer took from the queue */
};

static struct reader *reader_of(struct cusekit_client *c) { return c->private; }

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Reading */

/* Whole records from the reader's queue, or -EAGAIN when there are none.
 * They leave the queue once the answer reached the reader (read_done). */
static ssize_t reader_answer(struct reader *rd, struct cusekit_request *req, size_t size)
{
	void *buffer = cusekit_request_buffer(req);
	int r;

	if (!buffer)
		return -ENOMEM;
	size = MIN(size, (size_t)SYSMON_READ_MAX);
	r = sm_queue_fill(&rd->queue, buffer, size, now_ns(CLOCK_REALTIME), &rd->answered);
	if (r < 0)
		return r;
	/* The kernel splits a read() larger than the transport's request size
	 * (128 KiB and up) and asks for the rest after a reply that fills a
	 * request exactly; that request would block. Keep such replies short. */
	if (size >= SYSMON_SPLIT_READ_MIN && rd->answered.bytes == size && rd->answered.records + rd->answered.lost > 1)
		sm_fill_drop_last(&rd->queue, &rd->answered);
	return (ssize_t)rd->answered.bytes;
}

static ssize_t reader_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	return reader_answer(q->userdata, req, cusekit_request_size(req));
}

static const struct cusekit_waitq_ops reader_ops = { .try_answer = reader_try };

static ssize_t sysmon_read(struct cusekit_client *c, struct cusekit_request *req, size_t size)
{
	struct reader *rd = reader_of(c);
	ssize_t r = -EAGAIN;

	/* Earlier blocked reads go first. */
	if (cusekit_waitq_empty(&rd->reads))
		r = reader_answer(rd, req, size);
	if (r != -EAGAIN || cusekit_request_nonblock(req))
		return r;
	/* Interrupted: the framework answers EINTR; the records stay queued. */
	return cusekit_park(&rd->reads, req);
}

/* An interrupted reader's records stay queued. */
static void sysmon_read_done(struct cusekit_client *c, size_t bytes, bool delivered)
{
	struct reader *rd = reader_of(c);

	if (delivered)
		sm_queue_consume(&rd->queue, &rd->answered);
}

static unsigned sysmon_poll(struct cusekit_client *c)
{
	return sm_queue_ready(&reader_of(c)->queue) ? POLLIN | POLLRDNORM : 0;
}

/* Delivery */

static void reader_signal(struct reader *rd)
{
	uint64_t one = 1;
	struct pollfd pfd = { .fd = rd->eventfd, .events = POLLOUT };

	/* An eventfd write blocks only when the counter is at its maximum:
	 * never block the loop on a reader that does not read its eventfd. */
	if (rd->eventfd < 0 || poll(&pfd, 1, 0) <= 0 || !(pfd.revents & POLLOUT))
		return;
	if (write(rd->eventfd, &one, sizeof(one)) < 0)
		log_debug_errno(negative_errno(), "Failed to signal an eventfd: %m");
}

/* After records or losses were queued to a reader. */
static void reader_queued(struct sysmon *sm, struct cusekit_client *c, bool was_ready)
{
	struct reader *rd = reader_of(c);

	cusekit_waitq_run(&rd->reads);
	if (!was_ready && sm_queue_ready(&rd->queue))
		reader_signal(rd);
	cusekit_client_wake(c);
}

static bool reader_may_see(const struct reader *rd, const struct sm_record *r)
{
	return rd->see_all || r->uid == rd->uid;
}

static void deliver_one(struct cusekit_client *c, void *arg)
{
	struct sm_record *r = arg;
	struct reader *rd = reader_of(c);
	bool was_ready;

	if (!reader_may_see(rd, r) || !sm_filter_match(&rd->filter, r))
		return;
	was_ready = sm_queue_ready(&rd->queue);
	sm_queue_push(&rd->queue, r);
	reader_queued(cusekit_client_userdata(c), c, was_ready);
}

/* One structured journal entry per event, so that journal forwarding can
 * ship them off the machine. Field names: SYSMON_*. */
static void journal_record(const struct sm_record *r)
{
	const struct sysmon_header *h = sm_record_header(r);
	const char *type = sm_type_name(h->type);

	switch (h->type) {
	case SYSMON_PROCESS_CREATE:
	case SYSMON_THREAD_CREATE: {
		const struct sysmon_create *c = (const void *)h;

		sd_journal_send("MESSAGE=%s pid %u tid %u ppid %u uid %u", type, c->pid, c->tid, c->ppid, c->uid,
				"SYSMON_EVENT=%s", type, "SYSMON_TIME_NS=%" PRIu64, (uint64_t)h->time_ns,
				"SYSMON_PID=%u", c->pid, "SYSMON_TID=%u", c->tid, "SYSMON_PPID=%u", c->ppid,
				"SYSMON_CREATOR_TID=%u", c->creator_tid, "SYSMON_UID=%u", c->uid, NULL);
		break;
	}
	case SYSMON_PROCESS_EXEC: {
		const struct sysmon_exec *x = (const void *)h;
		char cmdline[SM_STRING_MAX + 1];

		/* argv as one line: the NULs between arguments become spaces. */
		for (size_t i = 0; i < x->cmdline_length; i++)
			cmdline[i] = sm_record_string(x, x->cmdline_offset)[i] ?: ' ';
		cmdline[x->cmdline_length ? x->cmdline_length - 1 : 0] = 0;
		sd_journal_send("MESSAGE=exec pid %u uid %u %s", x->pid, x->uid, cmdline, "SYSMON_EVENT=exec",
				"SYSMON_TIME_NS=%" PRIu64, (uint64_t)h->time_ns, "SYSMON_PID=%u", x->pid,
				"SYSMON_UID=%u", x->uid, "SYSMON_IMAGE=%s", sm_record_string(x, x->image_offset),
				"SYSMON_CMDLINE=%s", cmdline, NULL);
		break;
	}
	case SYSMON_PROCESS_EXIT:
	case SYSMON_THREAD_EXIT: {
		const struct sysmon_exit *e = (const void *)h;

		sd_journal_send("MESSAGE=%s pid %u tid %u code %u signal %u", type, e->pid, e->tid, e->exit_code,
				e->signal, "SYSMON_EVENT=%s", type, "SYSMON_TIME_NS=%" PRIu64, (uint64_t)h->time_ns,
				"SYSMON_PID=%u", e->pid, "SYSMON_TID=%u", e->tid, "SYSMON_EXIT_CODE=%u", e->exit_code,
				"SYSMON_SIGNAL=%u", e->signal, "SYSMON_UID=%u", e->uid, NULL);
		break;
	}
	case SYSMON_IMAGE_LOAD:
	case SYSMON_FILE_WRITE: {
		const struct sysmon_path *p = (const void *)h;
		const char *path = sm_record_string(p, p->path_offset);

		sd_journal_send("MESSAGE=%s pid %u %s", type, p->pid, path, "SYSMON_EVENT=%s", type,
				"SYSMON_TIME_NS=%" PRIu64, (uint64_t)h->time_ns, "SYSMON_PID=%u", p->pid,
				"SYSMON_UID=%u", p->uid, "SYSMON_PATH=%s", path, NULL);
		break;
	}
	default:
		break;
	}
}

/* Takes r. */
static void sysmon_deliver(struct sysmon *sm, struct sm_record *r)
{
	if (!r) {
		log_oom();
		return;
	}
	if (sm->journal)
		journal_record(r);
	cusekit_device_foreach_client(sm->device, deliver_one, r);
	sm_record_unref(r);
}

static void overrun_one(struct cusekit_client *c, void *arg)
{
	struct reader *rd = reader_of(c);
	bool was_ready = sm_queue_ready(&rd->queue);

	sm_queue_overrun(&rd->queue);
	reader_queued(cusekit_client_userdata(c), c, was_ready);
}

static void sysmon_overrun(struct sysmon *sm, const char *source)
{
	sm->kernel_overruns++;
	log_warning("The kernel dropped %s events (overrun %" PRIu64 ").", source, sm->kernel_overruns);
	cusekit_device_foreach_client(sm->device, overrun_one, NULL);
}

/* /proc */

/* The real uid of a process, or SM_UID_UNKNOWN when it is gone. */
static uint32_t proc_uid(pid_t pid)
{
	unsigned uid;

	return proc_status_field(pid, "Uid:", &uid) < 0 ? SM_UID_UNKNOWN : uid;
}

/* argv as /proc/<pid>/cmdline has it (NUL after each argument). */
static size_t proc_cmdline(pid_t pid, char *buf, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	n = proc_read(AT_FDCWD, path, buf, size);
	return n < 0 ? 0 : (size_t)n;
}

/* Process events */

/* What the events told us, else what /proc says now. */
static uint32_t sysmon_uid(struct sysmon *sm, pid_t pid)
{
	uint32_t uid;

	return uid_table_get(&sm->uids, (uint32_t)pid, &uid) ? uid : proc_uid(pid);
}

static void remember_uid(struct sysmon *sm, pid_t pid, uint32_t uid)
{
	if (uid != SM_UID_UNKNOWN && uid_table_set(&sm->uids, (uint32_t)pid, uid) < 0)
		log_oom();
}

static struct sm_record *record_from_proc_event(struct sysmon *sm, const struct proc_event *ev, uint64_t time_ns)
{
	switch (ev->what) {
	case PROC_EVENT_FORK: {
		const struct fork_proc_event *f = &ev->event_data.fork;
		/* A new process has its parent's credentials at fork. */
		uint32_t uid = sysmon_uid(sm, f->parent_tgid);

		if (uid == SM_UID_UNKNOWN)
			uid = proc_uid(f->child_tgid);
		if (f->child_pid == f->child_tgid) {
			remember_uid(sm, f->child_tgid, uid);
			return sm_record_create(SYSMON_PROCESS_CREATE, time_ns, f->child_tgid, f->child_pid,
						f->parent_tgid, f->parent_pid, uid);
		}
		/* For a thread the kernel names the process's parent, not the
		 * creating thread. */
		return sm_record_create(SYSMON_THREAD_CREATE, time_ns, f->child_tgid, f->child_pid, f->parent_tgid,
					0, uid);
	}
	case PROC_EVENT_EXEC: {
		const struct exec_proc_event *x = &ev->event_data.exec;
		char path[64], image[PATH_MAX], cmdline[SM_STRING_MAX + 1];
		size_t image_len, cmdline_len;

		snprintf(path, sizeof(path), "/proc/%d/exe", (int)x->process_tgid);
		image_len = (size_t)MAX(proc_read_link(path, image, sizeof(image)), 0);
		cmdline_len = proc_cmdline(x->process_tgid, cmdline, sizeof(cmdline));
		return sm_record_exec(time_ns, x->process_tgid, sysmon_uid(sm, x->process_tgid), image, image_len,
				      cmdline, cmdline_len);
	}
	case PROC_EVENT_EXIT: {
		const struct exit_proc_event *x = &ev->event_data.exit;
		bool process = x->process_pid == x->process_tgid;
		struct sm_record *r;

		r = sm_record_exit(process ? SYSMON_PROCESS_EXIT : SYSMON_THREAD_EXIT, time_ns, x->process_tgid,
				   x->process_pid, x->exit_code, sysmon_uid(sm, x->process_tgid));
		if (process)
			uid_table_remove(&sm->uids, x->process_tgid);
		return r;
	}
	default:
		return NULL;
	}
}

static void on_proc_event(const struct proc_event *ev, void *userdata)
{
	struct sysmon *sm = userdata;
	/* The kernel stamps events with CLOCK_MONOTONIC; records carry wall
	 * time. */
	uint64_t time_ns = ev->timestamp_ns + (now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC));

	/* setuid() and friends: no record, but later events are that user's. */
	if (ev->what == PROC_EVENT_UID) {
		remember_uid(sm, ev->event_data.id.process_tgid, ev->event_data.id.r.ruid);
		return;
	}
	sysmon_deliver(sm, record_from_proc_event(sm, ev, time_ns));
}

static void on_proc_overrun(void *userdata)
{
	struct sysmon *sm = userdata;

	/* Missed forks, setuids and exits would leave stale uids behind: back
	 * to asking /proc. */
	uid_table_clear(&sm->uids);
	sysmon_overrun(sm, "process");
}

/* fanotify */

static void fanotify_event(struct sysmon *sm, const struct fanotify_event_metadata *m)
{
	char link[64], path[PATH_MAX];
	size_t len;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
	len = (size_t)MAX(proc_read_link(link, path, sizeof(path)), 0);
	if (m->mask & FAN_OPEN_EXEC)
		sysmon_deliver(sm, sm_record_path(SYSMON_IMAGE_LOAD, now_ns(CLOCK_REALTIME), m->pid,
						  sysmon_uid(sm, m->pid), path, len));
	if (m->mask & FAN_CLOSE_WRITE)
		sysmon_deliver(sm, sm_record_path(SYSMON_FILE_WRITE, now_ns(CLOCK_REALTIME), m->pid,
						  sysmon_uid(sm, m->pid), path, len));
}

static int on_fanotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct sysmon *sm = userdata;
	_Alignas(struct fanotify_event_metadata) unsigned char buf[16384];
	ssize_t n;

	for (int i = 0; i < 64; i++) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION)
				continue;
			if (m->mask & FAN_Q_OVERFLOW)
				sysmon_overrun(sm, "file");
			else if (m->fd >= 0 && m->pid != sm->self)
				fanotify_event(sm, m);
			if (m->fd >= 0)
				close(m->fd);
		}
	}
	return 0;
}

/* nftw() has no userdata. */
static int fanotify_watch_fd = -1;
static unsigned fanotify_watch_dirs;

static int watch_dir(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_D)
		return 0;
	if (fanotify_mark(fanotify_watch_fd, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, AT_FDCWD, path) < 0)
		log_debug_errno(negative_errno(), "Failed to watch %s: %m", path);
	return ++fanotify_watch_dirs >= SYSMON_WATCH_DIRS_MAX;
}

static int fanotify_start(struct sysmon *sm)
{
	sd_event *e = cusekit_device_event(sm->device);
	int r;

	/* Without fanotify the process events still flow: say so, go on. */
	sm->fanotify_fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (sm->fanotify_fd < 0) {
		log_error_errno(negative_errno(), "Failed to initialize fanotify, no IMAGE_LOAD or FILE_WRITE: %m");
		return 0;
	}
	/* Every exec on the root file system; a mount mark where the file
	 * system cannot be marked as a whole. */
	if (fanotify_mark(sm->fanotify_fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC, AT_FDCWD, "/") < 0 &&
	    fanotify_mark(sm->fanotify_fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC, AT_FDCWD, "/") < 0)
		log_error_errno(negative_errno(), "Failed to watch executions on /, no IMAGE_LOAD: %m");

	/* Each directory of each watched tree, as it is now, with its files. */
	fanotify_watch_fd = sm->fanotify_fd;
	for (char **w = sm->watch; w && *w; w++) {
		fanotify_watch_dirs = 0;
		if (nftw(*w, watch_dir, 16, FTW_PHYS | FTW_MOUNT) < 0)
			log_warning_errno(negative_errno(), "Failed to watch %s: %m", *w);
		else
			log_info("Watching writes under %s (%u directories).", *w, fanotify_watch_dirs);
	}
	r = sd_event_add_io(e, &sm->fanotify_source, sm->fanotify_fd, EPOLLIN, on_fanotify, sm);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the fanotify queue: %m");
	return 0;
}

/* Device */

static int sysmon_start(struct cusekit_device *d)
{
	struct sysmon *sm = cusekit_device_userdata(d);
	int r;

	sm->device = d;
	sm->self = getpid();
	if (!sm->watch) {
		sm->watch = calloc(2, sizeof(char *));
		if (!sm->watch || !(sm->watch[0] = strdup("/etc")))
			return log_oom();
	}
	r = proc_connector_new(cusekit_device_event(d),
			       PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_UID | PROC_EVENT_EXIT,
			       on_proc_event, on_proc_overrun, sm, &sm->proc);
	if (r < 0)
		return log_error_errno(r, "Failed to subscribe to process events: %m");
	log_info("Process events: %s filter; reader queues %zu bytes.",
		 proc_connector_kernel_filter(sm->proc) ? "kernel" : "user-space", sm->queue_bytes);
	return fanotify_start(sm);
}

static void sysmon_destroy(struct cusekit_device *d)
{
	struct sysmon *sm = cusekit_device_userdata(d);

	proc_connector_free(sm->proc);
	uid_table_clear(&sm->uids);
	sd_event_source_disable_unref(sm->fanotify_source);
	if (sm->fanotify_fd >= 0)
		close(sm->fanotify_fd);
	for (char **w = sm->watch; w && *w; w++)
		free(*w);
	free(sm->watch);
}

struct count_uid {
	uid_t uid;
	unsigned n;
};

static void count_unprivileged(struct cusekit_client *c, void *arg)
{
	struct count_uid *count = arg;
	struct reader *rd = reader_of(c);

	if (rd && !rd->see_all && rd->uid == count->uid)
		count->n++;
}

static int sysmon_open(struct cusekit_client *c, struct cusekit_request *req)
{
	struct sysmon *sm = cusekit_client_userdata(c);
	struct count_uid count = { .uid = c->opener.uid };
	struct reader *rd;
	int privileged;

	privileged = cusekit_request_privileged(req, cusekit_device_group(c->device));
	if (privileged < 0)
		return privileged;
	/* Queues cost memory: a user who sees only their own events gets a
	 * bounded number of them. */
	if (!privileged) {
		cusekit_device_foreach_client(c->device, count_unprivileged, &count);
		if (count.n >= SYSMON_READERS_PER_USER)
			return -EMFILE;
	}
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	sm_queue_init(&rd->queue, sm->queue_bytes);
	rd->filter = (struct sm_filter){ .type_mask = SYSMON_TYPES_ALL };
	rd->see_all = privileged;
	rd->uid = c->opener.uid;
	rd->eventfd = -1;
	cusekit_waitq_init(&rd->reads, &reader_ops, rd);
	c->private = rd;
	return 0;
}

static void sysmon_release(struct cusekit_client *c)
{
	struct reader *rd = reader_of(c);

	sm_queue_done(&rd->queue);
	if (rd->eventfd >= 0)
		close(rd->eventfd);
	free(rd);
	c->private = NULL;
}

/* ioctls */

static int sysmon_set_filter(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	const struct sysmon_filter *f = in;
	struct reader *rd = reader_of(c);

	if ((f->type_mask & ~SYSMON_TYPES_ALL) || (f->flags & ~(SYSMON_FILTER_PID | SYSMON_FILTER_UID)))
		return -EINVAL;
	rd->filter = (struct sm_filter){ f->type_mask, f->flags, f->pid, f->uid };
	sm_queue_filter(&rd->queue, &rd->filter);
	cusekit_client_wake(c);
	return 0;
}

static int sysmon_get_stats(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	const struct sm_queue *q = &reader_of(c)->queue;
	struct sysmon_stats *s = out;

	*s = (struct sysmon_stats){
		.delivered = q->delivered,
		.dropped = q->dropped_total,
		.kernel_overruns = q->overruns_total,
		.queued = q->count,
		.queued_bytes = q->bytes,
		.queue_bytes = q->limit,
	};
	return 0;
}

static bool fd_is_eventfd(int fd)
{
	char link[64], target[64];

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	return proc_read_link(link, target, sizeof(target)) > 0 && !strcmp(target, "anon_inode:[eventfd]");
}

/* Our own reference to fd in the caller's process. */
static int caller_fd(struct cusekit_request *req, int fd)
{
	_cleanup_close_ int pidfd = -1;
	_cleanup_close_ int copy = -1;
	pid_t pid;
	int r;

	r = proc_tgid(cusekit_request_caller(req)->pid, &pid);
	if (r < 0)
		return r;
	pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return negative_errno();
	copy = pidfd_getfd(pidfd, fd, 0);
	if (copy < 0)
		return negative_errno();
	if (!fd_is_eventfd(copy))
		return -EINVAL;
	return TAKE_FD(copy);
}

static int sysmon_set_eventfd(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	const struct sysmon_eventfd *e = in;
	struct reader *rd = reader_of(c);
	int fd = -1;

	if (e->reserved)
		return -EINVAL;
	if (e->fd >= 0) {
		fd = caller_fd(req, e->fd);
		if (fd < 0)
			return fd;
	} else if (e->fd != -1)
		return -EBADF;
	if (rd->eventfd >= 0)
		close(rd->eventfd);
	rd->eventfd = fd;
	if (sm_queue_ready(&rd->queue))
		reader_signal(rd);
	return 0;
}

static const struct cusekit_ioctl sysmon_ioctls[] = {
	{ SYSMON_IOC_SET_FILTER, sysmon_set_filter },
	{ SYSMON_IOC_GET_STATS, sysmon_get_stats },
	{ SYSMON_IOC_SET_EVENTFD, sysmon_set_eventfd },
	{}
};

/* Options */

static int parse_queue_bytes(void *userdata, const char *arg)
{
	struct sysmon *sm = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, SYSMON_QUEUE_BYTES_MIN, SYSMON_QUEUE_BYTES_MAX, &v);

	if (r >= 0)
		sm->queue_bytes = (size_t)v;
	return r;
}

static int parse_watch(void *userdata, const char *arg)
{
	struct sysmon *sm = userdata;
	_cleanup_free_ char *copy = strdup(arg);
	char **list = NULL, *save = NULL;
	size_t n = 0;

	if (!copy)
		return -ENOMEM;
	for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char **l;

		if (p[0] != '/' || !(l = realloc(list, (n + 2) * sizeof(char *))) || !(l[n] = strdup(p))) {
			bool bad = p[0] != '/';

			for (size_t i = 0; i < n; i++)
				free(list[i]);
			free(list);
			return bad ? -EINVAL : -ENOMEM;
		}
		list = l;
		list[++n] = NULL;
	}
	if (!list)
		return -EINVAL;
	for (char **w = sm->watch; w && *w; w++)
		free(*w);
	free(sm->watch);
	sm->watch = list;
	return 0;
}

static int parse_journal(void *userdata, const char *arg)
{
	struct sysmon *sm = userdata;

	sm->journal = true;
	return 0;
}

static const struct cusekit_option sysmon_options[] = {
	{ "queue-bytes", true, "BYTES  each reader's queue (default 1048576)", parse_queue_bytes },
	{ "watch", true, "DIR[,DIR...]  report file writes under these trees (default /etc)", parse_watch },
	{ "journal", false, "  also log every event to the journal (fields SYSMON_*)", parse_journal },
	{}
};

static void sysmon_init(void *userdata)
{
	struct sysmon *sm = userdata;

	sm->queue_bytes = SYSMON_QUEUE_BYTES_DEFAULT;
	sm->fanotify_fd = -1;
}

const struct cusekit_device_ops sysmon_device = {
	.name = "sysmon",
	.description = "Serve /dev/cusekit/sysmon: process, thread, image and file events, per-reader queues.",
	.node_mode = 0666,
	.node_group = "cusekit-sysmon",
	.options = sysmon_options,
	.size = sizeof(struct sysmon),
	.init = sysmon_init,
	.start = sysmon_start,
	.destroy = sysmon_destroy,
	.open = sysmon_open,
	.release = sysmon_release,
	.read = sysmon_read,
	.read_done = sysmon_read_done,
	.poll = sysmon_poll,
	.ioctls = sysmon_ioctls,
};
