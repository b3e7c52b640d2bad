/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "note.h"
#include "wav-analysis.h"

#define MAX_GAP_SEC 0.005
#define LEVEL 0.1   /* of the peak: above it the signal is "on" */

static uint32_t get_le16(const unsigned char *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t get_le32(const unsigned char *p) { return get_le16(p) | get_le16(p + 2) << 16; }

static float sample_value(const unsigned char *p, unsigned bits)
{
	switch (bits) {
	case 8:
		return ((float)p[0] - 128.0f) / 128.0f;
	case 16:
		return (float)(int16_t)get_le16(p) / 32768.0f;
	default:
		return (float)((double)(int32_t)get_le32(p) / 2147483648.0);
	}
}

int wav_audio_parse(const void *data, size_t size, struct wav_audio *ret)
{
	const unsigned char *d = data, *fmt = NULL;
	unsigned channels = 0, bits = 0, frame;
	size_t pos = 12;

	if (size < 12 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WAVE", 4))
		return -EBADMSG;
	/* Chunks: "fmt " then "data"; a data size of 0 or past the end means
	 * the writer never finished the header. */
	while (pos + 8 <= size) {
		size_t chunk = get_le32(d + pos + 4), body = pos + 8;

		if (!memcmp(d + pos, "fmt ", 4) && chunk >= 16 && body + 16 <= size) {
			fmt = d + body;
			channels = get_le16(fmt + 2);
			bits = get_le16(fmt + 14);
		} else if (!memcmp(d + pos, "data", 4)) {
			if (!fmt || get_le16(fmt) != 1 || channels == 0 || (bits != 8 && bits != 16 && bits != 32))
				return -EBADMSG;
			if (chunk == 0 || chunk > size - body)
				chunk = size - body;
			frame = channels * bits / 8;
			*ret = (struct wav_audio){ .rate = get_le32(fmt + 4), .frames = chunk / frame };
			if (ret->rate == 0)
				return -EBADMSG;
			ret->samples = calloc(ret->frames + 1, sizeof(float));
			if (!ret->samples)
				return -ENOMEM;
			for (size_t i = 0; i < ret->frames; i++) {
				ret->samples[i] = sample_value(d + body + i * frame, bits);
				ret->peak = fmaxf(ret->peak, fabsf(ret->samples[i]));
			}
			return 0;
		}
		pos = body + chunk + (chunk & 1);
	}
	return -EBADMSG;
}

int wav_audio_load(const char *path, struct wav_audio *ret)
{
	struct stat st;
	void *data;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(data = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, data, (size_t)st.st_size, 0);
	close(fd);
	r = n < 0 ? -errno : wav_audio_parse(data, (size_t)n, ret);
	free(data);
	return r;
}

void wav_audio_done(struct wav_audio *a)
{
	free(a->samples);
	*a = (struct wav_audio){};
}

int wav_find_tones(const struct wav_audio *a, double max_gap, struct wav_tone **ret, size_t *count)
{
	float level = LEVEL * a->peak;
	size_t gap = (size_t)(max_gap * a->rate), start = 0, last = 0, n = 0;
	struct wav_tone *tones = NULL;
	bool on = false;

	for (size_t i = 0; i <= a->frames; i++) {
		bool active = i < a->frames && level > 0 && fabsf(a->samples[i]) > level;

		if (active && !on) {
			on = true;
			start = i;
		}
		if (active)
			last = i;
		if (on && (i == a->frames || i - last > gap)) {
			struct wav_tone *t = realloc(tones, (n + 1) * sizeof(*tones));

			if (!t) {
				free(tones);
				return -ENOMEM;
			}
			tones = t;
			tones[n++] = (struct wav_tone){ .start = (double)start / a->rate,
							.end = (double)(last + 1) / a->rate };
			on = false;
		}
	}
	*ret = tones;
	*count = n;
	return 0;
}

/* The midline crossings between two times (seconds), in samples from the
 * start; *ret is malloc'ed. */
static int find_crossings(const struct wav_audio *a, double from, double to, double **ret, size_t *count)
{
	float level = LEVEL * a->peak;
	size_t begin = (size_t)fmax(1, from * a->rate), end = (size_t)fmin((double)a->frames, to * a->rate);
	double zero = -1, *times = NULL;
	size_t n = 0, allocated = 0;
	int state = 0;

	for (size_t i = begin; i < end; i++) {
		float x0 = a->samples[i - 1], x1 = a->samples[i];
		int s = x1 > level ? 1 : x1 < -level ? -1 : 0;

		if ((x0 < 0) != (x1 < 0))
			zero = (double)(i - 1) + x0 / (x0 - x1);
		if (s == 0 || s == state)
			continue;
		/* Hysteresis: a crossing counts once the signal is well past
		 * the midline; its time is where it crossed. */
		if (state != 0 && zero >= 0) {
			if (n == allocated) {
				double *t = realloc(times, (allocated = 2 * allocated + 64) * sizeof(*times));

				if (!t) {
					free(times);
					return -ENOMEM;
				}
				times = t;
			}
			times[n++] = zero;
		}
		state = s;
	}
	*ret = times;
	*count = n;
	return 0;
}

double wav_frequency(const struct wav_audio *a, double from, double to)
{
	double *times, hz = 0;
	size_t n;

	if (find_crossings(a, from, to, &times, &n) < 0)
		return 0;
	if (n >= 2 && times[n - 1] > times[0])
		hz = (double)(n - 1) * a->rate / (2 * (times[n - 1] - times[0]));
	free(times);
	return hz;
}

/* A tone that should sound, times in ms from the melody's start. */
struct expected_tone {
	double start, duration;
	unsigned frequency;
};

/* A run of tones with no rest between them: one tone in the audio. */
struct expected_block {
	double start, end;
	size_t first, count;   /* its tones */
};

struct expectation {
	struct expected_tone *tones;
	struct expected_block *blocks;
	size_t n_tones, n_blocks;
};

static void expectation_done(struct expectation *e)
{
	free(e->tones);
	free(e->blocks);
}

static int expect(const struct melody_note *notes, size_t count, struct expectation *e)
{
	size_t max = 0;
	double t = 0;
	bool rest = true;

	for (size_t i = 0; i < count; i++)
		max += melody_note_repeats(&notes[i]);
	e->tones = calloc(max + 1, sizeof(*e->tones));
	e->blocks = calloc(max + 1, sizeof(*e->blocks));
	if (!e->tones || !e->blocks)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct melody_segment s;

		for (unsigned k = 0; melody_note_segment(&notes[i], k, &s); k++) {
			if (s.frequency == 0) {
				rest = rest || s.duration_ms > 0;
			} else {
				struct expected_block *b;

				if (rest)
					e->blocks[e->n_blocks++] = (struct expected_block){ .start = t,
											    .first = e->n_tones };
				b = &e->blocks[e->n_blocks - 1];
				e->tones[e->n_tones++] = (struct expected_tone){ t, s.duration_ms, s.frequency };
				b->count++;
				b->end = t + s.duration_ms;
				rest = false;
			}
			t += s.duration_ms;
		}
	}
	return 0;
}

static void say(FILE *log, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* The frequency of a tone that sounds from start to end (ms), measured away
 * from its edges; checked against the bound. */
static bool tone_frequency_ok(const struct wav_audio *a, double start, double end, unsigned frequency,
			      struct melody_check_result *res, double *measured)
{
	double margin = fmin(8.0, (end - start) / 4), error;

	*measured = wav_frequency(a, (start + margin) / 1000, (end - margin) / 1000);
	error = fabs(*measured - frequency) / frequency;
	res->tones++;
	res->max_frequency_error = fmax(res->max_frequency_error, error);
	return error <= MELODY_CHECK_FREQUENCY;
}

static void say(FILE *log, const char *format, ...)
{
	va_list ap;

	if (!log)
		return;
	va_start(ap, format);
	vfprintf(log, format, ap);
	va_end(ap);
}

/* Check the melody against the detected tones found[0..]; the first block
 * is found[0]. Returns the number of blocks that passed before the first
 * failure (e->n_blocks: all). */
static size_t check_from(const struct wav_audio *a, const struct expectation *e, const struct wav_tone *found,
			 size_t n_found, struct melody_check_result *res, FILE *log)
{
	double origin = found[0].start * 1000, expected_origin = e->blocks[0].start;

	*res = (struct melody_check_result){ .blocks = e->n_blocks };
	for (size_t j = 0; j < e->n_blocks; j++) {
		const struct expected_block *b = &e->blocks[j];
		double start, start_error, duration_error;

		if (j >= n_found) {
			say(log, "block %zu (%.0f ms): missing, only %zu tone(s) found\n", j, b->start, n_found);
			return j;
		}
		start = found[j].start * 1000 - origin;
		start_error = start - (b->start - expected_origin);
		duration_error = (found[j].end - found[j].start) * 1000 - (b->end - b->start);
		res->max_start_error_ms = fmax(res->max_start_error_ms, fabs(start_error));
		res->max_duration_error_ms = fmax(res->max_duration_error_ms, fabs(duration_error));
		res->drift_ms = start_error;
		if (fabs(start_error) > MELODY_CHECK_START_MS || fabs(duration_error) > MELODY_CHECK_DURATION_MS) {
			say(log, "block %zu: starts at %.2f ms, due at %.2f ms; lasts %.2f ms, should %.2f ms\n", j,
			    start, b->start - expected_origin, (found[j].end - found[j].start) * 1000,
			    b->end - b->start);
			return j;
		}
		for (size_t k = b->first; k < b->first + b->count; k++) {
			const struct expected_tone *t = &e->tones[k];
			double from = found[j].start * 1000 + t->start - b->start, hz;

			if (!tone_frequency_ok(a, from, from + t->duration, t->frequency, res, &hz)) {
				say(log, "tone %zu (block %zu, at %.0f ms): %.2f Hz, should be %u Hz\n", k, j,
				    t->start - expected_origin, hz, t->frequency);
				return j;
			}
		}
	}
	if (fabs(res->drift_ms) > MELODY_CHECK_DRIFT_MS) {
		say(log, "cumulative drift %.2f ms\n", res->drift_ms);
		return e->n_blocks - 1;
	}
	return e->n_blocks;
}

int melody_check_wav(const struct wav_audio *a, const struct melody_note *notes, size_t count,
		     struct melody_check_result *result, FILE *log)
{
	struct expectation e = {};
	struct wav_tone *found = NULL;
	size_t n_found = 0, best = 0, best_at = 0;
	int r = -1;

	if (expect(notes, count, &e) < 0 || wav_find_tones(a, MAX_GAP_SEC, &found, &n_found) < 0) {
		say(log, "out of memory\n");
		goto out;
	}
	if (e.n_blocks == 0) {
		say(log, "the melody has no tones\n");
		goto out;
	}
	/* The melody may start after other sounds: try each tone as its start. */
	for (size_t s = 0; s < n_found; s++) {
		size_t passed = check_from(a, &e, found + s, n_found - s, result, NULL);

		if (passed == e.n_blocks) {
			r = 0;
			goto out;
		}
		if (passed >= best) {
			best = passed;
			best_at = s;
		}
	}
	say(log, "%zu tone(s) found in %.2f s of audio at %u Hz, %zu expected; best match from tone %zu:\n",
	    n_found, (double)a->frames / a->rate, a->rate, e.n_blocks, best_at);
	if (n_found > 0)
		check_from(a, &e, found + best_at, n_found - best_at, result, log);
out:
	free(found);
	expectation_done(&e);
	return r;
}

/* Which of two frequencies a half period (in samples) is closer to. */
static bool closer_to(const struct wav_audio *a, double half_period, unsigned than, unsigned to)
{
	double hz = a->rate / (2 * half_period);

	return fabs(log(hz / to)) < fabs(log(hz / than));
}

/* Half periods k, k+1, k+2 all within 5 % of hz. */
static bool at_frequency(const struct wav_audio *a, const double *x, size_t k, unsigned hz)
{
	for (size_t i = k; i < k + 3; i++)
		if (fabs(a->rate / (2 * (x[i + 1] - x[i])) - hz) > 0.05 * hz)
			return false;
	return true;
}

/* Half periods k, k+1, k+2 all closer to "to" than to "than". */
static bool switched(const struct wav_audio *a, const double *x, size_t k, unsigned than, unsigned to)
{
	for (size_t i = k; i < k + 3; i++)
		if (!closer_to(a, x[i + 1] - x[i], than, to))
			return false;
	return true;
}

/* The tones back to back: rests dropped, repeats of one frequency merged. */
static size_t merge_tones(struct expectation *e)
{
	size_t n = 0;
	double t = 0;

	for (size_t i = 0; i < e->n_tones; i++) {
		if (n > 0 && e->tones[n - 1].frequency == e->tones[i].frequency)
			e->tones[n - 1].duration += e->tones[i].duration;
		else
			e->tones[n++] = (struct expected_tone){ t, e->tones[i].duration, e->tones[i].frequency };
		t += e->tones[i].duration;
	}
	return e->n_tones = n;
}

int melody_check_tones(const struct wav_audio *a, const struct melody_note *notes, size_t count,
		       struct melody_check_result *res, FILE *log)
{
	struct expectation e = {};
	struct wav_tone *found = NULL;
	double *x = NULL, origin = 0;
	size_t n_x = 0, n_found = 0, pos = 0;
	bool all_ok = true;
	int r = -1;

	*res = (struct melody_check_result){};
	if (expect(notes, count, &e) < 0 || find_crossings(a, 0, (double)a->frames / a->rate, &x, &n_x) < 0 ||
	    wav_find_tones(a, MAX_GAP_SEC, &found, &n_found) < 0) {
		say(log, "out of memory\n");
		goto out;
	}
	res->blocks = merge_tones(&e);
	/* The start: three half periods of the first tone's frequency. */
	while (pos + 3 < n_x && e.n_tones > 0 && !at_frequency(a, x, pos, e.tones[0].frequency))
		pos++;
	if (e.n_tones == 0 || pos + 3 >= n_x) {
		say(log, "no %u Hz tone to start from\n", e.n_tones ? e.tones[0].frequency : 0);
		goto out;
	}
	if (e.n_tones < 3) {
		say(log, "the melody needs a guard tone at each end and one between\n");
		goto out;
	}
	for (size_t i = 0; i < e.n_tones; i++) {
		const struct expected_tone *t = &e.tones[i];
		double start = x[pos] * 1000 / a->rate, end = -1, hz, start_error, duration_error;

		if (i + 1 < e.n_tones) {
			for (size_t k = pos + 1; k + 3 < n_x && end < 0; k++)
				if (switched(a, x, k, t->frequency, e.tones[i + 1].frequency)) {
					end = x[k] * 1000 / a->rate;
					pos = k;
				}
		} else {
			/* The last ends where the sound does. */
			for (size_t j = 0; j < n_found && end < 0; j++)
				if (found[j].end * 1000 > start)
					end = found[j].end * 1000;
		}
		if (end < 0) {
			say(log, "tone %zu (%u Hz): no end found\n", i, t->frequency);
			goto out;
		}
		bool guard = i == 0 || i + 1 == e.n_tones, ok = tone_frequency_ok(a, start, end, t->frequency, res, &hz);

		if (i == 1)
			origin = start - t->start;
		start_error = start - origin - t->start;
		duration_error = end - start - t->duration;
		/* Rests vanished from the recording, so a start cannot be
		 * held against the schedule, only a length: a tone that
		 * starts X late (its end is scheduled absolutely) is X
		 * short. The offset from the sum of the lengths before is
		 * shown, not judged. */
		if (!guard) {
			res->max_duration_error_ms = fmax(res->max_duration_error_ms, fabs(duration_error));
			res->drift_ms = start_error;
			ok = ok && fabs(duration_error) <= MELODY_CHECK_DURATION_MS;
		}
		say(log, "tone %zu: %8.2f Hz (%u), lasts %7.2f ms (%.0f), offset %+7.2f ms%s%s\n", i, hz, t->frequency,
		    end - start, t->duration, i == 0 ? 0.0 : start_error, guard ? " guard" : "",
		    ok ? "" : "  <-- out of bounds");
		all_ok = all_ok && ok;
	}
	r = all_ok ? 0 : -1;
out:
	free(x);
	free(found);
	expectation_done(&e);
	return r;
}
