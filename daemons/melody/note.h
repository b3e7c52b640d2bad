/* SPDX-License-Identifier: MIT */
/*
 * Notes as the player sees them: validation against the documented limits,
 * the tone and rest segments a note expands to, and the sine synthesis of
 * the sample outputs. Pure logic, unit-tested.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cusekit/melody.h>

/* One stretch of a note: a tone (frequency > 0) or silence. */
struct melody_segment {
	unsigned frequency;
	unsigned duration_ms;
};

/* 0, or -EINVAL when a value lies outside the limits in melody.h. */
int melody_note_check(const struct melody_note *n);
/* 0, or -EINVAL when any of the n notes is invalid. */
int melody_notes_check(const struct melody_note *notes, size_t n);

unsigned melody_note_repeats(const struct melody_note *n);
/* How long the note lasts: repeats, and the delays between them. */
uint64_t melody_note_length_ms(const struct melody_note *n);

/* Segment k of the note (tone, delay, tone, ... tone): false past the last.
 * Delay segments may last 0 ms. */
bool melody_note_segment(const struct melody_note *n, unsigned k, struct melody_segment *s);

#define MELODY_SYNTH_AMPLITUDE 16000

/* Samples [first, first + count) of a sine tone of hz starting at sample 0,
 * at rate samples/s; hz 0 is silence. The phase is computed from the sample
 * index exactly, so long tones do not drift. */
void melody_synth(int16_t *buf, size_t count, unsigned hz, uint64_t first, unsigned rate);
