/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "macro.h"

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *copy = strdup(path);

	if (!copy)
		return -ENOMEM;
	for (char *slash = strchr(copy + 1, '/');; slash = strchr(slash + 1, '/')) {
		if (slash)
			*slash = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST)
			return negative_errno();
		if (!slash)
			return 0;
		*slash = '/';
	}
}

int read_full(int fd, void *buf, size_t size)
{
	for (size_t done = 0; done < size;) {
		ssize_t n = read(fd, (char *)buf + done, size - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -EBADMSG;
		done += (size_t)n;
	}
	return 0;
}

int write_full(int fd, const void *buf, size_t size)
{
	for (size_t done = 0; done < size;) {
		ssize_t n = write(fd, (const char *)buf + done, size - done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		done += (size_t)n;
	}
	return 0;
}

int open_regular(const char *path, int flags, struct stat *ret_st)
{
	_cleanup_close_ int fd = -1;
	char proc_path[64];
	int r;

	fd = open(path, O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW));
	if (fd < 0)
		return negative_errno();
	if (fstat(fd, ret_st) < 0)
		return negative_errno();
	if (!S_ISREG(ret_st->st_mode))
		return -EBADFD;
	/* Reopen the very inode looked at, not whatever the path names now. */
	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
	r = open(proc_path, (flags & ~O_NOFOLLOW) | O_CLOEXEC | O_NOCTTY);
	return r < 0 ? negative_errno() : r;
}

const char *file_kind(const struct stat *st)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFLNK: return "a symbolic link";
	default: return "an unknown kind of file";
	}
}
