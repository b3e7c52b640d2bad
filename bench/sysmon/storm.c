/* SPDX-License-Identifier: MIT */
/*
 * sysmon-storm DEVICE[,DEVICE...] COUNT WORKERS PIDFILE: a storm of COUNT
 * short processes (posix_spawn of /bin/true with a unique argument, from
 * WORKERS processes) while one reader per device blocks in read(). For each
 * device it prints the records its reader got for the storm's processes,
 * how many exec records are complete and right (the image is /bin/true's,
 * argv exactly the one given), the losses it was told about, and the
 * latency from each exec (the record's time) to the reader's wake-up:
 * during the storm and, afterwards, for single execs 10 ms apart. Writes
 * "pid argument" for each storm process to PIDFILE, to judge other tools on
 * the same storm.
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
#define ARG_MAX_LEN 48

extern char **environ;

struct seen {
	uint32_t pid;
	uint16_t type;
	int32_t index;         /* exec: the storm's index its argv names, or -1 */
	bool right;            /* exec: image and argv exactly those of that index */
	bool flagged;          /* exec: a field flagged missing */
	uint64_t latency_ns;   /* exec: wake-up minus exec */
};

struct reader {
	const char *path;
	int fd;
	pthread_t thread;
	struct seen *seen;
	size_t seen_count, seen_max;
	uint64_t lost_records, kernel_overruns;
};

static struct reader readers[DEVICES_MAX];
static unsigned n_readers;
static atomic_bool stop;
static char image[PATH_MAX];
static unsigned tag;               /* this run's, in every argument */
static uint32_t *pids;             /* shared with the workers: pids[i] ran "storm-<tag>-<i>" */
static unsigned count;
static const unsigned idle = 200;
static uint32_t idle_pids[200];

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

/* The storm's index of pid, from the argument the record names, or -1. */
static long index_of(const struct sysmon_exec *x)
{
	const char *argv = (const char *)x + x->cmdline_offset;
	size_t first = strlen("/bin/true") + 1;
	char want[ARG_MAX_LEN];
	unsigned long i;
	char *end;

	if (x->cmdline_length <= first || strcmp(argv, "/bin/true"))
		return -1;
	argument(want, 0);
	want[strlen(want) - 1] = '\0';   /* "storm-<tag>-" */
	if (strncmp(argv + first, want, strlen(want)))
		return -1;
	i = strtoul(argv + first + strlen(want), &end, 10);
	return *end == '\0' && i < count ? (long)i : -1;
}

/* Image and argv exactly those of the storm's process i (whose pid is
 * checked at the end: the worker may not have stored it yet). */
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
				rd->lost_records += ((const struct sysmon_lost *)h)->count;
				rd->kernel_overruns += ((const struct sysmon_lost *)h)->kernel_overruns;
				continue;
			}
			if (rd->seen_count < rd->seen_max) {
				struct seen *e = &rd->seen[rd->seen_count++];

				*e = (struct seen){ .pid = *(const uint32_t *)(h + 1), .type = h->type, .index = -1 };
				if (h->type == SYSMON_PROCESS_EXEC) {
					const struct sysmon_exec *x = (const void *)h;

					e->index = (int32_t)index_of(x);
					e->right = exec_right(x, e->index);
					e->flagged = x->flags & SYSMON_FLAGS_INCOMPLETE;
					e->latency_ns = woke - h->time_ns;
				}
			}
		}
		if (bad)
			fprintf(stderr, "%s: malformed record\n", rd->path);
	}
	return NULL;
}

static pid_t spawn_true(unsigned i)
{
	char arg[ARG_MAX_LEN];
	char *const argv[] = { "/bin/true", arg, NULL };
	pid_t pid;

	argument(arg, i);
	if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) != 0)
		return -1;
	return pid;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Median and p99 of the exec latencies of the sorted pids, in microseconds. */
static void print_latency(const struct reader *rd, const char *name, const uint32_t *sorted, size_t n)
{
	uint64_t *lat = calloc(rd->seen_count + 1, sizeof(*lat));
	size_t k = 0;

	for (size_t i = 0; i < rd->seen_count; i++)
		if (rd->seen[i].type == SYSMON_PROCESS_EXEC &&
		    bsearch(&rd->seen[i].pid, sorted, n, sizeof(*sorted), cmp_u32))
			lat[k++] = rd->seen[i].latency_ns;
	qsort(lat, k, sizeof(*lat), cmp_u64);
	if (k)
		printf("%s %s_latency_us median %.1f p99 %.1f n %zu\n", rd->path, name, lat[k / 2] / 1e3,
		       lat[k * 99 / 100] / 1e3, k);
	else
		printf("%s %s_latency_us none\n", rd->path, name);
	free(lat);
}

static size_t count_type(const struct reader *rd, const uint32_t *sorted, size_t n, uint16_t type)
{
	size_t k = 0;

	for (size_t i = 0; i < rd->seen_count; i++)
		k += rd->seen[i].type == type && bsearch(&rd->seen[i].pid, sorted, n, sizeof(*sorted), cmp_u32);
	return k;
}

/* Exec records of the storm: complete (right, nothing flagged missing), and
 * wrong without a flag that says so (the defect a reader cannot see). */
static void count_execs(const struct reader *rd, const uint32_t *sorted, size_t n, size_t *complete,
			size_t *unflagged)
{
	*complete = *unflagged = 0;
	for (size_t i = 0; i < rd->seen_count; i++) {
		const struct seen *e = &rd->seen[i];
		bool right;

		if (e->type != SYSMON_PROCESS_EXEC || !bsearch(&e->pid, sorted, n, sizeof(*sorted), cmp_u32))
			continue;
		right = e->right && e->index >= 0 && pids[e->index] == e->pid;
		*complete += right && !e->flagged;
		*unflagged += !right && !e->flagged;
	}
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
	uint32_t *sorted;
	unsigned workers;
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
	pids = mmap(NULL, count * sizeof(*pids), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sorted = calloc(count, sizeof(*sorted));
	if (pids == MAP_FAILED || !sorted)
		return 1;
	for (unsigned r = 0; r < n_readers; r++)
		pthread_create(&readers[r].thread, NULL, reader_main, &readers[r]);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned w = 0; w < workers; w++)
		if (fork() == 0) {
			for (unsigned i = w; i < count; i += workers) {
				pid_t pid = spawn_true(i);

				pids[i] = (uint32_t)pid;
				waitpid(pid, NULL, 0);
			}
			_exit(0);
		}
	while (wait(NULL) > 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);

	/* Quiet execs, one at a time: wake-up latency without a queue. */
	for (unsigned i = 0; i < idle; i++) {
		pid_t pid = spawn_true(count + i);

		idle_pids[i] = (uint32_t)pid;
		waitpid(pid, NULL, 0);
		usleep(10000);
	}
	/* Until every reader has been quiet for a while: what is late is
	 * lost, and the bench says so. */
	sleep(3);
	atomic_store(&stop, true);
	for (unsigned r = 0; r < n_readers; r++)
		pthread_join(readers[r].thread, NULL);

	pidfile = fopen(argv[4], "we");
	for (unsigned i = 0; pidfile && i < count; i++)
		fprintf(pidfile, "%u storm-%u-%u\n", pids[i], tag, i);
	if (pidfile)
		fclose(pidfile);

	memcpy(sorted, pids, count * sizeof(*pids));
	qsort(sorted, count, sizeof(*sorted), cmp_u32);
	qsort(idle_pids, idle, sizeof(*idle_pids), cmp_u32);
	seconds = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("processes %u seconds %.2f rate_per_s %.0f\n", count, seconds, count / seconds);
	for (unsigned r = 0; r < n_readers; r++) {
		const struct reader *rd = &readers[r];

		size_t complete, unflagged;

		count_execs(rd, sorted, count, &complete, &unflagged);
		printf("%s fork %zu exec %zu exit %zu complete_exec %zu lost %llu kernel_overruns %llu "
		       "wrong_unflagged %zu\n",
		       rd->path, count_type(rd, sorted, count, SYSMON_PROCESS_CREATE),
		       count_type(rd, sorted, count, SYSMON_PROCESS_EXEC), count_type(rd, sorted, count, SYSMON_PROCESS_EXIT),
		       complete, (unsigned long long)rd->lost_records, (unsigned long long)rd->kernel_overruns, unflagged);
		print_latency(rd, "storm", sorted, count);
		print_latency(rd, "idle", idle_pids, idle);
	}
	return 0;
}
