/* SPDX-License-Identifier: MIT */
/*
 * sysmon-storm DEVICE COUNT WORKERS PIDFILE: a storm of COUNT short processes
 * (posix_spawn of /bin/true from WORKERS processes) while one reader blocks
 * in read() on the SysMon device. Prints the records the reader got for the
 * storm's processes, the losses it was told about, and the latency from
 * each exec (the kernel's timestamp) to the reader's wake-up: during the
 * storm and, afterwards, for single execs 10 ms apart. Writes the storm's
 * pids to PIDFILE, one a line, for comparing other tools on the same storm.
 */
#include <errno.h>
#include <fcntl.h>
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

extern char **environ;

struct seen {
	uint32_t pid;
	uint16_t type;
	uint64_t latency_ns;   /* exec records: wake-up minus exec */
};

static int device_fd;
static struct seen *seen;
static size_t seen_count, seen_max;
static uint64_t lost_records, kernel_overruns;
static atomic_bool stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *reader_main(void *arg)
{
	static _Alignas(8) unsigned char buf[1 << 16];

	while (!atomic_load(&stop)) {
		struct pollfd pfd = { .fd = device_fd, .events = POLLIN };
		ssize_t n;
		uint64_t woke;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		n = read(device_fd, buf, sizeof(buf));
		woke = now_ns();
		if (n <= 0)
			continue;
		for (ssize_t off = 0; off < n; off += ((struct sysmon_header *)(buf + off))->size) {
			const struct sysmon_header *h = (const void *)(buf + off);

			if (h->type == SYSMON_EVENTS_LOST) {
				lost_records += ((const struct sysmon_lost *)h)->count;
				kernel_overruns += ((const struct sysmon_lost *)h)->kernel_overruns;
				continue;
			}
			if (seen_count < seen_max)
				seen[seen_count++] = (struct seen){ *(const uint32_t *)(h + 1), h->type,
								    h->type == SYSMON_PROCESS_EXEC ? woke - h->time_ns : 0 };
		}
	}
	return NULL;
}

static pid_t spawn_true(void)
{
	char *const argv[] = { "/bin/true", NULL };
	pid_t pid;

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
static void print_latency(const char *name, const uint32_t *sorted, size_t n)
{
	uint64_t *lat = calloc(seen_count + 1, sizeof(*lat));
	size_t k = 0;

	for (size_t i = 0; i < seen_count; i++)
		if (seen[i].type == SYSMON_PROCESS_EXEC && bsearch(&seen[i].pid, sorted, n, sizeof(*sorted), cmp_u32))
			lat[k++] = seen[i].latency_ns;
	qsort(lat, k, sizeof(*lat), cmp_u64);
	if (k)
		printf("%s_latency_us median %.1f p99 %.1f n %zu\n", name, lat[k / 2] / 1e3, lat[k * 99 / 100] / 1e3, k);
	else
		printf("%s_latency_us none\n", name);
	free(lat);
}

static size_t count_type(const uint32_t *sorted, size_t n, uint16_t type)
{
	size_t k = 0;

	for (size_t i = 0; i < seen_count; i++)
		k += seen[i].type == type && bsearch(&seen[i].pid, sorted, n, sizeof(*sorted), cmp_u32);
	return k;
}

int main(int argc, char *argv[])
{
	struct sysmon_filter filter = { .type_mask = SYSMON_TYPE_BIT(SYSMON_PROCESS_CREATE) |
						     SYSMON_TYPE_BIT(SYSMON_PROCESS_EXEC) |
						     SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT) };
	unsigned count, workers, idle = 200;
	uint32_t *pids, idle_pids[200];
	pthread_t reader;
	FILE *pidfile;
	struct timespec t0, t1;

	if (argc != 5) {
		fprintf(stderr, "usage: %s DEVICE COUNT WORKERS PIDFILE\n", argv[0]);
		return 2;
	}
	count = (unsigned)atoi(argv[2]);
	workers = (unsigned)atoi(argv[3]);
	device_fd = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (device_fd < 0 || ioctl(device_fd, SYSMON_IOC_SET_FILTER, &filter) < 0) {
		perror(argv[1]);
		return 1;
	}
	seen_max = (size_t)count * 4 + 100000;
	seen = calloc(seen_max, sizeof(*seen));
	pids = mmap(NULL, count * sizeof(*pids), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!seen || pids == MAP_FAILED)
		return 1;
	pthread_create(&reader, NULL, reader_main, NULL);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (unsigned w = 0; w < workers; w++)
		if (fork() == 0) {
			for (unsigned i = w; i < count; i += workers) {
				pid_t pid = spawn_true();

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
		pid_t pid = spawn_true();

		idle_pids[i] = (uint32_t)pid;
		waitpid(pid, NULL, 0);
		usleep(10000);
	}
	sleep(2);
	atomic_store(&stop, true);
	pthread_join(reader, NULL);

	pidfile = fopen(argv[4], "we");
	for (unsigned i = 0; pidfile && i < count; i++)
		fprintf(pidfile, "%u\n", pids[i]);
	if (pidfile)
		fclose(pidfile);

	qsort(pids, count, sizeof(*pids), cmp_u32);
	qsort(idle_pids, idle, sizeof(*idle_pids), cmp_u32);
	printf("processes %u seconds %.2f rate_per_s %.0f\n", count,
	       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       count / ((double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9));
	printf("sysmon_fork %zu sysmon_exec %zu sysmon_exit %zu\n", count_type(pids, count, SYSMON_PROCESS_CREATE),
	       count_type(pids, count, SYSMON_PROCESS_EXEC), count_type(pids, count, SYSMON_PROCESS_EXIT));
	printf("sysmon_lost %llu sysmon_kernel_overruns %llu\n", (unsigned long long)lost_records,
	       (unsigned long long)kernel_overruns);
	print_latency("storm", pids, count);
	print_latency("idle", idle_pids, idle);
	return 0;
}
