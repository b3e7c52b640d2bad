/* SPDX-License-Identifier: MIT */
/*
 * A one-file FUSE file system, served by a thread of the test, that holds
 * every FLUSH until the test lets it go. A process with that file open
 * close-on-exec that execs closes it inside the exec, after the exec took
 * its process's exec_update_lock (which /proc/<pid>/stat waits for on
 * Linux 6.18): it stays inside its exec, holding that lock, until then.
 */
#pragma once

struct flush_holder;

/* Mounted on a file in a scratch directory of its own. */
struct flush_holder *flush_holder_new(void);
const char *flush_holder_path(const struct flush_holder *h);
/* Until a FLUSH is held: a process is inside its exec. */
void flush_holder_await(struct flush_holder *h);
/* Answers the held flushes, and every later one at once. */
void flush_holder_release(struct flush_holder *h);
void flush_holder_free(struct flush_holder *h);
