/* SPDX-License-Identifier: MIT */
/*
 * JSON lines through jansson. jansson refuses strings that are not UTF-8
 * (json_stringn() returns NULL) and json-c copies such bytes unescaped into
 * its output, so neither escapes them: strings are made valid first
 * (U+FFFD for each bad byte, sysmon_text_sanitize()) and, when that changed
 * anything, the exact bytes follow as hex in "<name>_hex".
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cusekit/sysmon-fields.h>

#include "sysmon-output.h"

static char *hex_of(const char *s, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char *hex = malloc(2 * len + 1);

	for (size_t i = 0; hex && i < len; i++) {
		hex[2 * i] = digits[(unsigned char)s[i] >> 4];
		hex[2 * i + 1] = digits[(unsigned char)s[i] & 15];
	}
	if (hex)
		hex[2 * len] = '\0';
	return hex;
}

/* A valid JSON string of s; *replaced set when bytes had to be replaced. */
static json_t *json_text(const char *s, size_t len, int *replaced)
{
	char *safe = malloc(3 * len + 1);
	json_t *j;

	if (!safe)
		return NULL;
	*replaced |= sysmon_text_sanitize(s, len, safe);
	j = json_string(safe);
	free(safe);
	return j;
}

static void json_argv(json_t *o, const struct sysmon_field *f)
{
	json_t *argv = json_array(), *hex = json_array();
	size_t len = f->length, start = 0;
	int replaced = 0;

	if (len > 0 && f->data[len - 1] == '\0')
		len--;   /* the last argument's NUL */
	for (size_t i = 0; f->length > 0 && i <= len; i++)
		if (i == len || f->data[i] == '\0') {
			char *h = hex_of(f->data + start, i - start);

			json_array_append_new(argv, json_text(f->data + start, i - start, &replaced));
			json_array_append_new(hex, h ? json_string(h) : json_null());
			free(h);
			start = i + 1;
		}
	json_object_set_new(o, f->name, argv);
	if (replaced)
		json_object_set_new(o, "argv_hex", hex);
	else
		json_decref(hex);
}

static void json_field(const struct sysmon_field *f, void *userdata)
{
	json_t *o = userdata;
	char buf[64];
	int replaced = 0;

	switch (f->kind) {
	case SYSMON_FIELD_UINT:
		json_object_set_new(o, f->name, json_integer((json_int_t)f->value));
		break;
	case SYSMON_FIELD_HEX:
		snprintf(buf, sizeof(buf), "0x%" PRIx64, f->value);
		json_object_set_new(o, f->name, json_string(buf));
		break;
	case SYSMON_FIELD_GUID:
		sysmon_guid_format((const __u8 *)f->data, buf);
		json_object_set_new(o, f->name, json_string(buf));
		break;
	case SYSMON_FIELD_STRING:
		json_object_set_new(o, f->name, json_text(f->data, f->length, &replaced));
		if (replaced) {
			char *hex = hex_of(f->data, f->length);

			snprintf(buf, sizeof(buf), "%s_hex", f->name);
			json_object_set_new(o, buf, hex ? json_string(hex) : json_null());
			free(hex);
		}
		break;
	case SYSMON_FIELD_ARGV:
		json_argv(o, f);
		break;
	}
}

void print_json(const struct sysmon_header *h)
{
	const char *type = sysmon_type_name(h->type);
	json_t *o = json_object();
	char utc[40], *line;

	format_utc(h->time_ns, utc);
	json_object_set_new(o, "time", json_string(utc));
	json_object_set_new(o, "time_ns", json_integer((json_int_t)h->time_ns));
	json_object_set_new(o, "type", type ? json_string(type) : json_integer(h->type));
	sysmon_record_fields(h, json_field, o);
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (line)
		puts(line);
	else
		fprintf(stderr, "sysmon: cannot encode a %s record as JSON\n", type ? type : "unknown");
	free(line);
	json_decref(o);
}
