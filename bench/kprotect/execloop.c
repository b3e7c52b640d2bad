/* SPDX-License-Identifier: MIT */
/*
 * execloop exec|open|mmap N PATH: time N executions of PATH (fork + execve
 * + wait; PATH should exit at once, like true), N open+close of PATH, or N
 * open + executable mmap + munmap + close of PATH (what a loader does), and
 * print the mean nanoseconds per operation.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int run(const char *path)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return 0;
}

static int open_close(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int map_exec(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0)
		return -1;
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -1;
	munmap(p, 4096);
	return 0;
}

int main(int argc, char *argv[])
{
	int (*op)(const char *);
	long n;
	long long start;

	if (argc != 4 || (strcmp(argv[1], "exec") && strcmp(argv[1], "open") && strcmp(argv[1], "mmap")) ||
	    (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: execloop exec|open|mmap N PATH\n");
		return 2;
	}
	op = !strcmp(argv[1], "exec") ? run : !strcmp(argv[1], "open") ? open_close : map_exec;
	start = now_ns();
	for (long i = 0; i < n; i++)
		if (op(argv[3]) < 0) {
			fprintf(stderr, "execloop: %s %s failed at %ld\n", argv[1], argv[3], i);
			return 1;
		}
	printf("%.0f\n", (double)(now_ns() - start) / (double)n);
	return 0;
}
