/* SPDX-License-Identifier: MIT */
/*
 * melodyd plays in time. Notes are played to a WAV file and the file is
 * analysed (tests/lib/wav-analysis.c): every tone's frequency within 1 %,
 * every note's start within 5 ms of its schedule, no drift over a 60-note
 * melody; the file is valid while playing and after a stop; bad writes are
 * refused whole. Flow control is test-melody-flow.c, outputs and the client
 * test-melody-outputs.c.
 *
 * In the VM (CUSEKIT_IN_VM=1) test_pcspkr_end_to_end plays vm_melody on the
 * guest's PC speaker; qemu records it on the host, and
 *     test-melody --check-wav FILE
 * analyses that recording against vm_melody (exit 0: it played in time).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "melody-test.h"

/* What the VM plays on its PC speaker; qemu's recording is checked against
 * it (melody_check_tones). qemu records nothing while the speaker is off, so
 * the recording holds the tones back to back: neighbours differ by a quarter
 * at least, so the analyser can tell where one ends, and the first is used
 * nowhere else. The first and the last tone are guards (qemu's recording
 * gains or loses ~20 ms where it starts and ends): only their frequency
 * counts. */
static const struct melody_note vm_melody[] = {
	{ 587, 150, 0, 0 }, { 0, 60, 0, 0 },   { 440, 150, 0, 0 }, { 0, 60, 0, 0 },   { 660, 150, 0, 0 }, { 0, 60, 0, 0 },
	{ 880, 100, 50, 3 }, { 0, 60, 0, 0 },  { 523, 200, 0, 0 }, { 0, 60, 0, 0 },
	{ 1047, 120, 0, 0 }, { 0, 60, 0, 0 },  { 392, 250, 0, 0 },
};

/* 60 notes: tones of 100..2300 Hz and 30..79 ms, runs of tones back to
 * back, rests, and repeated notes with delays. */
static size_t timing_melody(struct melody_note *notes)
{
	size_t n = 0;

	for (unsigned i = 0; n < 60; i++) {
		if (i % 4 == 3)
			notes[n++] = (struct melody_note){ 0, 20 + (i % 3) * 5, 0, 0 };
		else if (i % 10 == 0)
			notes[n++] = (struct melody_note){ 300 + 20 * i, 40, 25, 3 };
		else
			notes[n++] = (struct melody_note){ 100 + 37 * i, 30 + (i * 7) % 50, 0, 0 };
	}
	return n;
}

START_TEST(test_wav_timing)
{
	struct melody_note notes[60];
	size_t count = timing_melody(notes);
	struct melody_status st;
	double start, elapsed;
	int fd;

	start_melody(NULL, 0);
	fd = daemon_open(&melodyd, O_WRONLY);
	start = now_ms();
	play(fd, notes, count);
	drain(fd);
	elapsed = now_ms() - start;
	close(fd);
	/* DRAIN answers once the notes have played, in real time. */
	ck_assert_msg(elapsed >= (double)melody_length_ms(notes, count) - 1, "DRAIN after %.1f ms, melody lasts %llu ms",
		      elapsed, (unsigned long long)melody_length_ms(notes, count));

	st = get_status();
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.played, count);
	ck_assert_uint_eq(st.frequency, 0);
	ck_assert_uint_eq(st.capacity, 1000);
	ck_assert_msg(!strncmp(st.output, "wav:", 4), "output %s", st.output);
	assert_played(wav_path, notes, count);
	ck_assert_int_eq(daemon_stop(&melodyd), 0);
	assert_played(wav_path, notes, count);
}
END_TEST

/* The header is kept valid while playing; stopping cuts the note at once and
 * leaves a valid file. */
START_TEST(test_wav_valid_while_playing_and_after_stop)
{
	const struct melody_note long_note = { 440, 10000, 0, 0 };
	size_t half = 48000 / 2, full = 10 * 48000;
	struct melody_status st;
	struct wav_audio a;
	struct stat sb;
	int fd;

	start_melody(NULL, 0);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, &long_note, 1);
	/* The recording grows as the note plays: readable all along, and half
	 * a second in, the note still has most of its 10 s to go. */
	for (;;) {
		load_wav(wav_path, &a);
		ck_assert_uint_eq(a.rate, 48000);
		if (a.frames >= half)
			break;
		wav_audio_done(&a);
		sleep_ms(10);
	}
	ck_assert_uint_lt(a.frames, full);
	wav_audio_done(&a);
	st = get_status();
	ck_assert_uint_eq(st.frequency, 440);
	ck_assert_uint_eq(st.queued, 1);

	ck_assert_int_eq(daemon_stop(&melodyd), 0);
	close(fd);
	load_wav(wav_path, &a);
	ck_assert_int_eq(stat(wav_path, &sb), 0);
	/* The header's sizes match the file: it was finished. */
	ck_assert_uint_eq(44 + 2 * a.frames, (size_t)sb.st_size);
	ck_assert_msg(a.frames < full, "%zu samples: the note went on after stop", a.frames);
	ck_assert_msg(fabs(wav_frequency(&a, 0.05, 0.45) - 440) < 4.4, "%.2f Hz", wav_frequency(&a, 0.05, 0.45));
	wav_audio_done(&a);
}
END_TEST


START_TEST(test_bad_writes)
{
	static const struct melody_note invalid[] = {
		{ 19, 100, 0, 0 },  { 20001, 100, 0, 0 }, { 1, 100, 0, 0 },       { 440, 0, 0, 0 },
		{ 440, 10001, 0, 0 }, { 440, 100, 10001, 0 }, { 440, 100, 0, 1001 }, { UINT32_MAX, 100, 0, 0 },
	};
	/* The long one first, so that all four are still queued when asked. */
	static const struct melody_note limits[] = {
		{ 440, 10000, 10000, 1000 }, { 20, 1, 0, 0 }, { 20000, 1, 0, 0 }, { 0, 1, 0, 0 },
	};
	struct melody_note pair[2] = { { 440, 100, 0, 0 } }, many[5] = {};
	char bytes[64] = {}, out[8];
	struct melody_status st;
	int fd;

	start_melody(NULL, 4);
	fd = daemon_open(&melodyd, O_RDWR);
	for (size_t size = 1; size < sizeof(bytes); size++)
		if (size % NOTE_SIZE)
			assert_write_fails(fd, bytes, size, EINVAL);
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		assert_write_fails(fd, &invalid[i], sizeof(invalid[i]), EINVAL);
		/* A bad note spoils the whole write: the good one is not queued. */
		pair[1] = invalid[i];
		assert_write_fails(fd, pair, sizeof(pair), EINVAL);
	}
	/* More notes than the queue holds can never fit. */
	for (size_t i = 0; i < 5; i++)
		many[i] = (struct melody_note){ 440, 10, 0, 0 };
	assert_write_fails(fd, many, sizeof(many), EINVAL);
	/* Length 0 never reaches the device (the kernel answers 0 itself): it
	 * queues nothing. */
	ck_assert_int_le(write(fd, bytes, 0), 0);
	st = get_status();
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.played, 0);

	/* Reading is not a thing the speaker does; unknown ioctls. */
	errno = 0;
	ck_assert_int_eq(read(fd, out, sizeof(out)), -1);
	ck_assert_int_eq(errno, EINVAL);
	errno = 0;
	ck_assert_int_eq(ioctl(fd, _IO('M', 0x7f)), -1);
	ck_assert_int_eq(errno, ENOTTY);
	errno = 0;
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_GET_STATUS, (void *)8), -1);
	ck_assert_int_eq(errno, EFAULT);

	/* The limits themselves are fine. */
	play(fd, limits, 4);
	st = get_status();
	ck_assert_uint_eq(st.queued, 4);
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_FLUSH), 0);
	close(fd);
	ck_assert(daemon_alive(&melodyd));
}
END_TEST

/* The whole path in the VM: melodyd on real CUSE → the guest's PC speaker
 * (the host then checks qemu's recording: --check-wav). Where there is no
 * speaker (this sandbox), the pcspkr output must refuse to start. */
START_TEST(test_pcspkr_end_to_end)
{
	const size_t count = sizeof(vm_melody) / sizeof(vm_melody[0]);
	struct melody_status st;
	int fd;

	if (!have_speaker()) {
		char out[4096];

		/* The guest loads pcspkr: there, no speaker is a failure. */
		ck_assert_msg(!getenv("CUSEKIT_IN_VM"), "the guest has no PC speaker (is pcspkr loaded?)");
		ck_assert_int_ne(run_melodyd(out, sizeof(out), "pcspkr"), 0);
		return;
	}
	if (getenv("CUSEKIT_IN_VM"))
		ck_assert_msg(test_on_cuse(), "the VM test runs on the cuse transport");
	start_melody("pcspkr", 0);
	st = get_status();
	ck_assert_msg(!strncmp(st.output, "pcspkr:/dev/input/event", 23), "output %s", st.output);
	/* A second of silence first: the recording's start is not the melody's. */
	sleep_ms(1000);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, vm_melody, count);
	drain(fd);
	close(fd);
	st = get_status();
	ck_assert_uint_eq(st.played, count);
	ck_assert_uint_eq(st.frequency, 0);
	ck_assert_int_eq(daemon_stop(&melodyd), 0);
	printf("vm melody played: check the host's recording with test-melody --check-wav FILE\n");
}
END_TEST

static int check_wav_main(const char *path)
{
	struct melody_check_result res;
	struct wav_audio a;
	int r;

	r = wav_audio_load(path, &a);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return 2;
	}
	r = melody_check_tones(&a, vm_melody, sizeof(vm_melody) / sizeof(vm_melody[0]), &res, stderr);
	printf("%s: %s: %zu tones of %zu; length error max %.2f ms (bound %.0f), frequency error max %.2f %% "
	       "(bound %.0f %%); offset of the last %.2f ms\n",
	       path, r == 0 ? "PASS" : "FAIL", res.tones, res.blocks, res.max_duration_error_ms,
	       MELODY_CHECK_DURATION_MS, 100 * res.max_frequency_error, 100 * MELODY_CHECK_FREQUENCY, res.drift_ms);
	wav_audio_done(&a);
	return r == 0 ? 0 : 1;
}

int main(int argc, char *argv[])
{
	Suite *s = suite_create("melody");
	TCase *tc = tcase_create("melody");
	/* Its own case, tagged: the VM runs it apart, on deterministic guest
	 * time, with the speaker recorded (tests/vm/real-cuse --speaker-check). */
	TCase *speaker = tcase_create("speaker");

	if (argc == 3 && !strcmp(argv[1], "--check-wav"))
		return check_wav_main(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--check-wav FILE]\n", argv[0]);
		return 2;
	}

	tcase_add_checked_fixture(tc, NULL, melody_teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_wav_timing);
	tcase_add_test(tc, test_wav_valid_while_playing_and_after_stop);
	tcase_add_test(tc, test_bad_writes);
	suite_add_tcase(s, tc);
	tcase_set_tags(speaker, "speaker");
	tcase_add_checked_fixture(speaker, NULL, melody_teardown);
	tcase_set_timeout(speaker, 120 * test_timeout_scale());
	tcase_add_test(speaker, test_pcspkr_end_to_end);
	suite_add_tcase(s, speaker);

	return harness_run(s);
}
