/* SPDX-License-Identifier: MIT */
/*
 * Rules files: /etc/cusekit/kprotect.d/ *.rules, read in name order at start
 * and on reload. One rule a line, the client's own words:
 *
 *     # comment (a line whose first non-blank is '#')
 *     deny-exec /usr/local/bin/tool     refuse executing the file
 *     add-exe /usr/sbin/sshd            protect every process executing it
 *
 * The path is the rest of the line (it may hold blanks; trailing blanks are
 * dropped) and must be absolute. A bad line is reported with its file and
 * line number and skipped; the other lines still count. Files only root may
 * write are read: others are reported and skipped whole.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>

enum rules_file_kind {
	RULES_FILE_DENY_EXEC,
	RULES_FILE_ADD_EXE,
};

/* A rule read: 0 made (or there already), -errno refused (reported as a
 * problem of that line). */
typedef int (*rules_file_rule_fn)(const char *file, unsigned line, enum rules_file_kind kind, const char *path,
				  void *userdata);
/* A problem: line 0 is the file as a whole; error an errno or 0. */
typedef void (*rules_file_problem_fn)(const char *file, unsigned line, int error, const char *message,
				      void *userdata);

/* May the file of path_fd (O_PATH; st its stat) be opened? (A file the
 * fanotify guard marks must not be: the reader's own open would wait for
 * its own answer.) NULL: yes. */
typedef bool (*rules_file_may_read_fn)(int path_fd, const struct stat *st, void *userdata);

struct rules_file_callbacks {
	rules_file_rule_fn rule;
	rules_file_problem_fn problem;
	void *userdata;
	rules_file_may_read_fn may_read;
};

/* Every line of f, named name in reports. Returns how many bad lines. */
unsigned rules_file_parse(FILE *f, const char *name, const struct rules_file_callbacks *cb);

/* Every *.rules file of the directory path in name order, or the one file
 * path names. Returns the number of files read (files skipped whole are
 * problems); -errno when path cannot be read at all (also reported). */
int rules_file_read_path(const char *path, const struct rules_file_callbacks *cb);

/* "deny-exec", "add-exe". */
const char *rules_file_kind_name(enum rules_file_kind kind);
