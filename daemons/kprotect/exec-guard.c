/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exec-guard.h"
#include "log.h"
#include "macro.h"
#include "opener.h"

#define EXEC_GUARD_MASK (FAN_OPEN_EXEC_PERM | FAN_OPEN_PERM)

struct exec_guard {
	int fd;
	sd_event_source *source;
	exec_guard_decide_fn decide;
	exec_guard_denied_fn denied;
	void *userdata;
	bool enforcing;
};

/* The most events one read() returns: each has at least its metadata. */
#define EVENT_BUFFER_SIZE 4096
#define EVENTS_MAX (EVENT_BUFFER_SIZE / sizeof(struct fanotify_event_metadata))

struct denial {
	pid_t tid;
	uint64_t dev;
	uint64_t ino;
	enum exec_guard_refusal kind;
};

/* Should the open of a denied file in ev be refused, and as what? */
static bool refused(const struct fanotify_event_metadata *ev, enum exec_guard_refusal *ret_kind)
{
	if (ev->mask & FAN_OPEN_EXEC_PERM) {
		*ret_kind = EXEC_GUARD_EXEC;
		return true;
	}
	/* Another open: the loader's, or one we cannot tell (the opener
	 * refuses inspection), is refused; anyone else may read. */
	*ret_kind = EXEC_GUARD_LOADER_OPEN;
	return opener_is_loader(ev->pid) != 0;
}

/* Decide and answer one event. Returns 1 when it was (or, permissive,
 * would have been) refused, 0 allowed, -1 when the file is not denied: a
 * mark whose rule is gone. */
static int exec_guard_answer(struct exec_guard *g, const struct fanotify_event_metadata *ev, struct denial *denial)
{
	struct fanotify_response response = { .fd = ev->fd, .response = FAN_ALLOW };
	enum exec_guard_refusal kind;
	struct stat st;
	int r = 0;

	if (ev->pid != getpid() && fstat(ev->fd, &st) >= 0) {
		if (!g->decide((uint64_t)st.st_dev, (uint64_t)st.st_ino, g->userdata))
			r = -1;
		else if (refused(ev, &kind)) {
			if (g->enforcing)
				response.response = FAN_DENY;
			*denial = (struct denial){ .tid = ev->pid, .dev = (uint64_t)st.st_dev, .ino = (uint64_t)st.st_ino,
						   .kind = kind };
			r = 1;
		}
	}
	/* A lost answer would leave the opening process waiting until we
	 * exit: retry the (never expected) interruption. */
	while (write(g->fd, &response, sizeof(response)) < 0 && errno == EINTR)
		;
	return r;
}

static int on_fanotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct exec_guard *g = userdata;
	_Alignas(struct fanotify_event_metadata) char buf[EVENT_BUFFER_SIZE];
	struct denial denials[EVENTS_MAX];
	size_t n_denials = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		/* First answer every event of the batch... */
		for (struct fanotify_event_metadata *ev = (void *)buf; FAN_EVENT_OK(ev, n);
		     ev = FAN_EVENT_NEXT(ev, n)) {
			int r;

			if (ev->vers != FANOTIFY_METADATA_VERSION || ev->fd < 0)
				continue;
			r = exec_guard_answer(g, ev, &denials[n_denials]);
			if (r > 0)
				n_denials++;
			else if (r < 0)
				exec_guard_unmark(g, ev->fd);
			close(ev->fd);
		}
		/* ...then tell about them. */
		for (size_t i = 0; i < n_denials; i++)
			g->denied(denials[i].tid, denials[i].dev, denials[i].ino, denials[i].kind, g->enforcing,
				  g->userdata);
		n_denials = 0;
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		log_error_errno(negative_errno(), "Failed to read fanotify events: %m");
	return 0;
}

/* Marking an inode proves the kernel takes permission events (it fails
 * with EINVAL without CONFIG_FANOTIFY_ACCESS_PERMISSIONS). */
static int exec_guard_probe(struct exec_guard *g)
{
	int r;

	if (fanotify_mark(g->fd, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, AT_FDCWD, "/") < 0) {
		r = negative_errno();
		return r == -EINVAL ? -EOPNOTSUPP : r;
	}
	fanotify_mark(g->fd, FAN_MARK_REMOVE, FAN_OPEN_EXEC_PERM, AT_FDCWD, "/");
	return 0;
}

int exec_guard_new(sd_event *e, exec_guard_decide_fn decide, exec_guard_denied_fn denied, void *userdata,
		   struct exec_guard **ret)
{
	struct exec_guard *g;
	int r;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	*g = (struct exec_guard){ .decide = decide, .denied = denied, .userdata = userdata, .enforcing = true };
	/* An unlimited queue: a permission event that overflows a full queue
	 * would be allowed unseen. Thread ids: the opener's code is asked
	 * about in /proc/<tid>. */
	g->fd = fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC | FAN_NONBLOCK | FAN_UNLIMITED_QUEUE | FAN_REPORT_TID,
			      O_RDONLY | O_CLOEXEC | O_LARGEFILE);
	if (g->fd < 0) {
		r = negative_errno();
		r = r == -EINVAL || r == -ENOSYS ? -EOPNOTSUPP : r;
	} else {
		r = exec_guard_probe(g);
		if (r >= 0)
			r = sd_event_add_io(e, &g->source, g->fd, EPOLLIN, on_fanotify, g);
	}
	if (r < 0) {
		exec_guard_free(g);
		return r;
	}
	*ret = g;
	return 0;
}

struct exec_guard *exec_guard_free(struct exec_guard *g)
{
	if (g) {
		sd_event_source_disable_unref(g->source);
		if (g->fd >= 0)
			close(g->fd);
		free(g);
	}
	return NULL;
}

void exec_guard_set_enforcing(struct exec_guard *g, bool enforcing)
{
	g->enforcing = enforcing;
}

/* By the fd's /proc/self/fd link: it may be an O_PATH fd, which
 * fanotify_mark() refuses as dirfd with a NULL path. */
static int exec_guard_mark_fd(struct exec_guard *g, unsigned flags, int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return fanotify_mark(g->fd, flags, EXEC_GUARD_MASK, AT_FDCWD, path) < 0 ? negative_errno() : 0;
}

int exec_guard_mark(struct exec_guard *g, int fd)
{
	return exec_guard_mark_fd(g, FAN_MARK_ADD, fd);
}

int exec_guard_unmark(struct exec_guard *g, int fd)
{
	int r = exec_guard_mark_fd(g, FAN_MARK_REMOVE, fd);

	return r == -ENOENT ? 0 : r;
}
