/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#include "image-exec.h"
#include "log.h"
#include "macro.h"
#include "procfs.h"

#define SM_IMAGE_EXEC_BATCHES 64

struct sm_image_exec {
	int fd;
	sd_event_source *source;
	struct sm_sink *sink;
	pid_t self;
};

static void on_open_exec(struct sm_image_exec *x, const struct fanotify_event_metadata *m)
{
	struct process_info info = { .uid = SM_UID_UNKNOWN };
	struct sysmon_image i = {
		.header = { .type = SYSMON_IMAGE_LOAD, .time_ns = sm_clock_ns(CLOCK_REALTIME) },
		.pid = (uint32_t)m->pid,
		.flags = SYSMON_FLAG_NO_ADDRESS,
	};
	char link[64], path[PATH_MAX];
	ssize_t n;
	size_t len;
	struct sm_string s;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", m->fd);
	n = proc_read_link(link, path, sizeof(path));
	if (n <= 0)
		i.flags |= SYSMON_FLAG_PATH_MISSING;
	len = sm_cut((size_t)MAX(n, (ssize_t)0), SYSMON_PATH_MAX, SYSMON_FLAG_PATH_TRUNCATED, &i.flags);
	s = SM_STRING(struct sysmon_image, path, path, len);
	process_table_get(x->sink->processes, i.pid, &info);
	i.uid = info.uid;
	if (info.start_time)
		sm_process_id(&i.process, x->sink->boot_id, i.pid, info.start_time);
	else
		i.flags |= SYSMON_FLAG_START_MISSING;
	sm_sink_put(x->sink, sm_record_new(&i, sizeof(i), i.pid, i.uid, &s, 1), "image");
}

static int on_fanotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct sm_image_exec *x = userdata;
	_Alignas(struct fanotify_event_metadata) unsigned char buf[16384];

	for (int i = 0; i < SM_IMAGE_EXEC_BATCHES; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0)
			break;
		for (struct fanotify_event_metadata *m = (void *)buf; FAN_EVENT_OK(m, n); m = FAN_EVENT_NEXT(m, n)) {
			if (m->vers != FANOTIFY_METADATA_VERSION)
				continue;
			if (m->mask & FAN_Q_OVERFLOW)
				x->sink->overrun(x->sink, "image", 1);
			else if (m->fd >= 0 && m->pid != x->self)
				on_open_exec(x, m);
			if (m->fd >= 0)
				close(m->fd);
		}
	}
	return 0;
}

int sm_image_exec_new(sd_event *e, struct sm_sink *sink, struct sm_image_exec **ret)
{
	struct sm_image_exec *x = calloc(1, sizeof(*x));
	int r = 0;

	if (!x)
		return -ENOMEM;
	x->sink = sink;
	x->self = getpid();
	x->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (x->fd < 0)
		r = negative_errno();
	if (r >= 0 && fanotify_mark(x->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN_EXEC, AT_FDCWD, "/") < 0 &&
	    fanotify_mark(x->fd, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_OPEN_EXEC, AT_FDCWD, "/") < 0)
		r = negative_errno();
	if (r >= 0)
		r = sd_event_add_io(e, &x->source, x->fd, EPOLLIN, on_fanotify, x);
	if (r < 0) {
		sm_image_exec_free(x);
		return r;
	}
	*ret = x;
	return 0;
}

struct sm_image_exec *sm_image_exec_free(struct sm_image_exec *x)
{
	if (!x)
		return NULL;
	sd_event_source_disable_unref(x->source);
	if (x->fd >= 0)
		close(x->fd);
	free(x);
	return NULL;
}
