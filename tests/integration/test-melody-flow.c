/* SPDX-License-Identifier: MIT */
/*
 * melodyd's flow control: the bounded queue (EAGAIN, POLLOUT, blocking
 * writes let in first come first served), DRAIN and FLUSH, signals during a
 * blocked write or DRAIN, clients dying while blocked, several writers not
 * interleaved, and a stop that answers whoever waits and cuts the note.
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

/* The player's thread starts a queued note when it next runs: on a busy
 * machine, some while after the write returned. */
static void wait_sounding(unsigned hz)
{
	while (get_status().frequency != hz)
		sleep_ms(1);
}

START_TEST(test_drain_interrupted)
{
	struct blocked_child b;
	struct melody_status st;
	int fd;

	start_melody(NULL, 0);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, long_notes, 1);
	wait_sounding(300);
	b = spawn_blocked(do_drain);
	assert_blocked(&b, 1);
	ck_assert_int_eq(kill(b.pid, SIGUSR1), 0);
	ck_assert_int_eq(child_result(&b), EINTR);
	/* The note plays on (it lasts 10 s). */
	st = get_status();
	ck_assert_uint_eq(st.queued, 1);
	ck_assert_uint_eq(st.dropped, 0);
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
 * exits 0, the note is cut: the recording holds less than the note (had
 * stop waited for the notes, it would hold them whole). */
START_TEST(test_stop_with_waiters)
{
	struct blocked_child writer, drainer;
	struct wav_audio a;
	int fd, e;

	start_melody(NULL, 2);
	fd = daemon_open(&melodyd, O_WRONLY);
	play(fd, long_notes, 2);
	writer = spawn_blocked(write_one);
	assert_blocked(&writer, 1);
	drainer = spawn_blocked(do_drain);
	assert_blocked(&drainer, 2);
	ck_assert_int_eq(daemon_stop(&melodyd), 0);
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

int main(void)
{
	Suite *s = suite_create("melody-flow");
	TCase *tc = tcase_create("flow");

	tcase_add_checked_fixture(tc, NULL, melody_teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_full_queue_eagain_pollout);
	tcase_add_test(tc, test_blocking_write_waits_for_room);
	tcase_add_test(tc, test_blocked_write_interrupted);
	tcase_add_test(tc, test_drain_interrupted);
	tcase_add_test(tc, test_clients_killed_while_blocked);
	tcase_add_test(tc, test_flush);
	tcase_add_test(tc, test_writers_not_interleaved);
	tcase_add_test(tc, test_stop_with_waiters);
	suite_add_tcase(s, tc);

	return harness_run(s);
}
