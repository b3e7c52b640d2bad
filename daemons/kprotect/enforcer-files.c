/* SPDX-License-Identifier: MIT */
/* The enforcer and the rules files: reading them into force, and checking. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enforcer-private.h"
#include "log.h"
#include "rules-file.h"

struct file_reading {
	struct enforcer *e;
	bool *seen[2];         /* per kind: which rules the files still make */
	unsigned rules;
	unsigned problems;
	struct kprotect_check *check;   /* checking: report here, apply nothing */
	size_t room[2];        /* checking: rules that would still fit */
};

static int on_file_rule(const char *file, unsigned line, enum rules_file_kind file_kind, const char *path,
			void *userdata)
{
	struct file_reading *reading = userdata;
	enum enforcer_file_kind kind = file_kind == RULES_FILE_DENY_EXEC ? ENFORCER_DENY_EXEC : ENFORCER_PROTECT_EXE;
	struct enforcer *e = reading->e;
	char origin[KPROTECT_ORIGIN_MAX];
	struct stat st;
	size_t index;
	int r;

	if (reading->check) {
		_cleanup_close_ int fd = enforcer_open_path(path, &st);

		if (fd < 0)
			return fd;
		if (kind == ENFORCER_PROTECT_EXE && enforcer_openable(e, fd, &st) && enforcer_is_script(fd))
			return -EINVAL;
		r = enforcer_guard_for(e, kind);
		if (r < 0)
			return r;
		if (reading->room[kind] == 0)
			return -ENOSPC;
		reading->room[kind]--;
		reading->rules++;
		return 0;
	}
	snprintf(origin, sizeof(origin), "%s:%u", file, line);
	r = enforcer_add_file_at(e, kind, path, origin, &index);
	if (r < 0)
		return r;
	/* Sets only grow while the files are read: index stays valid. */
	reading->seen[kind][index] = true;
	reading->rules++;
	return 0;
}

static void on_file_problem(const char *file, unsigned line, int error, const char *message, void *userdata)
{
	struct file_reading *reading = userdata;
	struct kprotect_check *check = reading->check;

	reading->problems++;
	if (!check) {
		if (line > 0)
			log_warning("%s/%s:%u: %s; line skipped.", reading->e->config.rules_dir, file, line, message);
		else
			log_warning("%s/%s: %s.", reading->e->config.rules_dir, file, message);
		return;
	}
	if (check->problems < KPROTECT_CHECK_PROBLEMS) {
		struct kprotect_check_problem *p = &check->entries[check->problems];

		p->line = line;
		p->error = error;
		snprintf(p->file, sizeof(p->file), "%s", file);
		snprintf(p->message, sizeof(p->message), "%s", message);
	}
	check->problems++;
}

static bool may_read(int path_fd, const struct stat *st, void *userdata)
{
	struct file_reading *reading = userdata;

	return enforcer_openable(reading->e, path_fd, st);
}

/* The rules files' rules replace theirs; a rule no file makes any more is
 * lifted. */
int enforcer_reload(struct enforcer *e)
{
	struct file_reading reading = { .e = e };
	struct rules_file_callbacks cb = { .rule = on_file_rule, .problem = on_file_problem, .userdata = &reading,
					   .may_read = may_read };
	int files;

	for (int kind = 0; kind < 2; kind++) {
		reading.seen[kind] = calloc(MAX(enforcer_file_set(e, kind)->capacity, (size_t)1), sizeof(bool));
		if (!reading.seen[kind]) {
			free(reading.seen[0]);
			return log_oom();
		}
	}
	/* No directory: no rules files (and whatever they made goes). */
	if (access(e->config.rules_dir, F_OK) < 0 && errno == ENOENT) {
		log_debug("No rules directory %s.", e->config.rules_dir);
		files = 0;
	} else
		files = rules_file_read_path(e->config.rules_dir, &cb);
	for (int kind = 0; kind < 2; kind++) {
		struct file_set *set = enforcer_file_set(e, kind);

		for (size_t i = set->count; i > 0; i--) {
			struct file_rule *rule = &set->rules[i - 1];
			_cleanup_close_ int fd = -1;
			struct stat st;

			if (!rule->origin || reading.seen[kind][i - 1])
				continue;
			log_info("The %s rule for %s (%s) is gone from the rules files: lifted.", enforcer_kind_name(kind),
				 rule->path, rule->origin);
			fd = enforcer_open_path(rule->path, &st);
			/* Another file under that name now: the rule's file is gone. */
			if (fd >= 0 && ((uint64_t)st.st_dev != rule->dev || (uint64_t)st.st_ino != rule->ino)) {
				close(fd);
				fd = -1;
			}
			enforcer_disarm(e, kind, rule, fd);
			file_set_remove(set, rule->dev, rule->ino);
		}
		free(reading.seen[kind]);
	}
	e->rules_files = files > 0 ? (unsigned)files : 0;
	e->rules_errors = reading.problems;
	log_info("Rules files: %u read from %s, %u rules, %u problems.", e->rules_files, e->config.rules_dir,
		 reading.rules, reading.problems);
	if (e->dirty)
		enforcer_changed(e);
	return (int)reading.problems;
}

void enforcer_check(struct enforcer *e, const char *path, struct kprotect_check *out)
{
	struct file_reading reading = { .e = e, .check = out };
	struct rules_file_callbacks cb = { .rule = on_file_rule, .problem = on_file_problem, .userdata = &reading,
					   .may_read = may_read };
	int files;

	/* Room: what the rules made through the device leave. */
	for (int kind = 0; kind < 2; kind++) {
		struct file_set *set = enforcer_file_set(e, kind);

		reading.room[kind] = set->capacity;
		for (size_t i = 0; i < set->count; i++)
			reading.room[kind] -= !set->rules[i].origin;
	}
	out->files = out->rules = out->problems = out->reserved = 0;
	memset(out->entries, 0, sizeof(out->entries));
	files = rules_file_read_path(path ?: e->config.rules_dir, &cb);
	out->files = files > 0 ? (uint32_t)files : 0;
	out->rules = reading.rules;
}

