/* SPDX-License-Identifier: MIT */
/*
 * melodyd: the book's Melody device, as the one owner of the speaker. Any
 * number of clients write notes; they play in the order the writes were
 * accepted, each write's notes back to back, in time, on the output the
 * machine has (see output.h), from a player thread (see player.h).
 *
 * Flow control: the queue holds at most queue-size notes. A write is all or
 * nothing: it is accepted when all its notes fit, else it waits (parked,
 * with a copy of its notes) in a wait queue of writers, so nobody overtakes
 * a waiting writer and one write's notes never interleave with another's.
 * An interrupted wait queued nothing: EINTR. O_NONBLOCK gets EAGAIN instead
 * of waiting. DRAIN waits (parked) until the notes completed reach the count
 * queued when it was asked.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <cusekit/melody.h>

#include "device.h"
#include "log.h"
#include "note.h"
#include "output.h"
#include "player.h"

#define MELODY_QUEUE_DEFAULT 1000u
#define MELODY_QUEUE_MAX 65536u

struct melody {
	/* settings */
	char *output_spec;
	unsigned capacity;

	struct melody_output output;
	struct melody_player *player;
	sd_event_source *progress_source;

	uint64_t accepted;               /* notes queued since start */
	struct melody_progress progress; /* the player's, as last seen */
	struct cusekit_waitq writers;    /* writes waiting for room, first come first served */
	struct cusekit_waitq drains;     /* DRAINs, each tagged with the count it waits for */
	struct cusekit_device *device;
};

static unsigned melody_queued(const struct melody *m)
{
	return (unsigned)(m->accepted - m->progress.completed);
}

static unsigned melody_room(const struct melody *m)
{
	return m->capacity - melody_queued(m);
}

/* Queue a write's notes if all of them fit: its size, or -EAGAIN. */
static ssize_t melody_accept(struct melody *m, const void *buf, size_t size)
{
	size_t n = size / sizeof(struct melody_note);
	_cleanup_free_ struct melody_note *notes = NULL;
	int r;

	if (n > melody_room(m))
		return -EAGAIN;
	/* The data may be unaligned: the player gets an aligned copy. */
	notes = malloc(size);
	if (!notes)
		return -ENOMEM;
	r = melody_player_enqueue(m->player, memcpy(notes, buf, size), n);
	if (r < 0)
		return r;
	m->accepted += n;
	return (ssize_t)size;
}

static ssize_t writer_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	return melody_accept(q->userdata, cusekit_request_data(req), cusekit_request_size(req));
}

/* Room came, or a waiting writer left the line (interrupted, or its file
 * closed): let in who fits, and tell pollers. */
static void room_changed(struct melody *m)
{
	cusekit_waitq_run(&m->writers);
	cusekit_device_wake_all(m->device);
}

static void writer_left(struct cusekit_waitq *q) { room_changed(q->userdata); }

static ssize_t drain_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	struct melody *m = q->userdata;

	return m->progress.completed >= cusekit_request_tag(req) ? 0 : -EAGAIN;
}

static void melody_update(struct melody *m)
{
	melody_player_progress(m->player, &m->progress);
	cusekit_waitq_run(&m->drains);
	room_changed(m);
}

static int on_progress(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct melody *m = userdata;

	melody_player_ack(m->player);
	melody_update(m);
	return 0;
}

static ssize_t melody_write(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size)
{
	struct melody *m = cusekit_client_userdata(c);
	size_t n = size / sizeof(struct melody_note);

	if (size == 0 || size % sizeof(struct melody_note) || n > m->capacity)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct melody_note note;

		memcpy(&note, (const char *)buf + i * sizeof(note), sizeof(note));
		if (melody_note_check(&note) < 0)
			return -EINVAL;
	}
	/* Nobody overtakes a waiting writer. */
	return cusekit_answer_or_park(&m->writers, req);
}

static unsigned melody_poll(struct cusekit_client *c)
{
	struct melody *m = cusekit_client_userdata(c);

	return cusekit_waitq_empty(&m->writers) && melody_room(m) > 0 ? POLLOUT | POLLWRNORM : 0;
}

static int melody_get_status(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct melody *m = cusekit_client_userdata(c);
	struct melody_status *st = out;

	melody_player_progress(m->player, &m->progress);
	st->queued = melody_queued(m);
	st->capacity = m->capacity;
	st->played = m->progress.played;
	st->dropped = m->progress.dropped;
	st->frequency = m->progress.frequency;
	snprintf(st->output, sizeof(st->output), "%s", m->output.name);
	return 0;
}

static bool opened_for_writing(const struct cusekit_client *c)
{
	return (c->open_flags & O_ACCMODE) != O_RDONLY;
}

/* Returns once every note queued before it has completed: played, or
 * dropped and fallen silent. */
static int melody_drain(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct melody *m = cusekit_client_userdata(c);

	melody_player_progress(m->player, &m->progress);
	if (m->progress.completed >= m->accepted)
		return 0;
	cusekit_request_set_tag(req, m->accepted);
	return cusekit_park(&m->drains, req);
}

/* Drops everything queued, cuts the note playing, and returns once the
 * speaker is silent. */
static int melody_flush(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct melody *m = cusekit_client_userdata(c);
	const struct cusekit_caller *caller = cusekit_request_caller(req);

	if (!opened_for_writing(c))
		return -EBADF;
	log_info("Flush by pid %d uid %u: %u note(s) dropped.", (int)caller->pid, (unsigned)caller->uid,
		 melody_queued(m));
	melody_player_flush(m->player);
	melody_update(m);
	return melody_drain(c, req, in, out);
}

static const struct cusekit_ioctl melody_ioctls[] = {
	{ MELODY_IOC_GET_STATUS, melody_get_status },
	{ MELODY_IOC_FLUSH, melody_flush },
	{ MELODY_IOC_DRAIN, melody_drain },
	{}
};

static int melody_start(struct cusekit_device *d)
{
	struct melody *m = cusekit_device_userdata(d);
	int r;

	m->device = d;
	r = melody_output_open(&m->output, m->output_spec ?: "auto");
	if (r < 0)
		return r;
	r = melody_player_new(&m->output, &m->player);
	if (r < 0)
		return log_error_errno(r, "Failed to start the player: %m");
	r = sd_event_add_io(cusekit_device_event(d), &m->progress_source, melody_player_fd(m->player), EPOLLIN,
			    on_progress, m);
	if (r < 0)
		return log_error_errno(r, "Failed to watch the player: %m");
	log_info("Queue: %u notes.", m->capacity);
	return 0;
}

/* Silence at once: the thread is told to stop and cut the note it plays. */
static void melody_stop(struct cusekit_device *d)
{
	struct melody *m = cusekit_device_userdata(d);

	melody_player_progress(m->player, &m->progress);
	log_info("Silencing: %u queued note(s) dropped, %llu played.", melody_queued(m),
		 (unsigned long long)m->progress.played);
	melody_player_free(TAKE_PTR(m->player));
	m->progress_source = sd_event_source_disable_unref(m->progress_source);
}

static void melody_destroy(struct cusekit_device *d)
{
	struct melody *m = cusekit_device_userdata(d);

	m->progress_source = sd_event_source_disable_unref(m->progress_source);
	melody_player_free(TAKE_PTR(m->player));
	melody_output_close(&m->output);
	free(m->output_spec);
}

static int parse_output(void *userdata, const char *arg)
{
	struct melody *m = userdata;
	char *spec;

	if (melody_output_spec_check(arg) < 0)
		return -EINVAL;
	spec = strdup(arg);
	if (!spec)
		return -ENOMEM;
	free(m->output_spec);
	m->output_spec = spec;
	return 0;
}

static int parse_queue_size(void *userdata, const char *arg)
{
	struct melody *m = userdata;
	long long v;
	int r = cusekit_parse_integer(arg, 1, MELODY_QUEUE_MAX, &v);

	if (r >= 0)
		m->capacity = (unsigned)v;
	return r;
}

static const struct cusekit_option melody_options[] = {
	{ "output", true,
	  "auto|pcspkr[:EVDEV]|alsa[:DEVICE]|wav:PATH|null  where notes sound (default: auto, the first of "
	  "pcspkr, alsa:default, null that works)",
	  parse_output },
	{ "queue-size", true, "NOTES  queue capacity, 1..65536 (default: 1000)", parse_queue_size },
	{}
};

static const struct cusekit_waitq_ops writer_ops = { .try_answer = writer_try, .left = writer_left };
static const struct cusekit_waitq_ops drain_ops = { .try_answer = drain_try };

static void melody_init(void *userdata)
{
	struct melody *m = userdata;

	m->capacity = MELODY_QUEUE_DEFAULT;
	m->output.fd = -1;
	cusekit_waitq_init(&m->writers, &writer_ops, m);
	cusekit_waitq_init(&m->drains, &drain_ops, m);
}

const struct cusekit_device_ops melody_device = {
	.name = "melody",
	.description = "Serve /dev/cusekit/melody: queued notes played in order and in time on the speaker.",
	.node_mode = 0660,
	.node_group = "audio",
	.options = melody_options,
	.size = sizeof(struct melody),
	.init = melody_init,
	.start = melody_start,
	.stop = melody_stop,
	.destroy = melody_destroy,
	.write = melody_write,
	.poll = melody_poll,
	.ioctls = melody_ioctls,
};
