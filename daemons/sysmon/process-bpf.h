/* SPDX-License-Identifier: MIT */
/*
 * The BPF process source: process.bpf.c loaded and attached, its ring
 * buffer read on the event loop, each event turned into a record
 * (PROCESS_CREATE/EXEC/EXIT, THREAD_CREATE/EXIT, IMAGE_LOAD) for the sink.
 * Nothing is pinned: when the daemon exits, the kernel detaches it all.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "source.h"

struct sm_bpf;

/* Load and attach. -EPERM/-EOPNOTSUPP (and others) when this kernel refuses
 * the programs: the caller falls back to the proc connector. */
int sm_bpf_new(sd_event *e, struct sm_sink *sink, struct sm_bpf **ret);
struct sm_bpf *sm_bpf_free(struct sm_bpf *b);

/* Hand the sink every event queued now (before handling events of another
 * channel that may refer to them). */
void sm_bpf_drain(struct sm_bpf *b);
/* Events the kernel side could not queue, so far. */
uint64_t sm_bpf_lost(const struct sm_bpf *b);
