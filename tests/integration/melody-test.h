/* SPDX-License-Identifier: MIT */
/*
 * What melodyd's integration tests share: the daemon (playing to a WAV file
 * in a scratch directory, or on an output named), notes in and status out,
 * and the recording judged by the WAV analyser (tests/lib/wav-analysis.h).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cusekit/melody.h>

#include "harness.h"
#include "wav-analysis.h"

#define NOTE_SIZE ((ssize_t)sizeof(struct melody_note))

extern struct daemon_proc melodyd;
extern char wav_path[256];   /* the WAV the daemon plays to, when started with output NULL */

/* Does this machine have a PC speaker: an evdev node with EV_SND/SND_TONE?
 * The guest must (pcspkr, evdev); this sandbox's kernel has none. */
bool have_speaker(void);
/* The fixture's teardown: the daemon and its WAV gone. */
void melody_teardown(void);
/* output NULL: a fresh WAV file at wav_path. queue_size 0: the default. */
void start_melody(const char *output, unsigned queue_size);
struct melody_status get_status(void);
/* Write count notes in one write(); fails the test unless all are taken. */
void play(int fd, const struct melody_note *notes, size_t count);
void drain(int fd);
uint64_t melody_length_ms(const struct melody_note *notes, size_t count);
double now_ms(void);
void sleep_ms(unsigned ms);
void load_wav(const char *path, struct wav_audio *a);
/* The WAV at path holds notes, in time. */
void assert_played(const char *path, const struct melody_note *notes, size_t count);
/* write() fails with error, and queues nothing. */
void assert_write_fails(int fd, const void *buf, size_t size, int error);
/* Run melodyd on the fuse transport with --output=output until it exits
 * (a start that fails); its status, its output in out. */
int run_melodyd(char *out, size_t size, const char *output);
