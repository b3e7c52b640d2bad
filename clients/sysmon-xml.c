/* SPDX-License-Identifier: MIT */
/*
 * Sysmon for Linux's XML event layout, one <Event> a line, written with
 * libxml2's text writer (which escapes markup; text is made valid XML
 * characters first: U+FFFD for bytes that are not UTF-8 and for control
 * characters XML cannot carry):
 *
 *   <Event><System><Provider Name="Linux-Sysmon" Guid="{...}"/><EventID>1</EventID>
 *   <Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode>
 *   <Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="...Z"/>
 *   <EventRecordID>N</EventRecordID><Correlation/><Execution ProcessID="pid" ThreadID="tid"/>
 *   <Channel>Linux-Sysmon/Operational</Channel><Computer>host</Computer>
 *   <Security UserId="uid"/></System><EventData><Data Name="RuleName">-</Data>
 *   <Data Name="UtcTime">...</Data>...</EventData></Event>
 *
 * Fields Sysmon has go by Sysmon's Data Name (ProcessGuid, ProcessId, Image,
 * CommandLine, CurrentDirectory, User, ParentProcessGuid, ImageLoaded,
 * TargetFilename, ...); the others by their cusekit name, after them.
 */
#include <inttypes.h>
#include <libxml/xmlwriter.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cusekit/sysmon-fields.h>

#include "sysmon-output.h"

#define SYSMON_PROVIDER_GUID "{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"

static uint64_t record_id;

struct xml_event {
	xmlTextWriterPtr w;
	uint32_t pid, tid, uid;
	bool sysmon_names;   /* this pass: fields with a Sysmon name, else the others */
};

static void data(xmlTextWriterPtr w, const char *name, const char *value)
{
	xmlTextWriterStartElement(w, BAD_CAST "Data");
	xmlTextWriterWriteAttribute(w, BAD_CAST "Name", BAD_CAST name);
	xmlTextWriterWriteString(w, BAD_CAST value);
	xmlTextWriterEndElement(w);
}

static void data_text(xmlTextWriterPtr w, const char *name, const char *s, size_t len, bool argv)
{
	char *copy = malloc(len + 1), *safe = malloc(3 * len + 1);

	if (copy && safe) {
		if (argv && len > 0 && s[len - 1] == '\0')
			len--;
		for (size_t i = 0; i < len; i++)
			copy[i] = s[i] ?: ' ';   /* CommandLine: arguments separated by spaces */
		sysmon_text_sanitize(copy, len, safe);
		data(w, name, safe);
	}
	free(copy);
	free(safe);
}

static void user_name(uint64_t uid, char *out, size_t size)
{
	struct passwd *pw = getpwuid((uid_t)uid);

	if (pw)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "%" PRIu64, uid);
}

static void xml_field(const struct sysmon_field *f, void *userdata)
{
	struct xml_event *x = userdata;
	const char *name = f->sysmon_name ?: f->name;
	char buf[64];

	if (!strcmp(f->name, "pid"))
		x->pid = (uint32_t)f->value;
	else if (!strcmp(f->name, "tid"))
		x->tid = (uint32_t)f->value;
	else if (!strcmp(f->name, "uid"))
		x->uid = (uint32_t)f->value;
	if (!x->w || (f->sysmon_name != NULL) != x->sysmon_names)
		return;
	switch (f->kind) {
	case SYSMON_FIELD_UINT:
		if (!strcmp(name, "User"))
			user_name(f->value, buf, sizeof(buf));
		else
			snprintf(buf, sizeof(buf), "%" PRIu64, f->value);
		data(x->w, name, buf);
		break;
	case SYSMON_FIELD_HEX:
		snprintf(buf, sizeof(buf), "0x%" PRIx64, f->value);
		data(x->w, name, buf);
		break;
	case SYSMON_FIELD_GUID:
		sysmon_guid_format((const __u8 *)f->data, buf);
		data(x->w, name, buf);
		break;
	case SYSMON_FIELD_STRING:
	case SYSMON_FIELD_ARGV:
		data_text(x->w, name, f->data, f->length, f->kind == SYSMON_FIELD_ARGV);
		break;
	}
}

static void system_part(xmlTextWriterPtr w, const struct sysmon_header *h, const struct xml_event *x)
{
	char buf[64], host[256] = "";

	xmlTextWriterStartElement(w, BAD_CAST "System");
	xmlTextWriterStartElement(w, BAD_CAST "Provider");
	xmlTextWriterWriteAttribute(w, BAD_CAST "Name", BAD_CAST "Linux-Sysmon");
	xmlTextWriterWriteAttribute(w, BAD_CAST "Guid", BAD_CAST SYSMON_PROVIDER_GUID);
	xmlTextWriterEndElement(w);
	xmlTextWriterWriteFormatElement(w, BAD_CAST "EventID", "%u", sysmon_event_id(h->type));
	xmlTextWriterWriteElement(w, BAD_CAST "Version", BAD_CAST "5");
	xmlTextWriterWriteElement(w, BAD_CAST "Level", BAD_CAST "4");
	xmlTextWriterWriteFormatElement(w, BAD_CAST "Task", "%u", sysmon_event_id(h->type));
	xmlTextWriterWriteElement(w, BAD_CAST "Opcode", BAD_CAST "0");
	xmlTextWriterWriteElement(w, BAD_CAST "Keywords", BAD_CAST "0x8000000000000000");
	xmlTextWriterStartElement(w, BAD_CAST "TimeCreated");
	format_utc(h->time_ns, buf);
	xmlTextWriterWriteAttribute(w, BAD_CAST "SystemTime", BAD_CAST buf);
	xmlTextWriterEndElement(w);
	xmlTextWriterWriteFormatElement(w, BAD_CAST "EventRecordID", "%" PRIu64, ++record_id);
	xmlTextWriterStartElement(w, BAD_CAST "Correlation");
	xmlTextWriterEndElement(w);
	xmlTextWriterStartElement(w, BAD_CAST "Execution");
	xmlTextWriterWriteFormatAttribute(w, BAD_CAST "ProcessID", "%u", x->pid);
	xmlTextWriterWriteFormatAttribute(w, BAD_CAST "ThreadID", "%u", x->tid ?: x->pid);
	xmlTextWriterEndElement(w);
	xmlTextWriterWriteElement(w, BAD_CAST "Channel", BAD_CAST "Linux-Sysmon/Operational");
	gethostname(host, sizeof(host) - 1);
	xmlTextWriterWriteElement(w, BAD_CAST "Computer", BAD_CAST host);
	xmlTextWriterStartElement(w, BAD_CAST "Security");
	xmlTextWriterWriteFormatAttribute(w, BAD_CAST "UserId", "%u", x->uid);
	xmlTextWriterEndElement(w);
	xmlTextWriterEndElement(w);
}

void print_sysmon_xml(const struct sysmon_header *h)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = buf ? xmlNewTextWriterMemory(buf, 0) : NULL;
	struct xml_event x = {};
	char utc[40];

	if (!w) {
		fprintf(stderr, "sysmon: out of memory\n");
		xmlBufferFree(buf);
		return;
	}
	/* First pass: the ids the System part names. */
	sysmon_record_fields(h, xml_field, &x);
	x.w = w;
	xmlTextWriterStartElement(w, BAD_CAST "Event");
	system_part(w, h, &x);
	xmlTextWriterStartElement(w, BAD_CAST "EventData");
	data(w, "RuleName", "-");
	format_utc(h->time_ns, utc);
	utc[10] = ' ';
	utc[23] = '\0';   /* Sysmon's UtcTime: "2026-01-02 03:04:05.123" */
	data(w, "UtcTime", utc);
	x.sysmon_names = true;
	sysmon_record_fields(h, xml_field, &x);
	x.sysmon_names = false;
	sysmon_record_fields(h, xml_field, &x);
	xmlTextWriterEndElement(w);
	xmlTextWriterEndElement(w);
	xmlFreeTextWriter(w);   /* flushes into buf */
	fwrite(xmlBufferContent(buf), 1, (size_t)xmlBufferLength(buf), stdout);
	putchar('\n');
	xmlBufferFree(buf);
}
