/* SPDX-License-Identifier: MIT */
/*
 * The SysMon device: process, thread, image and file events (main.c makes
 * it sysmond).
 *
 * The device: its options, its sources and its status. Sources hand
 * records to the sink here (struct sm_sink), which keeps the process table,
 * logs to the journal (--journal) and delivers each record to the readers
 * allowed to see it (reader.c). Sources, by --source:
 *   bpf    process.bpf.c: fork, exec, exit and executable mappings, taken in
 *          kernel context; beside it the proc connector for uid/gid changes,
 *          sessions, ptrace, comm and core dumps
 *   proc   the proc connector for every process event, fields read late
 *          from /proc and flagged; IMAGE_LOAD from FAN_OPEN_EXEC
 *   auto   bpf where this kernel loads it, else proc (said at start)
 * and fanotify for the file events under --watch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <cusekit/sysmon.h>

#include "device.h"
#include "file-events.h"
#include "image-exec.h"
#include "journal.h"
#include "log.h"
#include "macro.h"
#include "process-bpf.h"
#include "process-proc.h"
#include "procfs.h"
#include "reader.h"
#include "source.h"

#define SYSMON_QUEUE_BYTES_DEFAULT (1u << 20)
#define SYSMON_QUEUE_BYTES_MIN 4096u
#define SYSMON_QUEUE_BYTES_MAX (256u << 20)

enum source_choice { SOURCE_AUTO, SOURCE_BPF, SOURCE_PROC };

struct sysmon {
	struct reader_config readers;   /* first: reader.c's view of the device */
	struct cusekit_device *device;
	char **watch;                   /* NULL-terminated directories */
	bool journal;                   /* --journal: every event to the journal too */
	enum source_choice source;
	struct sm_sink sink;
	struct process_table processes;
	struct sm_bpf *bpf;
	struct sm_proc *proc;
	struct sm_image_exec *image_exec;
	struct sm_files *files;
	uint64_t kernel_lost;
};

static struct sysmon *sysmon_of_sink(struct sm_sink *sink)
{
	return container_of(sink, struct sysmon, sink);
}

static void on_record(struct sm_sink *sink, struct sm_record *r)
{
	struct sysmon *sm = sysmon_of_sink(sink);

	process_table_track(&sm->processes, r);
	if (sm->journal)
		sm_journal_record(sm_record_header(r));
	readers_deliver(sm->device, r);
	sm_record_unref(r);
}

static void on_overrun(struct sm_sink *sink, const char *source, uint64_t n)
{
	struct sysmon *sm = sysmon_of_sink(sink);

	sm->kernel_lost += n;
	log_warning("The kernel side dropped %" PRIu64 " %s event(s) (%" PRIu64 " in all).", n, source,
		    sm->kernel_lost);
	/* Missed forks, setuids and exits would leave stale entries behind. */
	if (!strcmp(source, "process"))
		process_table_clear(&sm->processes);
	readers_overrun(sm->device, n);
}

static void drain_bpf(void *userdata)
{
	struct sysmon *sm = userdata;

	sm_bpf_drain(sm->bpf);
}

static int boot_id(uint8_t ret[16])
{
	char text[64];
	ssize_t n = proc_read(AT_FDCWD, "/proc/sys/kernel/random/boot_id", text, sizeof(text));

	return n < 0 ? (int)n : sm_boot_id_parse(text, ret);
}

static int start_process_sources(struct sysmon *sm)
{
	sd_event *e = cusekit_device_event(sm->device);
	int r = -EOPNOTSUPP;

	if (sm->source != SOURCE_PROC) {
		r = sm_bpf_new(e, &sm->sink, &sm->bpf);
		if (r < 0 && sm->source == SOURCE_BPF)
			return log_error_errno(r, "Failed to load the BPF programs (--source=bpf): %m");
		if (r < 0)
			log_warning_errno(r, "This kernel refuses the BPF programs (%m): "
					     "process events from the proc connector, fields read late and flagged.");
	}
	r = sm_proc_new(e, !sm->bpf, &sm->sink, sm->bpf ? drain_bpf : NULL, sm, &sm->proc);
	if (r < 0)
		return log_error_errno(r, "Failed to subscribe to process events: %m");
	if (!sm->bpf) {
		r = sm_image_exec_new(e, &sm->sink, &sm->image_exec);
		if (r < 0)
			log_error_errno(r, "Failed to watch executions, no IMAGE_LOAD: %m");
	}
	log_info("Process events: %s (--source=%s); proc connector with %s filter.",
		 sm->bpf ? "BPF, captured in kernel context" : "proc connector, fields read late from /proc",
		 sm->source == SOURCE_AUTO ? "auto" : sm->source == SOURCE_BPF ? "bpf" : "proc",
		 sm_proc_kernel_filter(sm->proc) ? "kernel" : "user-space");
	log_info("Image loads: %s.", sm->bpf ? "every executable mapping (BPF)"
				   : sm->image_exec ? "files opened for execution (fanotify, no address)"
				   : "none");
	return 0;
}

static int sysmon_start(struct cusekit_device *d)
{
	struct sysmon *sm = cusekit_device_userdata(d);
	int r;

	sm->device = d;
	sm->sink = (struct sm_sink){ .record = on_record, .overrun = on_overrun, .processes = &sm->processes };
	r = boot_id(sm->sink.boot_id);
	if (r < 0)
		return log_error_errno(r, "Failed to read the boot id: %m");
	if (!sm->watch) {
		sm->watch = calloc(2, sizeof(char *));
		if (!sm->watch || !(sm->watch[0] = strdup("/etc")))
			return log_oom();
	}
	r = start_process_sources(sm);
	if (r < 0)
		return r;
	/* Without file events the process events still flow: say so, go on. */
	r = sm_files_new(cusekit_device_event(d), sm->watch, &sm->sink, &sm->files);
	if (r < 0)
		log_error_errno(r, "No file events: %m");
	log_info("Reader queues: %zu bytes.", sm->readers.queue_bytes);
	return 0;
}

static void sysmon_destroy(struct cusekit_device *d)
{
	struct sysmon *sm = cusekit_device_userdata(d);

	sm_files_free(sm->files);
	sm_image_exec_free(sm->image_exec);
	sm_proc_free(sm->proc);
	sm_bpf_free(sm->bpf);
	process_table_clear(&sm->processes);
	for (char **w = sm->watch; w && *w; w++)
		free(*w);
	free(sm->watch);
}

static int sysmon_get_status(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct sysmon *sm = cusekit_client_userdata(c);
	struct sysmon_status *s = out;
	uint32_t files = SYSMON_TYPE_BIT(SYSMON_FILE_CREATE) | SYSMON_TYPE_BIT(SYSMON_FILE_DELETE) |
			 SYSMON_TYPE_BIT(SYSMON_FILE_RENAME) | SYSMON_TYPE_BIT(SYSMON_FILE_WRITE);
	uint32_t types = SYSMON_TYPES_ALL & ~files;

	if (!sm->bpf && !sm->image_exec)
		types &= ~SYSMON_TYPE_BIT(SYSMON_IMAGE_LOAD);
	*s = (struct sysmon_status){
		.abi_version = SYSMON_ABI_VERSION,
		.types = types | SYSMON_TYPE_BIT(SYSMON_EVENTS_LOST) | (sm->files ? files : 0),
		.process_source = sm->bpf ? SYSMON_SOURCE_BPF : SYSMON_SOURCE_PROC,
		.image_source = sm->bpf ? SYSMON_SOURCE_BPF : sm->image_exec ? SYSMON_SOURCE_FANOTIFY : SYSMON_SOURCE_NONE,
		.file_source = sm->files ? SYSMON_SOURCE_FANOTIFY : SYSMON_SOURCE_NONE,
		.argv_max = SYSMON_ARGV_MAX,
		.watched = sm->files ? sm_files_watched(sm->files) : 0,
		.unwatched = sm->files ? sm_files_unwatched(sm->files) : 0,
		.kernel_lost = sm->kernel_lost,
		.file_unresolved = sm->files ? sm_files_unresolved(sm->files) : 0,
	};
	return 0;
}

static const struct cusekit_ioctl sysmon_ioctls[] = {
	{ SYSMON_IOC_SET_FILTER, reader_set_filter },
	{ SYSMON_IOC_GET_STATS, reader_get_stats },
	{ SYSMON_IOC_SET_EVENTFD, reader_set_eventfd },
	{ SYSMON_IOC_GET_STATUS, sysmon_get_status },
	{}
};

/* Options */

static int parse_queue_bytes(void *userdata, const char *arg)
{
	struct sysmon *sm = userdata;
	long long v;
	int r;

	r = cusekit_parse_integer(arg, SYSMON_QUEUE_BYTES_MIN, SYSMON_QUEUE_BYTES_MAX, &v);
	if (r < 0)
		return r;
	sm->readers.queue_bytes = (size_t)v;
	return 0;
}

static void free_list(char **list)
{
	for (char **w = list; w && *w; w++)
		free(*w);
	free(list);
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

		if (p[0] != '/') {
			free_list(list);
			return -EINVAL;
		}
		l = realloc(list, (n + 2) * sizeof(char *));
		if (!l || !(l[n] = strdup(p))) {
			free_list(l ?: list);
			return -ENOMEM;
		}
		list = l;
		list[++n] = NULL;
	}
	if (!list)
		return -EINVAL;
	free_list(sm->watch);
	sm->watch = list;
	return 0;
}

static int parse_journal(void *userdata, const char *arg)
{
	struct sysmon *sm = userdata;

	sm->journal = true;
	return 0;
}

static int parse_source(void *userdata, const char *arg)
{
	struct sysmon *sm = userdata;

	if (!strcmp(arg, "auto"))
		sm->source = SOURCE_AUTO;
	else if (!strcmp(arg, "bpf"))
		sm->source = SOURCE_BPF;
	else if (!strcmp(arg, "proc"))
		sm->source = SOURCE_PROC;
	else
		return -EINVAL;
	return 0;
}

static const struct cusekit_option sysmon_options[] = {
	{ "queue-bytes", true, "BYTES  each reader's queue (default 1048576)", parse_queue_bytes },
	{ "watch", true, "DIR[,DIR...]  report file events under these trees (default /etc)", parse_watch },
	{ "journal", false, "  also log every event to the journal (fields SYSMON_*)", parse_journal },
	{ "source", true, "auto|bpf|proc  where process events come from (default auto)", parse_source },
	{}
};

static void sysmon_init(void *userdata)
{
	struct sysmon *sm = userdata;

	sm->readers.queue_bytes = SYSMON_QUEUE_BYTES_DEFAULT;
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
	.open = reader_open,
	.release = reader_release,
	.read = reader_read,
	.read_done = reader_read_done,
	.poll = reader_poll,
	.ioctls = sysmon_ioctls,
};
