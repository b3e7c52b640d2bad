/* SPDX-License-Identifier: MIT */
/*
 * sysmon-storm DEVICE[,DEVICE...] COUNT WORKERS PIDFILE: a storm of COUNT
 * short processes (posix_spawn of /bin/true with a unique argument, from
 * WORKERS processes) while one reader per device blocks in read(). For each
 * device it prints the records its reader got for the storm's processes,
 * how many exec records are complete and right (the image is /bin/true's,
 * argv exactly the one given), the losses it was told about, and the
 * latency from each exec (the record's time) to the reader's wake-up:
 * during the storm and, afterwards, for single execs 10 ms apart.
 *
 * A record belongs to a storm process when its pid is that process's and
 * its time lies between the spawn and the reap: pids are reused (the storm
 * alone wraps a 32768 pid space), by the storm and by everything else on
 * the machine, so a pid alone names no process.
 *
 * The end: after the storm, marker processes ("storm-<tag>-end-<n>") until
 * every reader has read a marker's exit: records come in the kernel's
 * order, so by then every record of the storm has come or was reported
 * lost. Writes "pid argument begin_ns end_ns" for each storm process to
 * PIDFILE, and the last marker's argument to stdout ("marker ..."), to
 * judge other tools on the same storm.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cusekit/sysmon.h>

#define DEVICES_MAX 4
#define ARG_MAX_LEN 64
#define IDLE 200

extern char **environ;

/* A process the bench made: the storm's, then the idle ones. */
struct spawned {
	uint32_t pid;
	uint64_t begin_ns, end_ns;   /* CLOCK_REALTIME before posix_spawn, after waitpid */
};

struct seen {
	uint32_t pid;
	uint16_t type;
	uint64_t time_ns;      /* the record's */
	int32_t index;         /* exec: the index its argv names, or -1 */
	bool right;            /* exec: image and argv exactly those of that index */
	bool flagged;          /* exec: a field flagged missing */
	uint64_t latency_ns;   /* exec: wake-up minus exec */
};

struct reader {
	const char *path;
	int fd;
	pthread_t thread;
	struct seen *seen;
	_Atomic size_t seen_count;    /* seen[] up to here is written */
	size_t seen_max;
	_Atomic uint64_t lost_records, kernel_overruns;
};

static struct reader readers[DEVICES_MAX];
static unsigned n_readers;
static atomic_bool stop;
static char image[PATH_MAX];
static unsigned tag;               /* this run's, in every argument */
static struct spawned *spawned;    /* shared with the workers: count + IDLE */
static unsigned count;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void argument(char out[ARG_MAX_LEN], unsigned i)
{
	snprintf(out, ARG_MAX_LEN, "storm-%u-%u", tag, i);
}

/* The index its argv names ("storm-<tag>-<i>"), or -1. */
static long index_of(const struct sysmon_exec *x)
{
	const char *argv = (const char *)x + x->cmdline_offset;
	size_t first = strlen("/bin/true") + 1;
	char want[ARG_MAX_LEN];
	unsigned long i;
	char *end;

	if (x->cmdline_length <= first || strcmp(argv, "/bin/true"))
		return -1;
	snprintf(want, sizeof(want), "storm-%u-", tag);
	if (strncmp(argv + first, want, strlen(want)))
		return -1;
	i = strtoul(argv + first + strlen(want), &end, 10);
	return *end == '\0' && i < count + IDLE ? (long)i : -1;
}

/* Image and argv exactly those of process i. */
static bool exec_right(const struct sysmon_exec *x, long i)
{
	char want[ARG_MAX_LEN];

	if (i < 0)
		return false;
	argument(want, (unsigned)i);
	return x->cmdline_length == strlen("/bin/true") + 1 + strlen(want) + 1 &&
	       !strcmp((const char *)x + x->image_offset, image);
}

static void *reader_main(void *arg)
{
	static _Alignas(8) unsigned char bufs[DEVICES_MAX][1 << 16];
	struct reader *rd = arg;
	unsigned char *buf = bufs[rd - readers];

	while (!atomic_load(&stop)) {
		struct pollfd pfd = { .fd = rd->fd, .events = POLLIN };
		ssize_t n;
		uint64_t woke;
		int bad = 0;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(rd->fd, buf, sizeof(bufs[0]));
		woke = now_ns();
		if (n <= 0)
			continue;
		for (const struct sysmon_header *h = sysmon_record_first(buf, (size_t)n, &bad); h;
		     h = sysmon_record_next(buf, (size_t)n, h, &bad)) {
			if (h->type == SYSMON_EVENTS_LOST) {
				atomic_fetch_add(&rd->lost_records, ((const struct sysmon_lost *)h)->count);
				atomic_fetch_add(&rd->kernel_overruns, ((const struct sysmon_lost *)h)->kernel_overruns);
				continue;
			}
			if (rd->seen_count < rd->seen_max) {
				struct seen *e = &rd->seen[rd->seen_count];

				*e = (struct seen){ .pid = *(const uint32_t *)(h + 1), .type = h->type,
						    .time_ns = h->time_ns, .index = -1 };
				if (h->type == SYSMON_PROCESS_EXEC) {
					const struct sysmon_exec *x = (const void *)h;

					e->index = (int32_t)index_of(x);
					e->right = exec_right(x, e->index);
					e->flagged = x->flags & SYSMON_FLAGS_INCOMPLETE;
					e->latency_ns = woke - h->time_ns;
				}
				atomic_store(&rd->seen_count, rd->seen_count + 1);
			}
		}
		if (bad)
			fprintf(stderr, "%s: malformed record\n", rd->path);
	}
	return NULL;
}

static pid_t spawn_true(const char *arg)
{
	char *const argv[] = { "/bin/true", (char *)arg, NULL };
	pid_t pid;

	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
		return -1;
	return pid;
}

static void run_one(unsigned i)
{
	char arg[ARG_MAX_LEN];
	pid_t pid;

	argument(arg, i);
	spawned[i].begin_ns = now_ns();
	pid = spawn_true(arg);
	spawned[i].pid = (uint32_t)pid;
	if (pid > 0)
		waitpid(pid, NULL, 0);
	spawned[i].end_ns = now_ns();
}

/* Has rd read the exit of pid (from *pos on, which moves)? */
static bool exit_seen(const struct reader *rd, size_t *pos, uint32_t pid)
{
	for (size_t n = atomic_load(&rd->seen_count); *pos < n; (*pos)++)
		if (rd->seen[*pos].type == SYSMON_PROCESS_EXIT && rd->seen[*pos].pid == pid)
			return true;
	return false;
}

/* Markers until every reader read one's exit; a loss reported meanwhile
 * may have taken that exit: then another. Returns the last marker's index. */
static unsigned run_markers(void)
{
	size_t pos[DEVICES_MAX] = {};

	for (unsigned n = 0;; n++) {
		char arg[ARG_MAX_LEN];
		uint64_t lost[DEVICES_MAX];
		bool again = false;
		pid_t pid;

		for (unsigned r = 0; r < n_readers; r++)
			lost[r] = atomic_load(&readers[r].lost_records) + atomic_load(&readers[r].kernel_overruns);
		snprintf(arg, sizeof(arg), "storm-%u-end-%u", tag, n);
		pid = spawn_true(arg);
		if (pid < 0)
			continue;
		waitpid(pid, NULL, 0);
		printf("marker %s\n", arg);
		for (unsigned r = 0; r < n_readers && !again; r++) {
			struct reader *rd = &readers[r];
			bool seen;

			while (!(seen = exit_seen(rd, &pos[r], (uint32_t)pid)) &&
			       atomic_load(&rd->lost_records) + atomic_load(&rd->kernel_overruns) == lost[r])
				usleep(10000);
			again = !seen;
		}
		if (!again)
			return n;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The bench's processes sorted by pid, then begin: to find a record's. */
static uint32_t *by_pid;

static int cmp_by_pid(const void *a, const void *b)
{
	const struct spawned *x = &spawned[*(const uint32_t *)a], *y = &spawned[*(const uint32_t *)b];

	if (x->pid != y->pid)
		return (x->pid > y->pid) - (x->pid < y->pid);
	return (x->begin_ns > y->begin_ns) - (x->begin_ns < y->begin_ns);
}

/* The bench's process a record of pid at time t belongs to, or -1. */
static long owner(uint32_t pid, uint64_t t)
{
	size_t lo = 0, hi = count + IDLE;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (spawned[by_pid[mid]].pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < count + IDLE && spawned[by_pid[lo]].pid == pid; lo++) {
		const struct spawned *s = &spawned[by_pid[lo]];

		if (t >= s->begin_ns && t <= s->end_ns)
			return by_pid[lo];
	}
	return -1;
}

struct tally {
	size_t fork, exec, exit, complete, flagged, wrong_unflagged;
	uint64_t *storm_latency, *idle_latency;
	size_t n_storm_latency, n_idle_latency;
};

static void judge(const struct reader *rd, struct tally *t)
{
	*t = (struct tally){ .storm_latency = calloc(rd->seen_count + 1, sizeof(uint64_t)),
			     .idle_latency = calloc(rd->seen_count + 1, sizeof(uint64_t)) };
	for (size_t i = 0; i < rd->seen_count; i++) {
		const struct seen *e = &rd->seen[i];
		long who = owner(e->pid, e->time_ns);
		bool storm = who >= 0 && (unsigned)who < count;

		if (who < 0)
			continue;
		if (!storm) {
			if (e->type == SYSMON_PROCESS_EXEC)
				t->idle_latency[t->n_idle_latency++] = e->latency_ns;
			continue;
		}
		t->fork += e->type == SYSMON_PROCESS_CREATE;
		t->exit += e->type == SYSMON_PROCESS_EXIT;
		if (e->type != SYSMON_PROCESS_EXEC)
			continue;
		t->exec++;
		t->storm_latency[t->n_storm_latency++] = e->latency_ns;
		if (e->flagged)
			t->flagged++;
		else if (e->right && e->index == who)
			t->complete++;
		else
			t->wrong_unflagged++;
	}
}

static void print_latency(const char *path, const char *name, uint64_t *lat, size_t k)
{
	qsort(lat, k, sizeof(*lat), cmp_u64);
	if (k)
		printf("%s %s_latency_us median %.1f p99 %.1f n %zu\n", path, name, lat[k / 2] / 1e3,
		       lat[k * 99 / 100] / 1e3, k);
	else
		printf("%s %s_latency_us none\n", path, name);
}

static int open_devices(char *list)
{
	struct sysmon_filter filter = { .type_mask = SYSMON_TYPE_BIT(SYSMON_PROCESS_CREATE) |
						     SYSMON_TYPE_BIT(SYSMON_PROCESS_EXEC) |
						     SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT) };
	char *save = NULL;

	for (char *p = strtok_r(list, ",", &save); p && n_readers < DEVICES_MAX; p = strtok_r(NULL, ",", &save)) {
		struct reader *rd = &readers[n_readers++];

		rd->path = p;
		rd->fd = open(p, O_RDONLY | O_CLOEXEC);
		if (rd->fd < 0 || ioctl(rd->fd, SYSMON_IOC_SET_FILTER, &filter) < 0) {
			perror(p);
			return -1;
		}
		rd->seen_max = (size_t)count * 4 + 100000;
		rd->seen = calloc(rd->seen_max, sizeof(*rd->seen));
		if (!rd->seen)
			return -1;
	}
	return 0;
}

int main(int argc, char *argv[])
{
	unsigned workers, marker;
	FILE *pidfile;
	struct timespec t0, t1;
	double seconds;

	if (argc != 5) {
		fprintf(stderr, "usage: %s DEVICE[,DEVICE...] COUNT WORKERS PIDFILE\n", argv[0]);
		return 2;
	}
	count = (unsigned)atoi(argv[2]);
	workers = (unsigned)atoi(argv[3]);
	tag = (unsigned)getpid();
	if (!realpath("/bin/true", image) || open_devices(argv[1]) < 0)
		return 1;
	spawned = mmap(NULL, (count + IDLE) * sizeof(*spawned), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);
	by_pid = calloc(count + IDLE, sizeof(*by_pid));
	if (spawned == MAP_FAILED || !by_pid)
		return 1;
	for (unsigned r = 0; r < n_readers; r++)
		pthread_create(&readers[r].thread, NULL, reader_main, &readers[r]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned w = 0; w < workers; w++)
		if (fork() == 0) {
			for (unsigned i = w; i < count; i += workers)
				run_one(i);
			_exit(0);
		}
	while (wait(NULL) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* Quiet execs, one at a time: wake-up latency without a queue. */
	for (unsigned i = 0; i < IDLE; i++) {
		run_one(count + i);
		usleep(10000);
	}
	marker = run_markers();
	atomic_store(&stop, true);
	for (unsigned r = 0; r < n_readers; r++)
		pthread_join(readers[r].thread, NULL);

	pidfile = fopen(argv[4], "we");
	for (unsigned i = 0; pidfile && i < count; i++)
		fprintf(pidfile, "%u storm-%u-%u %llu %llu\n", spawned[i].pid, tag, i,
			(unsigned long long)spawned[i].begin_ns, (unsigned long long)spawned[i].end_ns);
	if (pidfile)
		fclose(pidfile);

	for (unsigned i = 0; i < count + IDLE; i++)
		by_pid[i] = i;
	qsort(by_pid, count + IDLE, sizeof(*by_pid), cmp_by_pid);
	seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("processes %u seconds %.2f rate_per_s %.0f markers %u\n", count, seconds, count / seconds, marker + 1);
	for (unsigned r = 0; r < n_readers; r++) {
		const struct reader *rd = &readers[r];
		struct tally t;

		judge(rd, &t);
		printf("%s fork %zu exec %zu exit %zu complete_exec %zu flagged_exec %zu lost %llu kernel_overruns %llu "
		       "wrong_unflagged %zu\n",
		       rd->path, t.fork, t.exec, t.exit, t.complete, t.flagged,
		       (unsigned long long)atomic_load(&rd->lost_records),
		       (unsigned long long)atomic_load(&rd->kernel_overruns), t.wrong_unflagged);
		print_latency(rd->path, "storm", t.storm_latency, t.n_storm_latency);
		print_latency(rd->path, "idle", t.idle_latency, t.n_idle_latency);
		free(t.storm_latency);
		free(t.idle_latency);
	}
	return 0;
}
