/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "file-events.h"
#include "log.h"
#include "macro.h"

#define SM_FILES_MASK (FAN_CREATE | FAN_DELETE | FAN_RENAME | FAN_CLOSE_WRITE | FAN_ONDIR)
#define SM_FILES_BATCHES 64   /* reads per wake-up, so a storm cannot starve the loop */

/* A marked file system: its id in events, and a descriptor on it to open
 * handles with. */
struct marked_fs {
	__kernel_fsid_t fsid;
	int fd;
};

struct sm_files {
	int fd;
	sd_event_source *source;
	struct sm_sink *sink;
	char **watch;                 /* normalised: no trailing slash but "/" */
	struct marked_fs *fs;
	size_t n_fs;
	unsigned watched, unwatched;
	uint64_t unresolved;
	pid_t self;
};

/* One name of an event: where it is, as far as we can tell. */
struct event_name {
	char path[PATH_MAX];
	bool resolved;
};

static int fs_fd(const struct sm_files *f, const __kernel_fsid_t *fsid)
{
	for (size_t i = 0; i < f->n_fs; i++)
		if (!memcmp(&f->fs[i].fsid, fsid, sizeof(*fsid)))
			return f->fs[i].fd;
	return -1;
}

/* The directory of handle, plus "/" name. */
static void resolve(struct sm_files *f, const struct fanotify_event_info_fid *info, struct event_name *out)
{
	const struct file_handle *handle = (const void *)info->handle;
	const char *name = (const char *)handle->f_handle + handle->handle_bytes;
	char link[64], dir[PATH_MAX];
	_cleanup_close_ int fd = -1;
	int mount_fd = fs_fd(f, &info->fsid);
	ssize_t n = -1;

	out->resolved = false;
	if (mount_fd >= 0)
		fd = open_by_handle_at(mount_fd, (struct file_handle *)handle, O_PATH | O_CLOEXEC);
	if (fd >= 0) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, dir, sizeof(dir) - 1);
	}
	if (n > 0) {
		dir[n] = '\0';
		out->resolved = true;
		if (snprintf(out->path, sizeof(out->path), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) >=
		    (int)sizeof(out->path))
			out->resolved = false;   /* longer than a path can be */
	} else
		/* The directory is gone already: the name is all there is. */
		snprintf(out->path, sizeof(out->path), "%s", name);
}

static bool under(const char *path, const char *top)
{
	size_t n = strlen(top);

	if (!strcmp(top, "/"))
		return path[0] == '/';
	return !strncmp(path, top, n) && (path[n] == '/' || path[n] == '\0');
}

/* Is this name one we report: under a watched path, or unknown (then it is
 * reported, flagged, rather than dropped). */
static bool wanted(const struct sm_files *f, const struct event_name *n)
{
	if (!n->resolved)
		return true;
	for (char *const *w = f->watch; *w; w++)
		if (under(n->path, *w))
			return true;
	return false;
}

static void put_path_record(struct sm_files *f, uint16_t type, const struct fanotify_event_metadata *m,
			    const struct event_name *n)
{
	struct process_info info = { .uid = SM_UID_UNKNOWN };
	struct sysmon_path p = {
		.header = { .type = type, .time_ns = sm_clock_ns(CLOCK_REALTIME) },
		.pid = (uint32_t)m->pid,
		.kind = (m->mask & FAN_ONDIR) ? SYSMON_PATH_DIRECTORY : 0,
	};
	size_t len = sm_cut(strlen(n->path), SYSMON_PATH_MAX, SYSMON_FLAG_PATH_TRUNCATED, &p.flags);
	struct sm_string path = SM_STRING(struct sysmon_path, path, n->path, len);

	process_table_get(f->sink->processes, p.pid, &info);
	p.uid = info.uid;
	if (!n->resolved)
		p.flags |= SYSMON_FLAG_PATH_MISSING;
	if (info.start_time)
		sm_process_id(&p.process, f->sink->boot_id, p.pid, info.start_time);
	else
		p.flags |= SYSMON_FLAG_START_MISSING;
	sm_sink_put(f->sink, sm_record_new(&p, sizeof(p), p.pid, p.uid, &path, 1), "file");
}

static void put_rename_record(struct sm_files *f, const struct fanotify_event_metadata *m,
			      const struct event_name *from, const struct event_name *to)
{
	struct process_info info = { .uid = SM_UID_UNKNOWN };
	struct sysmon_rename r = {
		.header = { .type = SYSMON_FILE_RENAME, .time_ns = sm_clock_ns(CLOCK_REALTIME) },
		.pid = (uint32_t)m->pid,
		.kind = (m->mask & FAN_ONDIR) ? SYSMON_PATH_DIRECTORY : 0,
	};
	size_t from_len = sm_cut(strlen(from->path), SYSMON_PATH_MAX, SYSMON_FLAG_PATH_TRUNCATED, &r.flags);
	size_t to_len = sm_cut(strlen(to->path), SYSMON_PATH_MAX, SYSMON_FLAG_PATH_TRUNCATED, &r.flags);
	struct sm_string paths[] = {
		SM_STRING(struct sysmon_rename, old, from->path, from_len),
		SM_STRING(struct sysmon_rename, new, to->path, to_len),
	};

	process_table_get(f->sink->processes, r.pid, &info);
	r.uid = info.uid;
	if (!from->resolved || !to->resolved)
		r.flags |= SYSMON_FLAG_PATH_MISSING;
	if (info.start_time)
		sm_process_id(&r.process, f->sink->boot_id, r.pid, info.start_time);
	else
		r.flags |= SYSMON_FLAG_START_MISSING;
	sm_sink_put(f->sink, sm_record_new(&r, sizeof(r), r.pid, r.uid, paths, ELEMENTSOF(paths)), "file");
}

/* m: the event's metadata (a copy: events in FID mode are not 8-byte
 * aligned), raw: the event as read, its info records after the metadata. */
static void on_event(struct sm_files *f, const struct fanotify_event_metadata *m, const unsigned char *raw)
{
	struct event_name names[2] = {};   /* the name (or the old one), the new one */
	bool have[2] = {};

	for (size_t off = m->metadata_len; off + sizeof(struct fanotify_event_info_header) <= m->event_len;) {
		const struct fanotify_event_info_header *h = (const void *)(raw + off);

		if (h->len == 0)
			break;
		switch (h->info_type) {
		case FAN_EVENT_INFO_TYPE_DFID_NAME:
		case FAN_EVENT_INFO_TYPE_OLD_DFID_NAME:
			resolve(f, (const void *)h, &names[0]);
			have[0] = true;
			break;
		case FAN_EVENT_INFO_TYPE_NEW_DFID_NAME:
			resolve(f, (const void *)h, &names[1]);
			have[1] = true;
			break;
		default:
			break;   /* the object's own FID: the name says more */
		}
		off += h->len;
	}
	if (!have[0])
		return;
	f->unresolved += !names[0].resolved + (have[1] && !names[1].resolved);
	if (m->mask & FAN_RENAME) {
		if (have[1] && (wanted(f, &names[0]) || wanted(f, &names[1])))
			put_rename_record(f, m, &names[0], &names[1]);
		return;
	}
	if (!wanted(f, &names[0]))
		return;
	if (m->mask & FAN_CREATE)
		put_path_record(f, SYSMON_FILE_CREATE, m, &names[0]);
	if (m->mask & FAN_DELETE)
		put_path_record(f, SYSMON_FILE_DELETE, m, &names[0]);
	if (m->mask & FAN_CLOSE_WRITE)
		put_path_record(f, SYSMON_FILE_WRITE, m, &names[0]);
}

static int on_fanotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct sm_files *f = userdata;
	_Alignas(struct fanotify_event_metadata) unsigned char buf[65536];

	for (int i = 0; i < SM_FILES_BATCHES; i++) {
		ssize_t n = read(fd, buf, sizeof(buf));
		struct fanotify_event_metadata m;

		if (n <= 0)
			break;
		/* Events with names have any length: copy each one's metadata. */
		for (size_t off = 0; off + sizeof(m) <= (size_t)n; off += m.event_len) {
			memcpy(&m, buf + off, sizeof(m));
			if (m.event_len < sizeof(m) || off + m.event_len > (size_t)n)
				break;
			if (m.vers != FANOTIFY_METADATA_VERSION)
				continue;
			if (m.mask & FAN_Q_OVERFLOW)
				f->sink->overrun(f->sink, "file", 1);
			else if (m.pid != f->self)
				on_event(f, &m, buf + off);
		}
	}
	return 0;
}

/* Marks the file system of path; remembers how to open its handles. */
static int watch_fs(struct sm_files *f, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct marked_fs *fs;
	struct statfs st;

	if (fd < 0)
		return negative_errno();
	if (fstatfs(fd, &st) < 0)
		return negative_errno();
	if (fanotify_mark(f->fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, SM_FILES_MASK, fd, NULL) < 0)
		return negative_errno();
	if (fs_fd(f, (const __kernel_fsid_t *)&st.f_fsid) >= 0)
		return 0;
	fs = realloc(f->fs, (f->n_fs + 1) * sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	f->fs = fs;
	memcpy(&fs[f->n_fs].fsid, &st.f_fsid, sizeof(fs[f->n_fs].fsid));
	fs[f->n_fs++].fd = TAKE_FD(fd);
	return 0;
}

static int copy_watch(struct sm_files *f, char *const *watch)
{
	size_t n = 0;

	while (watch[n])
		n++;
	f->watch = calloc(n + 1, sizeof(char *));
	if (!f->watch)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char *p = realpath(watch[i], NULL);

		f->watch[i] = p ?: strdup(watch[i]);
		if (!f->watch[i])
			return -ENOMEM;
	}
	return 0;
}

int sm_files_new(sd_event *e, char *const *watch, struct sm_sink *sink, struct sm_files **ret)
{
	struct sm_files *f = calloc(1, sizeof(*f));
	int r = 0, last = 0;

	if (!f)
		return -ENOMEM;
	f->sink = sink;
	f->self = getpid();
	f->fd = fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_REPORT_DFID_NAME |
				      FAN_REPORT_FID,
			      O_RDONLY | O_LARGEFILE | O_CLOEXEC);
	if (f->fd < 0)
		r = negative_errno();
	if (r >= 0)
		r = copy_watch(f, watch);
	for (char **w = f->watch; r >= 0 && *w; w++) {
		int k = watch_fs(f, *w);

		if (k < 0) {
			log_error_errno(k, "Cannot watch file events under %s: %m", *w);
			f->unwatched++;
			last = k;
		} else {
			log_info("Watching file events under %s (its whole file system, new directories too).", *w);
			f->watched++;
		}
	}
	if (r >= 0 && f->watched == 0)
		r = last ?: -EINVAL;
	if (r >= 0)
		r = sd_event_add_io(e, &f->source, f->fd, EPOLLIN, on_fanotify, f);
	if (r < 0) {
		sm_files_free(f);
		return r;
	}
	*ret = f;
	return 0;
}

struct sm_files *sm_files_free(struct sm_files *f)
{
	if (!f)
		return NULL;
	sd_event_source_disable_unref(f->source);
	if (f->fd >= 0)
		close(f->fd);
	for (size_t i = 0; i < f->n_fs; i++)
		close(f->fs[i].fd);
	free(f->fs);
	for (char **w = f->watch; w && *w; w++)
		free(*w);
	free(f->watch);
	free(f);
	return NULL;
}

unsigned sm_files_watched(const struct sm_files *f)
{
	return f->watched;
}

unsigned sm_files_unwatched(const struct sm_files *f)
{
	return f->unwatched;
}

uint64_t sm_files_unresolved(const struct sm_files *f)
{
	return f->unresolved;
}
