/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "proc-reader.h"

struct slot {
	uint32_t pid;
	bool program;
	struct proc_view view;
};

/* Shared by the loop and the thread: each holds a reference, the last one
 * frees. A slot belongs to the thread from its queueing (a byte on
 * request_fd) until its read is counted on done_fd, to the loop otherwise:
 * the pipe and the eventfd order the accesses. Slots are used in turn. */
struct proc_reader {
	int refs;
	bool stopping;       /* the thread skips what is queued */
	int request_fd[2];   /* loop -> thread: a byte per queued read; closed: stop */
	int done_fd;         /* thread -> loop: an eventfd counting reads done */
	sd_event_source *source;
	void (*done)(void *userdata);
	void *userdata;
	uint64_t ns_per_tick;
	/* The loop's: slots[head] is the oldest queued, n_queued of them, the
	 * first n_done of those done. */
	unsigned head, n_queued, n_done;
	struct slot slots[PROC_READER_SLOTS];
};

static void unref(struct proc_reader *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	if (r->request_fd[0] >= 0)
		close(r->request_fd[0]);
	if (r->done_fd >= 0)
		close(r->done_fd);
	free(r);
}

static void *reader_main(void *arg)
{
	struct proc_reader *r = arg;
	unsigned next = 0;
	char c;

	while (read(r->request_fd[0], &c, 1) == 1 && !__atomic_load_n(&r->stopping, __ATOMIC_ACQUIRE)) {
		struct slot *s = &r->slots[next];
		uint64_t one = 1;

		next = (next + 1) % PROC_READER_SLOTS;
		proc_view_read(s->pid, s->program, r->ns_per_tick, &s->view);
		if (write(r->done_fd, &one, sizeof(one)) != sizeof(one))
			break;
	}
	unref(r);
	return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct proc_reader *r = userdata;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	r->n_done += (unsigned)n;
	r->done(r->userdata);
	return 0;
}

int proc_reader_new(sd_event *e, uint64_t ns_per_tick, void (*done)(void *userdata), void *userdata,
		    struct proc_reader **ret)
{
	struct proc_reader *r = malloc(sizeof(*r));
	pthread_attr_t attr;
	pthread_t thread;
	int k;

	if (!r)
		return -ENOMEM;
	/* The views are large: only the header is cleared. */
	r->refs = 1;
	r->stopping = false;
	r->request_fd[0] = r->request_fd[1] = r->done_fd = -1;
	r->source = NULL;
	r->done = done;
	r->userdata = userdata;
	r->ns_per_tick = ns_per_tick;
	r->head = r->n_queued = r->n_done = 0;
	if (pipe2(r->request_fd, O_CLOEXEC) < 0 || (r->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		k = negative_errno();
		proc_reader_free(r);
		return k;
	}
	k = sd_event_add_io(e, &r->source, r->done_fd, EPOLLIN, on_done, r);
	if (k < 0) {
		proc_reader_free(r);
		return k;
	}
	/* The thread's reference; it inherits the loop's blocked signals. */
	r->refs++;
	k = -pthread_attr_init(&attr);
	if (k == 0) {
		k = -pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		if (k == 0)
			k = -pthread_create(&thread, &attr, reader_main, r);
		pthread_attr_destroy(&attr);
	}
	if (k < 0) {
		r->refs--;
		proc_reader_free(r);
		return log_error_errno(k, "Failed to start the /proc reader thread: %m");
	}
	*ret = r;
	return 0;
}

struct proc_reader *proc_reader_free(struct proc_reader *r)
{
	if (!r)
		return NULL;
	r->source = sd_event_source_disable_unref(r->source);
	__atomic_store_n(&r->stopping, true, __ATOMIC_RELEASE);
	/* End of requests: the thread stops after the read in flight. */
	if (r->request_fd[1] >= 0)
		close(r->request_fd[1]);
	r->request_fd[1] = -1;
	unref(r);
	return NULL;
}

int proc_reader_queue(struct proc_reader *r, uint32_t pid, bool program)
{
	struct slot *s;

	if (r->n_queued == PROC_READER_SLOTS)
		return -EBUSY;
	s = &r->slots[(r->head + r->n_queued) % PROC_READER_SLOTS];
	s->pid = pid;
	s->program = program;
	if (write(r->request_fd[1], "r", 1) != 1)
		return negative_errno();
	r->n_queued++;
	return 0;
}

const struct proc_view *proc_reader_peek(const struct proc_reader *r)
{
	return r->n_done > 0 ? &r->slots[r->head].view : NULL;
}

void proc_reader_pop(struct proc_reader *r)
{
	assert(r->n_done > 0);
	r->head = (r->head + 1) % PROC_READER_SLOTS;
	r->n_queued--;
	r->n_done--;
}
