/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "proc-connector.h"
#include "proc-reader.h"
#include "process-proc.h"
#include "procfs.h"

#define SM_PROC_EVENTS_ALL                                                                        \
	(PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_EXIT | PROC_EVENT_UID | PROC_EVENT_GID |   \
	 PROC_EVENT_SID | PROC_EVENT_PTRACE | PROC_EVENT_COMM | PROC_EVENT_COREDUMP)
#define SM_PROC_EVENTS_BESIDE_BPF                                                                 \
	(PROC_EVENT_UID | PROC_EVENT_GID | PROC_EVENT_SID | PROC_EVENT_PTRACE | PROC_EVENT_COMM |  \
	 PROC_EVENT_COREDUMP)

/* How long an exited process stays known after events later than its
 * exit were handled: the kernel's events from several CPUs reach the socket
 * in nearly, not exactly, the order of their timestamps. */
#define SM_PROC_EXITED_KEEP_NS 1000000000ull

/* Events taken in and not handled yet, at most: while a /proc read waits
 * for an exec, events queue up here; beyond this they are lost, counted. */
#define SM_PROC_PENDING_MAX (1u << 18)

struct pending {
	struct proc_event ev;
	uint64_t overruns;   /* the source's overrun count when it arrived */
};

struct sm_proc {
	struct proc_connector *pc;
	sd_event_source *defer;
	struct sm_sink *sink;
	void (*before_batch)(void *userdata);
	void *userdata;
	struct pending *pending;   /* events taken in, not handled yet */
	size_t n_pending, max_pending;
	size_t next;               /* pending[next] is handled next */
	size_t queued;             /* reads are queued for the events before pending[queued] */
	struct proc_reader *reader;   /* NULL beside BPF: nothing is read late */
	uint64_t overruns;
	uint64_t ns_per_tick;
};

/* Does pending[i] need what /proc says (read on the reader's thread)? */
static bool needs_view(const struct sm_proc *p, size_t i)
{
	const struct proc_event *ev = &p->pending[i].ev;

	return p->reader && (ev->what == PROC_EVENT_EXEC ||
			     (ev->what == PROC_EVENT_FORK && ev->event_data.fork.child_pid == ev->event_data.fork.child_tgid));
}

/* Queues the reads of the events taken in, as far as the reader takes them. */
static void queue_reads(struct sm_proc *p)
{
	for (; p->reader && p->queued < p->n_pending; p->queued++) {
		const struct proc_event *ev = &p->pending[p->queued].ev;

		if (!needs_view(p, p->queued))
			continue;
		if (proc_reader_queue(p->reader,
				      ev->what == PROC_EVENT_EXEC ? (uint32_t)ev->event_data.exec.process_tgid
								  : (uint32_t)ev->event_data.fork.child_tgid,
				      ev->what == PROC_EVENT_EXEC) < 0)
			break;
	}
}

static void on_event(const struct proc_event *ev, void *userdata)
{
	struct sm_proc *p = userdata;

	if (p->n_pending == p->max_pending) {
		size_t max = p->max_pending ? 2 * p->max_pending : 256;
		struct pending *n = max <= SM_PROC_PENDING_MAX ? realloc(p->pending, max * sizeof(*n)) : NULL;

		if (!n) {
			p->sink->overrun(p->sink, "process", 1);
			return;
		}
		p->pending = n;
		p->max_pending = max;
	}
	p->pending[p->n_pending++] = (struct pending){ *ev, p->overruns };
	queue_reads(p);
	sd_event_source_set_enabled(p->defer, SD_EVENT_ONESHOT);
}

static void on_overrun(void *userdata)
{
	struct sm_proc *p = userdata;

	p->overruns++;
	p->sink->overrun(p->sink, "process", 1);
}

/* Did pid exec again (exec) or exit (exit) after pending[i], as far as the
 * events up to now tell? They are all taken in first, so a read made
 * before this call is covered; an overrun since pending[i] hid events: yes.
 * Takes in events: pointers into pending go stale. */
static bool changed_since(struct sm_proc *p, size_t i, uint32_t pid, bool exec, bool exit)
{
	int r = proc_connector_receive(p->pc);

	if (r < 0 || p->overruns != p->pending[i].overruns)
		return true;
	for (size_t j = i + 1; j < p->n_pending; j++) {
		const struct proc_event *ev = &p->pending[j].ev;

		if ((exec && ev->what == PROC_EVENT_EXEC && (uint32_t)ev->event_data.exec.process_tgid == pid) ||
		    (exit && ev->what == PROC_EVENT_EXIT && (uint32_t)ev->event_data.exit.process_tgid == pid &&
		     (uint32_t)ev->event_data.exit.process_pid == pid))
			return true;
	}
	return false;
}

/* A process created at kernel time fork_ns (CLOCK_MONOTONIC, the fork
 * event's) has about this start time; the kernel takes it a moment before
 * it stamps the event, and the clocks' offset is read now: a tick either
 * way.
 * A pid comes back only after the whole pid space went round, never
 * within two ticks. */
static bool started_at_fork(const struct sm_proc *p, uint64_t start_time, uint64_t fork_ns)
{
	uint64_t boot = fork_ns + sm_clock_offset(CLOCK_BOOTTIME);
	uint64_t tick = boot / p->ns_per_tick * p->ns_per_tick;

	return start_time + p->ns_per_tick >= tick && start_time <= tick + p->ns_per_tick;
}

/* What the process table knows, else 0 / SM_UID_UNKNOWN. */
static struct process_info known(const struct sm_proc *p, uint32_t pid)
{
	struct process_info info = { .uid = SM_UID_UNKNOWN };

	process_table_get(p->sink->processes, pid, &info);
	return info;
}

static void identity(const struct sm_proc *p, struct sysmon_process_id *id, uint32_t pid, uint64_t start_time,
		     uint32_t *flags, uint32_t late_flag, uint32_t missing_flag, bool late)
{
	if (!start_time) {
		*flags |= missing_flag;
		return;
	}
	sm_process_id(id, p->sink->boot_id, pid, start_time);
	if (late)
		*flags |= late_flag;
}

/* v: what /proc said about the process after pending[i] was taken in. */
static struct sm_record *record_exec(struct sm_proc *p, size_t i, const struct exec_proc_event *x,
				     const struct proc_view *v)
{
	struct process_info info = known(p, x->process_tgid);
	struct sysmon_exec e = {
		.header = { .type = SYSMON_PROCESS_EXEC },
		.pid = x->process_tgid,
	};
	/* The same process: its start time, where known, else no exit
	 * since. The same program: no exec since; and not traced (a tracer
	 * can hold it inside a later exec not reported yet). */
	bool same_process = v->alive && (info.start_time ? v->start_time == info.start_time : true);
	bool ok = same_process && !v->traced && !changed_since(p, i, e.pid, true, !info.start_time);
	size_t image_len = 0, cwd_len = 0, argv_len = 0;

	e.uid = info.uid != SM_UID_UNKNOWN ? info.uid : ok ? v->uid : SM_UID_UNKNOWN;
	if (ok) {
		e.ppid = v->ppid;
		e.euid = v->euid;
		e.gid = v->gid;
		e.egid = v->egid;
		e.loginuid = v->loginuid;
		e.audit_session = v->audit_session;
		e.sid = v->sid;
		e.flags |= SYSMON_FLAG_CREDS_LATE | SYSMON_FLAG_PARENT_LATE;
		e.flags |= v->image_ok ? SYSMON_FLAG_IMAGE_LATE : SYSMON_FLAG_IMAGE_MISSING;
		e.flags |= v->cwd_ok ? SYSMON_FLAG_CWD_LATE : SYSMON_FLAG_CWD_MISSING;
		e.flags |= v->argv_ok ? SYSMON_FLAG_ARGV_LATE : SYSMON_FLAG_ARGV_MISSING;
		if (v->argv_cut)
			e.flags |= SYSMON_FLAG_ARGV_TRUNCATED;
		image_len = v->image_len;
		cwd_len = v->cwd_len;
		argv_len = v->argv_len;
		for (size_t k = 0; k < argv_len; k++)
			e.argc += v->argv[k] == '\0';
	} else
		/* Nothing read may be shown: it may be another program's. */
		e.flags |= SYSMON_FLAG_IMAGE_MISSING | SYSMON_FLAG_ARGV_MISSING | SYSMON_FLAG_CWD_MISSING |
			   SYSMON_FLAG_CREDS_MISSING | SYSMON_FLAG_PARENT_MISSING;
	if (info.start_time)
		identity(p, &e.process, e.pid, info.start_time, &e.flags, 0, SYSMON_FLAG_START_MISSING, false);
	else
		identity(p, &e.process, e.pid, ok ? v->start_time : 0, &e.flags, SYSMON_FLAG_START_LATE,
			 SYSMON_FLAG_START_MISSING, true);
	identity(p, &e.parent, e.ppid, ok ? known(p, e.ppid).start_time : 0, &e.flags, 0, SYSMON_FLAG_PARENT_MISSING,
		 false);
	{
		struct sm_string strings[] = {
			SM_STRING(struct sysmon_exec, image, v->image, image_len),
			SM_STRING(struct sysmon_exec, cwd, v->cwd, cwd_len),
			SM_STRING(struct sysmon_exec, cmdline, v->argv, argv_len),
		};

		return sm_record_new(&e, sizeof(e), e.pid, e.uid, strings, ELEMENTSOF(strings));
	}
}

/* v: as for record_exec(), for a new process (NULL for a thread). */
static struct sm_record *record_fork(struct sm_proc *p, const struct proc_event *ev, const struct proc_view *v)
{
	const struct fork_proc_event *f = &ev->event_data.fork;
	bool process = f->child_pid == f->child_tgid;
	struct process_info parent = known(p, f->parent_tgid);
	struct sysmon_create c = {
		.header = { .type = process ? SYSMON_PROCESS_CREATE : SYSMON_THREAD_CREATE },
		.pid = f->child_tgid,
		.tid = f->child_pid,
		.ppid = process ? f->parent_tgid : f->child_tgid,
		/* For a thread the kernel names the process's parent, not
		 * the creating thread. */
		.creator_tid = process ? f->parent_pid : 0,
		/* A new process has its parent's credentials at fork. */
		.uid = parent.uid,
	};
	uint64_t start = 0;

	if (process) {
		/* Its start time says it is the process of this fork. */
		if (v->alive && started_at_fork(p, v->start_time, ev->timestamp_ns)) {
			start = v->start_time;
			if (c.uid == SM_UID_UNKNOWN)
				c.uid = v->uid, c.flags |= SYSMON_FLAG_CREDS_LATE;
		}
		identity(p, &c.process, c.pid, start, &c.flags, SYSMON_FLAG_START_LATE, SYSMON_FLAG_START_MISSING, true);
		identity(p, &c.parent, c.ppid, parent.start_time, &c.flags, 0, SYSMON_FLAG_PARENT_MISSING, false);
	} else {
		identity(p, &c.process, c.pid, parent.start_time, &c.flags, 0, SYSMON_FLAG_START_MISSING, false);
		c.parent = c.process;
	}
	if (c.uid == SM_UID_UNKNOWN)
		c.flags |= SYSMON_FLAG_CREDS_MISSING;
	return sm_record_new(&c, sizeof(c), c.pid, c.uid, NULL, 0);
}

static struct sm_record *record_exit(struct sm_proc *p, const struct exit_proc_event *x)
{
	struct process_info info = known(p, x->process_tgid);
	struct sysmon_exit e = {
		.header = { .type = x->process_pid == x->process_tgid ? SYSMON_PROCESS_EXIT : SYSMON_THREAD_EXIT },
		.pid = x->process_tgid,
		.tid = x->process_pid,
		.uid = info.uid,
	};

	sm_exit_status(&e, x->exit_code);
	identity(p, &e.process, e.pid, info.start_time, &e.flags, 0, SYSMON_FLAG_START_MISSING, false);
	return sm_record_new(&e, sizeof(e), e.pid, e.uid, NULL, 0);
}

/* The fields every later process event begins with: pid, tid, uid, flags, process. */
struct task_head {
	struct sysmon_header header;
	uint32_t pid, tid, uid, flags;
};

static struct sm_record *record_task(struct sm_proc *p, const struct proc_event *ev)
{
	union {
		struct sysmon_id_change id;
		struct sysmon_session sid;
		struct sysmon_ptrace ptrace;
		struct sysmon_comm comm;
		struct sysmon_coredump core;
	} u = {};
	/* Every one of these events starts with process_pid, process_tgid. */
	const struct id_proc_event *head = &ev->event_data.id;
	struct process_info info = known(p, head->process_tgid);
	struct sysmon_process_id *id;
	uint32_t *flags;
	size_t size;

	switch (ev->what) {
	case PROC_EVENT_UID:
	case PROC_EVENT_GID:
		u.id.header.type = ev->what == PROC_EVENT_UID ? SYSMON_UID_CHANGE : SYSMON_GID_CHANGE;
		u.id.real = ev->event_data.id.r.ruid;
		u.id.effective = ev->event_data.id.e.euid;
		if (ev->what == PROC_EVENT_UID)
			info.uid = u.id.real;
		u.id.uid = info.uid;
		id = &u.id.process, flags = &u.id.flags, size = sizeof(u.id);
		break;
	case PROC_EVENT_SID:
		u.sid.header.type = SYSMON_SESSION;
		u.sid.uid = info.uid;
		id = &u.sid.process, flags = &u.sid.flags, size = sizeof(u.sid);
		break;
	case PROC_EVENT_PTRACE:
		u.ptrace.header.type = SYSMON_PTRACE;
		u.ptrace.uid = info.uid;
		u.ptrace.tracer_pid = ev->event_data.ptrace.tracer_tgid;
		u.ptrace.tracer_tid = ev->event_data.ptrace.tracer_pid;
		u.ptrace.attach = u.ptrace.tracer_pid != 0;
		id = &u.ptrace.process, flags = &u.ptrace.flags, size = sizeof(u.ptrace);
		break;
	case PROC_EVENT_COMM:
		u.comm.header.type = SYSMON_COMM;
		u.comm.uid = info.uid;
		memcpy(u.comm.comm, ev->event_data.comm.comm, sizeof(u.comm.comm));
		u.comm.comm[sizeof(u.comm.comm) - 1] = '\0';
		id = &u.comm.process, flags = &u.comm.flags, size = sizeof(u.comm);
		break;
	case PROC_EVENT_COREDUMP:
		u.core.header.type = SYSMON_COREDUMP;
		u.core.uid = info.uid;
		u.core.ppid = ev->event_data.coredump.parent_tgid;
		id = &u.core.process, flags = &u.core.flags, size = sizeof(u.core);
		break;
	default:
		return NULL;
	}
	/* pid and tid sit right after the header in each of them. */
	((struct task_head *)&u)->pid = head->process_tgid;
	((struct task_head *)&u)->tid = head->process_pid;
	identity(p, id, head->process_tgid, info.start_time, flags, 0, SYSMON_FLAG_START_MISSING, false);
	if (info.uid == SM_UID_UNKNOWN)
		*flags |= SYSMON_FLAG_CREDS_MISSING;
	return sm_record_new(&u, size, head->process_tgid, info.uid, NULL, 0);
}

/* v: the reader's view of pending[i]'s process, when needs_view(). */
static void handle(struct sm_proc *p, size_t i, const struct proc_view *v)
{
	/* A copy: taking in events may move pending. */
	const struct proc_event ev = p->pending[i].ev;
	/* The kernel stamps events with CLOCK_MONOTONIC. */
	uint64_t time_ns = sm_wall_of_monotonic(ev.timestamp_ns);
	struct sm_record *r;

	switch (ev.what) {
	case PROC_EVENT_FORK:
		r = record_fork(p, &ev, v);
		break;
	case PROC_EVENT_EXEC:
		r = record_exec(p, i, &ev.event_data.exec, v);
		break;
	case PROC_EVENT_EXIT:
		r = record_exit(p, &ev.event_data.exit);
		break;
	default:
		r = record_task(p, &ev);
		break;
	}
	if (r)
		((struct sysmon_header *)r->data)->time_ns = time_ns;
	sm_sink_put(p->sink, r, "process");
}

/* Handles pending events in order until one needs a /proc read that is not
 * done yet; the reader's done() resumes here. */
static void handle_pending(struct sm_proc *p)
{
	static const struct proc_view nothing_read;

	if (p->next == 0 && p->before_batch)
		p->before_batch(p->userdata);
	/* changed_since() may take in more events meanwhile: they are
	 * handled in this round too, in order. */
	for (; p->next < p->n_pending; p->next++) {
		const struct proc_view *v = &nothing_read;

		if (needs_view(p, p->next)) {
			if (p->queued <= p->next) {
				/* Not even queued: the reader refused it. */
				log_warning("Failed to queue a /proc read, fields missing.");
				p->queued = p->next + 1;
			} else if (!(v = proc_reader_peek(p->reader)))
				return;
		}
		handle(p, p->next, v);
		if (v != &nothing_read) {
			proc_reader_pop(p->reader);
			queue_reads(p);
		}
	}
	/* Every event of a process that exited a while before the last
	 * one handled has been handled too. */
	if (p->n_pending > 0)
		process_table_purge(p->sink->processes,
				    sm_wall_of_monotonic(p->pending[p->n_pending - 1].ev.timestamp_ns) - SM_PROC_EXITED_KEEP_NS);
	p->n_pending = p->next = p->queued = 0;
}

static int on_defer(sd_event_source *s, void *userdata)
{
	handle_pending(userdata);
	return 0;
}

static void on_view(void *userdata)
{
	handle_pending(userdata);
}

/* What exists before the first event: every process's uid and start time.
 * Read here, before the device's node exists: a read that waits for an
 * exec waits for that exec alone, since nobody can be waiting for us yet. */
static void seed_processes(struct sm_proc *p)
{
	DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);
		struct process_info info;
		uint64_t start;
		unsigned uid;

		if (*end || pid == 0 || pid > UINT32_MAX)
			continue;
		if (proc_pid_start_time((uint32_t)pid, &start) < 0 || proc_status_field((pid_t)pid, "Uid:", &uid) < 0)
			continue;
		info = (struct process_info){ uid, start * p->ns_per_tick, 0 };
		if (process_table_set(p->sink->processes, (uint32_t)pid, &info) < 0)
			break;
	}
	closedir(d);
}

int sm_proc_new(sd_event *e, bool late, struct sm_sink *sink, void (*before_batch)(void *userdata),
		void *userdata, struct sm_proc **ret)
{
	struct sm_proc *p = calloc(1, sizeof(*p));
	long tick = sysconf(_SC_CLK_TCK);
	int r;

	if (!p)
		return -ENOMEM;
	*p = (struct sm_proc){
		.sink = sink,
		.before_batch = before_batch,
		.userdata = userdata,
		.ns_per_tick = 1000000000ull / (unsigned long long)(tick > 0 ? tick : 100),
	};
	r = sd_event_add_defer(e, &p->defer, on_defer, p);
	if (r >= 0)
		r = sd_event_source_set_enabled(p->defer, SD_EVENT_OFF);
	if (r >= 0 && late)
		r = proc_reader_new(e, p->ns_per_tick, on_view, p, &p->reader);
	if (r >= 0)
		r = proc_connector_new(e, late ? SM_PROC_EVENTS_ALL : SM_PROC_EVENTS_BESIDE_BPF, on_event, on_overrun, p,
				       &p->pc);
	if (r < 0) {
		sm_proc_free(p);
		return r;
	}
	seed_processes(p);
	*ret = p;
	return 0;
}

struct sm_proc *sm_proc_free(struct sm_proc *p)
{
	if (!p)
		return NULL;
	proc_connector_free(p->pc);
	proc_reader_free(p->reader);
	sd_event_source_disable_unref(p->defer);
	free(p->pending);
	free(p);
	return NULL;
}

bool sm_proc_kernel_filter(const struct sm_proc *p)
{
	return proc_connector_kernel_filter(p->pc);
}
