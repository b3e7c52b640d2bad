/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "melody-test.h"

struct daemon_proc melodyd;
char wav_path[256];
static char wav_dir[64];

/* Does this machine have a PC speaker: an evdev node with EV_SND/SND_TONE?
 * The guest must (pcspkr, evdev); this sandbox's kernel has none. */
bool have_speaker(void)
{
	DIR *dir = opendir("/dev/input");
	struct dirent *de;
	bool found = false;

	while (dir && !found && (de = readdir(dir))) {
		unsigned long sounds[SND_MAX / (8 * sizeof(long)) + 1] = {};
		char path[300];
		int fd;

		if (strncmp(de->d_name, "event", 5))
			continue;
		snprintf(path, sizeof(path), "/dev/input/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			continue;
		found = ioctl(fd, EVIOCGBIT(EV_SND, sizeof(sounds)), sounds) >= 0 &&
			(sounds[SND_TONE / (8 * sizeof(long))] >> (SND_TONE % (8 * sizeof(long))) & 1);
		close(fd);
	}
	if (dir)
		closedir(dir);
	if (getenv("CUSEKIT_IN_VM"))
		ck_assert_msg(found, "the guest has no PC speaker: are pcspkr and evdev loaded?");
	return found;
}

void melody_teardown(void)
{
	const char *const rm[] = { "rm", "-rf", wav_dir, NULL };

	daemon_cleanup(&melodyd);
	if (wav_dir[0])
		run_program(NULL, 0, rm);
	wav_dir[0] = wav_path[0] = '\0';
}

/* output NULL: a fresh WAV file at wav_path. */
void start_melody(const char *output, unsigned queue_size)
{
	char arg_output[320], arg_queue[64];
	const char *args[3] = {};
	size_t n = 0;

	if (!output) {
		/* A directory of our own: the daemon, as root, never writes
		 * through a name someone else could have prepared. */
		if (!wav_dir[0]) {
			snprintf(wav_dir, sizeof(wav_dir), "/tmp/cusekit-melody-XXXXXX");
			ck_assert_ptr_nonnull(mkdtemp(wav_dir));
		}
		snprintf(wav_path, sizeof(wav_path), "%s/out.wav", wav_dir);
		snprintf(arg_output, sizeof(arg_output), "--output=wav:%s", wav_path);
	} else
		snprintf(arg_output, sizeof(arg_output), "--output=%s", output);
	args[n++] = arg_output;
	if (queue_size) {
		snprintf(arg_queue, sizeof(arg_queue), "--queue-size=%u", queue_size);
		args[n++] = arg_queue;
	}
	daemon_start(&melodyd, "melody", args);
}

struct melody_status get_status(void)
{
	struct melody_status st;
	int fd = daemon_open(&melodyd, O_RDONLY);

	ck_assert_int_eq(ioctl(fd, MELODY_IOC_GET_STATUS, &st), 0);
	close(fd);
	return st;
}

void play(int fd, const struct melody_note *notes, size_t count)
{
	ssize_t n = write(fd, notes, count * sizeof(*notes));

	ck_assert_msg(n == (ssize_t)(count * sizeof(*notes)), "write of %zu notes: %zd (%s)", count, n,
		      strerror(errno));
}

void drain(int fd)
{
	ck_assert_msg(ioctl(fd, MELODY_IOC_DRAIN) == 0, "DRAIN: %s", strerror(errno));
}

uint64_t melody_length_ms(const struct melody_note *notes, size_t count)
{
	uint64_t ms = 0;

	for (size_t i = 0; i < count; i++) {
		uint64_t r = notes[i].repeat ? notes[i].repeat : 1;

		ms += r * notes[i].duration + (r - 1) * notes[i].delay;
	}
	return ms;
}

double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void load_wav(const char *path, struct wav_audio *a)
{
	int r = wav_audio_load(path, a);

	ck_assert_msg(r == 0, "%s: not a WAV file we can read: %s", path, strerror(-r));
}

/* The WAV at path holds notes, in time. */
void assert_played(const char *path, const struct melody_note *notes, size_t count)
{
	struct melody_check_result res;
	struct wav_audio a;
	char *why = NULL;
	size_t size = 0;
	FILE *log = open_memstream(&why, &size);
	int r;

	load_wav(path, &a);
	r = melody_check_wav(&a, notes, count, &res, log);
	fclose(log);
	wav_audio_done(&a);
	ck_assert_msg(r == 0, "%s does not hold the melody:\n%s", path, why);
	free(why);
	ck_assert_uint_gt(res.tones, 0);
}

void assert_write_fails(int fd, const void *buf, size_t size, int error)
{
	errno = 0;
	ck_assert_int_eq(write(fd, buf, size), -1);
	ck_assert_msg(errno == error, "write of %zu bytes: %s, expected %s", size, strerror(errno), strerror(error));
}

int run_melodyd(char *out, size_t size, const char *output)
{
	char arg[256], dir[] = "/tmp/cusekit-melody-run-XXXXXX", fuse_dir[64];
	const char *argv[] = { build_path("daemons/melody/melodyd"), "--transport=fuse", fuse_dir,
			       "--config=/dev/null", arg, NULL };
	int r;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fuse_dir, sizeof(fuse_dir), "--fuse-dir=%s", dir);
	snprintf(arg, sizeof(arg), "--output=%s", output);
	r = run_program(out, size, argv);
	rmdir(dir);
	return r;
}
