/* SPDX-License-Identifier: MIT */
/*
 * SysMon records: pure logic, unit-tested.
 *
 * A record is encoded once, in wire format, and shared (reference counted) by
 * every queue it is delivered to. Encoding takes the record's fixed part as
 * the ABI struct, filled by the source, and appends its strings.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cusekit/sysmon.h>

#define SM_UID_UNKNOWN UINT32_MAX

struct sm_record {
	unsigned refs;
	uint32_t pid;        /* the process the event is about, for filters */
	uint32_t uid;        /* its real uid, SM_UID_UNKNOWN if gone before we looked */
	_Alignas(8) unsigned char data[];   /* the record as readers get it */
};

static inline const struct sysmon_header *sm_record_header(const struct sm_record *r)
{
	return (const struct sysmon_header *)r->data;
}

struct sm_record *sm_record_ref(struct sm_record *r);
struct sm_record *sm_record_unref(struct sm_record *r);   /* returns NULL */

/* A string of a record: its bytes, and where the record keeps its offset
 * (the __u16 at offsetof(struct, x_offset); its length follows it). */
struct sm_string {
	const char *data;
	size_t length;
	size_t offset_field;
};
#define SM_STRING(type, field, d, l) \
	((struct sm_string){ .data = (d), .length = (l), .offset_field = offsetof(type, field##_offset) })

/* The record: fixed (fixed_size bytes, its header's type and time_ns set;
 * size is set here), then the strings, each followed by a NUL. pid and uid
 * are what filters see. NULL when out of memory, -E2BIG (errno) when the
 * strings do not fit a record (64 KiB): sources cut them first. */
struct sm_record *sm_record_new(const void *fixed, size_t fixed_size, uint32_t pid, uint32_t uid,
				const struct sm_string *strings, size_t n_strings);

/* The wait(2) status the kernel reports, into a sysmon_exit's fields. */
void sm_exit_status(struct sysmon_exit *e, uint32_t wait_status);

/* A string of length len cut to max: the length kept; flag is set in
 * *flags when it was cut. */
size_t sm_cut(size_t len, size_t max, uint32_t flag, uint32_t *flags);

/* A process's identity from the boot id, its pid and start time. */
void sm_process_id(struct sysmon_process_id *id, const uint8_t boot_id[16], uint32_t pid, uint64_t start_time);
/* The boot id's text (/proc/sys/kernel/random/boot_id) to its 16 bytes. */
int sm_boot_id_parse(const char *text, uint8_t ret[16]);

/* Checks one record at the start of buf (len bytes there). Returns its
 * size, or -EBADMSG. */
int sm_record_check(const void *buf, size_t len);

/* The record types by name: "fork", "exec", "exit", "clone", "thread-exit",
 * "image", "file-write", "lost", "uid", "gid", "sid", "ptrace", "comm",
 * "core", "file-create", "file-delete", "file-rename"; NULL for unknown
 * types. */
const char *sm_type_name(uint16_t type);

struct sm_filter {
	uint32_t type_mask;   /* SYSMON_TYPE_BIT()s */
	uint32_t flags;       /* SYSMON_FILTER_* */
	uint32_t pid;
	uint32_t uid;
};

bool sm_filter_match(const struct sm_filter *f, const struct sm_record *r);
