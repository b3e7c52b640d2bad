/* SPDX-License-Identifier: MIT */
/*
 * melodyd's outputs (missing ones fail the start cleanly, auto says which it
 * took, ALSA's synthesis path), who may use the node, and the melody client
 * (beep-style options, scores, the book's sequences).
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


/* Outputs that are not there fail the start cleanly; bad specs are refused. */
START_TEST(test_outputs_fail_cleanly)
{
	char out[4096];

	ck_assert_int_ne(run_melodyd(out, sizeof(out), "alsa:cusekit-no-such-pcm"), 0);
	ck_assert_msg(strstr(out, "cusekit-no-such-pcm"), "no word about the PCM: %s", out);
	ck_assert_int_ne(run_melodyd(out, sizeof(out), "wav:/nonexistent-dir/x.wav"), 0);
	ck_assert_int_ne(run_melodyd(out, sizeof(out), "bogus"), 0);
	ck_assert_int_ne(run_melodyd(out, sizeof(out), "wav:"), 0);
	ck_assert_int_ne(run_melodyd(out, sizeof(out), "null:x"), 0);
	ck_assert_int_ne(run_melodyd(out, sizeof(out), "pcspkr:/dev/null"), 0);
	if (!have_speaker()) {
		ck_assert_int_ne(run_melodyd(out, sizeof(out), "pcspkr"), 0);
		ck_assert_msg(strstr(out, "SND_TONE"), "no word about the speaker: %s", out);
	}
}
END_TEST

/* auto says which output it took: the speaker where there is one (the VM),
 * else ALSA's default PCM, else null. It plays a rest: in the VM nothing
 * but vm_melody may sound. */
START_TEST(test_output_auto)
{
	const struct melody_note note = { 0, 50, 0, 0 };
	struct melody_status st;
	char grep_out[512];
	const char *const grep[] = { "grep", "Output (auto): ", melodyd.log, NULL };
	int fd;

	start_melody("auto", 0);
	st = get_status();
	ck_assert_msg(!strncmp(st.output, "pcspkr:/dev/input/event", 23) || !strncmp(st.output, "alsa:default", 12) ||
			      !strcmp(st.output, "null"),
		      "auto picked %s", st.output);
	if (have_speaker())
		ck_assert_msg(!strncmp(st.output, "pcspkr:", 7), "there is a PC speaker, auto picked %s", st.output);
	ck_assert_int_eq(run_program(grep_out, sizeof(grep_out), grep), 0);
	ck_assert_msg(strstr(grep_out, st.output), "log says %s, status %s", grep_out, st.output);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, &note, 1);
	drain(fd);
	close(fd);
	ck_assert_uint_eq(get_status().played, 1);
}
END_TEST

/* ALSA's null PCM: the synthesis path, with no sound card. */
START_TEST(test_output_alsa_null)
{
	const struct melody_note notes[3] = { { 440, 100, 0, 0 }, { 0, 20, 0, 0 }, { 880, 100, 20, 2 } };
	double start;
	int fd;

	start_melody("alsa:null", 0);
	ck_assert_str_eq(get_status().output, "alsa:null");
	fd = daemon_open(&melodyd, O_WRONLY);
	start = now_ms();
	play(fd, notes, 3);
	drain(fd);
	ck_assert_msg(now_ms() - start >= 300, "alsa:null played 340 ms in %.0f ms", now_ms() - start);
	close(fd);
	ck_assert_uint_eq(get_status().played, 3);
	ck_assert_int_eq(daemon_stop(&melodyd), 0);
}
END_TEST

/* root:audio 0660: others may not open it, the audio group may play. */
START_TEST(test_node_permissions)
{
	struct group *audio = getgrnam("audio");
	struct stat st;
	pid_t pid;
	int status;

	ck_assert_ptr_nonnull(audio);
	start_melody(NULL, 0);
	ck_assert_int_eq(stat(melodyd.node, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0660);
	ck_assert_uint_eq(st.st_gid, audio->gr_gid);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd;

		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		fd = open(melodyd.node, O_WRONLY);
		_exit(fd < 0 && errno == EACCES ? 0 : 11);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "nobody opened the node (%d)", status);

	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		const struct melody_note note = { 440, 20, 0, 0 };
		gid_t groups[1] = { audio->gr_gid };
		int fd;

		if (setgroups(1, groups) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
			_exit(10);
		fd = open(melodyd.node, O_WRONLY);
		if (fd < 0)
			_exit(12);
		_exit(write(fd, &note, sizeof(note)) == NOTE_SIZE && ioctl(fd, MELODY_IOC_DRAIN) == 0 ? 0 : 13);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "audio member could not play (%d)", status);
}
END_TEST

static int run_client(char *out, size_t size, const char *const args[])
{
	const char *argv[32] = { build_path("clients/melody"), "--device", melodyd.node };
	size_t n = 3;

	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	return run_program(out, size, argv);
}

START_TEST(test_client_options_and_score)
{
	/* The client's two runs, back to back in the file: the idle time
	 * between them is not recorded. */
	const struct melody_note chain[] = { { 440, 100, 0, 0 }, { 0, 50, 0, 0 },  { 660, 80, 30, 3 },
					     { 0, 30, 0, 0 },    { 0, 50, 0, 0 },  { 523, 120, 0, 0 } };
	const char *const beep[] = { "-f", "440", "-l", "100", "-D", "50", "-n", "-f", "660", "-l", "80", "-D", "30",
				     "-r", "3", "--wait", NULL };
	char score[] = "/tmp/cusekit-melody-score-XXXXXX", out[4096];
	const char *const play_score[] = { "--wait", score, NULL };
	const char *const bad[][4] = {
		{ "-f", "10", NULL },  { "-l", "0", NULL },    { "-f", "x", NULL },
		{ "-r", "1001", NULL }, { "/nonexistent/score", NULL },
	};
	FILE *f;
	int fd;

	start_melody(NULL, 0);
	/* beep semantics: -D is the delay between repeats and after the last. */
	ck_assert_int_eq(run_client(out, sizeof(out), beep), 0);
	ck_assert_uint_eq(get_status().queued, 0);

	fd = mkstemp(score);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	fprintf(f, "# a score\n\n0 50\n523 120   # comment\n");
	fclose(f);
	ck_assert_int_eq(run_client(out, sizeof(out), play_score), 0);
	ck_assert_uint_eq(get_status().played, 2 + 2 + 2);
	assert_played(wav_path, chain, 6);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(run_client(out, sizeof(out), bad[i]) != 0, "melody %s accepted", bad[i][0]);
	f = fopen(score, "w");
	fprintf(f, "440 100\n440 banana\n");
	fclose(f);
	ck_assert_int_ne(run_client(out, sizeof(out), (const char *const[]){ score, NULL }), 0);
	ck_assert_msg(strstr(out, ":2:"), "no line number in: %s", out);
	unlink(score);
	ck_assert_uint_eq(get_status().played, 6);
}
END_TEST

/* With no arguments: the book's two sequences. */
START_TEST(test_client_book_sequences)
{
	struct melody_note book[20];
	char out[4096];
	const char *const args[] = { "--wait", NULL };

	for (unsigned i = 0; i < 10; i++) {
		book[i] = (struct melody_note){ 400 + 30 * i, 500, 0, 0 };
		book[10 + i] = (struct melody_note){ 1200 - 100 * i, 300, 300, 2 };
	}
	start_melody(NULL, 0);
	ck_assert_int_eq(run_client(out, sizeof(out), args), 0);
	ck_assert_uint_eq(get_status().played, 20);
	assert_played(wav_path, book, 20);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("melody-outputs");
	TCase *tc = tcase_create("outputs");

	tcase_add_checked_fixture(tc, NULL, melody_teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_outputs_fail_cleanly);
	tcase_add_test(tc, test_output_auto);
	tcase_add_test(tc, test_output_alsa_null);
	tcase_add_test(tc, test_node_permissions);
	tcase_add_test(tc, test_client_options_and_score);
	tcase_add_test(tc, test_client_book_sequences);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
