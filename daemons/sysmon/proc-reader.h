/* SPDX-License-Identifier: MIT */
/*
 * A thread that reads /proc for the proc source, so that a read that
 * blocks (proc-view.h: a process in the middle of an exec) blocks that
 * thread only: the event loop goes on answering the device's requests,
 * among them the very request the exec may wait for. A read ends when what
 * it waits for does (the exec reaching its new program).
 *
 * Reads are queued as the events that need them come in, so that each
 * happens as soon as the thread gets to it, and their views are taken in
 * the same order; done() runs on the loop whenever reads have finished.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "proc-view.h"

/* Reads queued or done and not taken yet, at most. */
#define PROC_READER_SLOTS 32

struct proc_reader;

int proc_reader_new(sd_event *e, uint64_t ns_per_tick, void (*done)(void *userdata), void *userdata,
		    struct proc_reader **ret);
/* Does not wait for a read in flight: the thread finishes it, skips the
 * rest and frees what is left. */
struct proc_reader *proc_reader_free(struct proc_reader *r);

/* Queues a read of /proc/<pid> (program: image, cwd and argv too); -EBUSY
 * when PROC_READER_SLOTS are taken. */
int proc_reader_queue(struct proc_reader *r, uint32_t pid, bool program);
/* The oldest queued read's view once it is done, else NULL; valid until
 * proc_reader_pop(). */
const struct proc_view *proc_reader_peek(const struct proc_reader *r);
void proc_reader_pop(struct proc_reader *r);
