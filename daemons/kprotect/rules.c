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

int file_set_init(struct file_set *s, size_t capacity)
{
	*s = (struct file_set){ .capacity = capacity };
	s->rules = calloc(MAX(capacity, (size_t)1), sizeof(*s->rules));
	return s->rules ? 0 : -ENOMEM;
}

static void file_rule_done(struct file_rule *r)
{
	free(r->path);
	free(r->origin);
}

void file_set_done(struct file_set *s)
{
	for (size_t i = 0; i < s->count; i++)
		file_rule_done(&s->rules[i]);
	free(s->rules);
	*s = (struct file_set){};
}

struct file_rule *file_set_find(const struct file_set *s, uint64_t dev, uint64_t ino)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->rules[i].dev == dev && s->rules[i].ino == ino)
			return &s->rules[i];
	return NULL;
}

struct file_rule *file_set_find_path(const struct file_set *s, const char *path)
{
	for (size_t i = 0; i < s->count; i++)
		if (!strcmp(s->rules[i].path, path))
			return &s->rules[i];
	return NULL;
}

int file_set_add(struct file_set *s, uint64_t dev, uint64_t ino, const char *path, const char *origin)
{
	struct file_rule rule = { .dev = dev, .ino = ino };

	if (file_set_find(s, dev, ino))
		return 0;
	if (s->count >= s->capacity)
		return -ENOSPC;
	rule.path = strdup(path);
	rule.origin = origin ? strdup(origin) : NULL;
	if (!rule.path || (origin && !rule.origin)) {
		file_rule_done(&rule);
		return -ENOMEM;
	}
	s->rules[s->count++] = rule;
	return 1;
}

int file_rule_set_origin(struct file_rule *rule, const char *origin)
{
	char *copy = NULL;

	if (origin && !(copy = strdup(origin)))
		return -ENOMEM;
	free(rule->origin);
	rule->origin = copy;
	return 0;
}

bool file_set_remove(struct file_set *s, uint64_t dev, uint64_t ino)
{
	struct file_rule *r = file_set_find(s, dev, ino);

	if (!r)
		return false;
	file_rule_done(r);
	s->count--;
	memmove(r, r + 1, (size_t)(&s->rules[s->count] - r) * sizeof(*r));
	return true;
}

size_t file_set_page(const struct file_set *s, size_t offset, struct kprotect_file_entry *out, size_t max)
{
	size_t n = page_count(s->count, offset, max);

	for (size_t i = 0; i < n; i++) {
		const struct file_rule *r = &s->rules[offset + i];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].dev = r->dev;
		out[i].ino = r->ino;
		strncpy(out[i].path, r->path, sizeof(out[i].path) - 1);
		if (r->origin)
			strncpy(out[i].origin, r->origin, sizeof(out[i].origin) - 1);
	}
	return n;
}

int rules_init(struct rules *r, size_t pid_capacity, size_t exec_capacity, size_t exe_capacity)
{
	*r = (struct rules){ .mode = RULES_MODE_UNSET, .config_mode = RULES_MODE_UNSET };
	if (pid_set_init(&r->pids, pid_capacity) < 0 || file_set_init(&r->execs, exec_capacity) < 0 ||
	    file_set_init(&r->exes, exe_capacity) < 0) {
		rules_done(r);
		return -ENOMEM;
	}
	return 0;
}

void rules_done(struct rules *r)
{
	pid_set_done(&r->pids);
	file_set_done(&r->execs);
	file_set_done(&r->exes);
}

/*
 * Payload: a header, the pid records, the exec records, then (since
 * protected programs) a trailer and the exe records. A file record is a
 * fixed part followed by path_length bytes of path (no NUL).
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

struct file_record {
	uint64_t dev;
	uint64_t ino;
	uint32_t path_length;
	uint32_t reserved;
};

struct rules_trailer {
	uint32_t exe_count;
	uint32_t mode;
	uint32_t config_mode;
	uint32_t reserved;
};

#define PATH_LENGTH_MAX (sizeof(((struct kprotect_path *)NULL)->path) - 1)

/* Every rule the device can make, at the longest path, fits a state file. */
_Static_assert(sizeof(struct rules_header) + KPROTECT_PID_CAPACITY_MAX * sizeof(struct pid_record) +
		       2 * KPROTECT_FILE_CAPACITY_MAX * (sizeof(struct file_record) + PATH_LENGTH_MAX) +
		       sizeof(struct rules_trailer) <= KPROTECT_STATE_LIMIT - 64,
	       "the rule capacities must fit the state file");

size_t rules_encoded_max(size_t pid_capacity, size_t exec_capacity, size_t exe_capacity)
{
	return sizeof(struct rules_header) + pid_capacity * sizeof(struct pid_record) +
	       (exec_capacity + exe_capacity) * (sizeof(struct file_record) + PATH_LENGTH_MAX) +
	       sizeof(struct rules_trailer);
}

static size_t device_rules(const struct file_set *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->count; i++)
		n += !s->rules[i].origin;
	return n;
}

static size_t file_records_size(const struct file_set *s)
{
	size_t size = 0;

	for (size_t i = 0; i < s->count; i++)
		if (!s->rules[i].origin)
			size += sizeof(struct file_record) + strlen(s->rules[i].path);
	return size;
}

static uint8_t *put(uint8_t *p, const void *data, size_t size)
{
	memcpy(p, data, size);
	return p + size;
}

static uint8_t *put_file_records(uint8_t *p, const struct file_set *s)
{
	for (size_t i = 0; i < s->count; i++) {
		const struct file_rule *r = &s->rules[i];
		struct file_record rec = { .dev = r->dev, .ino = r->ino, .path_length = (uint32_t)strlen(r->path) };

		if (r->origin)
			continue;
		p = put(p, &rec, sizeof(rec));
		p = put(p, r->path, rec.path_length);
	}
	return p;
}

int rules_encode(const struct rules *r, void **ret, size_t *ret_size)
{
	struct rules_header header = { .pid_count = (uint32_t)r->pids.count,
				       .exec_count = (uint32_t)device_rules(&r->execs) };
	struct rules_trailer trailer = { .exe_count = (uint32_t)device_rules(&r->exes), .mode = r->mode,
					 .config_mode = r->config_mode };
	size_t size = sizeof(header) + r->pids.count * sizeof(struct pid_record) + file_records_size(&r->execs) +
		      sizeof(trailer) + file_records_size(&r->exes);
	uint8_t *buf, *p;

	p = buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	p = put(p, &header, sizeof(header));
	for (size_t i = 0; i < r->pids.count; i++) {
		struct pid_record rec = { .pid = r->pids.rules[i].pid, .start_time = r->pids.rules[i].start_time };

		p = put(p, &rec, sizeof(rec));
	}
	p = put_file_records(p, &r->execs);
	p = put(p, &trailer, sizeof(trailer));
	put_file_records(p, &r->exes);
	*ret = buf;
	*ret_size = size;
	return 0;
}

static int decode_file_records(const uint8_t **pp, const uint8_t *end, uint32_t count, struct file_set *s,
			       size_t *dropped)
{
	const uint8_t *p = *pp;

	for (uint32_t i = 0; i < count; i++) {
		struct file_record rec;
		char path[PATH_LENGTH_MAX + 1];
		int r;

		if ((size_t)(end - p) < sizeof(rec))
			return -EBADMSG;
		memcpy(&rec, p, sizeof(rec));
		p += sizeof(rec);
		if (rec.path_length == 0 || rec.path_length > PATH_LENGTH_MAX || (size_t)(end - p) < rec.path_length)
			return -EBADMSG;
		memcpy(path, p, rec.path_length);
		path[rec.path_length] = '\0';
		p += rec.path_length;
		if (strlen(path) != rec.path_length || path[0] != '/')
			return -EBADMSG;
		r = file_set_add(s, rec.dev, rec.ino, path, NULL);
		if (r == -ENOSPC)
			(*dropped)++;
		else if (r < 0)
			return r;
	}
	*pp = p;
	return 0;
}

static bool mode_valid(uint32_t mode)
{
	return mode == KPROTECT_MODE_ENFORCING || mode == KPROTECT_MODE_PERMISSIVE || mode == RULES_MODE_UNSET;
}

static int rules_decode_records(const uint8_t *p, const uint8_t *end, struct rules *rules, size_t *dropped)
{
	struct rules_header header;
	struct rules_trailer trailer;
	int r;

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
		if (pid_set_add(&rules->pids, rec.pid, rec.start_time) == -ENOSPC)
			(*dropped)++;
	}
	r = decode_file_records(&p, end, header.exec_count, &rules->execs, dropped);
	if (r < 0 || p == end)
		return r;
	if ((size_t)(end - p) < sizeof(trailer))
		return -EBADMSG;
	memcpy(&trailer, p, sizeof(trailer));
	p += sizeof(trailer);
	if (!mode_valid(trailer.mode) || !mode_valid(trailer.config_mode) || trailer.reserved != 0)
		return -EBADMSG;
	rules->mode = trailer.mode;
	rules->config_mode = trailer.config_mode;
	r = decode_file_records(&p, end, trailer.exe_count, &rules->exes, dropped);
	if (r < 0)
		return r;
	return p == end ? 0 : -EBADMSG;
}

static void file_set_clear(struct file_set *s)
{
	while (s->count > 0)
		file_set_remove(s, s->rules[0].dev, s->rules[0].ino);
}

int rules_decode(const void *data, size_t size, struct rules *rules, size_t *ret_dropped)
{
	size_t dropped = 0;
	int r;

	r = rules_decode_records(data, (const uint8_t *)data + size, rules, &dropped);
	if (r < 0) {
		pid_set_clear(&rules->pids);
		file_set_clear(&rules->execs);
		file_set_clear(&rules->exes);
		rules->mode = rules->config_mode = RULES_MODE_UNSET;
		return r;
	}
	*ret_dropped = dropped;
	return 0;
}
