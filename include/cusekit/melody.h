/* SPDX-License-Identifier: MIT */
/*
 * cusekit Melody: /dev/cusekit/melody, the one owner of the speaker.
 *
 * write() takes whole struct melody_note records (16 bytes each); they are
 * queued and the call returns: playback is asynchronous. All notes of one
 * write() play back to back, never interleaved with another writer's notes,
 * and writes play in the order they were accepted.
 *
 * Errors of write():
 *   EINVAL  length 0 or not a multiple of 16; more notes than the queue's
 *           capacity; a value outside the limits below. Nothing of that write
 *           is queued.
 *   EAGAIN  O_NONBLOCK and the whole write does not fit now.
 *   EINTR   a signal ended the wait for room. A write is all or nothing: it
 *           waits until all its notes fit, so an interrupted write queued
 *           nothing.
 * poll() reports POLLOUT while the queue has room and no writer waits.
 *
 * Who: the node is root:audio 0660. Writing and MELODY_IOC_FLUSH need the
 * file open for writing (EBADF otherwise); GET_STATUS and DRAIN do not.
 */
#ifndef CUSEKIT_MELODY_H
#define CUSEKIT_MELODY_H

#include <cusekit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct melody_note {
	__u32 frequency;  /* Hz; 0 is a rest */
	__u32 duration;   /* ms the tone (or rest) lasts */
	__u32 delay;      /* ms of silence between repeats (not after the last) */
	__u32 repeat;     /* times to play it; 0 means 1 */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct melody_note) == 16, "melody_note ABI");

/* Limits: outside them a write fails with EINVAL. */
#define MELODY_FREQUENCY_MIN 20u      /* Hz, unless 0 (rest) */
#define MELODY_FREQUENCY_MAX 20000u
#define MELODY_DURATION_MIN 1u        /* ms */
#define MELODY_DURATION_MAX 10000u
#define MELODY_DELAY_MAX 10000u       /* ms */
#define MELODY_REPEAT_MAX 1000u

struct melody_status {
	__u32 queued;      /* notes accepted and not yet done (the playing one included) */
	__u32 capacity;    /* queue size in notes */
	__u64 played;      /* notes played to their end since the daemon started */
	__u64 dropped;     /* notes dropped by MELODY_IOC_FLUSH */
	__u32 frequency;   /* Hz sounding now, 0 when silent */
	__u32 reserved;
	char output[64];   /* "pcspkr:/dev/input/event3", "alsa:default", "wav:PATH", "null" */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct melody_status) == 96, "melody_status ABI");

#define MELODY_IOC_GET_STATUS _IOR('M', 0x01, struct melody_status)
/* Drop every queued note and cut the one playing; returns once the speaker
 * is silent (a signal ends the wait with EINTR; the notes are dropped). */
#define MELODY_IOC_FLUSH _IO('M', 0x02)
/* Return once every note queued before the call has played (or was flushed,
 * and the speaker fell silent).
 * A signal ends the wait with EINTR; the notes keep playing. */
#define MELODY_IOC_DRAIN _IO('M', 0x03)

#ifdef __cplusplus
}
#endif
#endif
