/* SPDX-License-Identifier: MIT */
/* The sysmon client's output formats: one record, printed to stdout. */
#pragma once

#include <stdint.h>

#include <cusekit/sysmon.h>

void print_text(const struct sysmon_header *h);
/* JSON lines (jansson): every field; strings that are not UTF-8 are shown
 * with U+FFFD and also, exactly, as hex in "<name>_hex". */
void print_json(const struct sysmon_header *h);
/* Sysmon for Linux's XML event layout (libxml2), one event a line. */
void print_sysmon_xml(const struct sysmon_header *h);

/* The time as ISO 8601 UTC with nanoseconds ("2026-01-02T03:04:05.123456789Z"). */
void format_utc(uint64_t time_ns, char out[40]);
