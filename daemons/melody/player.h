/* SPDX-License-Identifier: MIT */
/*
 * The player: one thread that plays queued notes on the output, so that
 * playback never blocks the event loop. Notes are scheduled on
 * CLOCK_MONOTONIC absolute times: a note starts where the previous one ended
 * (start_i = start_0 + the lengths before it), so timing errors never add up.
 * start_0 is the moment the player leaves idleness.
 *
 * The loop hands over whole writes (batches) and learns of progress through
 * an eventfd: it becomes readable whenever notes complete.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <cusekit/melody.h>

#include "output.h"

struct melody_player;

struct melody_progress {
	uint64_t completed;   /* notes played or dropped */
	uint64_t played;
	uint64_t dropped;
	unsigned frequency;   /* sounding now */
};

/* Start the thread playing on o (which must outlive the player). */
int melody_player_new(struct melody_output *o, struct melody_player **ret);
/* Silence the output at once, drop what is queued, end the thread. */
void melody_player_free(struct melody_player *p);

/* Readable when progress was made; melody_player_ack() empties it. */
int melody_player_fd(struct melody_player *p);
void melody_player_ack(struct melody_player *p);
void melody_player_progress(struct melody_player *p, struct melody_progress *ret);

/* Queue a copy of n notes, to play back to back after everything queued. */
int melody_player_enqueue(struct melody_player *p, const struct melody_note *notes, size_t n);
/* Drop every queued note and cut the playing one; they count as completed
 * (and dropped): the queued ones at once, the cut one once it is silent. */
void melody_player_flush(struct melody_player *p);
