/* SPDX-License-Identifier: MIT */
/*
 * sysmond's file and image records through real syscalls: create, write,
 * rename and delete inside a directory made after the daemon started, each
 * with its record; files outside the watched tree are not reported; the
 * daemon's own writes are left out (and would have been reported); a
 * dlopen() gives IMAGE_LOAD with the address /proc/<pid>/maps shows.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "file-events.h"
#include "macro.h"
#include "sysmon-test.h"

/* The next record of type of this process from pos on, whose (new) path is path. */
static const void *await_path(struct record_log *l, size_t *pos, uint16_t type, const char *path)
{
	for (;;) {
		while (!log_find(l, pos, type, (uint32_t)getpid()))
			log_read(l);
		if (type == SYSMON_FILE_RENAME) {
			const struct sysmon_rename *r = at(l, *pos);

			if (!strcmp((const char *)r + r->new_offset, path))
				return r;
		} else {
			const struct sysmon_path *p = at(l, *pos);

			if (!strcmp((const char *)p + p->path_offset, path))
				return p;
		}
		*pos += ((const struct sysmon_header *)at(l, *pos))->size;
	}
}

START_TEST(test_file_events_in_new_directory)
{
	char dir[128], file[192], renamed[192], outside[192];
	const struct sysmon_path *p;
	const struct sysmon_rename *r;
	struct record_log *l;
	size_t pos = 0;
	int fd;

	start_sysmon(NULL);
	fd = open_reader(0);
	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_FILE_CREATE) | SYSMON_TYPE_BIT(SYSMON_FILE_WRITE) |
			       SYSMON_TYPE_BIT(SYSMON_FILE_RENAME) | SYSMON_TYPE_BIT(SYSMON_FILE_DELETE),
		   SYSMON_FILTER_PID, getpid(), 0);
	l = log_new(fd);
	ck_assert_uint_eq(get_status(fd).file_source, SYSMON_SOURCE_FANOTIFY);
	ck_assert_uint_eq(get_status(fd).unwatched, 0);

	/* Outside the watched tree, on the same file system, before all the
	 * rest: not reported. */
	snprintf(outside, sizeof(outside), "%s-outside", watch_dir);
	ck_assert_int_eq(mkdir(outside, 0755), 0);
	ck_assert_int_eq(rmdir(outside), 0);
	snprintf(dir, sizeof(dir), "%s/made-after-start", watch_dir);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(file, sizeof(file), "%s/file", dir);
	snprintf(renamed, sizeof(renamed), "%s/renamed", dir);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
	ck_assert_int_eq(rename(file, renamed), 0);
	ck_assert_int_eq(unlink(renamed), 0);

	p = await_path(l, &pos, SYSMON_FILE_CREATE, dir);
	ck_assert_uint_eq(p->kind, SYSMON_PATH_DIRECTORY);
	ck_assert_uint_eq(p->uid, getuid());
	ck_assert_uint_eq(p->flags & SYSMON_FLAGS_INCOMPLETE, 0);
	p = await_path(l, &pos, SYSMON_FILE_CREATE, file);
	ck_assert_uint_eq(p->kind, 0);
	p = await_path(l, &pos, SYSMON_FILE_WRITE, file);
	ck_assert_uint_eq(p->path_length, strlen(file));
	r = await_path(l, &pos, SYSMON_FILE_RENAME, renamed);
	ck_assert_str_eq((const char *)r + r->old_offset, file);
	p = await_path(l, &pos, SYSMON_FILE_DELETE, renamed);
	ck_assert_uint_eq(p->kind, 0);
	/* Nothing from outside, which came before. */
	for (size_t off = 0; off < l->len; off += ((const struct sysmon_header *)at(l, off))->size) {
		const struct sysmon_path *q = at(l, off);

		if (q->header.type != SYSMON_FILE_RENAME)
			ck_assert_ptr_null(strstr((const char *)q + q->path_offset, "-outside"));
	}
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* A path whose file system cannot be marked (procfs gives no file handles)
 * is logged and counted, never dropped in silence; the others are watched. */
START_TEST(test_unwatchable_counted)
{
	char arg[128], file[128], line[1024];
	const char *const args[] = { arg, NULL };
	struct sysmon_status st;
	struct record_log *l;
	bool logged = false;
	size_t pos = 0;
	FILE *f;
	int fd;

	snprintf(watch_dir, sizeof(watch_dir), "/tmp/sysmon-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(watch_dir));
	snprintf(arg, sizeof(arg), "--watch=%s,/proc", watch_dir);
	daemon_start(&sysmond, "sysmon", args);
	l = log_new(open_reader(0));
	set_filter(l->fd, SYSMON_TYPE_BIT(SYSMON_FILE_CREATE), SYSMON_FILTER_PID, getpid(), 0);
	st = get_status(l->fd);
	ck_assert_uint_eq(st.file_source, SYSMON_SOURCE_FANOTIFY);
	ck_assert_uint_eq(st.watched, 1);
	ck_assert_uint_eq(st.unwatched, 1);
	/* Logged by the time it said READY=1. */
	f = fopen(sysmond.log, "re");
	ck_assert_ptr_nonnull(f);
	while (!logged && fgets(line, sizeof(line), f))
		logged = strstr(line, "Cannot watch file events under /proc");
	fclose(f);
	ck_assert_msg(logged, "%s does not say /proc could not be watched", sysmond.log);

	snprintf(file, sizeof(file), "%s/watched", watch_dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	close(fd);
	await_path(l, &pos, SYSMON_FILE_CREATE, file);
	close(l->fd);
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* The records of a file source run in the test's own process. */
struct own_source {
	struct sm_sink sink;
	struct process_table processes;
	struct sm_record **records;
	size_t n;
};

static void own_record(struct sm_sink *sink, struct sm_record *r)
{
	struct own_source *o = container_of(sink, struct own_source, sink);

	o->records = realloc(o->records, (o->n + 1) * sizeof(*o->records));
	ck_assert_ptr_nonnull(o->records);
	o->records[o->n++] = r;
}

static void own_overrun(struct sm_sink *sink, const char *source, uint64_t n)
{
	ck_abort_msg("the file source lost %llu events", (unsigned long long)n);
}

/* Has the source given a record of type about path? */
static bool own_has(const struct own_source *o, uint16_t type, const char *path)
{
	for (size_t i = 0; i < o->n; i++) {
		const struct sysmon_path *p = (const void *)o->records[i]->data;

		if (p->header.type == type && !strcmp((const char *)p + p->path_offset, path))
			return true;
	}
	return false;
}

static void write_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "x", 1), 1);
	close(fd);
}

/* The file source leaves out the writes of the process it runs in (the
 * daemon's own: its node on the fuse transport, say). Run here, in the
 * test's process, it must report nothing of the test's own file, while
 * sysmond, watching the same directory from its process, reports those
 * very writes (they do make events), and both report a child's, which
 * came after. */
START_TEST(test_own_writes_left_out)
{
	struct own_source o = { .sink = { .record = own_record, .overrun = own_overrun, .processes = &o.processes } };
	char own[192], child_file[192], *watch[2] = { watch_dir, NULL };
	struct sm_files *files;
	struct record_log *l;
	sd_event *e;
	size_t pos = 0;
	pid_t child;
	int fd;

	start_sysmon(NULL);
	fd = open_reader(0);
	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_FILE_CREATE) | SYSMON_TYPE_BIT(SYSMON_FILE_WRITE), SYSMON_FILTER_PID,
		   getpid(), 0);
	l = log_new(fd);
	ck_assert_int_ge(sd_event_new(&e), 0);
	ck_assert_int_eq(sm_files_new(e, watch, &o.sink, &files), 0);

	snprintf(own, sizeof(own), "%s/own", watch_dir);
	snprintf(child_file, sizeof(child_file), "%s/child", watch_dir);
	write_file(own);
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int cfd = open(child_file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		_exit(cfd >= 0 && write(cfd, "x", 1) == 1 && close(cfd) == 0 ? 0 : 1);
	}
	ck_assert_int_eq(WEXITSTATUS(reap(child)), 0);

	/* The child's write is the source's last event: once it is there,
	 * whatever it was to report of the test's own came before. */
	while (!own_has(&o, SYSMON_FILE_WRITE, child_file))
		ck_assert_int_ge(sd_event_run(e, UINT64_MAX), 0);
	ck_assert(own_has(&o, SYSMON_FILE_CREATE, child_file));
	ck_assert(!own_has(&o, SYSMON_FILE_CREATE, own));
	ck_assert(!own_has(&o, SYSMON_FILE_WRITE, own));

	/* The same writes, seen from another process: reported. */
	ck_assert_uint_eq(((const struct sysmon_path *)await_path(l, &pos, SYSMON_FILE_CREATE, own))->pid, getpid());
	ck_assert_uint_eq(((const struct sysmon_path *)await_path(l, &pos, SYSMON_FILE_WRITE, own))->pid, getpid());

	sm_files_free(files);
	for (size_t i = 0; i < o.n; i++)
		sm_record_unref(o.records[i]);
	free(o.records);
	process_table_clear(&o.processes);
	sd_event_unref(e);
	free(l);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_dlopen_image_load)
{
	const char *lib = build_path("tests/integration/libsysmon-dlopen-probe.so");
	unsigned long long got[2];
	const struct sysmon_image *img = NULL;
	struct record_log *l;
	char real[PATH_MAX];
	int fds[2];
	pid_t pid;

	ck_assert_ptr_nonnull(realpath(lib, real));
	start_sysmon(NULL);
	l = log_new(open_reader(0));
	if (get_status(l->fd).image_source != SYSMON_SOURCE_BPF)
		ck_abort_msg("IMAGE_LOAD of mappings needs the BPF source, which this kernel refused");
	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		void *h = dlopen(real, RTLD_NOW);
		void *fn = h ? dlsym(h, "sysmon_dlopen_probe") : NULL;
		FILE *maps = fopen("/proc/self/maps", "re");
		unsigned long long a[2] = { (unsigned long long)(uintptr_t)fn, 0 };
		char line[PATH_MAX + 128];

		while (maps && fn && fgets(line, sizeof(line), maps)) {
			unsigned long long s, e;
			char perms[8];

			if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) == 3 && perms[2] == 'x' && a[0] >= s && a[0] < e)
				a[0] = s, a[1] = e;
		}
		_exit(write(fds[1], a, sizeof(a)) == sizeof(a) && a[1] ? 0 : 1);
	}
	ck_assert_int_eq(read(fds[0], got, sizeof(got)), sizeof(got));
	ck_assert_int_eq(WEXITSTATUS(reap(pid)), 0);
	close(fds[0]);
	close(fds[1]);
	for (size_t pos = 0; !img; pos += ((const struct sysmon_header *)at(l, pos))->size) {
		const struct sysmon_image *x;

		while (!log_find(l, &pos, SYSMON_IMAGE_LOAD, pid))
			log_read(l);
		x = at(l, pos);
		if (!strcmp((const char *)x + x->path_offset, real))
			img = x;
	}
	ck_assert_uint_eq(img->address, got[0]);
	ck_assert_uint_eq(img->address + img->size, got[1]);
	ck_assert_uint_eq(img->flags & (SYSMON_FLAG_NO_ADDRESS | SYSMON_FLAGS_INCOMPLETE), 0);
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmon-files");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, NULL, sysmon_teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_file_events_in_new_directory);
	tcase_add_test(tc, test_own_writes_left_out);
	tcase_add_test(tc, test_unwatchable_counted);
	tcase_add_test(tc, test_dlopen_image_load);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
