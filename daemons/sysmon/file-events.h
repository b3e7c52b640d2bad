/* SPDX-License-Identifier: MIT */
/*
 * The file source: FILE_CREATE, FILE_DELETE, FILE_RENAME and FILE_WRITE
 * under the watched paths, through fanotify marks on their whole file
 * systems (FAN_MARK_FILESYSTEM) reporting directory file handles and names
 * (FAN_REPORT_DFID_NAME | FAN_REPORT_FID): no directory marks, no cap, and
 * directories made after start are covered. Paths are resolved from the
 * handle (open_by_handle_at) and filtered here. The daemon's own writes are
 * not reported. The queue is unlimited (FAN_UNLIMITED_QUEUE); an overflow
 * would still be reported.
 */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#include "source.h"

struct sm_files;

/* watch: NULL-terminated absolute paths. A path whose file system cannot be
 * marked is logged and counted (sm_files_unwatched()); with none marked,
 * -errno of the last failure. */
int sm_files_new(sd_event *e, char *const *watch, struct sm_sink *sink, struct sm_files **ret);
struct sm_files *sm_files_free(struct sm_files *f);

unsigned sm_files_watched(const struct sm_files *f);
unsigned sm_files_unwatched(const struct sm_files *f);
/* Events whose directory could no longer be found (delivered, flagged). */
uint64_t sm_files_unresolved(const struct sm_files *f);
