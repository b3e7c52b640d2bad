/* SPDX-License-Identifier: MIT */
/*
 * Where notes sound. Two kinds of output:
 *   tone outputs (pcspkr, null) are told a frequency at the start of every
 *   segment and 0 to fall silent; the player keeps the time;
 *   sample outputs (alsa, wav) are fed MELODY_RATE mono 16-bit samples that
 *   the player synthesizes, as the schedule's time arrives.
 * Every call is made from the player thread, except open and close.
 */
#pragma once

#include <alsa/asoundlib.h>
#include <stdbool.h>
#include <stdint.h>

#define MELODY_RATE 48000u

struct melody_output;

struct melody_output_ops {
	const char *kind;
	int (*open)(struct melody_output *o, const char *arg);
	/* Tone outputs: sound hz (0: silence). */
	int (*tone)(struct melody_output *o, unsigned hz);
	/* Sample outputs: take count samples. */
	int (*write)(struct melody_output *o, const int16_t *samples, size_t count);
	/* Sample outputs: forget what is buffered and fall silent now. */
	void (*silence)(struct melody_output *o);
	void (*close)(struct melody_output *o);
	/* How far ahead of its time a sample output is fed (its buffer). */
	uint64_t lead_usec;
};

struct melody_output {
	const struct melody_output_ops *ops;
	char *name;           /* what GET_STATUS reports, e.g. "pcspkr:/dev/input/event3" */
	int fd;               /* pcspkr: the evdev node; wav: the file */
	uint64_t frames;      /* wav: samples in the data chunk */
	bool failed;          /* an I/O error was logged once already */
	int open_log_level;   /* why an open failed: an error, or just a miss of auto's probe */
	snd_pcm_t *pcm;       /* alsa */
};

/* 0 when spec names an output: auto, null, pcspkr[:EVDEV], alsa[:DEVICE], wav:PATH. */
int melody_output_spec_check(const char *spec);
/* Open the output spec names; auto tries pcspkr, alsa:default, null in turn. */
int melody_output_open(struct melody_output *o, const char *spec);
void melody_output_close(struct melody_output *o);
