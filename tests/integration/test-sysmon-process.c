/* SPDX-License-Identifier: MIT */
/*
 * sysmond's process records through real syscalls: create, exec and exit
 * with every field right and one GUID; threads; each kind of process event
 * from its trigger (setuid, setsid, PR_SET_NAME, ptrace, a core dump); the
 * non-zero exit filter; a process that exits at once is still complete;
 * GUIDs differ after pid reuse; --source=proc flags what it could not read.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sysmon-flush-holder.h"
#include "sysmon-test.h"

START_TEST(test_process_records)
{
	/* It waits for a line, so its /proc entry outlives the exec's
	 * handling however busy the machine is. */
	const char *const argv[] = { "/bin/sh", "-c", "read x; exit 7", NULL };
	static const char cmdline[] = "/bin/sh\0-c\0read x; exit 7";
	int go[2];
	char image[PATH_MAX];
	struct record_log *l;
	size_t create, exec, exit_, image_load;
	const struct sysmon_create *c;
	const struct sysmon_exec *x;
	const struct sysmon_exit *e;
	const struct sysmon_image *il;
	char cwd[PATH_MAX];
	pid_t pid;

	start_sysmon("--queue-bytes=8388608");
	l = log_new(open_reader(0));
	ck_assert_ptr_nonnull(realpath("/bin/sh", image));
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(go[0], STDIN_FILENO);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(go[0]);
	await_record(l, SYSMON_PROCESS_EXEC, pid);
	ck_assert_int_eq(write(go[1], "\n", 1), 1);
	close(go[1]);
	exit_ = await_record(l, SYSMON_PROCESS_EXIT, pid);
	ck_assert_int_eq(WEXITSTATUS(reap(pid)), 7);
	create = await_record(l, SYSMON_PROCESS_CREATE, pid);
	exec = await_record(l, SYSMON_PROCESS_EXEC, pid);
	image_load = await_record(l, SYSMON_IMAGE_LOAD, pid);
	ck_assert_uint_lt(create, exec);
	ck_assert_uint_lt(exec, exit_);

	c = at(l, create);
	ck_assert_uint_eq(c->header.size, sizeof(*c));
	ck_assert_uint_eq(c->pid, pid);
	ck_assert_uint_eq(c->tid, pid);
	ck_assert_uint_eq(c->ppid, getpid());
	ck_assert_uint_eq(c->creator_tid, getpid());
	ck_assert_uint_eq(c->uid, getuid());
	ck_assert_uint_eq(c->flags & SYSMON_FLAGS_INCOMPLETE, 0);
	ck_assert_uint_ne(c->process.start_time, 0);

	x = at(l, exec);
	ck_assert_uint_eq(x->uid, getuid());
	ck_assert_uint_eq(x->image_length, strlen(image));
	ck_assert_str_eq((const char *)x + x->image_offset, image);
	ck_assert_uint_eq(x->cmdline_length, sizeof(cmdline));
	ck_assert_mem_eq((const char *)x + x->cmdline_offset, cmdline, sizeof(cmdline));
	ck_assert_uint_eq(x->argc, 3);
	ck_assert_uint_eq(x->ppid, getpid());
	ck_assert_uint_eq(x->euid, geteuid());
	ck_assert_uint_eq(x->gid, getgid());
	ck_assert_uint_eq(x->egid, getegid());
	ck_assert_uint_eq(x->sid, getsid(0));
	ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
	ck_assert_str_eq((const char *)x + x->cwd_offset, cwd);
	/* One identity across the process's records, its parent's too. */
	ck_assert_mem_eq(x->process.guid, c->process.guid, 16);
	ck_assert_mem_eq(x->parent.guid, c->parent.guid, 16);
	ck_assert_uint_eq(x->process.start_time, c->process.start_time);

	e = at(l, exit_);
	ck_assert_uint_eq(e->tid, pid);
	ck_assert_uint_eq(e->exit_code, 7);
	ck_assert_uint_eq(e->signal, 0);
	ck_assert_mem_eq(e->process.guid, c->process.guid, 16);

	il = at(l, image_load);
	ck_assert_str_eq((const char *)il + il->path_offset, image);
	ck_assert_uint_eq(il->path_length, strlen(image));

	/* A signal's death. */
	{
		const char *const sleeper[] = { "/bin/sleep", "100", NULL };

		pid = spawn(sleeper);
		await_record(l, SYSMON_PROCESS_EXEC, pid);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		e = at(l, await_record(l, SYSMON_PROCESS_EXIT, pid));
		ck_assert_uint_eq(e->signal, SIGKILL);
		ck_assert_uint_eq(e->exit_code, 0);
		ck_assert(WIFSIGNALED(reap(pid)));
	}
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

static pid_t thread_tid;

static void *thread_main(void *arg)
{
		thread_tid = gettid();
	return NULL;
}

START_TEST(test_thread_records)
{
	struct record_log *l;
	const struct sysmon_create *c;
	const struct sysmon_exit *e;
	size_t create, exit_, pos = 0;
	pthread_t t;
	int fd;

	start_sysmon("--queue-bytes=8388608");
	fd = open_reader(0);
	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_THREAD_CREATE) | SYSMON_TYPE_BIT(SYSMON_THREAD_EXIT), SYSMON_FILTER_PID,
		   getpid(), 0);
	l = log_new(fd);
	ck_assert_int_eq(pthread_create(&t, NULL, thread_main, NULL), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);

	/* The pid filter: records of this process only, threads by tid. */
	while (!log_find(l, &pos, SYSMON_THREAD_EXIT, getpid()) ||
	       ((const struct sysmon_exit *)at(l, pos))->tid != (uint32_t)thread_tid) {
		pos = 0;
		log_read(l);
	}
	exit_ = pos;
	pos = 0;
	create = (log_find(l, &pos, SYSMON_THREAD_CREATE, getpid()), pos);
	c = at(l, create);
	ck_assert_uint_eq(c->header.type, SYSMON_THREAD_CREATE);
	ck_assert_uint_eq(c->tid, thread_tid);
	ck_assert_uint_eq(c->pid, getpid());
	ck_assert_uint_lt(create, exit_);
	e = at(l, exit_);
	ck_assert_uint_eq(e->pid, getpid());
	ck_assert_uint_eq(e->exit_code, 0);
	ck_assert_uint_eq(e->signal, 0);
	/* Nothing else passed the filter. */
	for (size_t off = 0; off < l->len; off += ((const struct sysmon_header *)at(l, off))->size)
		ck_assert_uint_eq(record_pid(at(l, off)), getpid());
	free(l);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* Every record of type about pid in the log, in order: the first at or after *pos. */
static const void *await_type(struct record_log *l, uint16_t type, uint32_t pid)
{
	return at(l, await_record(l, type, pid));
}

static struct record_log *pid_log(pid_t pid, uint32_t types)
{
	int fd = open_reader(0);

	set_filter(fd, types, SYSMON_FILTER_PID, (uint32_t)pid, 0);
	return log_new(fd);
}

/* A child that waits for a byte on go before it runs fn, then exits: a
 * reader can filter on its pid first. */
static pid_t child_waiting(int go[2], void (*fn)(void))
{
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		fn();
		_exit(0);
	}
	close(go[0]);
	return pid;
}

static void go_on(int go[2])
{
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
}

static void do_setsid(void) { setsid(); }
static void do_rename(void) { prctl(PR_SET_NAME, "sysmon-renamed"); }
static void do_abort(void)
{
	struct rlimit none = { 0, 0 };   /* a core limit: no file, the dump still starts */

	setrlimit(RLIMIT_CORE, &none);
	raise(SIGABRT);
}
static uid_t target_uid;   /* UID_A as the test computes it, not its child */

static void do_setuid(void)
{
	if (setresgid(target_uid, target_uid, target_uid) < 0 || setresuid(target_uid, target_uid, target_uid) < 0)
		_exit(2);
}

START_TEST(test_event_types)
{
	const struct sysmon_id_change *u;
	const struct sysmon_comm *cm;
	const struct sysmon_session *sid;
	const struct sysmon_coredump *core;
	const struct sysmon_exit *e;
	struct record_log *l;
	int go[2];
	pid_t pid;

	start_sysmon("--queue-bytes=8388608");

	target_uid = UID_A;
	pid = child_waiting(go, do_setuid);
	l = pid_log(pid, SYSMON_TYPES_ALL);
	go_on(go);
	u = await_type(l, SYSMON_GID_CHANGE, pid);
	ck_assert_uint_eq(u->real, UID_A);
	ck_assert_uint_eq(u->effective, UID_A);
	u = await_type(l, SYSMON_UID_CHANGE, pid);
	ck_assert_uint_eq(u->real, UID_A);
	ck_assert_uint_eq(u->uid, UID_A);
	ck_assert_uint_eq(u->flags & SYSMON_FLAG_START_MISSING, 0);
	e = await_type(l, SYSMON_PROCESS_EXIT, pid);
	ck_assert_uint_eq(e->uid, UID_A);   /* the uid it ended with */
	ck_assert_mem_eq(u->process.guid, e->process.guid, 16);
	reap(pid);
	free(l);

	pid = child_waiting(go, do_setsid);
	l = pid_log(pid, SYSMON_TYPE_BIT(SYSMON_SESSION));
	go_on(go);
	sid = await_type(l, SYSMON_SESSION, pid);
	ck_assert_uint_eq(sid->tid, pid);
	ck_assert_uint_eq(sid->flags & SYSMON_FLAG_START_MISSING, 0);
	reap(pid);
	free(l);

	pid = child_waiting(go, do_rename);
	l = pid_log(pid, SYSMON_TYPE_BIT(SYSMON_COMM));
	go_on(go);
	cm = await_type(l, SYSMON_COMM, pid);
	ck_assert_str_eq(cm->comm, "sysmon-renamed");
	reap(pid);
	free(l);

	pid = child_waiting(go, do_abort);
	l = pid_log(pid, SYSMON_TYPE_BIT(SYSMON_COREDUMP) | SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT));
	go_on(go);
	core = await_type(l, SYSMON_COREDUMP, pid);
	ck_assert_uint_eq(core->ppid, getpid());
	e = await_type(l, SYSMON_PROCESS_EXIT, pid);
	ck_assert_uint_eq(e->signal, SIGABRT);
	ck_assert_mem_eq(e->process.guid, core->process.guid, 16);
	ck_assert(WIFSIGNALED(reap(pid)));
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_ptrace)
{
	const struct sysmon_ptrace *p;
	struct record_log *l;
	int status;
	pid_t pid;
	size_t pos;

	start_sysmon(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		for (;;)
			pause();
	}
	l = pid_log(pid, SYSMON_TYPE_BIT(SYSMON_PTRACE));
	ck_assert_int_eq(ptrace(PTRACE_ATTACH, pid, NULL, NULL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
	pos = await_record(l, SYSMON_PTRACE, pid);
	p = at(l, pos);
	ck_assert_uint_eq(p->attach, 1);
	ck_assert_uint_eq(p->tracer_pid, getpid());
	pos += p->header.size;
	while (!log_find(l, &pos, SYSMON_PTRACE, pid))
		log_read(l);
	p = at(l, pos);
	ck_assert_uint_eq(p->attach, 0);
	kill(pid, SIGKILL);
	reap(pid);
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

START_TEST(test_nonzero_exit_filter)
{
	_Alignas(8) unsigned char buf[256];
	const struct sysmon_exit *e = (const void *)buf;
	pid_t ok, failed;
	int fd;

	start_sysmon(NULL);
	fd = open_reader(0);
	set_filter(fd, SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT), SYSMON_FILTER_UID | SYSMON_FILTER_NONZERO_EXIT, 0, UID_A);
	ok = spawn_as(UID_A, 0);
	reap(ok);
	failed = spawn_as(UID_A, 3);
	ck_assert_int_eq(read(fd, buf, sizeof(buf)), sizeof(*e));
	ck_assert_uint_eq(e->pid, failed);
	ck_assert_uint_eq(e->exit_code, 3);
	reap(failed);
	close(fd);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* A process that exits at once still has its image and whole argv: with
 * spaces, quotes, a newline, bytes that are not UTF-8, the longest kept,
 * and one cut (flagged). */
START_TEST(test_exits_at_once_complete)
{
	char image[PATH_MAX], unique[64];
	const char *const argv[] = { "/bin/true", unique, "with space", "\"quoted\" 'single'", "new\nline", "\xff\xfe", NULL };
	static const size_t lengths[] = { 9, 0, 10, 17, 8, 2 };
	const struct sysmon_exec *x;
	struct record_log *l;
	size_t want = 0;
	pid_t pid;

	start_sysmon("--queue-bytes=8388608");
	ck_assert_ptr_nonnull(realpath("/bin/true", image));
	l = log_new(open_reader(0));
	for (int i = 0; i < 50; i++) {
		snprintf(unique, sizeof(unique), "run-%d", i);
		pid = spawn(argv);
		reap(pid);
		x = await_type(l, SYSMON_PROCESS_EXEC, pid);
		ck_assert_uint_eq(x->flags & SYSMON_FLAGS_INCOMPLETE, 0);
		ck_assert_str_eq((const char *)x + x->image_offset, image);
		want = 0;
		for (int k = 0; argv[k]; k++) {
			size_t len = k == 1 ? strlen(unique) : lengths[k];

			ck_assert_mem_eq((const char *)x + x->cmdline_offset + want, argv[k], len + 1);
			want += len + 1;
		}
		ck_assert_uint_eq(x->cmdline_length, want);
	}
	/* The longest argv kept whole, and one beyond it: cut to the
	 * limit and flagged. "/bin/true" and its NUL are 10 bytes. */
	for (int beyond = 0; beyond < 2; beyond++) {
		static char arg[SYSMON_ARGV_MAX + 100];
		size_t len = SYSMON_ARGV_MAX - 11 + (beyond ? 100 : 0);
		const char *const long_argv[] = { "/bin/true", arg, NULL };

		memset(arg, beyond ? 'B' : 'L', len);
		arg[len] = '\0';
		pid = spawn(long_argv);
		reap(pid);
		x = await_type(l, SYSMON_PROCESS_EXEC, pid);
		ck_assert_uint_eq(x->flags & SYSMON_FLAGS_INCOMPLETE, 0);
		ck_assert_uint_eq(!!(x->flags & SYSMON_FLAG_ARGV_TRUNCATED), beyond);
		ck_assert_uint_eq(x->cmdline_length, SYSMON_ARGV_MAX);
		ck_assert_mem_eq((const char *)x + x->cmdline_offset, "/bin/true", 10);
		ck_assert_mem_eq((const char *)x + x->cmdline_offset + 10, arg, SYSMON_ARGV_MAX - 10);
	}
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* The same pid again later (ns_last_pid): another GUID. */
START_TEST(test_guid_after_pid_reuse)
{
	const struct sysmon_create *first, *second;
	struct record_log *l;
	pid_t a, b = 0;

	start_sysmon("--queue-bytes=8388608");
	l = log_new(open_reader(0));
	a = spawn_as(0, 0);
	reap(a);
	first = await_type(l, SYSMON_PROCESS_CREATE, a);
	/* Start times have clock-tick resolution (CLOCK_BOOTTIME): the next
	 * process must start in a later tick. */
	{
		uint64_t later = first->process.start_time + 1000000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
		struct timespec until = { (time_t)(later / 1000000000u), (long)(later % 1000000000u) };

		while (clock_nanosleep(CLOCK_BOOTTIME, TIMER_ABSTIME, &until, NULL) == EINTR)
			;
	}
	/* Other processes may take the pid first: try until ours gets it. */
	while (b != a) {
		FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "we");

		ck_assert_ptr_nonnull(f);
		fprintf(f, "%d", (int)a - 1);
		fclose(f);
		b = spawn_as(0, 0);
		reap(b);
	}
	second = await_type(l, SYSMON_PROCESS_CREATE, b);
	while (second == first) {
		size_t pos = (size_t)((const unsigned char *)first - l->buf) + first->header.size;

		while (!log_find(l, &pos, SYSMON_PROCESS_CREATE, b))
			log_read(l);
		second = at(l, pos);
	}
	ck_assert_uint_ne(first->process.start_time, second->process.start_time);
	ck_assert_mem_ne(first->process.guid, second->process.guid, 16);
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* A child that execs argv once it reads a byte on go. */
static pid_t exec_on_go(int go[2], const char *const argv[])
{
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(go[0]);
	return pid;
}

/* The first exec record of a child of argv, read by a reader of it alone. */
static const struct sysmon_exec *exec_of(struct record_log *l, const char *const argv[], pid_t *ret)
{
	int go[2];
	pid_t pid = exec_on_go(go, argv);

	set_filter(l->fd, SYSMON_TYPE_BIT(SYSMON_PROCESS_EXEC), SYSMON_FILTER_PID, (uint32_t)pid, 0);
	l->len = 0;
	go_on(go);
	reap(pid);
	*ret = pid;
	return await_type(l, SYSMON_PROCESS_EXEC, pid);
}

/* --source=proc: what could not be read is flagged, what was read is right. */
START_TEST(test_source_proc_flags)
{
	const char *const args[] = { "--source=proc", NULL };
	char image[PATH_MAX], unique[64], setpriv_uid[32];
	const char *const argv[] = { "/bin/true", unique, NULL };
	const char *const setpriv[] = { "/usr/bin/setpriv", setpriv_uid, "--regid=0", "--clear-groups", "/bin/true",
					"after-setpriv", NULL };
	struct sysmon_status st;
	struct record_log *l;
	unsigned complete = 0, flagged = 0;
	pid_t pid;

	start_sysmon_args(args);
	l = log_new(open_reader(0));
	st = get_status(l->fd);
	ck_assert_uint_eq(st.abi_version, SYSMON_ABI_VERSION);
	ck_assert_uint_eq(st.process_source, SYSMON_SOURCE_PROC);
	ck_assert_uint_eq(st.image_source, SYSMON_SOURCE_FANOTIFY);
	ck_assert_uint_ne(st.types & SYSMON_TYPE_BIT(SYSMON_UID_CHANGE), 0);
	ck_assert_ptr_nonnull(realpath("/bin/true", image));
	for (int i = 0; i < 30; i++) {
		const struct sysmon_exec *x;

		snprintf(unique, sizeof(unique), "proc-%d", i);
		x = exec_of(l, argv, &pid);
		ck_assert_uint_eq(x->flags & SYSMON_FLAG_KERNEL, 0);
		if (x->flags & SYSMON_FLAG_ARGV_MISSING) {
			ck_assert_uint_eq(x->cmdline_length, 0);
			flagged++;
		} else {
			ck_assert(x->flags & SYSMON_FLAG_ARGV_LATE);
			ck_assert_uint_eq(x->cmdline_length, strlen("/bin/true") + 1 + strlen(unique) + 1);
			ck_assert_str_eq((const char *)x + x->cmdline_offset + strlen("/bin/true") + 1, unique);
			complete++;
		}
		if (x->flags & SYSMON_FLAG_IMAGE_MISSING)
			ck_assert_uint_eq(x->image_length, 0);
		else
			ck_assert_str_eq((const char *)x + x->image_offset, image);
	}
	ck_assert_uint_eq(complete + flagged, 30);
	/* setpriv then execs /bin/true at once: its own record never shows
	 * true's argv. */
	snprintf(setpriv_uid, sizeof(setpriv_uid), "--reuid=%u", UID_A);
	for (int i = 0; i < 20; i++) {
		const struct sysmon_exec *first = exec_of(l, setpriv, &pid);

		if (!(first->flags & SYSMON_FLAG_ARGV_MISSING))
			ck_assert_str_eq((const char *)first + first->cmdline_offset, "/usr/bin/setpriv");
	}
	free(l);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

/* A thread of ours reading /proc/<pid>/stat: does the read wait while pid
 * is inside its exec (Linux 6.18 takes the exec's lock there)? It either
 * finishes or sleeps in the read. */
struct stat_probe {
	pid_t pid, tid;
	bool done;
};

static void *stat_probe_main(void *arg)
{
	struct stat_probe *p = arg;
	char path[64], buf[1024];
	int fd;

	__atomic_store_n(&p->tid, gettid(), __ATOMIC_RELEASE);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!read(fd, buf, sizeof(buf));
		close(fd);
	}
	__atomic_store_n(&p->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static char thread_state(pid_t pid, pid_t tid)
{
	char path[96], buf[1024], state = '?';
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f) && strrchr(buf, ')'))
		sscanf(strrchr(buf, ')') + 1, " %c", &state);
	if (f)
		fclose(f);
	return state;
}

/* Is a thread of the daemon inside a read of /proc/<pid>/stat? Its syscall
 * file names the read and the descriptor, its fd link the file. */
static bool daemon_reads_stat_of(pid_t pid)
{
	char path[320], want[64], link[128];
	struct dirent *de;
	bool found = false;
	DIR *d;

	snprintf(want, sizeof(want), "/proc/%d/stat", (int)pid);
	snprintf(path, sizeof(path), "/proc/%d/task", (int)sysmond.pid);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while (!found && (de = readdir(d))) {
		long nr = -1;
		unsigned long fd;
		ssize_t n;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/syscall", (int)sysmond.pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%ld 0x%lx", &nr, &fd) == 2 && nr == SYS_read) {
			snprintf(path, sizeof(path), "/proc/%d/fd/%lu", (int)sysmond.pid, fd);
			n = readlink(path, link, sizeof(link) - 1);
			found = n > 0 && (link[n] = 0, !strcmp(link, want));
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* Made before any reader, so that what it forks holds no descriptor of the
 * device: on a byte on go it opens path close-on-exec and forks a child
 * that becomes UID_A and execs /bin/true arg; it reports the child's pid,
 * reaps it and exits with its exit code. */
static pid_t exec_parent(int go[2], int report[2], const char *path, const char *arg)
{
	uid_t uid = UID_A;   /* the test's, not the child's */
	pid_t pid;
	char c;

	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	ck_assert_int_eq(pipe2(report, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int held, status;
		pid_t child;

		if (read(go[0], &c, 1) != 1 || (held = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			_exit(100);
		child = fork();
		if (child == 0) {
			if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
				_exit(101);
			execl("/bin/true", "/bin/true", arg, (char *)NULL);
			_exit(127);
		}
		if (child < 0 || write(report[1], &child, sizeof(child)) != sizeof(child) ||
		    waitpid(child, &status, 0) != child)
			_exit(102);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 103);
	}
	return pid;
}

/* The daemon goes on while its proc source reads /proc of a process that
 * is inside an exec: here one that waits for a flush held by the test
 * (any FUSE file closed on exec does that; so would the device's own node
 * on the fuse transport, whose flush only the daemon can answer). The
 * daemon is stopped while the process is made, so it reads the process's
 * /proc only once the process is inside its exec. It must then answer
 * requests: another exec's flush of the device's node, a reader's ioctl;
 * and once the exec goes on, the record is right or flagged. */
START_TEST(test_proc_read_of_an_exec)
{
	const char *const args[] = { "--source=proc", NULL };
	struct stat_probe probe = {};
	struct flush_holder *holder = flush_holder_new();
	int go[2], report[2], status;
	char unique[64], image[PATH_MAX];
	const struct sysmon_exec *x;
	struct record_log *l;
	pthread_t probe_thread;
	pid_t parent, child, other;
	bool waits;

	snprintf(unique, sizeof(unique), "held-%d", (int)getpid());
	ck_assert_ptr_nonnull(realpath("/bin/true", image));
	start_sysmon_args(args);
	parent = exec_parent(go, report, flush_holder_path(holder), unique);
	l = log_new(open_reader(0));
	set_filter(l->fd, SYSMON_TYPE_BIT(SYSMON_PROCESS_EXEC) | SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT), SYSMON_FILTER_UID,
		   0, UID_A);

	ck_assert_int_eq(kill(sysmond.pid, SIGSTOP), 0);
	ck_assert_int_eq(waitpid(sysmond.pid, &status, WUNTRACED), sysmond.pid);
	ck_assert(WIFSTOPPED(status));
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	ck_assert_int_eq(read(report[0], &child, sizeof(child)), sizeof(child));
	flush_holder_await(holder);
	ck_assert_int_eq(kill(sysmond.pid, SIGCONT), 0);

	/* Where reading its stat waits for the exec, wait until the daemon
	 * is in that read. */
	probe.pid = child;
	ck_assert_int_eq(pthread_create(&probe_thread, NULL, stat_probe_main, &probe), 0);
	while (!__atomic_load_n(&probe.done, __ATOMIC_ACQUIRE) &&
	       (!__atomic_load_n(&probe.tid, __ATOMIC_ACQUIRE) || thread_state(getpid(), probe.tid) != 'D'))
		usleep(1000);
	waits = !__atomic_load_n(&probe.done, __ATOMIC_ACQUIRE);
	while (waits && !daemon_reads_stat_of(child) && !__atomic_load_n(&probe.done, __ATOMIC_ACQUIRE))
		usleep(1000);
	fprintf(stderr, "/proc/<pid>/stat %s for an exec on this kernel\n", waits ? "waits" : "does not wait");

	/* An exec that closes the device's node, and an ioctl: answered. */
	other = fork();
	ck_assert_int_ge(other, 0);
	if (other == 0) {
		if (open(sysmond.node, O_RDONLY | O_CLOEXEC) < 0)
			_exit(1);
		execl("/bin/true", "/bin/true", (char *)NULL);
		_exit(127);
	}
	ck_assert_int_eq(WEXITSTATUS(reap(other)), 0);
	get_stats(l->fd);

	flush_holder_release(holder);
	ck_assert_int_eq(WEXITSTATUS(reap(parent)), 0);
	ck_assert_int_eq(pthread_join(probe_thread, NULL), 0);
	x = at(l, await_record(l, SYSMON_PROCESS_EXEC, child));
	if (x->flags & SYSMON_FLAG_ARGV_MISSING)
		ck_assert_uint_eq(x->cmdline_length, 0);
	else {
		ck_assert_uint_eq(x->cmdline_length, strlen("/bin/true") + 1 + strlen(unique) + 1);
		ck_assert_str_eq((const char *)x + x->cmdline_offset + strlen("/bin/true") + 1, unique);
	}
	if (!(x->flags & SYSMON_FLAG_IMAGE_MISSING))
		ck_assert_str_eq((const char *)x + x->image_offset, image);
	await_record(l, SYSMON_PROCESS_EXIT, child);
	free(l);
	close(go[0]);
	close(go[1]);
	close(report[0]);
	close(report[1]);
	flush_holder_free(holder);
	ck_assert_int_eq(daemon_stop(&sysmond), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmon-process");
	TCase *tc = tcase_create("process");

	tcase_add_checked_fixture(tc, NULL, sysmon_teardown);
	tcase_set_timeout(tc, 120 * test_timeout_scale());
	tcase_add_test(tc, test_process_records);
	tcase_add_test(tc, test_thread_records);
	tcase_add_test(tc, test_event_types);
	tcase_add_test(tc, test_ptrace);
	tcase_add_test(tc, test_nonzero_exit_filter);
	tcase_add_test(tc, test_exits_at_once_complete);
	tcase_add_test(tc, test_guid_after_pid_reuse);
	tcase_add_test(tc, test_source_proc_flags);
	tcase_add_test(tc, test_proc_read_of_an_exec);
	suite_add_tcase(s, tc);
	return harness_run(s);
}
