/* SPDX-License-Identifier: MIT */
/*
 * melodyd: the book's Melody device, as the one owner of the speaker. Any
 * number of clients write notes; they play in the order the writes were
 * accepted, each write's notes back to back, in time, on the output the
 * machine has (see output.h), from a player thread (see player.h).
 *
 * Flow control: the queue holds at most queue-size notes. A write is all or
 * nothing: it is accepted when all its notes fit, else it waits (deferred,
 * with a copy of its notes) in a FIFO of writers, so nobody overtakes a
 * waiting writer and one write's notes never interleave with another's. An
 * interrupted wait queued nothing: EINTR. O_NONBLOCK gets EAGAIN instead of
 * waiting. DRAIN waits (deferred) until the notes completed reach the count
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
	struct list_node writers;        /* deferred writes waiting for room, FIFO */
	struct list_node drains;         /* deferred DRAINs, by target */
};

/* What a deferred DRAIN waits for. */
struct drain_target {
	uint64_t completed;
};

static unsigned melody_queued(const struct melody *m)
{
	return (unsigned)(m->accepted - m->progress.completed);
}

static unsigned melody_room(const struct melody *m)
{
	return m->capacity - melody_queued(m);
}

static int melody_accept(struct melody *m, const struct melody_note *notes, size_t n)
{
	int r = melody_player_enqueue(m->player, notes, n);

	if (r < 0)
		return r;
	m->accepted += n;
	return 0;
}

static void wake_poller(struct cusekit_client *c, void *arg)
{
	(void)arg;
	cusekit_client_wake(c);
}

/* Let in the waiting writers whose notes fit now, in order. */
static void admit_writers(struct melody *m)
{
	while (!list_empty(&m->writers)) {
		struct cusekit_pending *p = list_first_entry(&m->writers, struct cusekit_pending, link);
		size_t size = p->payload_size, n = size / sizeof(struct melody_note);
		int r;

		if (n > melody_room(m))
			break;
		r = melody_accept(m, (const struct melody_note *)p->payload, n);
		if (r < 0)
			fuse_reply_err(cusekit_pending_take(p), -r);
		else
			fuse_reply_write(cusekit_pending_take(p), size);
	}
}

/* Room came, or a waiting writer left the line (interrupted, or its file
 * closed): let in who fits, and tell pollers. */
static void room_changed(struct melody *m, struct cusekit_device *d)
{
	admit_writers(m);
	cusekit_device_foreach_client(d, wake_poller, NULL);
}

/* Nothing of an interrupted write was queued: EINTR. */
static void writer_interrupted(struct cusekit_pending *p)
{
	struct cusekit_client *c = p->client;

	fuse_reply_err(cusekit_pending_take(p), EINTR);
	room_changed(cusekit_client_userdata(c), c->device);
}

static void melody_release(struct cusekit_client *c)
{
	/* At exit the player is gone and every request answered. */
	if (cusekit_device_stopping(c->device))
		return;
	room_changed(cusekit_client_userdata(c), c->device);
}

static void answer_drains(struct melody *m)
{
	while (!list_empty(&m->drains)) {
		struct cusekit_pending *p = list_first_entry(&m->drains, struct cusekit_pending, link);
		const struct drain_target *target = (const struct drain_target *)p->payload;

		if (target->completed > m->progress.completed)
			break;
		fuse_reply_ioctl(cusekit_pending_take(p), 0, NULL, 0);
	}
}

static void melody_update(struct melody *m, struct cusekit_device *d)
{
	melody_player_progress(m->player, &m->progress);
	answer_drains(m);
	room_changed(m, d);
}

static int on_progress(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct cusekit_device *d = userdata;
	struct melody *melody = cusekit_device_userdata(d);

	(void)s;
	(void)fd;
	(void)revents;
	melody_player_ack(melody->player);
	melody_update(melody, d);
	return 0;
}

static void melody_write(struct cusekit_client *c, fuse_req_t req, const void *buf, size_t size,
			 bool nonblock)
{
	struct melody *m = cusekit_client_userdata(c);
	size_t n = size / sizeof(struct melody_note);
	struct cusekit_pending *p;
	int r;

	/* The data may be unaligned: check and queue a copy. */
	if (size == 0 || size % sizeof(struct melody_note) || n > m->capacity) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct melody_note note;

		memcpy(&note, (const char *)buf + i * sizeof(note), sizeof(note));
		if (melody_note_check(&note) < 0) {
			fuse_reply_err(req, EINVAL);
			return;
		}
	}

	if (list_empty(&m->writers) && n <= melody_room(m)) {
		_cleanup_free_ struct melody_note *notes = malloc(size);

		r = notes ? melody_accept(m, memcpy(notes, buf, size), n) : -ENOMEM;
		if (r < 0)
			fuse_reply_err(req, -r);
		else
			fuse_reply_write(req, size);
		return;
	}
	if (nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	p = cusekit_defer(c, req, writer_interrupted, size);
	if (!p)
		return;
	memcpy(p->payload, buf, size);
	list_add_tail(&m->writers, &p->link);
}

static unsigned melody_poll(struct cusekit_client *c)
{
	struct melody *m = cusekit_client_userdata(c);

	return list_empty(&m->writers) && melody_room(m) > 0 ? POLLOUT | POLLWRNORM : 0;
}

static int melody_get_status(struct cusekit_client *c, fuse_req_t req, const void *in, void *out)
{
	struct melody *m = cusekit_client_userdata(c);
	struct melody_status *st = out;

	(void)req;
	(void)in;
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

static int melody_flush(struct cusekit_client *c, fuse_req_t req, const void *in, void *out)
{
	struct melody *m = cusekit_client_userdata(c);
	const struct fuse_ctx *caller = cusekit_caller(req);

	(void)in;
	(void)out;
	if (!opened_for_writing(c))
		return -EBADF;
	log_info("Flush by pid %d uid %u: %u note(s) dropped.", (int)caller->pid, (unsigned)caller->uid,
		 melody_queued(m));
	melody_player_flush(m->player);
	melody_update(m, c->device);
	return 0;
}

static int melody_drain(struct cusekit_client *c, fuse_req_t req, const void *in, void *out)
{
	struct melody *m = cusekit_client_userdata(c);
	struct cusekit_pending *p;

	(void)in;
	(void)out;
	melody_player_progress(m->player, &m->progress);
	if (m->progress.completed >= m->accepted)
		return 0;
	p = cusekit_defer(c, req, NULL, sizeof(struct drain_target));
	if (p) {
		((struct drain_target *)p->payload)->completed = m->accepted;
		list_add_tail(&m->drains, &p->link);
	}
	return CUSEKIT_DEFERRED;
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

	r = melody_output_open(&m->output, m->output_spec ?: "auto");
	if (r < 0)
		return r;
	r = melody_player_new(&m->output, &m->player);
	if (r < 0)
		return log_error_errno(r, "Failed to start the player: %m");
	r = sd_event_add_io(cusekit_device_event(d), &m->progress_source, melody_player_fd(m->player), EPOLLIN,
			    on_progress, d);
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
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < 1 || v > MELODY_QUEUE_MAX)
		return -EINVAL;
	m->capacity = (unsigned)v;
	return 0;
}

static const struct cusekit_option melody_options[] = {
	{ "output", true,
	  "auto|pcspkr[:EVDEV]|alsa[:DEVICE]|wav:PATH|null  where notes sound (default: auto, the first of "
	  "pcspkr, alsa:default, null that works)",
	  parse_output },
	{ "queue-size", true, "NOTES  queue capacity, 1..65536 (default: 1000)", parse_queue_size },
	{}
};

static const struct cusekit_device_ops melody_device = {
	.name = "melody",
	.description = "Serve /dev/cusekit/melody: queued notes played in order and in time on the speaker.",
	.node_mode = 0660,
	.node_group = "audio",
	.options = melody_options,
	.start = melody_start,
	.stop = melody_stop,
	.destroy = melody_destroy,
	.release = melody_release,
	.write = melody_write,
	.poll = melody_poll,
	.ioctls = melody_ioctls,
};

int main(int argc, char *argv[])
{
	struct melody melody = {
		.capacity = MELODY_QUEUE_DEFAULT,
		.output = { .fd = -1 },
		.writers = LIST_INIT(melody.writers),
		.drains = LIST_INIT(melody.drains),
	};

	return cusekit_main(argc, argv, &melody_device, &melody);
}
