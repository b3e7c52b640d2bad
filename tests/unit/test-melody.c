/* SPDX-License-Identifier: MIT */
/*
 * Melody's pure logic: note limits, the segments a note expands to, the
 * synthesis, and the tests' WAV analyser itself, on signals synthesized
 * here (the daemon's sines at 48 kHz 16-bit mono, and a PC speaker's square
 * wave as qemu records it: 8-bit, stereo, 44.1 kHz).
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "note.h"
#include "wav-analysis.h"
#include "check-run.h"

START_TEST(test_note_limits)
{
	static const struct melody_note good[] = {
		{ 0, 1, 0, 0 },       { 20, 1, 0, 0 },         { 20000, 10000, 0, 0 },
		{ 440, 100, 10000, 1000 }, { 440, 100, 0, 1 },
	};
	static const struct melody_note bad[] = {
		{ 1, 100, 0, 0 },     { 19, 100, 0, 0 },       { 20001, 100, 0, 0 }, { UINT32_MAX, 100, 0, 0 },
		{ 440, 0, 0, 0 },     { 440, 10001, 0, 0 },    { 440, 100, 10001, 0 }, { 440, 100, 0, 1001 },
		{ 0, 0, 0, 0 },
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(melody_note_check(&good[i]) == 0, "good note %zu refused", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(melody_note_check(&bad[i]) == -EINVAL, "bad note %zu accepted", i);
	ck_assert_int_eq(melody_notes_check(good, 5), 0);
	ck_assert_int_eq(melody_notes_check((const struct melody_note[]){ good[0], bad[3], good[1] }, 3), -EINVAL);
}
END_TEST

START_TEST(test_note_segments)
{
	const struct melody_note once = { 440, 100, 50, 0 }, thrice = { 880, 30, 20, 3 };
	struct melody_segment s;
	unsigned k;

	/* Repeat 0 means 1, and the delay only goes between repeats. */
	ck_assert_uint_eq(melody_note_repeats(&once), 1);
	ck_assert_uint_eq(melody_note_length_ms(&once), 100);
	ck_assert(melody_note_segment(&once, 0, &s));
	ck_assert_uint_eq(s.frequency, 440);
	ck_assert_uint_eq(s.duration_ms, 100);
	ck_assert(!melody_note_segment(&once, 1, &s));

	ck_assert_uint_eq(melody_note_length_ms(&thrice), 3 * 30 + 2 * 20);
	for (k = 0; melody_note_segment(&thrice, k, &s); k++) {
		ck_assert_uint_eq(s.frequency, k % 2 ? 0 : 880);
		ck_assert_uint_eq(s.duration_ms, k % 2 ? 20 : 30);
	}
	ck_assert_uint_eq(k, 5);
	ck_assert_uint_eq(melody_note_length_ms(&(struct melody_note){ 440, 10000, 10000, 1000 }),
			  1000ull * 10000 + 999ull * 10000);
}
END_TEST

/* Synthesizing in chunks gives the very samples synthesizing at once does. */
START_TEST(test_synth_chunks)
{
	int16_t whole[4800], parts[4800];

	melody_synth(whole, 4800, 441, 0, 48000);
	for (size_t done = 0; done < 4800; done += 480)
		melody_synth(parts + done, 480, 441, done, 48000);
	ck_assert_mem_eq(whole, parts, sizeof(whole));
	ck_assert_int_eq(whole[0], 0);
	ck_assert_int_le(abs(whole[27]), MELODY_SYNTH_AMPLITUDE);
	melody_synth(whole, 10, 0, 123, 48000);
	for (int i = 0; i < 10; i++)
		ck_assert_int_eq(whole[i], 0);
}
END_TEST

/* A WAV in memory. */
struct wav_buf {
	unsigned char *data;
	size_t size, allocated;
	unsigned rate, channels, bits;
};

static void put_le(unsigned char *p, uint32_t v, unsigned bytes)
{
	for (unsigned i = 0; i < bytes; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static void wav_init(struct wav_buf *w, unsigned rate, unsigned channels, unsigned bits)
{
	*w = (struct wav_buf){ .rate = rate, .channels = channels, .bits = bits, .size = 44 };
	w->data = calloc(1, 44);
	memcpy(w->data, "RIFF\0\0\0\0WAVEfmt ", 16);
	put_le(w->data + 16, 16, 4);
	put_le(w->data + 20, 1, 2);
	put_le(w->data + 22, channels, 2);
	put_le(w->data + 24, rate, 4);
	put_le(w->data + 28, rate * channels * bits / 8, 4);
	put_le(w->data + 32, channels * bits / 8, 2);
	put_le(w->data + 34, bits, 2);
	memcpy(w->data + 36, "data", 4);
}

/* Append a sample (-1..1) to every channel. */
static void wav_put(struct wav_buf *w, double x)
{
	size_t frame = w->channels * w->bits / 8;

	if (w->size + frame > w->allocated) {
		w->allocated = 2 * (w->size + frame);
		w->data = realloc(w->data, w->allocated);
		ck_assert_ptr_nonnull(w->data);
	}
	for (unsigned c = 0; c < w->channels; c++) {
		unsigned char *p = w->data + w->size + c * w->bits / 8;

		if (w->bits == 8)
			p[0] = (unsigned char)lrint(128 + 96 * x);
		else
			put_le(p, (uint32_t)(int16_t)lrint(16000 * x), 2);
	}
	w->size += frame;
}

static void wav_finish(struct wav_buf *w, bool sizes)
{
	put_le(w->data + 4, sizes ? (uint32_t)(w->size - 8) : 0, 4);
	put_le(w->data + 40, sizes ? (uint32_t)(w->size - 44) : 0, 4);
}

/* Render notes: tones of frequency * scale, sine or square; tone number
 * late_tone starts (and ends) late_ms later than due. */
struct render {
	bool square;
	double scale;
	int late_tone;
	double late_ms;
	double lead_ms;  /* silence before the melody */
	bool collapsed;  /* record no silence, as qemu's PC speaker */
	double stretch_ms;  /* tone late_tone lasts this much longer */
};

static void render(struct wav_buf *w, const struct melody_note *notes, size_t count, const struct render *how)
{
	double t = how->lead_ms / 1000;  /* seconds */
	size_t written = 0;
	int tone = 0;

	for (size_t i = 0; i < count; i++) {
		struct melody_segment s;

		for (unsigned k = 0; melody_note_segment(&notes[i], k, &s); k++) {
			double shift = tone == how->late_tone && s.frequency ? how->late_ms / 1000 : 0;
			double stretch = tone == how->late_tone && s.frequency ? how->stretch_ms / 1000 : 0;
			double start = t + shift, end = t + s.duration_ms / 1000.0 + shift + stretch;

			if (how->collapsed && !s.frequency)
				continue;
			size_t first = (size_t)llround(start * w->rate), last = (size_t)llround(end * w->rate);

			while (written < first)
				wav_put(w, 0), written++;
			for (; written < last; written++) {
				double phase = 2 * M_PI * s.frequency * how->scale * (double)(written - first) / w->rate;
				double x = s.frequency ? sin(phase) : 0;

				wav_put(w, how->square ? (x >= 0 ? 1 : -1) * (s.frequency != 0) : x);
			}
			if (s.frequency)
				tone++;
			t += s.duration_ms / 1000.0 + stretch;
		}
	}
	for (size_t pad = 0; pad < w->rate / 10; pad++)
		wav_put(w, 0);
}

static const struct melody_note tune[] = {
	{ 440, 100, 0, 0 }, { 0, 30, 0, 0 },  { 660, 80, 20, 3 }, { 0, 20, 0, 0 },
	{ 523, 120, 0, 0 }, { 587, 60, 0, 0 }, { 698, 90, 0, 0 },   { 0, 40, 0, 0 }, { 1568, 50, 0, 0 },
};

static int check(const struct render *how, unsigned rate, unsigned channels, unsigned bits, bool sizes,
		 struct melody_check_result *res)
{
	struct wav_buf w;
	struct wav_audio a;
	int r;

	wav_init(&w, rate, channels, bits);
	render(&w, tune, sizeof(tune) / sizeof(tune[0]), how);
	wav_finish(&w, sizes);
	ck_assert_int_eq(wav_audio_parse(w.data, w.size, &a), 0);
	ck_assert_uint_eq(a.rate, rate);
	ck_assert_uint_eq(a.frames, (w.size - 44) / (channels * bits / 8));
	r = melody_check_wav(&a, tune, sizeof(tune) / sizeof(tune[0]), res, NULL);
	wav_audio_done(&a);
	free(w.data);
	return r;
}

START_TEST(test_analyser_accepts_what_was_played)
{
	const struct render sine = { .scale = 1, .late_tone = -1, .lead_ms = 250 };
	const struct render square = { .square = true, .scale = 1, .late_tone = -1, .lead_ms = 1000 };
	struct melody_check_result res;

	ck_assert_int_eq(check(&sine, 48000, 1, 16, true, &res), 0);
	ck_assert_uint_eq(res.blocks, 6);   /* 440 | 660 | 660 | 660 | 523 587 698 | 1568 */
	ck_assert_uint_eq(res.tones, 8);
	ck_assert_double_lt(res.max_frequency_error, 0.001);
	ck_assert_double_lt(res.max_start_error_ms, 0.5);
	/* qemu's PC speaker: square, u8, stereo, 44.1 kHz, header never finished. */
	ck_assert_int_eq(check(&square, 44100, 2, 8, false, &res), 0);
	ck_assert_double_lt(res.max_frequency_error, 0.002);
	ck_assert_double_lt(res.max_start_error_ms, 0.5);
}
END_TEST

START_TEST(test_analyser_rejects_wrong_frequency)
{
	const struct render sharp = { .scale = 1.015, .late_tone = -1 };
	const struct render flat = { .square = true, .scale = 0.985, .late_tone = -1 };
	struct melody_check_result res;

	ck_assert_int_eq(check(&sharp, 48000, 1, 16, true, &res), -1);
	ck_assert_int_eq(check(&flat, 44100, 2, 8, true, &res), -1);
}
END_TEST

START_TEST(test_analyser_rejects_wrong_timing)
{
	/* 4 ms late is within bounds, 7 ms is not; tone 4 (523 Hz) is the
	 * start of a run. */
	const struct render bit_late = { .scale = 1, .late_tone = 4, .late_ms = 4 };
	const struct render late = { .scale = 1, .late_tone = 4, .late_ms = 7 };
	const struct render early = { .scale = 1, .late_tone = 1, .late_ms = -7 };
	struct melody_check_result res;

	ck_assert_int_eq(check(&bit_late, 48000, 1, 16, true, &res), 0);
	ck_assert_double_gt(res.max_start_error_ms, 3.5);
	ck_assert_int_eq(check(&late, 48000, 1, 16, true, &res), -1);
	ck_assert_int_eq(check(&early, 48000, 1, 16, true, &res), -1);
}
END_TEST

START_TEST(test_analyser_rejects_missing_and_garbage)
{
	const struct melody_note shorter[] = { { 440, 100, 0, 0 }, { 0, 30, 0, 0 }, { 660, 80, 20, 2 } };
	struct melody_check_result res;
	struct wav_buf w;
	struct wav_audio a;

	/* Only part of the tune was played. */
	wav_init(&w, 48000, 1, 16);
	render(&w, shorter, 3, &(struct render){ .scale = 1, .late_tone = -1 });
	wav_finish(&w, true);
	ck_assert_int_eq(wav_audio_parse(w.data, w.size, &a), 0);
	ck_assert_int_eq(melody_check_wav(&a, tune, sizeof(tune) / sizeof(tune[0]), &res, NULL), -1);
	wav_audio_done(&a);
	/* Not WAV, or not PCM. */
	ck_assert_int_eq(wav_audio_parse("RIFF", 4, &a), -EBADMSG);
	w.data[20] = 3;
	ck_assert_int_eq(wav_audio_parse(w.data, w.size, &a), -EBADMSG);
	ck_assert_int_eq(wav_audio_parse(w.data, 40, &a), -EBADMSG);
	free(w.data);
	/* Silence holds no tune. */
	wav_init(&w, 48000, 1, 16);
	for (int i = 0; i < 48000; i++)
		wav_put(&w, 0);
	wav_finish(&w, true);
	ck_assert_int_eq(wav_audio_parse(w.data, w.size, &a), 0);
	ck_assert_int_eq(melody_check_wav(&a, tune, sizeof(tune) / sizeof(tune[0]), &res, NULL), -1);
	wav_audio_done(&a);
	free(w.data);
}
END_TEST

/* qemu's recording of the PC speaker: square, no silence, tones back to
 * back, after another sound. */
static int check_collapsed(const struct render *how, struct melody_check_result *res)
{
	const struct melody_note before = { 1000, 80, 0, 0 };
	struct wav_buf w;
	struct wav_audio a;
	int r;

	wav_init(&w, 44100, 2, 16);
	render(&w, &before, 1, &(struct render){ .square = true, .scale = 1, .late_tone = -1, .collapsed = true });
	w.size -= 4 * (w.rate / 10);  /* no trailing silence either */
	render(&w, tune, sizeof(tune) / sizeof(tune[0]), how);
	wav_finish(&w, true);
	ck_assert_int_eq(wav_audio_parse(w.data, w.size, &a), 0);
	r = melody_check_tones(&a, tune, sizeof(tune) / sizeof(tune[0]), res, NULL);
	wav_audio_done(&a);
	free(w.data);
	return r;
}

START_TEST(test_analyser_collapsed_recording)
{
	const struct render played = { .square = true, .scale = 1, .late_tone = -1, .collapsed = true };
	const struct render long_tone = { .square = true, .scale = 1, .late_tone = 4, .stretch_ms = 7, .collapsed = true };
	const struct render bit_long = { .square = true, .scale = 1, .late_tone = 4, .stretch_ms = 3, .collapsed = true };
	const struct render sharp = { .square = true, .scale = 1.02, .late_tone = -1, .collapsed = true };
	struct melody_check_result res;

	ck_assert_int_eq(check_collapsed(&played, &res), 0);
	ck_assert_uint_eq(res.blocks, 6);  /* 440 660 523 587 698 1568 */
	ck_assert_uint_eq(res.tones, 6);
	ck_assert_double_lt(res.max_duration_error_ms, 1.5);
	ck_assert_double_lt(fabs(res.drift_ms), 1.5);
	ck_assert_int_eq(check_collapsed(&bit_long, &res), 0);
	ck_assert_int_eq(check_collapsed(&long_tone, &res), -1);
	ck_assert_int_eq(check_collapsed(&sharp, &res), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("melody");
	TCase *tc = tcase_create("melody");

	tcase_add_test(tc, test_note_limits);
	tcase_add_test(tc, test_note_segments);
	tcase_add_test(tc, test_synth_chunks);
	tcase_add_test(tc, test_analyser_accepts_what_was_played);
	tcase_add_test(tc, test_analyser_rejects_wrong_frequency);
	tcase_add_test(tc, test_analyser_rejects_wrong_timing);
	tcase_add_test(tc, test_analyser_rejects_missing_and_garbage);
	tcase_add_test(tc, test_analyser_collapsed_recording);
	suite_add_tcase(s, tc);
	return check_run(s);
}
