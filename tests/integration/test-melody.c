/* SPDX-License-Identifier: MIT */
/*
 * melodyd through real syscalls. Notes are played to a WAV file and the
 * file is analysed (daemons/melody/wav-analysis.c): every tone's frequency
 * within 1 %, every note's start within 5 ms of its schedule, no drift over a
 * 60-note melody. Then the contract: bad writes, the bounded queue (blocking,
 * EAGAIN, POLLOUT), DRAIN and FLUSH, signals during a blocked write or DRAIN,
 * clients dying while blocked, several writers not interleaved, stop
 * silencing at once, the outputs, the node's permissions and the client.
 *
 * In the VM (CUSEKIT_IN_VM=1) test_pcspkr_end_to_end plays vm_melody on the
 * guest's PC speaker; qemu records it on the host, and
 *     test-melody --check-wav FILE
 * analyses that recording against vm_melody (exit 0: it played in time).
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/input.h>
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
#include <time.h>
#include <unistd.h>

#include <cusekit/melody.h>

#include "wav-analysis.h"
#include "harness.h"

#define NOTE_SIZE ((ssize_t)sizeof(struct melody_note))

static struct daemon_proc melodyd;
static char wav_path[256];

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

/* Does this machine have a PC speaker: an evdev node with EV_SND/SND_TONE?
 * The guest must (pcspkr, evdev); this sandbox's kernel has none. */
static bool have_speaker(void)
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

static void teardown(void)
{
	daemon_cleanup(&melodyd);
	if (wav_path[0])
		unlink(wav_path);
}

/* output NULL: a fresh WAV file at wav_path. */
static void start_melody(const char *output, unsigned queue_size)
{
	static unsigned counter;
	char arg_output[320], arg_queue[64];
	const char *args[3] = {};
	size_t n = 0;

	if (!output) {
		snprintf(wav_path, sizeof(wav_path), "/tmp/cusekit-melody-%d-%u.wav", (int)getpid(), counter++);
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

static struct melody_status get_status(void)
{
	struct melody_status st;
	int fd = daemon_open(&melodyd, O_RDONLY);

	ck_assert_int_eq(ioctl(fd, MELODY_IOC_GET_STATUS, &st), 0);
	close(fd);
	return st;
}

static void play(int fd, const struct melody_note *notes, size_t count)
{
	ssize_t n = write(fd, notes, count * sizeof(*notes));

	ck_assert_msg(n == (ssize_t)(count * sizeof(*notes)), "write of %zu notes: %zd (%s)", count, n,
		      strerror(errno));
}

static void drain(int fd)
{
	ck_assert_msg(ioctl(fd, MELODY_IOC_DRAIN) == 0, "DRAIN: %s", strerror(errno));
}

static uint64_t melody_length_ms(const struct melody_note *notes, size_t count)
{
	uint64_t ms = 0;

	for (size_t i = 0; i < count; i++) {
		uint64_t r = notes[i].repeat ? notes[i].repeat : 1;

		ms += r * notes[i].duration + (r - 1) * notes[i].delay;
	}
	return ms;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void load_wav(const char *path, struct wav_audio *a)
{
	int r = wav_audio_load(path, a);

	ck_assert_msg(r == 0, "%s: not a WAV file we can read: %s", path, strerror(-r));
}

/* The WAV at path holds notes, in time. */
static void assert_played(const char *path, const struct melody_note *notes, size_t count)
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

static void assert_write_fails(int fd, const void *buf, size_t size, int error)
{
	errno = 0;
	ck_assert_int_eq(write(fd, buf, size), -1);
	ck_assert_msg(errno == error, "write of %zu bytes: %s, expected %s", size, strerror(errno), strerror(error));
}

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

START_TEST(test_full_queue_eagain_pollout)
{
	const struct melody_note slow[3] = { { 500, 300, 0, 0 }, { 600, 300, 0, 0 }, { 700, 300, 0, 0 } };
	const struct melody_note one = { 800, 50, 0, 0 };
	struct pollfd p;
	int fd;

	start_melody(NULL, 3);
	fd = daemon_open(&melodyd, O_WRONLY | O_NONBLOCK);
	p = (struct pollfd){ .fd = fd, .events = POLLOUT };
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	ck_assert(p.revents & POLLOUT);

	play(fd, slow, 3);
	p.revents = 0;
	ck_assert_int_eq(poll(&p, 1, 0), 0);
	assert_write_fails(fd, &one, sizeof(one), EAGAIN);
	ck_assert_uint_eq(get_status().queued, 3);

	/* Room comes when the first note has played: poll says so. */
	ck_assert_int_eq(poll(&p, 1, 5000 * (int)test_timeout_scale()), 1);
	ck_assert(p.revents & POLLOUT);
	ck_assert_uint_le(get_status().queued, 2);
	play(fd, &one, 1);
	drain(fd);
	close(fd);
	ck_assert_uint_eq(get_status().played, 4);
	assert_played(wav_path, (const struct melody_note[]){ slow[0], slow[1], slow[2], one }, 4);
}
END_TEST

/* A child that opens the node, says so, does op and reports its errno (0:
 * success) through the pipe. SIGUSR1 interrupts it (no SA_RESTART). */
struct blocked_child {
	pid_t pid;
	int result;  /* read end */
};

static void on_usr1(int sig) { (void)sig; }

static struct blocked_child spawn_blocked(int (*op)(int fd))
{
	struct blocked_child b;
	int fds[2];
	char c;

	ck_assert_int_eq(pipe2(fds, O_CLOEXEC), 0);
	b.pid = fork();
	ck_assert_int_ge(b.pid, 0);
	if (b.pid == 0) {
		struct sigaction sa = { .sa_handler = on_usr1 };
		int fd, e;

		sigaction(SIGUSR1, &sa, NULL);
		fd = open(melodyd.node, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(1);
		(void)!write(fds[1], "o", 1);
		e = op(fd) < 0 ? errno : 0;
		(void)!write(fds[1], &e, sizeof(e));
		_exit(0);
	}
	close(fds[1]);
	b.result = fds[0];
	ck_assert_int_eq(read(b.result, &c, 1), 1);
	return b;
}

/* Still blocked after 300 ms? */
/* The child is blocked in the daemon: exactly waiting requests are parked
 * there, and the child has not returned. */
static void assert_blocked(struct blocked_child *b, unsigned waiting)
{
	struct pollfd p = { .fd = b->result, .events = POLLIN };

	daemon_wait_waiting(&melodyd, waiting);
	ck_assert_int_eq(poll(&p, 1, 0), 0);
}

/* The errno the child's op ended with, within 10 s. */
static int child_result(struct blocked_child *b)
{
	struct pollfd p = { .fd = b->result, .events = POLLIN };
	int e = -1, status;

	ck_assert_msg(poll(&p, 1, 10000 * (int)test_timeout_scale()) == 1, "the child's call never returned");
	ck_assert_int_eq(read(b->result, &e, sizeof(e)), sizeof(e));
	ck_assert_int_eq(waitpid(b->pid, &status, 0), b->pid);
	close(b->result);
	return e;
}

/* Notes that outlast any test that queues them (the longest a note may be):
 * they end by FLUSH or stop, never by themselves. */
static const struct melody_note long_notes[2] = { { 300, 10000, 0, 0 }, { 310, 10000, 0, 0 } };

static int write_one(int fd)
{
	const struct melody_note note = { 1000, 50, 0, 0 };

	return write(fd, &note, sizeof(note)) == NOTE_SIZE ? 0 : -1;
}

static int write_three(int fd)
{
	const struct melody_note notes[3] = { { 1000, 50, 0, 0 }, { 0, 20, 0, 0 }, { 1100, 50, 0, 0 } };

	return write(fd, notes, sizeof(notes)) == 3 * NOTE_SIZE ? 0 : -1;
}

static int do_drain(int fd) { return ioctl(fd, MELODY_IOC_DRAIN); }

START_TEST(test_blocking_write_waits_for_room)
{
	struct blocked_child b;
	struct melody_status st;
	int fd;

	start_melody(NULL, 2);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, long_notes, 2);
	b = spawn_blocked(write_one);
	assert_blocked(&b, 1);
	ck_assert_uint_eq(get_status().queued, 2);
	/* Room comes (here by FLUSH; the queue's own progress makes room
	 * the same way, see test_score_in_time): the writer is let in. */
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_FLUSH), 0);
	ck_assert_int_eq(child_result(&b), 0);
	drain(fd);
	close(fd);
	st = get_status();
	ck_assert_uint_eq(st.played, 1);
	ck_assert_uint_eq(st.dropped, 2);
}
END_TEST

/* A signal ends the wait with EINTR and nothing of the write is queued.
 * Writers wait in line: a small write does not overtake a big one that
 * waits, and goes in as soon as the big one leaves the line. */
START_TEST(test_blocked_write_interrupted)
{
	struct blocked_child big, small;
	int fd;

	start_melody(NULL, 4);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, long_notes, 2);
	big = spawn_blocked(write_three);
	assert_blocked(&big, 1);
	small = spawn_blocked(write_one);
	/* On the fuse transport the kernel lets one write at a time through
	 * to the file's daemon (the inode lock): the second writer waits in
	 * the kernel, behind the first. On CUSE both wait in the daemon. */
	if (test_on_cuse())
		assert_blocked(&small, 2);
	else
		wait_blocked_in_syscall(small.pid, SYS_write);
	ck_assert_uint_eq(get_status().queued, 2);

	ck_assert_int_eq(kill(big.pid, SIGUSR1), 0);
	ck_assert_int_eq(child_result(&big), EINTR);
	ck_assert_int_eq(child_result(&small), 0);
	ck_assert_uint_eq(get_status().queued, 3);

	/* Full: a single note waits, and is interrupted the same way. */
	play(fd, long_notes, 1);
	small = spawn_blocked(write_one);
	assert_blocked(&small, 1);
	ck_assert_int_eq(kill(small.pid, SIGUSR1), 0);
	ck_assert_int_eq(child_result(&small), EINTR);
	ck_assert_uint_eq(get_status().queued, 4);
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_FLUSH), 0);
	close(fd);
	ck_assert(daemon_alive(&melodyd));
}
END_TEST

START_TEST(test_drain_interrupted)
{
	struct blocked_child b;
	struct melody_status st;
	int fd;

	start_melody(NULL, 0);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, long_notes, 1);
	b = spawn_blocked(do_drain);
	assert_blocked(&b, 1);
	ck_assert_int_eq(kill(b.pid, SIGUSR1), 0);
	ck_assert_int_eq(child_result(&b), EINTR);
	/* The notes play on. */
	st = get_status();
	ck_assert_uint_eq(st.queued, 1);
	ck_assert_uint_eq(st.frequency, 300);

	/* FLUSH ends a DRAIN: nothing is left to wait for. */
	b = spawn_blocked(do_drain);
	assert_blocked(&b, 1);
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_FLUSH), 0);
	ck_assert_int_eq(child_result(&b), 0);
	close(fd);
}
END_TEST

/* Clients that die while blocked take nothing down, and queue nothing. */
START_TEST(test_clients_killed_while_blocked)
{
	struct blocked_child writer, drainer;
	int fd;

	start_melody(NULL, 2);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, long_notes, 2);
	writer = spawn_blocked(write_one);
	assert_blocked(&writer, 1);
	drainer = spawn_blocked(do_drain);
	assert_blocked(&drainer, 2);
	ck_assert_int_eq(kill(writer.pid, SIGKILL), 0);
	ck_assert_int_eq(kill(drainer.pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(writer.pid, NULL, 0), writer.pid);
	ck_assert_int_eq(waitpid(drainer.pid, NULL, 0), drainer.pid);
	close(writer.result);
	close(drainer.result);
	ck_assert(daemon_alive(&melodyd));
	ck_assert_uint_eq(get_status().queued, 2);
	ck_assert_int_eq(ioctl(fd, MELODY_IOC_FLUSH), 0);
	play(fd, &(struct melody_note){ 440, 30, 0, 0 }, 1);
	drain(fd);
	close(fd);
	ck_assert_uint_eq(get_status().played, 1);
}
END_TEST

START_TEST(test_flush)
{
	struct melody_status st;
	int fd, ro;

	start_melody(NULL, 0);
	fd = daemon_open(&melodyd, O_WRONLY);
	ro = daemon_open(&melodyd, O_RDONLY);
	play(fd, long_notes, 2);
	/* Only writers may flush, or write. */
	errno = 0;
	ck_assert_int_eq(ioctl(ro, MELODY_IOC_FLUSH), -1);
	ck_assert_int_eq(errno, EBADF);
	errno = 0;
	ck_assert_int_eq(write(ro, long_notes, NOTE_SIZE), -1);
	ck_assert_int_eq(errno, EBADF);
	ck_assert_uint_eq(get_status().queued, 2);

	ck_assert_int_eq(ioctl(fd, MELODY_IOC_FLUSH), 0);
	st = get_status();
	ck_assert_uint_eq(st.queued, 0);
	ck_assert_uint_eq(st.dropped, 2);
	ck_assert_uint_eq(st.played, 0);
	/* FLUSH returned at silence. Read-only openers may wait for the end. */
	ck_assert_uint_eq(st.frequency, 0);
	drain(ro);
	/* The cut note stopped: the file no longer grows. */
	{
		struct stat a, z;

		ck_assert_int_eq(stat(wav_path, &a), 0);
		sleep_ms(200);
		ck_assert_int_eq(stat(wav_path, &z), 0);
		ck_assert_int_eq(a.st_size, z.st_size);
	}
	close(ro);
	close(fd);
}
END_TEST

/* Two clients, five writes of six notes each, a queue that makes them wait
 * for each other: every write plays whole, in each client's order. */
#define WRITERS 2
#define WRITES 5
#define PER_WRITE 6

static unsigned writer_frequency(unsigned client, unsigned w, unsigned i)
{
	return 300 + 60 * ((client * WRITES + w) * PER_WRITE + i);
}

START_TEST(test_writers_not_interleaved)
{
	struct melody_note expected[WRITERS * WRITES * PER_WRITE * 2];
	struct wav_tone *tones;
	struct wav_audio a;
	pid_t pids[WRITERS];
	size_t n_tones, next[WRITERS] = {};
	int fd;

	start_melody(NULL, 2 * PER_WRITE + 4);
	for (unsigned c = 0; c < WRITERS; c++) {
		pids[c] = fork();
		ck_assert_int_ge(pids[c], 0);
		if (pids[c] == 0) {
			int wfd = open(melodyd.node, O_WRONLY | O_CLOEXEC);

			for (unsigned w = 0; wfd >= 0 && w < WRITES; w++) {
				struct melody_note notes[PER_WRITE * 2];

				for (unsigned i = 0; i < PER_WRITE; i++) {
					notes[2 * i] = (struct melody_note){ writer_frequency(c, w, i), 30, 0, 0 };
					notes[2 * i + 1] = (struct melody_note){ 0, 20, 0, 0 };
				}
				if (write(wfd, notes, sizeof(notes)) != (ssize_t)sizeof(notes))
					_exit(1);
			}
			_exit(wfd >= 0 ? 0 : 2);
		}
	}
	for (unsigned c = 0; c < WRITERS; c++) {
		int status;

		ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "writer %u failed", c);
	}
	fd = daemon_open(&melodyd, O_RDONLY);
	drain(fd);
	close(fd);
	ck_assert_uint_eq(get_status().played, WRITERS * WRITES * PER_WRITE * 2);

	/* Name every tone heard by its frequency; writes must come whole. */
	load_wav(wav_path, &a);
	ck_assert_int_eq(wav_find_tones(&a, 0.005, &tones, &n_tones), 0);
	ck_assert_uint_eq(n_tones, WRITERS * WRITES * PER_WRITE);
	for (size_t t = 0; t < n_tones; t += PER_WRITE) {
		double hz = wav_frequency(&a, tones[t].start + 0.004, tones[t].end - 0.004);
		unsigned client = WRITERS;

		for (unsigned c = 0; c < WRITERS; c++)
			if (next[c] < WRITES && fabs(hz - writer_frequency(c, (unsigned)next[c], 0)) < 10)
				client = c;
		ck_assert_msg(client < WRITERS, "tone %zu (%.1f Hz) starts no write that was due", t, hz);
		for (unsigned i = 0; i < PER_WRITE; i++) {
			const struct wav_tone *tone = &tones[t + i];
			double f = wav_frequency(&a, tone->start + 0.004, tone->end - 0.004);
			unsigned want = writer_frequency(client, (unsigned)next[client], i);

			ck_assert_msg(fabs(f - want) < want * 0.01, "tone %zu: %.1f Hz, write %u/%zu note %u is %u Hz",
				      t + i, f, client, next[client], i, want);
		}
		for (unsigned i = 0; i < PER_WRITE; i++) {
			expected[2 * (t + i)] = (struct melody_note){ writer_frequency(client, (unsigned)next[client], i), 30, 0, 0 };
			expected[2 * (t + i) + 1] = (struct melody_note){ 0, 20, 0, 0 };
		}
		next[client]++;
	}
	free(tones);
	wav_audio_done(&a);
	/* And in time, as one melody. */
	assert_played(wav_path, expected, WRITERS * WRITES * PER_WRITE * 2);
}
END_TEST

/* SIGTERM with a writer and a DRAIN waiting: both are answered, the daemon
 * exits 0 at once, the note is cut. */
START_TEST(test_stop_with_waiters)
{
	struct blocked_child writer, drainer;
	struct wav_audio a;
	double start;
	int fd, e;

	start_melody(NULL, 2);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, long_notes, 2);
	writer = spawn_blocked(write_one);
	assert_blocked(&writer, 1);
	drainer = spawn_blocked(do_drain);
	assert_blocked(&drainer, 2);
	start = now_ms();
	ck_assert_int_eq(daemon_stop(&melodyd), 0);
	/* Had stop waited for the notes, it would have taken their length. */
	ck_assert_msg(now_ms() - start < long_notes[0].duration, "stop took %.0f ms: it waited for the notes",
		      now_ms() - start);
	e = child_result(&writer);
	ck_assert_msg(e == ENODEV || e == EINTR, "blocked write ended with %s", strerror(e));
	e = child_result(&drainer);
	ck_assert_msg(e == ENODEV || e == EINTR, "DRAIN ended with %s", strerror(e));
	close(fd);
	load_wav(wav_path, &a);
	ck_assert_msg(a.frames < (size_t)long_notes[0].duration * a.rate / 1000, "%zu samples: the note went on after stop",
		      a.frames);
	wav_audio_done(&a);
}
END_TEST

static int run_melodyd(char *out, size_t size, const char *output)
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

	if (argc == 3 && !strcmp(argv[1], "--check-wav"))
		return check_wav_main(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: %s [--check-wav FILE]\n", argv[0]);
		return 2;
	}

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_wav_timing);
	tcase_add_test(tc, test_wav_valid_while_playing_and_after_stop);
	tcase_add_test(tc, test_bad_writes);
	tcase_add_test(tc, test_full_queue_eagain_pollout);
	tcase_add_test(tc, test_blocking_write_waits_for_room);
	tcase_add_test(tc, test_blocked_write_interrupted);
	tcase_add_test(tc, test_drain_interrupted);
	tcase_add_test(tc, test_clients_killed_while_blocked);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_writers_not_interleaved);
	tcase_add_test(tc, test_stop_with_waiters);
	tcase_add_test(tc, test_outputs_fail_cleanly);
	tcase_add_test(tc, test_output_auto);
	tcase_add_test(tc, test_output_alsa_null);
	tcase_add_test(tc, test_node_permissions);
	tcase_add_test(tc, test_client_options_and_score);
	tcase_add_test(tc, test_client_book_sequences);
	tcase_add_test(tc, test_pcspkr_end_to_end);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
