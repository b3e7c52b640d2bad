/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "rules.h"

size_t page_count(size_t total, size_t offset, size_t max)
{
	return offset >= total ? 0 : MIN(total - offset, max);
}

int pid_set_init(struct pid_set *s, size_t capacity)
{
	*s = (struct pid_set){ .capacity = capacity };
	s->rules = calloc(MAX(capacity, (size_t)1), sizeof(*s->rules));
	return s->rules ? 0 : -ENOMEM;
}

void pid_set_done(struct pid_set *s)
{
	free(s->rules);
	*s = (struct pid_set){};
}

/* Index of pid, or where it would be inserted. */
static size_t pid_set_lower_bound(const struct pid_set *s, uint32_t pid)
{
	size_t lo = 0, hi = s->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (s->rules[mid].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct pid_rule *pid_set_find(const struct pid_set *s, uint32_t pid)
{
	size_t i = pid_set_lower_bound(s, pid);

	return i < s->count && s->rules[i].pid == pid ? &s->rules[i] : NULL;
}

int pid_set_add(struct pid_set *s, uint32_t pid, uint64_t start_time)
{
	size_t i = pid_set_lower_bound(s, pid);

	if (i < s->count && s->rules[i].pid == pid) {
		if (s->rules[i].start_time == start_time)
			return 0;
		s->rules[i].start_time = start_time;
		return 1;
	}
	if (s->count >= s->capacity)
		return -ENOSPC;
	memmove(&s->rules[i + 1], &s->rules[i], (s->count - i) * sizeof(*s->rules));
	s->rules[i] = (struct pid_rule){ .pid = pid, .start_time = start_time };
	s->count++;
	return 1;
}

bool pid_set_remove(struct pid_set *s, uint32_t pid)
{
	struct pid_rule *r = pid_set_find(s, pid);

	if (!r)
		return false;
	s->count--;
	memmove(r, r + 1, (size_t)(&s->rules[s->count] - r) * sizeof(*r));
	return true;
}

void pid_set_clear(struct pid_set *s)
{
	s->count = 0;
}

size_t pid_set_page(const struct pid_set *s, size_t offset, struct kprotect_pid_entry *out, size_t max)
{
	size_t n = page_count(s->count, offset, max);

	for (size_t i = 0; i < n; i++)
		out[i] = (struct kprotect_pid_entry){
			.pid = s->rules[offset + i].pid,
			.start_time = s->rules[offset + i].start_time,
		};
	return n;
}

int exec_set_init(struct exec_set *s, size_t capacity)
{
	*s = (struct exec_set){ .capacity = capacity };
	s->rules = calloc(MAX(capacity, (size_t)1), sizeof(*s->rules));
	return s->rules ? 0 : -ENOMEM;
}

void exec_set_done(struct exec_set *s)
{
	for (size_t i = 0; i < s->count; i++)
		free(s->rules[i].path);
	free(s->rules);
	*s = (struct exec_set){};
}

struct exec_rule *exec_set_find(const struct exec_set *s, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->rules[i].dev == dev && s->rules[i].ino == ino)
			return &s->rules[i];
	return NULL;
}

struct exec_rule *exec_set_find_path(const struct exec_set *s, const char *path)
{
	for (size_t i = 0; i < s->count; i++)
		if (!strcmp(s->rules[i].path, path))
			return &s->rules[i];
	return NULL;
}

int exec_set_add(struct exec_set *s, uint64_t dev, uint64_t ino, const char *path)
{
	char *copy;

	if (exec_set_find(s, dev, ino))
		return 0;
	if (s->count >= s->capacity)
		return -ENOSPC;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	s->rules[s->count++] = (struct exec_rule){ .dev = dev, .ino = ino, .path = copy };
	return 1;
}

bool exec_set_remove(struct exec_set *s, uint64_t dev, uint64_t ino)
{
	struct exec_rule *r = exec_set_find(s, dev, ino);

	if (!r)
		return false;
	free(r->path);
	s->count--;
	memmove(r, r + 1, (size_t)(&s->rules[s->count] - r) * sizeof(*r));
	return true;
}

size_t exec_set_page(const struct exec_set *s, size_t offset, struct kprotect_exec_entry *out, size_t max)
{
	size_t n = page_count(s->count, offset, max);

	for (size_t i = 0; i < n; i++) {
		const struct exec_rule *r = &s->rules[offset + i];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].dev = r->dev;
		out[i].ino = r->ino;
		strncpy(out[i].path, r->path, sizeof(out[i].path) - 1);
	}
	return n;
}

/*
 * Payload: a header, the pid records, then the exec records, each a fixed
 * part followed by path_length bytes of path (no NUL).
 */
struct rules_header {
	uint32_t pid_count;
	uint32_t exec_count;
};

struct pid_record {
	uint32_t pid;
	uint32_t reserved;
	uint64_t start_time;
};

struct exec_record {
	uint64_t dev;
	uint64_t ino;
	uint32_t path_length;
	uint32_t reserved;
};

int rules_encode(const struct pid_set *pids, const struct exec_set *execs, void **ret, size_t *ret_size)
{
	size_t size = sizeof(struct rules_header) + pids->count * sizeof(struct pid_record);
	struct rules_header header = { .pid_count = (uint32_t)pids->count, .exec_count = (uint32_t)execs->count };
	uint8_t *buf, *p;

	for (size_t i = 0; i < execs->count; i++)
		size += sizeof(struct exec_record) + strlen(execs->rules[i].path);
	p = buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	memcpy(p, &header, sizeof(header));
	p += sizeof(header);
	for (size_t i = 0; i < pids->count; i++) {
		struct pid_record rec = { .pid = pids->rules[i].pid, .start_time = pids->rules[i].start_time };

		memcpy(p, &rec, sizeof(rec));
		p += sizeof(rec);
	}
	for (size_t i = 0; i < execs->count; i++) {
		const struct exec_rule *r = &execs->rules[i];
		struct exec_record rec = { .dev = r->dev, .ino = r->ino, .path_length = (uint32_t)strlen(r->path) };

		memcpy(p, &rec, sizeof(rec));
		p += sizeof(rec);
		memcpy(p, r->path, rec.path_length);
		p += rec.path_length;
	}
	*ret = buf;
	*ret_size = size;
	return 0;
}

static int rules_decode_records(const uint8_t *p, const uint8_t *end, struct pid_set *pids,
				struct exec_set *execs, size_t *dropped)
{
	struct rules_header header;

	if ((size_t)(end - p) < sizeof(header))
		return -EBADMSG;
	memcpy(&header, p, sizeof(header));
	p += sizeof(header);
	for (uint32_t i = 0; i < header.pid_count; i++) {
		struct pid_record rec;

		if ((size_t)(end - p) < sizeof(rec))
			return -EBADMSG;
		memcpy(&rec, p, sizeof(rec));
		p += sizeof(rec);
		if (rec.pid == 0)
			return -EBADMSG;
		if (pid_set_add(pids, rec.pid, rec.start_time) == -ENOSPC)
			(*dropped)++;
	}
	for (uint32_t i = 0; i < header.exec_count; i++) {
		struct exec_record rec;
		char path[sizeof(((struct kprotect_path *)NULL)->path)];
		int r;

		if ((size_t)(end - p) < sizeof(rec))
			return -EBADMSG;
		memcpy(&rec, p, sizeof(rec));
		p += sizeof(rec);
		if (rec.path_length == 0 || rec.path_length >= sizeof(path) || (size_t)(end - p) < rec.path_length)
			return -EBADMSG;
		memcpy(path, p, rec.path_length);
		path[rec.path_length] = '\0';
		p += rec.path_length;
		if (strlen(path) != rec.path_length)
			return -EBADMSG;
		r = exec_set_add(execs, rec.dev, rec.ino, path);
		if (r == -ENOSPC)
			(*dropped)++;
		else if (r < 0)
			return r;
	}
	return p == end ? 0 : -EBADMSG;
}

int rules_decode(const void *data, size_t size, struct pid_set *pids, struct exec_set *execs,
		 size_t *ret_dropped)
{
	size_t dropped = 0;
	int r;

	r = rules_decode_records(data, (const uint8_t *)data + size, pids, execs, &dropped);
	if (r < 0) {
		pid_set_clear(pids);
		while (execs->count > 0)
			exec_set_remove(execs, execs->rules[0].dev, execs->rules[0].ino);
		return r;
	}
	*ret_dropped = dropped;
	return 0;
}
