/* SPDX-License-Identifier: MIT */
/*
 * libcusekit-sysmon (pkg-config cusekit-sysmon): every field of a SysMon
 * record by name, for programs that print, ship or index records. Each
 * field has one name used everywhere: the sysmon client's text and JSON,
 * sysmond's journal fields (SYSMON_ + the name in capitals), and, where
 * Sysmon for Linux has that field, its Data Name in the XML layout.
 *
 * Walking records needs no library: see <cusekit/sysmon.h>.
 */
#ifndef CUSEKIT_SYSMON_FIELDS_H
#define CUSEKIT_SYSMON_FIELDS_H

#include <stddef.h>
#include <stdint.h>

#include <cusekit/sysmon.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sysmon_field_kind {
	SYSMON_FIELD_UINT,      /* value */
	SYSMON_FIELD_HEX,       /* value, an address or flags: printed 0x... */
	SYSMON_FIELD_STRING,    /* data, length bytes: any bytes, not NUL-terminated */
	SYSMON_FIELD_ARGV,      /* data, length bytes: arguments, each followed by a NUL */
	SYSMON_FIELD_GUID,      /* data: 16 bytes (sysmon_guid_format()) */
};

struct sysmon_field {
	const char *name;          /* "pid", "image", "process_guid", ... */
	const char *sysmon_name;   /* Sysmon's Data Name ("ProcessId"), or NULL */
	enum sysmon_field_kind kind;
	uint64_t value;
	const char *data;
	size_t length;
};

/* Calls fn for each field of the checked record h (sysmon_record_check()),
 * in a fixed order, the header's time excepted; fields a record from an
 * older daemon does not have are left out. */
void sysmon_record_fields(const struct sysmon_header *h, void (*fn)(const struct sysmon_field *f, void *userdata),
			  void *userdata);

/* The record type's name ("exec", "exit", ...; the names the sysmon
 * client's -e takes), NULL for types this library does not know. */
const char *sysmon_type_name(uint16_t type);
/* Sysmon's EventID for the type, and its event name ("ProcessCreate"):
 * 1 ProcessCreate (PROCESS_EXEC), 5 ProcessTerminate (PROCESS_EXIT), 7
 * ImageLoad, 11 FileCreate (FILE_CREATE, and the closest match for
 * FILE_WRITE and FILE_RENAME), 23 FileDelete; types Sysmon has no event for
 * get 100 + their type number and a name of cusekit's own. */
unsigned sysmon_event_id(uint16_t type);
const char *sysmon_event_name(uint16_t type);

/* Text safe for JSON and XML: s (len bytes) with every byte sequence that
 * is not UTF-8, and every control character other than tab and newline,
 * replaced by U+FFFD; into out (at least 3 * len + 1 bytes), NUL-terminated.
 * Returns 1 if anything was replaced, else 0. */
int sysmon_text_sanitize(const char *s, size_t len, char *out);

#ifdef __cplusplus
}
#endif
#endif
