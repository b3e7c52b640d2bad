/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include <cusekit/sysmon-fields.h>

#include "journal.h"
#include "macro.h"

#define SM_JOURNAL_FIELDS 48

struct entry {
	struct iovec iov[SM_JOURNAL_FIELDS];
	char *owned[SM_JOURNAL_FIELDS];
	size_t n;
	char message[256];
	size_t message_len;
};

/* "SYSMON_<NAME>=" + value, value len bytes; NULs (between arguments) as spaces. */
static void add(struct entry *e, const char *name, const char *value, size_t len)
{
	size_t prefix = strlen("SYSMON_") + strlen(name) + 1;
	char *field;

	if (e->n == SM_JOURNAL_FIELDS || !(field = malloc(prefix + len)))
		return;
	snprintf(field, prefix + 1, "SYSMON_%s=", name);
	for (size_t i = strlen("SYSMON_"); i < prefix - 1; i++)
		field[i] = (char)toupper((unsigned char)field[i]);
	for (size_t i = 0; i < len; i++)
		field[prefix + i] = value[i] ?: ' ';
	e->owned[e->n] = field;
	e->iov[e->n++] = (struct iovec){ field, prefix + len };
}

static void add_field(const struct sysmon_field *f, void *userdata)
{
	struct entry *e = userdata;
	char buf[64];
	size_t len = f->length;

	switch (f->kind) {
	case SYSMON_FIELD_UINT:
		add(e, f->name, buf, (size_t)snprintf(buf, sizeof(buf), "%" PRIu64, f->value));
		break;
	case SYSMON_FIELD_HEX:
		add(e, f->name, buf, (size_t)snprintf(buf, sizeof(buf), "0x%" PRIx64, f->value));
		break;
	case SYSMON_FIELD_GUID:
		sysmon_guid_format((const __u8 *)f->data, buf);
		add(e, f->name, buf, strlen(buf));
		break;
	case SYSMON_FIELD_ARGV:
		if (len > 0 && f->data[len - 1] == '\0')
			len--;
		__attribute__((fallthrough));
	case SYSMON_FIELD_STRING:
		add(e, f->name, f->data, len);
		if (e->message_len < sizeof(e->message) - 1)
			e->message_len += (size_t)snprintf(e->message + e->message_len,
							   sizeof(e->message) - e->message_len, " %.*s",
							   (int)MIN(len, (size_t)120), f->data);
		break;
	}
	if (!strcmp(f->name, "pid") && e->message_len < sizeof(e->message) - 1)
		e->message_len += (size_t)snprintf(e->message + e->message_len, sizeof(e->message) - e->message_len,
						   " pid %" PRIu64, f->value);
}

int sm_journal_record(const struct sysmon_header *h)
{
	const char *type = sysmon_type_name(h->type) ?: "unknown";
	struct entry e = {};
	char buf[64];
	int r;

	e.message_len = (size_t)snprintf(e.message, sizeof(e.message), "MESSAGE=%s", type);
	add(&e, "event", type, strlen(type));
	add(&e, "event_id", buf, (size_t)snprintf(buf, sizeof(buf), "%u", sysmon_event_id(h->type)));
	add(&e, "time_ns", buf, (size_t)snprintf(buf, sizeof(buf), "%" PRIu64, (uint64_t)h->time_ns));
	sysmon_record_fields(h, add_field, &e);
	/* The message may hold NULs of a string cut short: its length is known. */
	e.message_len = MIN(e.message_len, sizeof(e.message) - 1);
	if (e.n < SM_JOURNAL_FIELDS)
		e.iov[e.n++] = (struct iovec){ e.message, e.message_len };
	r = sd_journal_sendv(e.iov, (int)e.n);
	for (size_t i = 0; i < SM_JOURNAL_FIELDS; i++)
		free(e.owned[i]);
	return r;
}
