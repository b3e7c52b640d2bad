/* SPDX-License-Identifier: MIT */
/* One line a record: local time, type, then "name value" pairs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cusekit/sysmon-fields.h>

#include "sysmon-output.h"

void format_utc(uint64_t time_ns, char out[40])
{
	time_t sec = (time_t)(time_ns / 1000000000u);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(out, 30, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 40 - n, ".%09uZ", (unsigned)(time_ns % 1000000000u));
}

/* Arguments as one line (separated by spaces), terminal-safe. */
static void print_text_string(const struct sysmon_field *f)
{
	size_t len = f->length;
	char *copy, *safe;

	if (f->kind == SYSMON_FIELD_ARGV && len > 0 && f->data[len - 1] == '\0')
		len--;
	copy = malloc(len + 1);
	safe = malloc(3 * len + 1);
	if (!copy || !safe) {
		free(copy);
		free(safe);
		return;
	}
	for (size_t i = 0; i < len; i++)
		copy[i] = f->data[i] ?: ' ';
	sysmon_text_sanitize(copy, len, safe);
	fputs(safe, stdout);
	free(copy);
	free(safe);
}

static void text_field(const struct sysmon_field *f, void *userdata)
{
	char guid[39];

	printf(" %s ", f->name);
	switch (f->kind) {
	case SYSMON_FIELD_UINT:
		printf("%" PRIu64, f->value);
		break;
	case SYSMON_FIELD_HEX:
		printf("0x%" PRIx64, f->value);
		break;
	case SYSMON_FIELD_GUID:
		sysmon_guid_format((const __u8 *)f->data, guid);
		fputs(guid, stdout);
		break;
	case SYSMON_FIELD_STRING:
	case SYSMON_FIELD_ARGV:
		print_text_string(f);
		break;
	}
}

void print_text(const struct sysmon_header *h)
{
	time_t sec = (time_t)(h->time_ns / 1000000000u);
	const char *type = sysmon_type_name(h->type);
	struct tm tm;
	char buf[32];

	localtime_r(&sec, &tm);
	strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
	printf("%s.%03u %-12s", buf, (unsigned)(h->time_ns % 1000000000u / 1000000u), type ? type : "unknown");
	sysmon_record_fields(h, text_field, NULL);
	putchar('\n');
}
