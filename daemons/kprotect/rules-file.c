/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "macro.h"
#include "rules-file.h"

/* A keyword, blanks, a path of at most 4095 bytes. */
#define LINE_MAX_LENGTH (16 + 4096)

static const char *const kind_names[] = {
	[RULES_FILE_DENY_EXEC] = "deny-exec",
	[RULES_FILE_ADD_EXE] = "add-exe",
};

const char *rules_file_kind_name(enum rules_file_kind kind)
{
	return kind_names[kind];
}

static void problem(const struct rules_file_callbacks *cb, const char *file, unsigned line, int error,
		    const char *format, ...) _printf_(5, 6);

static void problem(const struct rules_file_callbacks *cb, const char *file, unsigned line, int error,
		    const char *format, ...)
{
	char message[256];
	va_list ap;

	va_start(ap, format);
	vsnprintf(message, sizeof(message), format, ap);
	va_end(ap);
	cb->problem(file, line, error, message, cb->userdata);
}

static char *skip_blanks(char *s)
{
	return s + strspn(s, " \t");
}

/* One line, without its newline: 1 a rule (kind, path), 0 nothing, -EINVAL
 * with *ret_error saying why. */
static int parse_line(char *text, enum rules_file_kind *ret_kind, char **ret_path, const char **ret_error)
{
	char *s = skip_blanks(text), *end;
	size_t n;

	if (*s == '\0' || *s == '#')
		return 0;
	n = strcspn(s, " \t");
	for (size_t k = 0; k < ELEMENTSOF(kind_names); k++)
		if (strlen(kind_names[k]) == n && !strncmp(s, kind_names[k], n)) {
			*ret_kind = (enum rules_file_kind)k;
			s = skip_blanks(s + n);
			end = s + strlen(s);
			while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
				*--end = '\0';
			if (*s == '\0')
				*ret_error = "a path is missing";
			else if (*s != '/')
				*ret_error = "the path must be absolute";
			else {
				*ret_path = s;
				return 1;
			}
			return -EINVAL;
		}
	*ret_error = "unknown rule (deny-exec PATH or add-exe PATH)";
	return -EINVAL;
}

enum line_read {
	LINE_OK,
	LINE_TOO_LONG,     /* consumed to its end */
	LINE_NUL,          /* holds a NUL byte */
	LINE_EOF,
};

/* The next line of f into buf (size > LINE_MAX_LENGTH), without its
 * newline. */
static enum line_read read_line(FILE *f, char *buf, size_t size)
{
	size_t n = 0;
	bool nul = false;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (n + 1 >= size) {
			while ((c = getc(f)) != EOF && c != '\n')
				;
			return LINE_TOO_LONG;
		}
		nul = nul || c == '\0';
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	if (c == EOF && n == 0)
		return LINE_EOF;
	return nul ? LINE_NUL : LINE_OK;
}

unsigned rules_file_parse(FILE *f, const char *name, const struct rules_file_callbacks *cb)
{
	char buf[LINE_MAX_LENGTH + 1];
	unsigned line = 0, bad = 0;
	enum line_read got;

	while ((got = read_line(f, buf, sizeof(buf))) != LINE_EOF) {
		enum rules_file_kind kind;
		const char *error;
		char *path;
		int r;

		line++;
		if (got == LINE_TOO_LONG) {
			problem(cb, name, line, ENAMETOOLONG, "line longer than %d bytes", LINE_MAX_LENGTH);
			bad++;
			continue;
		}
		if (got == LINE_NUL) {
			problem(cb, name, line, EINVAL, "a NUL byte in the line");
			bad++;
			continue;
		}
		r = parse_line(buf, &kind, &path, &error);
		if (r == 0)
			continue;
		if (r < 0) {
			problem(cb, name, line, 0, "%s", error);
			bad++;
			continue;
		}
		r = cb->rule(name, line, kind, path, cb->userdata);
		if (r < 0) {
			problem(cb, name, line, -r, "%s %s: %s", kind_names[kind], path, strerror(-r));
			bad++;
		}
	}
	if (ferror(f)) {
		problem(cb, name, line, EIO, "read error after line %u", line);
		bad++;
	}
	return bad;
}

/* Rules are policy: only a file root alone may change is read. */
static bool owned_by_root_alone(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & 0022);
}

static int read_file(const char *path, const char *name, const struct rules_file_callbacks *cb)
{
	_cleanup_close_ int path_fd = -1, fd = -1;
	char proc_path[64];
	struct stat st;
	FILE *f;

	/* Look before opening for real. */
	path_fd = open_regular(path, O_PATH | O_NOFOLLOW, &st);
	if (path_fd >= 0 && cb->may_read && !cb->may_read(path_fd, &st, cb->userdata)) {
		problem(cb, name, 0, EPERM, "not read: kprotect denies executing it");
		return -EPERM;
	}
	if (path_fd >= 0) {
		snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", path_fd);
		fd = open(proc_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			fd = negative_errno();
	} else
		fd = path_fd;
	if (fd == -EBADFD) {
		problem(cb, name, 0, EBADFD, "%s, not a regular file: skipped", file_kind(&st));
		return fd;
	}
	if (fd < 0) {
		problem(cb, name, 0, -fd, "%s", strerror(-fd));
		return fd;
	}
	if (!owned_by_root_alone(&st)) {
		problem(cb, name, 0, EPERM, "not read: it must belong to root and be writable by root alone");
		return -EPERM;
	}
	f = fdopen(fd, "r");
	if (!f)
		return negative_errno();
	TAKE_FD(fd);
	rules_file_parse(f, name, cb);
	fclose(f);
	return 0;
}

static int select_rules(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return d->d_name[0] != '.' && n > 6 && !strcmp(d->d_name + n - 6, ".rules");
}

int rules_file_read_path(const char *path, const struct rules_file_callbacks *cb)
{
	struct dirent **entries = NULL;
	struct stat st;
	int n, files = 0;

	if (stat(path, &st) < 0) {
		int r = negative_errno();

		problem(cb, path, 0, -r, "%s", strerror(-r));
		return r;
	}
	if (!S_ISDIR(st.st_mode)) {
		const char *name = strrchr(path, '/');

		return read_file(path, name ? name + 1 : path, cb) < 0 ? 0 : 1;
	}
	n = scandir(path, &entries, select_rules, alphasort);
	if (n < 0) {
		int r = negative_errno();

		problem(cb, path, 0, -r, "%s", strerror(-r));
		return r;
	}
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *file = NULL;

		if (asprintf(&file, "%s/%s", path, entries[i]->d_name) >= 0 &&
		    read_file(file, entries[i]->d_name, cb) >= 0)
			files++;
		free(entries[i]);
	}
	free(entries);
	return files;
}
