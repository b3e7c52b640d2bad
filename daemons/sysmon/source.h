/* SPDX-License-Identifier: MIT */
/*
 * What every event source (the BPF programs, the proc connector, fanotify)
 * hands the device: finished records, and losses. Sources run on the
 * device's sd-event loop and call the sink synchronously.
 */
#pragma once

#include <stdint.h>
#include <time.h>

#include "process-table.h"
#include "record.h"

struct sm_sink {
	/* Takes r. Never called with NULL: a source that ran out of memory
	 * reports a loss instead. */
	void (*record)(struct sm_sink *sink, struct sm_record *r);
	/* The kernel side dropped events: n times (n exact where the source
	 * can count them). */
	void (*overrun)(struct sm_sink *sink, const char *source, uint64_t n);
	uint8_t boot_id[16];
	struct process_table *processes;   /* the device's: uids and start times */
};

static inline uint64_t sm_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* clock minus CLOCK_MONOTONIC now, read between two monotonic reads, the
 * closest pair of three: a preemption between two plain reads would shift
 * it by however long that lasted. */
static inline uint64_t sm_clock_offset(clockid_t clock)
{
	uint64_t best_gap = UINT64_MAX, offset = 0;

	for (int i = 0; i < 3 && best_gap > 1000; i++) {
		uint64_t before = sm_clock_ns(CLOCK_MONOTONIC), other = sm_clock_ns(clock);
		uint64_t after = sm_clock_ns(CLOCK_MONOTONIC);

		if (after - before < best_gap) {
			best_gap = after - before;
			offset = other - (before + best_gap / 2);
		}
	}
	return offset;
}

/* A kernel CLOCK_MONOTONIC timestamp as wall time (records carry wall time). */
static inline uint64_t sm_wall_of_monotonic(uint64_t monotonic_ns)
{
	return monotonic_ns + sm_clock_offset(CLOCK_REALTIME);
}

/* Hands r to the sink, or reports its loss when r is NULL (no memory). */
static inline void sm_sink_put(struct sm_sink *sink, struct sm_record *r, const char *source)
{
	if (r)
		sink->record(sink, r);
	else
		sink->overrun(sink, source, 1);
}
