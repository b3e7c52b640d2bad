/* SPDX-License-Identifier: MIT */
/*
 * The tests' ear: reads a WAV file (PCM 8, 16 or 32 bit, any rate, any
 * channels: the first is analysed; sizes of 0 in the header, as left by a
 * writer that was killed, mean "to the end of the file"), finds the tones in
 * it and checks them against the notes that were meant to play.
 *
 * A tone is a stretch where the signal exceeds 10 % of the file's peak with
 * no quiet gap longer than max_gap; its frequency comes from the zero
 * crossings (interpolated between samples) inside a window, counted with
 * hysteresis. Works for the daemon's sines and for a PC speaker's square
 * wave centred on the midline (qemu's pcspk).
 */
#pragma once

#include <stdio.h>
#include <stddef.h>

#include <cusekit/melody.h>

struct wav_audio {
	unsigned rate;
	size_t frames;
	float *samples;  /* first channel, -1..1 */
	float peak;      /* the largest magnitude */
};

/* 0, -errno, or -EBADMSG when the file is not a PCM WAV this reads. */
int wav_audio_parse(const void *data, size_t size, struct wav_audio *ret);
int wav_audio_load(const char *path, struct wav_audio *ret);
void wav_audio_done(struct wav_audio *a);

struct wav_tone {
	double start, end;  /* seconds */
};

/* The tones, in order; *ret is malloc'ed. */
int wav_find_tones(const struct wav_audio *a, double max_gap, struct wav_tone **ret, size_t *count);
/* Frequency in Hz of the signal between from and to (seconds); 0 if it has
 * fewer than two crossings. */
double wav_frequency(const struct wav_audio *a, double from, double to);

/* Timing bounds of issue 5. */
#define MELODY_CHECK_START_MS 5.0      /* each note's start against its schedule */
#define MELODY_CHECK_DURATION_MS 5.0   /* each tone's length */
#define MELODY_CHECK_DRIFT_MS 10.0     /* the last note's start: cumulative drift */
#define MELODY_CHECK_FREQUENCY 0.01    /* relative */

struct melody_check_result {
	size_t blocks;             /* runs of tones without a rest between them */
	size_t tones;              /* tones checked for frequency */
	double max_start_error_ms, max_duration_error_ms, drift_ms, max_frequency_error;
};

/* Check that notes (rests and delays of at least 10 ms between tones that
 * must be told apart) were played in audio a: each run of tones found where
 * it is due, timed against the first, lasting what it should, each tone at
 * its frequency. Timing is relative to the first tone, so the melody may
 * start anywhere in the file, and earlier sounds are skipped. Returns 0, or
 * -1 after explaining on log (which may be NULL). */
int melody_check_wav(const struct wav_audio *a, const struct melody_note *notes, size_t count,
		     struct melody_check_result *result, FILE *log);

/* The same for a recording that holds no silence: qemu's PC speaker records
 * nothing while the speaker is off, so rests and delays vanish and the tones
 * come back to back. Repeats of a tone then merge into one; neighbouring
 * tones must differ by a quarter at least, so that the change of frequency
 * marks where one ends. The first and the last tone are guards: qemu's
 * recording gains or loses some 20 ms where the recording starts and ends,
 * so only their frequency is checked. Of the tones between, the length is
 * checked too (5 ms): with the rests gone a start cannot be held against
 * the schedule, but a tone that starts late is short by as much, as its end
 * is scheduled absolutely. drift_ms is the last tone's offset from the sum
 * of the lengths before it: shown, not judged. The melody starts at the
 * first tone of its first frequency. */
int melody_check_tones(const struct wav_audio *a, const struct melody_note *notes, size_t count,
		       struct melody_check_result *result, FILE *log);
