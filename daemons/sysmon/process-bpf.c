/* SPDX-License-Identifier: MIT */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bpf-log.h"
#include "log.h"
#include "macro.h"
#include "process-bpf-event.h"
#include "process-bpf.h"
#include "process.bpf.skel.h"

#define SM_BPF_RING_BYTES (32u << 20)
#define SM_BPF_SCRATCH_SLOTS 2   /* per CPU, as process.bpf.c expects */

struct sm_bpf {
	struct sysmon_process_bpf *skel;
	struct ring_buffer *ring;
	sd_event_source *source;
	struct sm_sink *sink;
	uint64_t lost_reported;
};

static void process_id(const struct sm_bpf *b, struct sysmon_process_id *id, uint32_t pid, uint64_t start_time)
{
	sm_process_id(id, b->sink->boot_id, pid, start_time);
}

static struct sm_record *record_fork(const struct sm_bpf *b, const struct sm_bpf_fork *f)
{
	bool process = f->pid == f->tid;
	struct sysmon_create c = {
		.header = { .type = process ? SYSMON_PROCESS_CREATE : SYSMON_THREAD_CREATE,
			    .time_ns = sm_wall_of_monotonic(f->time_ns) },
		.pid = f->pid,
		.tid = f->tid,
		.ppid = process ? f->ppid : f->pid,
		.creator_tid = f->creator_tid,
		.uid = f->uid,
		.flags = SYSMON_FLAG_KERNEL,
	};

	process_id(b, &c.process, f->pid, f->start_time);
	if (process)
		process_id(b, &c.parent, f->ppid, f->parent_start_time);
	else
		c.parent = c.process;
	return sm_record_new(&c, sizeof(c), c.pid, c.uid, NULL, 0);
}

static struct sm_record *record_exit(const struct sm_bpf *b, const struct sm_bpf_exit *x)
{
	struct sysmon_exit e = {
		.header = { .type = x->pid == x->tid ? SYSMON_PROCESS_EXIT : SYSMON_THREAD_EXIT,
			    .time_ns = sm_wall_of_monotonic(x->time_ns) },
		.pid = x->pid,
		.tid = x->tid,
		.uid = x->uid,
		.flags = SYSMON_FLAG_KERNEL,
	};

	sm_exit_status(&e, x->exit_code);
	process_id(b, &e.process, x->pid, x->start_time);
	return sm_record_new(&e, sizeof(e), e.pid, e.uid, NULL, 0);
}

static struct sm_record *record_exec(const struct sm_bpf *b, const struct sm_bpf_exec *x, size_t size)
{
	const char *image = x->data, *cwd = image + x->image_length + 1, *argv = cwd + x->cwd_length + 1;
	struct sysmon_exec e = {
		.header = { .type = SYSMON_PROCESS_EXEC, .time_ns = sm_wall_of_monotonic(x->time_ns) },
		.pid = x->pid,
		.uid = x->uid,
		.flags = x->flags | SYSMON_FLAG_KERNEL,
		.ppid = x->ppid,
		.euid = x->euid,
		.gid = x->gid,
		.egid = x->egid,
		.loginuid = x->loginuid,
		.audit_session = x->audit_session,
		.sid = x->sid,
		.argc = x->argc,
	};
	struct sm_string strings[] = {
		SM_STRING(struct sysmon_exec, image, image, x->image_length),
		SM_STRING(struct sysmon_exec, cwd, cwd, x->cwd_length),
		SM_STRING(struct sysmon_exec, cmdline, argv, x->argv_length),
	};

	if (sizeof(*x) + x->image_length + 1 + x->cwd_length + 1 + x->argv_length > size)
		return NULL;
	process_id(b, &e.process, x->pid, x->start_time);
	process_id(b, &e.parent, x->ppid, x->parent_start_time);
	return sm_record_new(&e, sizeof(e), e.pid, e.uid, strings, ELEMENTSOF(strings));
}

static struct sm_record *record_image(const struct sm_bpf *b, const struct sm_bpf_image *x, size_t size)
{
	struct sysmon_image i = {
		.header = { .type = SYSMON_IMAGE_LOAD, .time_ns = sm_wall_of_monotonic(x->time_ns) },
		.pid = x->pid,
		.uid = x->uid,
		.flags = x->flags | SYSMON_FLAG_KERNEL,
		.address = x->address,
		.size = x->size,
		.offset = x->offset,
	};
	struct sm_string path = SM_STRING(struct sysmon_image, path, x->data, x->path_length);

	if (sizeof(*x) + x->path_length + 1 > size)
		return NULL;
	process_id(b, &i.process, x->pid, x->start_time);
	return sm_record_new(&i, sizeof(i), i.pid, i.uid, &path, 1);
}

static int on_ring_event(void *userdata, void *data, size_t size)
{
	struct sm_bpf *b = userdata;
	uint32_t kind;
	struct sm_record *r;

	if (size < sizeof(kind))
		return 0;
	memcpy(&kind, data, sizeof(kind));
	switch (kind) {
	case SM_BPF_FORK:
		r = size >= sizeof(struct sm_bpf_fork) ? record_fork(b, data) : NULL;
		break;
	case SM_BPF_EXIT:
		r = size >= sizeof(struct sm_bpf_exit) ? record_exit(b, data) : NULL;
		break;
	case SM_BPF_EXEC:
		r = size >= sizeof(struct sm_bpf_exec) ? record_exec(b, data, size) : NULL;
		break;
	case SM_BPF_IMAGE:
		r = size >= sizeof(struct sm_bpf_image) ? record_image(b, data, size) : NULL;
		break;
	default:
		return 0;
	}
	sm_sink_put(b->sink, r, "BPF");
	return 0;
}

uint64_t sm_bpf_lost(const struct sm_bpf *b)
{
	return __atomic_load_n(&b->skel->bss->lost_events, __ATOMIC_RELAXED) +
	       __atomic_load_n(&b->skel->bss->busy_events, __ATOMIC_RELAXED);
}

void sm_bpf_drain(struct sm_bpf *b)
{
	uint64_t lost;
	int r;

	r = ring_buffer__consume(b->ring);
	if (r < 0)
		log_warning_errno(r, "Failed to read the BPF ring buffer: %m");
	lost = sm_bpf_lost(b);
	if (lost > b->lost_reported) {
		b->sink->overrun(b->sink, "BPF", lost - b->lost_reported);
		b->lost_reported = lost;
	}
}

static int on_ring(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	sm_bpf_drain(userdata);
	return 0;
}

int sm_bpf_new(sd_event *e, struct sm_sink *sink, struct sm_bpf **ret)
{
	_cleanup_free_ struct sm_bpf *b = NULL;
	long tick = sysconf(_SC_CLK_TCK);
	int r, cpus;

	cusekit_bpf_log_setup();
	cpus = libbpf_num_possible_cpus();
	if (cpus < 0)
		return cpus;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->sink = sink;
	b->skel = sysmon_process_bpf__open();
	if (!b->skel)
		return negative_errno();
	b->skel->rodata->ns_per_tick = 1000000000ull / (unsigned long long)(tick > 0 ? tick : 100);
	b->skel->rodata->scratch_slots = SM_BPF_SCRATCH_SLOTS;
	r = bpf_map__set_max_entries(b->skel->maps.scratch_map, (uint32_t)cpus * SM_BPF_SCRATCH_SLOTS);
	if (r >= 0)
		r = bpf_map__set_max_entries(b->skel->maps.events, SM_BPF_RING_BYTES);
	if (r >= 0)
		r = sysmon_process_bpf__load(b->skel);
	if (r >= 0)
		r = sysmon_process_bpf__attach(b->skel);
	if (r >= 0) {
		b->ring = ring_buffer__new(bpf_map__fd(b->skel->maps.events), on_ring_event, b, NULL);
		r = b->ring ? 0 : negative_errno();
	}
	if (r >= 0)
		r = sd_event_add_io(e, &b->source, ring_buffer__epoll_fd(b->ring), EPOLLIN, on_ring, b);
	if (r < 0) {
		sm_bpf_free(TAKE_PTR(b));
		return r;
	}
	*ret = TAKE_PTR(b);
	return 0;
}

struct sm_bpf *sm_bpf_free(struct sm_bpf *b)
{
	if (!b)
		return NULL;
	sd_event_source_disable_unref(b->source);
	ring_buffer__free(b->ring);
	sysmon_process_bpf__destroy(b->skel);
	free(b);
	return NULL;
}
