/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "note.h"
#include "player.h"

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL
/* Sample outputs are fed in chunks of this many samples (10 ms). */
#define CHUNK_SAMPLES (MELODY_RATE / 100)

/* One write's notes. */
struct batch {
	struct batch *next;
	size_t count, next_note;
	struct melody_note notes[];
};

struct melody_player {
	struct melody_output *output;
	pthread_t thread;
	bool thread_started;
	int event_fd;

	/* Shared with the thread, under lock. */
	pthread_mutex_t lock;
	pthread_cond_t wake;           /* CLOCK_MONOTONIC */
	struct batch *head, *tail;
	bool stopping;
	bool playing;                  /* a note has been taken and not finished */
	uint64_t generation;           /* bumped by flush and stop: cuts the playing note */
	struct melody_progress progress;
};

static uint64_t now_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void notify_loop(struct melody_player *p)
{
	uint64_t one = 1;

	/* Non-blocking; the counter cannot overflow in practice. */
	(void)!write(p->event_fd, &one, sizeof(one));
}

/* Sleep until deadline; -ECANCELED as soon as the note is cut (flush, stop). */
static int wait_until(struct melody_player *p, uint64_t deadline, uint64_t generation)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline / NSEC_PER_SEC),
			       .tv_nsec = (long)(deadline % NSEC_PER_SEC) };
	int r = 0;

	pthread_mutex_lock(&p->lock);
	while (p->generation == generation && now_nsec() < deadline)
		pthread_cond_timedwait(&p->wake, &p->lock, &ts);
	if (p->generation != generation)
		r = -ECANCELED;
	pthread_mutex_unlock(&p->lock);
	return r;
}

static void set_frequency(struct melody_player *p, unsigned hz)
{
	pthread_mutex_lock(&p->lock);
	p->progress.frequency = hz;
	pthread_mutex_unlock(&p->lock);
}

static void output_silence(struct melody_player *p)
{
	struct melody_output *o = p->output;

	if (o->ops->tone)
		o->ops->tone(o, 0);
	else if (o->ops->silence)
		o->ops->silence(o);
	set_frequency(p, 0);
}

static int play_tone_segment(struct melody_player *p, unsigned hz, uint64_t end, uint64_t generation)
{
	p->output->ops->tone(p->output, hz);
	return wait_until(p, end, generation);
}

/* Feed each chunk when its time comes (less the output's lead), so the
 * output is played "in time" like a speaker, then wait for the end. */
static int play_sample_segment(struct melody_player *p, unsigned hz, uint64_t start, unsigned duration_ms,
			       uint64_t generation)
{
	struct melody_output *o = p->output;
	uint64_t total = (uint64_t)duration_ms * MELODY_RATE / 1000, lead = o->ops->lead_usec * 1000;
	int16_t chunk[CHUNK_SAMPLES];
	int r;

	for (uint64_t done = 0; done < total; done += CHUNK_SAMPLES) {
		size_t n = (size_t)MIN(total - done, (uint64_t)CHUNK_SAMPLES);
		uint64_t due = start + done * NSEC_PER_SEC / MELODY_RATE;

		r = wait_until(p, due > lead ? due - lead : 0, generation);
		if (r < 0)
			return r;
		melody_synth(chunk, n, hz, done, MELODY_RATE);
		o->ops->write(o, chunk, n);
	}
	return wait_until(p, start + duration_ms * NSEC_PER_MSEC, generation);
}

/* Play one note from *t, its scheduled start; *t becomes its end. */
static int play_note(struct melody_player *p, const struct melody_note *note, uint64_t *t,
		     uint64_t generation)
{
	struct melody_segment s;
	int r;

	for (unsigned k = 0; melody_note_segment(note, k, &s); k++) {
		uint64_t start = *t;

		*t += s.duration_ms * NSEC_PER_MSEC;
		if (s.duration_ms == 0)
			continue;
		set_frequency(p, s.frequency);
		if (p->output->ops->tone)
			r = play_tone_segment(p, s.frequency, *t, generation);
		else
			r = play_sample_segment(p, s.frequency, start, s.duration_ms, generation);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Called locked: the next note to play, false when stopping. Silences the
 * output while it waits for one. */
static bool next_note(struct melody_player *p, struct melody_note *ret, bool *idle)
{
	struct batch *b;

	while (!p->stopping && !p->head) {
		if (!*idle) {
			pthread_mutex_unlock(&p->lock);
			output_silence(p);
			pthread_mutex_lock(&p->lock);
			*idle = true;
			continue;  /* the queue may have changed meanwhile */
		}
		pthread_cond_wait(&p->wake, &p->lock);
	}
	if (p->stopping)
		return false;
	b = p->head;
	*ret = b->notes[b->next_note++];
	if (b->next_note == b->count) {
		p->head = b->next;
		if (!p->head)
			p->tail = NULL;
		free(b);
	}
	p->playing = true;
	return true;
}

static void *player_thread(void *userdata)
{
	struct melody_player *p = userdata;
	struct melody_note note;
	bool idle = true, nothing_follows;
	uint64_t t = 0;

	pthread_mutex_lock(&p->lock);
	while (next_note(p, &note, &idle)) {
		uint64_t generation = p->generation;
		int r;

		pthread_mutex_unlock(&p->lock);
		/* Back from idleness the schedule restarts now; otherwise
		 * this note starts where the previous one ended. */
		if (idle)
			t = now_nsec();
		idle = false;
		r = play_note(p, &note, &t, generation);
		pthread_mutex_lock(&p->lock);
		nothing_follows = !p->head;
		pthread_mutex_unlock(&p->lock);
		/* Cut, or the melody ends here: silence at once, before the note
		 * counts as played, so that a DRAIN it completes returns to
		 * silence, not to a tone that lingers until we are next
		 * scheduled. The next note, if any comes, starts afresh. */
		if (r < 0 || nothing_follows) {
			output_silence(p);
			idle = true;
		}
		/* Played to its end, or cut (by a flush, or the stop) and
		 * silenced by now: either way it is over only here. */
		pthread_mutex_lock(&p->lock);
		p->playing = false;
		p->progress.completed++;
		if (p->generation == generation)
			p->progress.played++;
		else
			p->progress.dropped++;
		notify_loop(p);
	}
	pthread_mutex_unlock(&p->lock);
	output_silence(p);
	return NULL;
}

int melody_player_fd(struct melody_player *p) { return p->event_fd; }

void melody_player_ack(struct melody_player *p)
{
	uint64_t count;

	(void)!read(p->event_fd, &count, sizeof(count));
}

void melody_player_progress(struct melody_player *p, struct melody_progress *ret)
{
	pthread_mutex_lock(&p->lock);
	*ret = p->progress;
	pthread_mutex_unlock(&p->lock);
}

int melody_player_enqueue(struct melody_player *p, const struct melody_note *notes, size_t n)
{
	struct batch *b = malloc(sizeof(*b) + n * sizeof(*notes));

	if (!b)
		return -ENOMEM;
	*b = (struct batch){ .count = n };
	memcpy(b->notes, notes, n * sizeof(*notes));
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = b;
	else
		p->head = b;
	p->tail = b;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

/* Called locked: drop the notes not started, and cut the playing one (the
 * thread counts it once it fell silent). */
static uint64_t drop_queued(struct melody_player *p)
{
	uint64_t dropped = 0;

	while (p->head) {
		struct batch *b = p->head;

		dropped += b->count - b->next_note;
		p->head = b->next;
		free(b);
	}
	p->tail = NULL;
	p->generation++;
	pthread_cond_broadcast(&p->wake);
	return dropped;
}

void melody_player_flush(struct melody_player *p)
{
	uint64_t dropped;

	pthread_mutex_lock(&p->lock);
	dropped = drop_queued(p);
	p->progress.completed += dropped;
	p->progress.dropped += dropped;
	pthread_mutex_unlock(&p->lock);
	notify_loop(p);
}

int melody_player_new(struct melody_output *o, struct melody_player **ret)
{
	_cleanup_free_ struct melody_player *p = calloc(1, sizeof(*p));
	pthread_condattr_t attr;
	int r;

	if (!p)
		return -ENOMEM;
	p->output = o;
	p->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->event_fd < 0)
		return negative_errno();
	pthread_mutex_init(&p->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&p->wake, &attr);
	pthread_condattr_destroy(&attr);

	r = -pthread_create(&p->thread, NULL, player_thread, p);
	if (r < 0) {
		melody_player_free(TAKE_PTR(p));
		return r;
	}
	p->thread_started = true;
	*ret = TAKE_PTR(p);
	return 0;
}

void melody_player_free(struct melody_player *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	drop_queued(p);
	pthread_mutex_unlock(&p->lock);
	if (p->thread_started)
		pthread_join(p->thread, NULL);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
	close(p->event_fd);
	free(p);
}
