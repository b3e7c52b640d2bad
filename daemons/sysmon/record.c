/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "record.h"

#define ALIGN8(x) (((x) + 7) & ~(size_t)7)
#define SM_RECORD_MAX 65528   /* the largest multiple of 8 a __u16 size holds */

struct sm_record *sm_record_ref(struct sm_record *r)
{
	r->refs++;
	return r;
}

struct sm_record *sm_record_unref(struct sm_record *r)
{
	if (r && --r->refs == 0)
		free(r);
	return NULL;
}

struct sm_record *sm_record_new(const void *fixed, size_t fixed_size, uint32_t pid, uint32_t uid,
				const struct sm_string *strings, size_t n_strings)
{
	size_t size = fixed_size, pos = fixed_size;
	struct sysmon_header *h;
	struct sm_record *r;

	assert(fixed_size >= sizeof(struct sysmon_header) && fixed_size % 8 == 0);
	for (size_t i = 0; i < n_strings; i++)
		size += strings[i].length + 1;
	size = ALIGN8(size);
	if (size > SM_RECORD_MAX) {
		errno = E2BIG;
		return NULL;
	}
	r = calloc(1, sizeof(*r) + size);
	if (!r)
		return NULL;
	r->refs = 1;
	r->pid = pid;
	r->uid = uid;
	memcpy(r->data, fixed, fixed_size);
	h = (struct sysmon_header *)r->data;
	h->size = (uint16_t)size;
	for (size_t i = 0; i < n_strings; i++) {
		uint16_t where[2] = { (uint16_t)pos, (uint16_t)strings[i].length };

		assert(strings[i].offset_field + sizeof(where) <= fixed_size);
		if (strings[i].length)
			memcpy(r->data + pos, strings[i].data, strings[i].length);
		memcpy(r->data + strings[i].offset_field, where, sizeof(where));
		pos += strings[i].length + 1;   /* calloc: the NUL is there */
	}
	return r;
}

void sm_exit_status(struct sysmon_exit *e, uint32_t wait_status)
{
	e->exit_code = (wait_status >> 8) & 0xff;
	e->signal = wait_status & 0x7f;
	e->core_dumped = !!(wait_status & 0x80);
}

size_t sm_cut(size_t len, size_t max, uint32_t flag, uint32_t *flags)
{
	if (len <= max)
		return len;
	*flags |= flag;
	return max;
}

void sm_process_id(struct sysmon_process_id *id, const uint8_t boot_id[16], uint32_t pid, uint64_t start_time)
{
	*id = (struct sysmon_process_id){ .start_time = start_time };
	if (start_time == 0)
		return;   /* unknown: all zero */
	memcpy(id->guid, boot_id, 4);
	for (int i = 0; i < 8; i++)
		id->guid[4 + i] = (uint8_t)(start_time >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		id->guid[12 + i] = (uint8_t)(pid >> (24 - 8 * i));
}

int sm_boot_id_parse(const char *text, uint8_t ret[16])
{
	size_t n = 0;

	for (const char *p = text; *p && *p != '\n' && n < 32; p++) {
		int v;

		if (*p == '-')
			continue;
		if (*p >= '0' && *p <= '9')
			v = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			v = *p - 'a' + 10;
		else
			return -EINVAL;
		ret[n / 2] = (uint8_t)(n % 2 ? ret[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 ? 0 : -EINVAL;
}

int sm_record_check(const void *buf, size_t len)
{
	int r = sysmon_record_check(buf, len);

	return r < 0 ? -EBADMSG : r;
}

const char *sm_type_name(uint16_t type)
{
	static const char *const names[] = {
		[SYSMON_PROCESS_CREATE] = "fork",        [SYSMON_PROCESS_EXEC] = "exec",
		[SYSMON_PROCESS_EXIT] = "exit",          [SYSMON_THREAD_CREATE] = "clone",
		[SYSMON_THREAD_EXIT] = "thread-exit",    [SYSMON_IMAGE_LOAD] = "image",
		[SYSMON_FILE_WRITE] = "file-write",      [SYSMON_EVENTS_LOST] = "lost",
		[SYSMON_UID_CHANGE] = "uid",             [SYSMON_GID_CHANGE] = "gid",
		[SYSMON_SESSION] = "sid",                [SYSMON_PTRACE] = "ptrace",
		[SYSMON_COMM] = "comm",                  [SYSMON_COREDUMP] = "core",
		[SYSMON_FILE_CREATE] = "file-create",    [SYSMON_FILE_DELETE] = "file-delete",
		[SYSMON_FILE_RENAME] = "file-rename",
	};

	return type < ELEMENTSOF(names) ? names[type] : NULL;
}

static bool exit_failed(const struct sm_record *r)
{
	const struct sysmon_exit *e = (const struct sysmon_exit *)r->data;

	return e->exit_code != 0 || e->signal != 0;
}

bool sm_filter_match(const struct sm_filter *f, const struct sm_record *r)
{
	uint16_t type = sm_record_header(r)->type;

	if (!(f->type_mask & SYSMON_TYPE_BIT(type)))
		return false;
	if ((f->flags & SYSMON_FILTER_PID) && r->pid != f->pid)
		return false;
	if ((f->flags & SYSMON_FILTER_UID) && r->uid != f->uid)
		return false;
	if ((f->flags & SYSMON_FILTER_NONZERO_EXIT) && (type == SYSMON_PROCESS_EXIT || type == SYSMON_THREAD_EXIT) &&
	    !exit_failed(r))
		return false;
	return true;
}
