/* SPDX-License-Identifier: MIT */
/*
 * melody: play notes on the Melody device.
 *
 *   melody                      the book's two sequences
 *   melody -f HZ -l MS [-d MS|-D MS] [-r N] [-n ...]
 *                               beep-style notes, -n starts the next one
 *   melody FILE                 a text score: "frequency duration [delay repeat]"
 *                               a line, '#' starts a comment ("-": stdin)
 *
 * The notes are queued and the program exits; --wait returns only once they
 * have played (MELODY_IOC_DRAIN). Values are checked by the device: a note
 * outside its limits fails the write with EINVAL.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cusekit/melody.h>

#include "client.h"
#include "parse.h"

/* beep's defaults. */
#define DEFAULT_FREQUENCY 440
#define DEFAULT_LENGTH 200
#define DEFAULT_DELAY 100

struct score {
	struct melody_note *notes;
	size_t count, allocated;
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: melody [OPTIONS] [-f HZ] [-l MS] [-d MS|-D MS] [-r N] [-n ...]\n"
		   "       melody [OPTIONS] FILE\n\n"
		   "Play notes on the Melody device. With no notes, play the book's two sequences.\n\n"
		   "  -f HZ          frequency (default 440; 0 is a rest)\n"
		   "  -l MS          length (default 200)\n"
		   "  -d MS          delay between repetitions (default 100)\n"
		   "  -D MS          delay between repetitions and after the last one\n"
		   "  -r N           repetitions (default 1)\n"
		   "  -n, --new      start the next note\n"
		   "  FILE           a score: 'frequency duration [delay repeat]' a line, '#' comments, - for stdin\n"
		   "  --wait         return once everything queued has played\n"
		   "  --device PATH  the device (default: /dev/cusekit/melody, else /run/cusekit/melody)\n"
		   "  --help         show this help\n");
}

static void score_add(struct score *s, struct melody_note note)
{
	if (s->count == s->allocated) {
		s->allocated = s->allocated ? 2 * s->allocated : 32;
		s->notes = realloc(s->notes, s->allocated * sizeof(*s->notes));
		if (!s->notes) {
			perror("melody");
			exit(EXIT_FAILURE);
		}
	}
	s->notes[s->count++] = note;
}

/* A whole decimal number that fits in 32 bits. */
static bool parse_u32(const char *text, __u32 *ret)
{
	long long v;

	if (cusekit_parse_integer(text, 0, UINT32_MAX, &v) < 0)
		return false;
	*ret = (__u32)v;
	return true;
}

/* A beep-style note; -D adds its delay as a rest after it. */
static void add_beep_note(struct score *s, struct melody_note note, bool rest_after)
{
	score_add(s, note);
	if (rest_after && note.delay > 0)
		score_add(s, (struct melody_note){ 0, note.delay, 0, 0 });
}

static void book_sequences(struct score *s)
{
	for (unsigned i = 0; i < 10; i++)
		score_add(s, (struct melody_note){ 400 + 30 * i, 500, 0, 0 });
	for (unsigned i = 0; i < 10; i++)
		score_add(s, (struct melody_note){ 1200 - 100 * i, 300, 300, 2 });
}

static int read_score(struct score *s, const char *path)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *line = NULL;
	size_t size = 0;
	unsigned number = 0;
	int r = 0;

	if (!f) {
		fprintf(stderr, "melody: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &size, f) >= 0) {
		__u32 v[4] = {};
		char *save = NULL, *word;
		unsigned n = 0;

		number++;
		line[strcspn(line, "#")] = '\0';
		for (word = strtok_r(line, " \t\r\n", &save); word; word = strtok_r(NULL, " \t\r\n", &save))
			if (n == 4 || !parse_u32(word, &v[n++]))
				break;
		if (word || n == 1 || n == 3) {
			fprintf(stderr, "melody: %s:%u: expected 'frequency duration [delay repeat]'\n", path, number);
			r = -1;
			break;
		}
		if (n > 0)
			score_add(s, (struct melody_note){ v[0], v[1], v[2], v[3] });
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return r;
}

/* Write the notes whole if the queue can take them, else in queue-sized
 * parts (each part still plays uninterrupted). */
static int play(int fd, const char *device, const struct score *s)
{
	struct melody_status st;
	size_t part;

	if (ioctl(fd, MELODY_IOC_GET_STATUS, &st) < 0) {
		client_error(device, "MELODY_IOC_GET_STATUS");
		return -1;
	}
	for (size_t done = 0; done < s->count; done += part) {
		ssize_t n;

		part = s->count - done < st.capacity ? s->count - done : st.capacity;
		n = write(fd, s->notes + done, part * sizeof(*s->notes));
		if (n != (ssize_t)(part * sizeof(*s->notes))) {
			client_error(device, "write");
			return -1;
		}
	}
	return 0;
}

int main(int argc, char *argv[])
{
	enum { OPT_DEVICE = 0x100, OPT_WAIT };
	static const struct option options[] = {
		{ "device", required_argument, NULL, OPT_DEVICE },
		{ "wait", no_argument, NULL, OPT_WAIT },
		{ "new", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct melody_note note = { DEFAULT_FREQUENCY, DEFAULT_LENGTH, DEFAULT_DELAY, 1 };
	bool wait = false, beeping = false, rest_after = false;
	struct score s = {};
	const char *device = NULL;
	int c, fd, r;

	while ((c = getopt_long(argc, argv, "f:l:d:D:r:nh", options, NULL)) >= 0) {
		bool ok = true;

		switch (c) {
		case 'f':
			ok = parse_u32(optarg, &note.frequency);
			break;
		case 'l':
			ok = parse_u32(optarg, &note.duration);
			break;
		case 'd':
		case 'D':
			ok = parse_u32(optarg, &note.delay);
			rest_after = c == 'D';
			break;
		case 'r':
			ok = parse_u32(optarg, &note.repeat);
			break;
		case 'n':
			add_beep_note(&s, note, rest_after);
			note = (struct melody_note){ DEFAULT_FREQUENCY, DEFAULT_LENGTH, DEFAULT_DELAY, 1 };
			rest_after = false;
			break;
		case OPT_DEVICE:
			device = optarg;
			break;
		case OPT_WAIT:
			wait = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
		if (!ok) {
			fprintf(stderr, "melody: -%c %s: not a number\n", c, optarg);
			return 2;
		}
		beeping = beeping || (c < 0x100 && strchr("fldDrn", c));
	}
	if (argc - optind > 1 || (beeping && optind < argc)) {
		usage(stderr);
		return 2;
	}
	if (beeping)
		add_beep_note(&s, note, rest_after);
	else if (optind < argc) {
		if (read_score(&s, argv[optind]) < 0)
			return EXIT_FAILURE;
	} else
		book_sequences(&s);

	device = client_device_path(device, "melody");
	fd = client_open(device, O_WRONLY);
	r = s.count > 0 ? play(fd, device, &s) : 0;
	if (r == 0 && wait && ioctl(fd, MELODY_IOC_DRAIN) < 0) {
		client_error(device, "MELODY_IOC_DRAIN");
		r = -1;
	}
	close(fd);
	free(s.notes);
	return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
