/* SPDX-License-Identifier: MIT */
/*
 * SysMon's BPF source alone, no device: on this kernel its programs load,
 * and every exec of many processes that exit at once arrives complete, each
 * field checked against what the test itself knows (argv with spaces,
 * quotes, newlines, invalid UTF-8, the maximum length and beyond it, image,
 * cwd, ppid, credentials, start time against /proc); forks and exits carry
 * the same GUID as the exec; a dlopen() gives IMAGE_LOAD with the address
 * /proc/<pid>/maps shows.
 */
#include <check.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>
#include <unistd.h>

#include "check-run.h"
#include "macro.h"
#include "process-bpf.h"
#include "process-table.h"
#include "procfs.h"
#include "record.h"

#define STORM 2000

/* Every record the source gave, in order. */
struct captured {
	struct sm_sink sink;
	struct sm_record **records;
	size_t n, max;
	uint64_t lost;
};

static void on_record(struct sm_sink *sink, struct sm_record *r)
{
	struct captured *c = container_of(sink, struct captured, sink);

	if (c->n == c->max) {
		c->max = c->max ? c->max * 2 : 4096;
		c->records = realloc(c->records, c->max * sizeof(*c->records));
		ck_assert_ptr_nonnull(c->records);
	}
	c->records[c->n++] = r;
}

static void on_overrun(struct sm_sink *sink, const char *source, uint64_t n)
{
	container_of(sink, struct captured, sink)->lost += n;
}

static struct captured captured;
static sd_event *event;
static struct sm_bpf *bpf;
static struct process_table processes;

static void setup(void)
{
	captured = (struct captured){ .sink = { .record = on_record, .overrun = on_overrun, .processes = &processes } };
	memcpy(captured.sink.boot_id, "\x01\x02\x03\x04", 4);
	ck_assert_int_ge(sd_event_new(&event), 0);
	ck_assert_int_eq(sm_bpf_new(event, &captured.sink, &bpf), 0);
}

static void teardown(void)
{
	sm_bpf_free(bpf);
	for (size_t i = 0; i < captured.n; i++)
		sm_record_unref(captured.records[i]);
	free(captured.records);
	sd_event_unref(event);
}

/* The process a record of the types these tests look at is about. */
static const struct sysmon_process_id *record_process(const struct sm_record *r)
{
	switch (sm_record_header(r)->type) {
	case SYSMON_PROCESS_CREATE:
		return &((const struct sysmon_create *)r->data)->process;
	case SYSMON_PROCESS_EXEC:
		return &((const struct sysmon_exec *)r->data)->process;
	case SYSMON_PROCESS_EXIT:
		return &((const struct sysmon_exit *)r->data)->process;
	case SYSMON_IMAGE_LOAD:
		return &((const struct sysmon_image *)r->data)->process;
	default:
		return NULL;
	}
}

/* A child of ours, known by what a pid cannot tell: pids are reused while
 * the tests run (pid_max may be 32768, and other programs run beside them),
 * even among our own children. */
struct child {
	pid_t pid;
	uint64_t start_time;   /* as records give it: ns since boot, to the tick */
};

/* pid is our child, alive or a zombie not yet reaped. */
static struct child child_of(pid_t pid)
{
	char path[64], buf[1024];
	uint64_t ticks;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ck_assert_int_gt(proc_read(AT_FDCWD, path, buf, sizeof(buf)), 0);
	ck_assert_int_eq(proc_stat_parse(buf, NULL, NULL, &ticks), 0);
	return (struct child){ pid, ticks * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK)) };
}

/* The next record of type about child from index *at on (0 at first; then
 * past the one returned); NULL if none. */
static const void *find_next(uint16_t type, const struct child *child, size_t *at)
{
	for (; *at < captured.n; (*at)++) {
		const struct sm_record *r = captured.records[*at];
		const struct sysmon_process_id *about;

		if (sm_record_header(r)->type != type || r->pid != (uint32_t)child->pid)
			continue;
		about = record_process(r);
		if (about && about->start_time == child->start_time)
			return captured.records[(*at)++]->data;
	}
	return NULL;
}

static const void *find(uint16_t type, const struct child *child)
{
	size_t at = 0;

	return find_next(type, child, &at);
}

/* Drains the ring until the exit of our child was seen. Every event
 * before the exit is in the ring by then (the ring keeps the kernel's order
 * per CPU, and the exit came last in that process's life). */
static void await_exit(const struct child *child)
{
	for (;;) {
		sm_bpf_drain(bpf);
		if (find(SYSMON_PROCESS_EXIT, child))
			return;
		ck_assert_int_ge(sd_event_run(event, 10 * 1000000ull), 0);
	}
}

/* In the records' unit: nanoseconds since boot, to the clock tick. */
static uint64_t proc_start_time(pid_t pid)
{
	uint64_t ticks;

	ck_assert_int_eq(proc_pid_start_time((uint32_t)pid, &ticks), 0);
	return ticks * (1000000000ull / (unsigned long long)sysconf(_SC_CLK_TCK));
}

/* Runs argv (execv, exits at once), returns the child once reaped. */
static struct child run(char *const argv[])
{
	pid_t pid = fork();
	struct child child;
	int status;

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	child = child_of(pid);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	return child;
}

static size_t argv_bytes(char *const argv[], char *out, size_t size)
{
	size_t n = 0;

	for (; *argv; argv++) {
		size_t len = strlen(*argv) + 1;

		ck_assert_uint_le(n + len, size);
		memcpy(out + n, *argv, len);
		n += len;
	}
	return n;
}

static void check_exec(const struct sysmon_exec *x, pid_t pid, char *const argv[], const char *image)
{
	static char want[2 * SYSMON_ARGV_MAX];
	size_t len = argv_bytes(argv, want, sizeof(want));
	char cwd[PATH_MAX];
	int argc = 0;

	while (argv[argc])
		argc++;
	ck_assert_ptr_nonnull(x);
	ck_assert_int_eq(sm_record_check(x, x->header.size), x->header.size);
	ck_assert_uint_eq(x->flags & (SYSMON_FLAGS_INCOMPLETE | SYSMON_FLAG_PATH_TRUNCATED), 0);
	ck_assert(x->flags & SYSMON_FLAG_KERNEL);
	ck_assert_str_eq(sysmon_record_string(x, x->image_offset), image);
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_str_eq(sysmon_record_string(x, x->cwd_offset), cwd);
	ck_assert_uint_eq(x->argc, argc);
	if (len > SYSMON_ARGV_MAX) {
		ck_assert(x->flags & SYSMON_FLAG_ARGV_TRUNCATED);
		len = SYSMON_ARGV_MAX;
	} else
		ck_assert(!(x->flags & SYSMON_FLAG_ARGV_TRUNCATED));
	ck_assert_uint_eq(x->cmdline_length, len);
	ck_assert_mem_eq(sysmon_record_string(x, x->cmdline_offset), want, len);
	ck_assert_uint_eq(x->pid, pid);
	ck_assert_uint_eq(x->ppid, getpid());
	ck_assert_uint_eq(x->uid, getuid());
	ck_assert_uint_eq(x->euid, geteuid());
	ck_assert_uint_eq(x->gid, getgid());
	ck_assert_uint_eq(x->egid, getegid());
	ck_assert_uint_eq(x->sid, getsid(0));
	ck_assert_uint_eq(x->parent.start_time, proc_start_time(getpid()));
	ck_assert_uint_ne(x->process.start_time, 0);
}

START_TEST(test_storm_complete)
{
	char image[PATH_MAX], arg[64];
	static struct child children[STORM];

	ck_assert_ptr_nonnull(realpath("/bin/true", image));
	for (int i = 0; i < STORM; i++) {
		char *argv[] = { "/bin/true", arg, "with space", NULL };

		snprintf(arg, sizeof(arg), "storm-%d-%d", (int)getpid(), i);
		children[i] = run(argv);
		if (i % 64 == 0)
			sm_bpf_drain(bpf);
	}
	await_exit(&children[STORM - 1]);
	ck_assert_uint_eq(captured.lost, 0);
	for (int i = 0; i < STORM; i++) {
		char *argv[] = { "/bin/true", arg, "with space", NULL };
		const struct sysmon_create *c = find(SYSMON_PROCESS_CREATE, &children[i]);
		const struct sysmon_exec *x = find(SYSMON_PROCESS_EXEC, &children[i]);
		const struct sysmon_exit *e = find(SYSMON_PROCESS_EXIT, &children[i]);

		snprintf(arg, sizeof(arg), "storm-%d-%d", (int)getpid(), i);
		check_exec(x, children[i].pid, argv, image);
		ck_assert_ptr_nonnull(c);
		ck_assert_ptr_nonnull(e);
		/* One identity across the process's records. */
		ck_assert_mem_eq(c->process.guid, x->process.guid, 16);
		ck_assert_mem_eq(e->process.guid, x->process.guid, 16);
		ck_assert_mem_eq(c->process.guid, "\x01\x02\x03\x04", 4);
		ck_assert_uint_eq(c->ppid, getpid());
		ck_assert_mem_eq(c->parent.guid, x->parent.guid, 16);
		ck_assert_uint_eq(e->exit_code, 0);
	}
}
END_TEST

START_TEST(test_awkward_argv)
{
	static char longest[SYSMON_ARGV_MAX], beyond[SYSMON_ARGV_MAX + 100];
	char image[PATH_MAX];
	/* "/bin/echo" + NUL is 10 bytes: longest's argv is exactly the limit. */
	char *const cases[][5] = {
		{ "/bin/echo", "a b", "\"quoted\" 'single'", "new\nline", NULL },
		{ "/bin/echo", "invalid \xff\xfe utf-8 \xc3(", "", "tab\there", NULL },
		{ "/bin/echo", longest, NULL },
		{ "/bin/echo", beyond, NULL },
	};
	struct child children[4];

	memset(longest, 'L', sizeof(longest) - 11);
	memset(beyond, 'B', sizeof(beyond) - 1);
	ck_assert_ptr_nonnull(realpath("/bin/echo", image));
	for (int i = 0; i < 4; i++) {
		int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC), saved = dup(STDOUT_FILENO);

		dup2(devnull, STDOUT_FILENO);
		children[i] = run(cases[i]);
		dup2(saved, STDOUT_FILENO);
		close(saved);
		close(devnull);
	}
	await_exit(&children[3]);
	for (int i = 0; i < 4; i++)
		check_exec(find(SYSMON_PROCESS_EXEC, &children[i]), children[i].pid, cases[i], image);
}
END_TEST

/* In a child: dlopen() a library nothing here links, report where
 * /proc/self/maps has the executable mapping holding its function, exit. */
START_TEST(test_dlopen_image_load)
{
	const char *lib = SYSMON_DLOPEN_PROBE;
	unsigned long long maps_start = 0, maps_end = 0, got[2];
	char line[PATH_MAX + 128];
	const struct sysmon_image *img = NULL, *x;
	struct child child;
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		void *h = dlopen(lib, RTLD_NOW);
		void *fn = h ? dlsym(h, "sysmon_dlopen_probe") : NULL;
		FILE *maps = fopen("/proc/self/maps", "re");
		unsigned long long a[2] = { (unsigned long long)(uintptr_t)fn, 0 };

		while (maps && fn && fgets(line, sizeof(line), maps)) {
			unsigned long long s, e;
			char perms[8];

			if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) == 3 && perms[2] == 'x' &&
			    a[0] >= s && a[0] < e)
				a[0] = s, a[1] = e;
		}
		_exit(write(fds[1], a, sizeof(a)) == sizeof(a) && a[1] ? 0 : 1);
	}
	ck_assert_int_eq(read(fds[0], got, sizeof(got)), sizeof(got));
	maps_start = got[0];
	maps_end = got[1];
	close(fds[0]);
	close(fds[1]);
	child = child_of(pid);    /* never reaped: its identity stays readable */
	await_exit(&child);
	for (size_t at = 0; (x = find_next(SYSMON_IMAGE_LOAD, &child, &at));)
		if (!strcmp(sysmon_record_string(x, x->path_offset), lib))
			img = x;
	ck_assert_msg(img, "no IMAGE_LOAD of %s for %d", lib, (int)pid);
	ck_assert_int_eq(sm_record_check(img, img->header.size), img->header.size);
	ck_assert_uint_eq(img->address, maps_start);
	ck_assert_uint_eq(img->address + img->size, maps_end);
	ck_assert_uint_eq(img->flags & (SYSMON_FLAG_NO_ADDRESS | SYSMON_FLAGS_INCOMPLETE), 0);
	/* The program and its interpreter, mapped by the kernel at exec,
	 * come from the exec itself: a child that execs. */
	{
		char *argv[] = { "/bin/true", NULL };
		char image[PATH_MAX];
		bool program = false, interpreter = false;

		ck_assert_ptr_nonnull(realpath("/bin/true", image));
		child = run(argv);
		await_exit(&child);
		for (size_t at = 0; (x = find_next(SYSMON_IMAGE_LOAD, &child, &at));) {
			const char *p = sysmon_record_string(x, x->path_offset);

			program |= !strcmp(p, image);
			interpreter |= strstr(p, "/ld-linux") != NULL;
			ck_assert_uint_gt(x->size, 0);
		}
		ck_assert(program);
		ck_assert(interpreter);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmon-bpf");
	TCase *tc = tcase_create("capture");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_storm_complete);
	tcase_add_test(tc, test_awkward_argv);
	tcase_add_test(tc, test_dlopen_image_load);
	suite_add_tcase(s, tc);
	return check_run(s);
}
