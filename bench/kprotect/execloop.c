/* SPDX-License-Identifier: MIT */
/*
 * execloop exec|open N PATH: time N executions of PATH (fork + execve +
 * wait; PATH should exit at once, like true) or N open+close of PATH, and
 * print the mean nanoseconds per operation.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(int argc, char *argv[])
{
	int (*op)(const char *);
	long n;
	long long start;

	if (argc != 4 || (strcmp(argv[1], "exec") && strcmp(argv[1], "open")) || (n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: execloop exec|open N PATH\n");
		return 2;
	}
	op = !strcmp(argv[1], "exec") ? run : open_close;
	start = now_ns();
	for (long i = 0; i < n; i++)
		if (op(argv[3]) < 0) {
			fprintf(stderr, "execloop: %s %s failed at %ld\n", argv[1], argv[3], i);
			return 1;
		}
	printf("%.0f\n", (double)(now_ns() - start) / (double)n);
	return 0;
}
