/* SPDX-License-Identifier: MIT */
/*
 * The proc connector source: every kind of process event the kernel's
 * connector reports, as records. With BPF loaded (late == false) it gives
 * only what BPF does not: UID_CHANGE, GID_CHANGE, SESSION, PTRACE, COMM,
 * COREDUMP. Alone (late == true) it also gives PROCESS_CREATE/EXEC/EXIT and
 * THREAD_CREATE/EXIT, with what the connector does not carry (image, argv,
 * cwd, credentials, start times) read from /proc when the event is handled:
 * each such field is flagged LATE, and only once it is shown to belong to
 * the event: the connector's events up to the moment of the read are taken
 * in, and a later exec or exit of that process among them (or a kernel
 * overrun, which hides them) leaves the field empty, flagged MISSING; so
 * does a tracer (it can hold the process inside a later exec that the
 * kernel has not reported yet).
 *
 * The reads happen on a thread of their own (proc-reader.h), one at a
 * time, events handled in their order: a read that waits for an exec holds
 * back the events after it, never the daemon's loop.
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "source.h"

struct sm_proc;

/* before_batch (may be NULL) runs before each batch of events is handled:
 * the BPF source's drain, so that records of another channel that these
 * events follow are in the process table first. */
int sm_proc_new(sd_event *e, bool late, struct sm_sink *sink, void (*before_batch)(void *userdata),
		void *userdata, struct sm_proc **ret);
struct sm_proc *sm_proc_free(struct sm_proc *p);
/* Whether the kernel filters the connector's events for us. */
bool sm_proc_kernel_filter(const struct sm_proc *p);
