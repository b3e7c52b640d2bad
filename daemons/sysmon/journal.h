/* SPDX-License-Identifier: MIT */
/*
 * --journal: one structured journal entry per record, so that journal
 * forwarding (systemd-journal-upload) ships them off the machine. Fields:
 * SYSMON_EVENT (the type's name), SYSMON_EVENT_ID (Sysmon's EventID),
 * SYSMON_TIME_NS, and SYSMON_ + every field's name in capitals
 * (<cusekit/sysmon-fields.h>: SYSMON_PID, SYSMON_IMAGE, SYSMON_ARGV (the
 * arguments separated by spaces), SYSMON_PROCESS_GUID, ...). Strings go as
 * they are: journal fields may hold any bytes. A send waits while
 * journald's socket is full, as every journal client's does: journald sets
 * the pace, and what the kernel sources drop meanwhile is counted.
 */
#pragma once

#include <cusekit/sysmon.h>

int sm_journal_record(const struct sysmon_header *h);
