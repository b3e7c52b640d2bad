/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "autogroup.h"
#include "list.h"
#include "log.h"
#include "macro.h"

struct contributor {
	pid_t tid;
	uint64_t start_time;
	int nice;
};

struct group {
	struct list_node link;
	uint64_t id;
	int previous;              /* its nice before Booster's */
	bool applied;              /* it has ours, applied_nice */
	int applied_nice;
	bool dirty;                /* contributors changed since the last sync */
	struct contributor *contributors;
	size_t n_contributors;
};

struct autogroups {
	struct list_node groups;
};

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

int autogroup_enabled(void)
{
	_cleanup_close_ int fd = open("/proc/sys/kernel/sched_autogroup_enabled", O_RDONLY | O_CLOEXEC);
	char c = 0;

	/* No file: a kernel built without CONFIG_SCHED_AUTOGROUP. */
	if (fd < 0)
		return 0;
	return read(fd, &c, 1) == 1 && c == '1';
}

int autogroup_parse(const char *text, uint64_t *ret_id, int *ret_nice)
{
	uint64_t id;
	int nice, end = 0;

	if (sscanf(text, "/autogroup-%" SCNu64 " nice %d%n", &id, &nice, &end) != 2 || (text[end] && text[end] != '\n'))
		return -EBADMSG;
	*ret_id = id;
	*ret_nice = nice;
	return 0;
}

int autogroup_wanted(int previous, const int *boosts, size_t n)
{
	int nice = previous;

	for (size_t i = 0; i < n; i++)
		nice = MIN(nice, boosts[i]);
	return nice;
}

struct autogroups *autogroups_new(void)
{
	struct autogroups *ag = calloc(1, sizeof(*ag));

	if (ag)
		list_init(&ag->groups);
	return ag;
}

static void group_free(struct group *g)
{
	list_del(&g->link);
	free(g->contributors);
	free(g);
}

struct autogroups *autogroups_free(struct autogroups *ag)
{
	struct list_node *i, *tmp;

	if (!ag)
		return NULL;
	list_for_each_safe(i, tmp, &ag->groups)
		group_free(list_entry(i, struct group, link));
	free(ag);
	return NULL;
}

/* Read the autogroup file open as fd: 0 or -errno. */
static int read_autogroup(int fd, uint64_t *id, int *nice)
{
	char buf[128];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return n < 0 ? -errno : -EBADMSG;
	buf[n] = '\0';
	return autogroup_parse(buf, id, nice);
}

static struct group *group_find(struct autogroups *ag, uint64_t id)
{
	for (struct list_node *i = ag->groups.next; i != &ag->groups; i = i->next) {
		struct group *g = list_entry(i, struct group, link);

		if (g->id == id)
			return g;
	}
	return NULL;
}

void autogroups_thread(struct autogroups *ag, const struct thread *t, const struct thread_sched *ours)
{
	_cleanup_close_ int fd = -1;
	struct contributor *c;
	struct group *g;
	uint64_t id;
	int nice;

	for (struct list_node *i = ag->groups.next; i != &ag->groups; i = i->next) {
		g = list_entry(i, struct group, link);
		for (size_t k = 0; k < g->n_contributors; k++)
			if (g->contributors[k].tid == t->tid && g->contributors[k].start_time == t->start_time) {
				g->contributors[k] = g->contributors[--g->n_contributors];
				g->dirty = true;
			}
	}
	if (!ours || ours->sched_policy == SCHED_FIFO || ours->sched_policy == SCHED_RR || ours->sched_nice >= 0)
		return;

	fd = openat(t->proc_fd, "autogroup", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read_autogroup(fd, &id, &nice) < 0)
		return;
	g = group_find(ag, id);
	if (!g) {
		g = calloc(1, sizeof(*g));
		if (!g) {
			log_oom();
			return;
		}
		*g = (struct group){ .id = id, .previous = nice };
		list_add_tail(&ag->groups, &g->link);
	}
	c = realloc(g->contributors, (g->n_contributors + 1) * sizeof(*c));
	if (!c) {
		log_oom();
		return;
	}
	g->contributors = c;
	g->dirty = true;
	c[g->n_contributors++] = (struct contributor){ .tid = t->tid, .start_time = t->start_time,
						       .nice = ours->sched_nice };
}

/* The autogroup file of a live process of group id, open for writing, or -1:
 * a contributor first, else any process of the session. */
static int open_member(const struct group *g)
{
	_cleanup_(closedirp) DIR *proc = NULL;
	struct dirent *de;
	char path[64];

	for (size_t k = 0; k < g->n_contributors; k++) {
		_cleanup_close_ int fd = -1;
		uint64_t id;
		int nice;

		snprintf(path, sizeof(path), "/proc/%d/autogroup", (int)g->contributors[k].tid);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && read_autogroup(fd, &id, &nice) == 0 && id == g->id)
			return TAKE_FD(fd);
	}
	proc = opendir("/proc");
	while (proc && (de = readdir(proc))) {
		_cleanup_close_ int fd = -1;
		uint64_t id;
		int nice;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%.20s/autogroup", de->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && read_autogroup(fd, &id, &nice) == 0 && id == g->id)
			return TAKE_FD(fd);
	}
	return -1;
}

/* 1 when done with g (forget it), 0 when it stays, -EAGAIN to come back. */
static int group_sync(struct group *g)
{
	_cleanup_close_ int fd = -1;
	int boosts[64], want, nice;
	size_t n = MIN(g->n_contributors, ELEMENTSOF(boosts));
	uint64_t id;
	char text[16];

	if (!g->applied && g->n_contributors == 0)
		return 1;
	fd = open_member(g);
	if (fd < 0 || read_autogroup(fd, &id, &nice) < 0) {
		log_debug("Autogroup %" PRIu64 " has no process left.", g->id);
		return 1;
	}
	if (g->applied && nice != g->applied_nice) {
		log_info("Autogroup %" PRIu64 " was changed since our boost (now nice %d): leaving it alone.", g->id,
			 nice);
		return 1;
	}
	if (!g->applied)
		g->previous = nice;
	for (size_t k = 0; k < n; k++)
		boosts[k] = g->contributors[k].nice;
	want = g->n_contributors ? autogroup_wanted(g->previous, boosts, n) : g->previous;
	if (want != nice) {
		snprintf(text, sizeof(text), "%d", want);
		/* The file takes writes at any offset, but not pwrite(2). */
		if (write(fd, text, strlen(text)) < 0) {
			if (errno == EAGAIN)
				return -EAGAIN;
			log_warning_errno(errno, "Failed to set the nice of autogroup %" PRIu64 " to %d: %m", g->id, want);
			return 1;
		}
		log_debug("Autogroup %" PRIu64 " set to nice %d.", g->id, want);
	}
	if (g->n_contributors == 0)
		return 1;
	g->applied = true;
	g->applied_nice = want;
	return 0;
}

int autogroups_sync(struct autogroups *ag)
{
	struct list_node *i, *tmp;
	int r = 0;

	list_for_each_safe(i, tmp, &ag->groups) {
		struct group *g = list_entry(i, struct group, link);
		int k;

		if (!g->dirty)
			continue;
		k = group_sync(g);
		g->dirty = k == -EAGAIN;

		if (k == -EAGAIN)
			r = -EAGAIN;
		else if (k > 0)
			group_free(g);
	}
	return r;
}

size_t autogroups_count(const struct autogroups *ag)
{
	size_t n = 0;

	for (struct list_node *i = ag->groups.next; i != &ag->groups; i = i->next)
		n++;
	return n;
}
