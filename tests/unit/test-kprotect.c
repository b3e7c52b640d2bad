/* SPDX-License-Identifier: MIT */
/* KProtect's pure logic: the pid set (identity, duplicates, capacity,
 * paging), the file rule sets, the state encoding (at capacity too), rules
 * files, who opens a file, /proc/<pid>/stat parsing. */
#include <check.h>
#include <dlfcn.h>
#include <stdbool.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "macro.h"
#include "check-run.h"
#include "opener.h"
#include "rules-file.h"
#include "rules.h"
#include "state.h"

START_TEST(test_pid_set_sorted_and_unique)
{
	struct pid_set s;

	ck_assert_int_eq(pid_set_init(&s, 8), 0);
	ck_assert_int_eq(pid_set_add(&s, 300, 7), 1);
	ck_assert_int_eq(pid_set_add(&s, 100, 5), 1);
	ck_assert_int_eq(pid_set_add(&s, 200, 6), 1);
	ck_assert_int_eq(pid_set_add(&s, 100, 5), 0);        /* same process: duplicate */
	ck_assert_uint_eq(s.count, 3);
	ck_assert_uint_eq(s.rules[0].pid, 100);
	ck_assert_uint_eq(s.rules[1].pid, 200);
	ck_assert_uint_eq(s.rules[2].pid, 300);
	ck_assert_ptr_nonnull(pid_set_find(&s, 200));
	ck_assert_ptr_null(pid_set_find(&s, 201));
	pid_set_done(&s);
}
END_TEST

START_TEST(test_pid_set_reused_pid_replaces)
{
	struct pid_set s;

	ck_assert_int_eq(pid_set_init(&s, 2), 0);
	ck_assert_int_eq(pid_set_add(&s, 42, 1000), 1);
	/* Same pid, other start time: a new process, the old rule is dead. */
	ck_assert_int_eq(pid_set_add(&s, 42, 2000), 1);
	ck_assert_uint_eq(s.count, 1);
	ck_assert_uint_eq(pid_set_find(&s, 42)->start_time, 2000);
	pid_set_done(&s);
}
END_TEST

START_TEST(test_pid_set_capacity_and_remove)
{
	struct pid_set s;

	ck_assert_int_eq(pid_set_init(&s, 2), 0);
	ck_assert_int_eq(pid_set_add(&s, 1, 1), 1);
	ck_assert_int_eq(pid_set_add(&s, 2, 1), 1);
	ck_assert_int_eq(pid_set_add(&s, 3, 1), -ENOSPC);
	ck_assert_int_eq(pid_set_add(&s, 2, 1), 0);          /* duplicates never need room */
	ck_assert(pid_set_remove(&s, 1));
	ck_assert(!pid_set_remove(&s, 1));
	ck_assert_int_eq(pid_set_add(&s, 3, 1), 1);
	ck_assert_uint_eq(s.rules[0].pid, 2);
	ck_assert_uint_eq(s.rules[1].pid, 3);
	pid_set_clear(&s);
	ck_assert_uint_eq(s.count, 0);
	pid_set_done(&s);
}
END_TEST

START_TEST(test_pid_set_paging)
{
	struct kprotect_pid_entry page[KPROTECT_PIDS_MAX];
	struct pid_set s;
	size_t seen = 0;

	ck_assert_int_eq(pid_set_init(&s, 1024), 0);
	for (uint32_t pid = 1000; pid > 0; pid--)
		ck_assert_int_eq(pid_set_add(&s, pid, pid * 10ull), 1);
	for (size_t offset = 0;; offset += KPROTECT_PIDS_MAX) {
		size_t n = pid_set_page(&s, offset, page, KPROTECT_PIDS_MAX);

		if (n == 0)
			break;
		ck_assert_uint_eq(n, MIN(1000 - offset, (size_t)KPROTECT_PIDS_MAX));
		for (size_t i = 0; i < n; i++) {
			ck_assert_uint_eq(page[i].pid, seen + 1);
			ck_assert_uint_eq(page[i].start_time, (seen + 1) * 10);
			seen++;
		}
	}
	ck_assert_uint_eq(seen, 1000);
	ck_assert_uint_eq(pid_set_page(&s, 5000, page, KPROTECT_PIDS_MAX), 0);
	ck_assert_uint_eq(page_count(10, 10, 4), 0);
	ck_assert_uint_eq(page_count(10, 8, 4), 2);
	ck_assert_uint_eq(page_count(0, 0, 4), 0);
	pid_set_done(&s);
}
END_TEST

START_TEST(test_file_set)
{
	struct kprotect_file_entry page[KPROTECT_FILE_PAGE];
	struct file_set s;

	ck_assert_int_eq(file_set_init(&s, 3), 0);
	ck_assert_int_eq(file_set_add(&s, 1, 10, "/a", NULL), 1);
	ck_assert_int_eq(file_set_add(&s, 1, 10, "/a-hardlink", NULL), 0);  /* identity, not name */
	ck_assert_int_eq(file_set_add(&s, 2, 10, "/b", "10-base.rules:3"), 1); /* same inode, other device */
	ck_assert_int_eq(file_set_add(&s, 1, 11, "/c", NULL), 1);
	ck_assert_int_eq(file_set_add(&s, 1, 12, "/d", NULL), -ENOSPC);
	ck_assert_ptr_nonnull(file_set_find(&s, 2, 10));
	ck_assert_ptr_null(file_set_find(&s, 2, 11));
	ck_assert_uint_eq(file_set_find_path(&s, "/c")->ino, 11);
	ck_assert_ptr_null(file_set_find_path(&s, "/a-hardlink")); /* rules keep the first name */

	ck_assert_uint_eq(file_set_page(&s, 1, page, KPROTECT_FILE_PAGE), 2);
	ck_assert_str_eq(page[0].path, "/b");
	ck_assert_str_eq(page[0].origin, "10-base.rules:3");
	ck_assert_uint_eq(page[0].dev, 2);
	ck_assert_str_eq(page[1].path, "/c");
	ck_assert_str_eq(page[1].origin, "");
	ck_assert_uint_eq(page[1].ino, 11);

	ck_assert_int_eq(file_rule_set_origin(file_set_find(&s, 1, 11), "x.rules:1"), 0);
	ck_assert_str_eq(file_set_find(&s, 1, 11)->origin, "x.rules:1");
	ck_assert(file_set_remove(&s, 2, 10));
	ck_assert(!file_set_remove(&s, 2, 10));
	ck_assert_uint_eq(file_set_page(&s, 0, page, KPROTECT_FILE_PAGE), 2);
	ck_assert_str_eq(page[0].path, "/a");
	ck_assert_str_eq(page[1].path, "/c");
	file_set_done(&s);
}
END_TEST

START_TEST(test_rules_roundtrip)
{
	struct rules rules, back;
	size_t size, dropped = 99;
	void *data;

	ck_assert_int_eq(rules_init(&rules, 4, 4, 4), 0);
	ck_assert_int_eq(pid_set_add(&rules.pids, 7, 70), 1);
	ck_assert_int_eq(pid_set_add(&rules.pids, 9, 90), 1);
	ck_assert_int_eq(file_set_add(&rules.execs, 3, 33, "/usr/bin/x", NULL), 1);
	/* Rules of rules files are read from the files again: not saved. */
	ck_assert_int_eq(file_set_add(&rules.execs, 3, 34, "/usr/bin/y", "a.rules:1"), 1);
	ck_assert_int_eq(file_set_add(&rules.exes, 3, 35, "/usr/sbin/z", NULL), 1);
	rules.mode = KPROTECT_MODE_PERMISSIVE;
	rules.config_mode = KPROTECT_MODE_ENFORCING;
	ck_assert_int_eq(rules_encode(&rules, &data, &size), 0);

	/* Smaller capacities: what does not fit is dropped and counted. */
	ck_assert_int_eq(rules_init(&back, 1, 4, 4), 0);
	ck_assert_int_eq(rules_decode(data, size, &back, &dropped), 0);
	ck_assert_uint_eq(dropped, 1);
	ck_assert_uint_eq(back.pids.count, 1);
	ck_assert_uint_eq(back.pids.rules[0].pid, 7);
	ck_assert_uint_eq(back.pids.rules[0].start_time, 70);
	ck_assert_uint_eq(back.execs.count, 1);
	ck_assert_str_eq(back.execs.rules[0].path, "/usr/bin/x");
	ck_assert_ptr_null(back.execs.rules[0].origin);
	ck_assert_uint_eq(back.execs.rules[0].ino, 33);
	ck_assert_uint_eq(back.exes.count, 1);
	ck_assert_str_eq(back.exes.rules[0].path, "/usr/sbin/z");
	ck_assert_uint_eq(back.mode, KPROTECT_MODE_PERMISSIVE);
	ck_assert_uint_eq(back.config_mode, KPROTECT_MODE_ENFORCING);

	/* Every truncation is malformed, and leaves the sets empty. */
	for (size_t cut = 0; cut < size; cut++) {
		rules_done(&back);
		ck_assert_int_eq(rules_init(&back, 4, 4, 4), 0);
		ck_assert_int_eq(rules_decode(data, cut, &back, &dropped), cut == 8 + 2 * 16 + 24 + 10 ? 0 : -EBADMSG);
		if (cut != 8 + 2 * 16 + 24 + 10) {
			ck_assert_uint_eq(back.pids.count, 0);
			ck_assert_uint_eq(back.execs.count, 0);
			ck_assert_uint_eq(back.exes.count, 0);
			ck_assert_uint_eq(back.mode, RULES_MODE_UNSET);
		}
	}
	free(data);
	rules_done(&rules);
	rules_done(&back);
}
END_TEST

/* A state file of the first format (pids and exec rules only) still loads. */
START_TEST(test_rules_decode_first_format)
{
	const uint32_t header[2] = { 1, 1 };
	const uint32_t pid[4] = { 42, 0, 4200, 0 };
	const uint64_t file[2] = { 5, 55 };
	const uint32_t length[2] = { 2, 0 };
	uint8_t data[sizeof(header) + sizeof(pid) + sizeof(file) + sizeof(length) + 2], *p = data;
	struct rules rules;
	size_t dropped;

	p = mempcpy(p, header, sizeof(header));
	p = mempcpy(p, pid, sizeof(pid));
	p = mempcpy(p, file, sizeof(file));
	p = mempcpy(p, length, sizeof(length));
	memcpy(p, "/x", 2);
	ck_assert_int_eq(rules_init(&rules, 4, 4, 4), 0);
	ck_assert_int_eq(rules_decode(data, sizeof(data), &rules, &dropped), 0);
	ck_assert_uint_eq(rules.pids.count, 1);
	ck_assert_uint_eq(rules.pids.rules[0].start_time, 4200);
	ck_assert_uint_eq(rules.execs.count, 1);
	ck_assert_str_eq(rules.execs.rules[0].path, "/x");
	ck_assert_uint_eq(rules.exes.count, 0);
	ck_assert_uint_eq(rules.mode, RULES_MODE_UNSET);
	rules_done(&rules);
}
END_TEST

/* The most rules the device can make, each at the longest path, fit the
 * state file: saved, loaded and decoded whole. */
START_TEST(test_rules_at_capacity_fit_the_state_file)
{
	char dir[] = "/tmp/cusekit-unit-kprotect-XXXXXX", path[64], name[KPROTECT_FILE_CAPACITY_MAX > 0 ? 4096 : 1];
	struct rules rules, back;
	void *data, *loaded;
	size_t size, loaded_size, dropped;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/rules", dir);
	ck_assert_int_eq(rules_init(&rules, KPROTECT_PID_CAPACITY_MAX, KPROTECT_FILE_CAPACITY_MAX,
				    KPROTECT_FILE_CAPACITY_MAX), 0);
	for (uint32_t pid = 1; pid <= KPROTECT_PID_CAPACITY_MAX; pid++)
		ck_assert_int_eq(pid_set_add(&rules.pids, pid, pid), 1);
	memset(name, 'p', sizeof(name) - 1);
	name[0] = '/';
	name[sizeof(name) - 1] = '\0';
	for (uint64_t i = 0; i < KPROTECT_FILE_CAPACITY_MAX; i++) {
		ck_assert_int_eq(file_set_add(&rules.execs, 1, i, name, NULL), 1);
		ck_assert_int_eq(file_set_add(&rules.exes, 2, i, name, NULL), 1);
	}
	ck_assert_int_eq(file_set_add(&rules.execs, 1, 1u << 20, name, NULL), -ENOSPC);
	rules.mode = rules.config_mode = KPROTECT_MODE_ENFORCING;
	ck_assert_int_eq(rules_encode(&rules, &data, &size), 0);
	ck_assert_uint_eq(size, rules_encoded_max(KPROTECT_PID_CAPACITY_MAX, KPROTECT_FILE_CAPACITY_MAX,
						  KPROTECT_FILE_CAPACITY_MAX));
	ck_assert_int_eq(cusekit_state_save(path, 1, data, size), 0);
	ck_assert_int_eq(cusekit_state_load(path, 1, "the rules", &loaded, &loaded_size), 0);
	ck_assert_uint_eq(loaded_size, size);
	ck_assert_int_eq(rules_init(&back, KPROTECT_PID_CAPACITY_MAX, KPROTECT_FILE_CAPACITY_MAX,
				    KPROTECT_FILE_CAPACITY_MAX), 0);
	ck_assert_int_eq(rules_decode(loaded, loaded_size, &back, &dropped), 0);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(back.pids.count, KPROTECT_PID_CAPACITY_MAX);
	ck_assert_uint_eq(back.execs.count, KPROTECT_FILE_CAPACITY_MAX);
	ck_assert_uint_eq(back.exes.count, KPROTECT_FILE_CAPACITY_MAX);
	ck_assert_str_eq(back.exes.rules[KPROTECT_FILE_CAPACITY_MAX - 1].path, name);
	free(data);
	free(loaded);
	rules_done(&rules);
	rules_done(&back);
	ck_assert_int_eq(unlink(path), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* Rules files */

struct seen {
	char text[4096];
};

static int record_rule(const char *file, unsigned line, enum rules_file_kind kind, const char *path, void *userdata)
{
	struct seen *seen = userdata;
	size_t n = strlen(seen->text);

	/* A path named "/refused" is refused, as the enforcer refuses. */
	if (!strcmp(path, "/refused"))
		return -ENOENT;
	snprintf(seen->text + n, sizeof(seen->text) - n, "%s:%u %s %s\n", file, line, rules_file_kind_name(kind), path);
	return 0;
}

static void record_problem(const char *file, unsigned line, int error, const char *message, void *userdata)
{
	struct seen *seen = userdata;
	size_t n = strlen(seen->text);

	snprintf(seen->text + n, sizeof(seen->text) - n, "%s:%u! %d %s\n", file, line, error, message);
}

START_TEST(test_rules_file_lines)
{
	static const char text[] = "# a comment\n"
				   "\n"
				   "   \t\n"
				   "deny-exec /usr/local/bin/x\n"
				   "  add-exe\t/usr/sbin/my daemon  \t\n"
				   "  # indented comment\n"
				   "deny-exec relative/path\n"
				   "deny-exec\n"
				   "deny-exec   \n"
				   "protect /x\n"
				   "deny-execute /x\n"
				   "deny-exec /refused\n"
				   "add-exe /last-line-without-newline";
	struct seen seen = {};
	struct rules_file_callbacks cb = { record_rule, record_problem, &seen };
	FILE *f = fmemopen((void *)text, sizeof(text) - 1, "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(rules_file_parse(f, "t.rules", &cb), 6);
	fclose(f);
	ck_assert_str_eq(seen.text, "t.rules:4 deny-exec /usr/local/bin/x\n"
				    "t.rules:5 add-exe /usr/sbin/my daemon\n"
				    "t.rules:7! 0 the path must be absolute\n"
				    "t.rules:8! 0 a path is missing\n"
				    "t.rules:9! 0 a path is missing\n"
				    "t.rules:10! 0 unknown rule (deny-exec PATH or add-exe PATH)\n"
				    "t.rules:11! 0 unknown rule (deny-exec PATH or add-exe PATH)\n"
				    "t.rules:12! 2 deny-exec /refused: No such file or directory\n"
				    "t.rules:13 add-exe /last-line-without-newline\n");
}
END_TEST

START_TEST(test_rules_file_long_line_and_nul)
{
	static char text[20000];
	struct seen seen = {};
	struct rules_file_callbacks cb = { record_rule, record_problem, &seen };
	size_t n;
	FILE *f;

	n = (size_t)snprintf(text, sizeof(text), "deny-exec /");
	memset(text + n, 'x', 10000);
	n += 10000;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "\ndeny-exec /a");
	text[n++] = '\0';
	n += (size_t)snprintf(text + n, sizeof(text) - n, "b\nadd-exe /ok\n");
	f = fmemopen(text, n, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(rules_file_parse(f, "t.rules", &cb), 2);
	fclose(f);
	ck_assert_str_eq(seen.text, "t.rules:1! 36 line longer than 4112 bytes\n"
				    "t.rules:2! 22 a NUL byte in the line\n"
				    "t.rules:3 add-exe /ok\n");
}
END_TEST

static void write_file(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Files in name order, only *.rules, only what root alone may write, and
 * nothing that could hang the reader. */
START_TEST(test_rules_dir)
{
	char dir[] = "/tmp/cusekit-unit-kprotect-XXXXXX", path[512];
	struct seen seen = {};
	struct rules_file_callbacks cb = { record_rule, record_problem, &seen };

	ck_assert_int_eq(getuid(), 0);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	write_file(dir, "20-b.rules", "deny-exec /b\n", 0644);
	write_file(dir, "10-a.rules", "add-exe /a\n", 0600);
	write_file(dir, "30-writable.rules", "deny-exec /w\n", 0666);
	write_file(dir, "40-not-rules.conf", "deny-exec /c\n", 0644);
	write_file(dir, ".50-hidden.rules", "deny-exec /h\n", 0644);
	snprintf(path, sizeof(path), "%s/60-fifo.rules", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
	snprintf(path, sizeof(path), "%s/70-dir.rules", dir);
	ck_assert_int_eq(mkdir(path, 0700), 0);

	ck_assert_int_eq(rules_file_read_path(dir, &cb), 2);
	ck_assert_str_eq(seen.text, "10-a.rules:1 add-exe /a\n"
				    "20-b.rules:1 deny-exec /b\n"
				    "30-writable.rules:0! 1 not read: it must belong to root and be writable by root alone\n"
				    "60-fifo.rules:0! 77 a FIFO, not a regular file: skipped\n"
				    "70-dir.rules:0! 77 a directory, not a regular file: skipped\n");

	/* One file by its path. */
	seen.text[0] = '\0';
	snprintf(path, sizeof(path), "%s/20-b.rules", dir);
	ck_assert_int_eq(rules_file_read_path(path, &cb), 1);
	ck_assert_str_eq(seen.text, "20-b.rules:1 deny-exec /b\n");
	seen.text[0] = '\0';
	snprintf(path, sizeof(path), "%s/none", dir);
	ck_assert_int_eq(rules_file_read_path(path, &cb), -ENOENT);

	snprintf(path, sizeof(path), "rm -rf %s", dir);
	ck_assert_int_eq(system(path), 0);
}
END_TEST

/* Who opens */

START_TEST(test_opener_parsers)
{
	static const char maps[] = "55d0c0a00000-55d0c0a02000 r--p 00000000 fd:01 1234 /usr/bin/cat\n"
				   "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
				   "7f0000100000-7f0000120000 r-xp 00001000 08:11 99 /usr/lib/ld.so\n";
	Elf64_auxv_t auxv[] = { { AT_PHDR, { 0x1000 } }, { AT_BASE, { 0x7f0000100000 } }, { AT_NULL, { 0 } },
				{ AT_ENTRY, { 7 } } };
	struct mapped_file m;
	uint64_t pc;

	ck_assert_int_eq(syscall_text_pc("257 0xffffff9c 0x55 0x80000 0x0 0x0 0x0 0x7ffc 0x7f0000100abc\n", &pc), 0);
	ck_assert_uint_eq(pc, 0x7f0000100abc);
	ck_assert_int_eq(syscall_text_pc("running\n", &pc), -EBUSY);
	ck_assert_int_eq(syscall_text_pc("-1 0x7ffc 0x7f00\n", &pc), -EBUSY);
	ck_assert_int_eq(syscall_text_pc("257 0x1 zz\n", &pc), -EBADMSG);

	ck_assert_int_eq(maps_text_find(maps, 0x7f0000100abc, &m), 0);
	ck_assert_uint_eq(m.major, 8);
	ck_assert_uint_eq(m.minor, 0x11);
	ck_assert_uint_eq(m.ino, 99);
	ck_assert_int_eq(maps_text_find(maps, 0x55d0c0a00000, &m), 0);
	ck_assert_uint_eq(m.ino, 1234);
	ck_assert_int_eq(maps_text_find(maps, 0x55d0c0a02000, &m), -ENOENT);   /* end is exclusive */
	ck_assert_int_eq(maps_text_find(maps, 0x7f0000000010, &m), -ENOENT);   /* anonymous */

	ck_assert_uint_eq(auxv_value(auxv, sizeof(auxv), AT_BASE), 0x7f0000100000);
	ck_assert_uint_eq(auxv_value(auxv, sizeof(auxv), AT_ENTRY), 0);         /* after AT_NULL */
	ck_assert_uint_eq(auxv_value(auxv, 8, AT_PHDR), 0);                      /* cut short */
}
END_TEST

/* A child blocks opening a FIFO: through dlopen (the loader's code), by a
 * plain open (the program's), or as the argument of the loader run by hand. */
static pid_t blocked_opener(const char *how, const char *fifo)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (!strcmp(how, "dlopen"))
			dlopen(fifo, RTLD_NOW);
		else if (!strcmp(how, "open"))
			open(fifo, O_RDONLY);
		else
			execl(how, how, fifo, (char *)NULL);
		_exit(0);
	}
	return pid;
}

/* The loader of this very process, from its program headers. */
static void loader_path(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/exe", "r");
	Elf64_Ehdr eh;
	Elf64_Phdr ph;

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fread(&eh, sizeof(eh), 1, f), 1);
	for (int i = 0; i < eh.e_phnum; i++) {
		ck_assert_int_eq(fseek(f, (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize), SEEK_SET), 0);
		ck_assert_uint_eq(fread(&ph, sizeof(ph), 1, f), 1);
		if (ph.p_type == PT_INTERP && ph.p_filesz < size) {
			ck_assert_int_eq(fseek(f, (long)ph.p_offset, SEEK_SET), 0);
			ck_assert_uint_eq(fread(buf, ph.p_filesz, 1, f), 1);
			buf[ph.p_filesz] = '\0';
			fclose(f);
			return;
		}
	}
	ck_abort_msg("no PT_INTERP in /proc/self/exe");
}

/* Is pid asleep in open/openat? */
static bool sleeps_in_open(pid_t pid)
{
	char path[64], text[256], state = 0;
	bool in_open = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	if (fgets(text, sizeof(text), f))
		in_open = !strncmp(text, "257 ", 4) || !strncmp(text, "2 ", 2);
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	if (fscanf(f, "%*d (%*[^)]) %c", &state) != 1)
		state = 0;
	fclose(f);
	return in_open && state == 'S';
}

static int opener_of(const char *how, const char *fifo)
{
	pid_t pid = blocked_opener(how, fifo);
	int r, fd;

	/* The FIFO has no writer: the child sleeps in its open until we open
	 * it for writing. */
	while (!sleeps_in_open(pid)) {
		ck_assert_msg(waitpid(pid, NULL, WNOHANG) == 0, "the %s child ended before opening", how);
		usleep(10000);
	}
	r = opener_is_loader(pid);
	fd = open(fifo, O_WRONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
	return r;
}

START_TEST(test_opener_is_loader)
{
	char dir[] = "/tmp/cusekit-unit-kprotect-XXXXXX", fifo[128], loader[256];

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	loader_path(loader, sizeof(loader));

	ck_assert_int_eq(opener_of("dlopen", fifo), 1);
	ck_assert_int_eq(opener_of("open", fifo), 0);
	ck_assert_int_eq(opener_of(loader, fifo), 1);
	ck_assert_int_eq(opener_is_loader(0x3ffffff0), -ESRCH);

	ck_assert_int_eq(unlink(fifo), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

static Suite *kprotect_suite(void)
{
	Suite *s = suite_create("kprotect");
	TCase *tc = tcase_create("rules");

	tcase_add_test(tc, test_pid_set_sorted_and_unique);
	tcase_add_test(tc, test_pid_set_reused_pid_replaces);
	tcase_add_test(tc, test_pid_set_capacity_and_remove);
	tcase_add_test(tc, test_pid_set_paging);
	tcase_add_test(tc, test_file_set);
	tcase_add_test(tc, test_rules_roundtrip);
	tcase_add_test(tc, test_rules_decode_first_format);
	tcase_add_test(tc, test_rules_at_capacity_fit_the_state_file);
	suite_add_tcase(s, tc);
	tc = tcase_create("rules-files");
	tcase_add_test(tc, test_rules_file_lines);
	tcase_add_test(tc, test_rules_file_long_line_and_nul);
	tcase_add_test(tc, test_rules_dir);
	suite_add_tcase(s, tc);
	tc = tcase_create("opener");
	tcase_add_test(tc, test_opener_parsers);
	tcase_add_test(tc, test_opener_is_loader);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return check_run(kprotect_suite());
}
