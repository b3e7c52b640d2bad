/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "log.h"
#include "macro.h"
#include "state.h"

#define STATE_MAGIC "CUSEKIT\n"
/* Mapped state: updated in place, so no CRC can cover it. */
#define STATE_FLAG_MAPPED 0x1u

struct state_header {
	char magic[8];
	uint32_t version;
	uint32_t size;
	uint32_t crc;
	uint32_t flags;
};

/* CRC-32 (IEEE 802.3, reflected), bit by bit: state files are small and
 * written rarely, so a table or a library buys nothing here. */
uint32_t cusekit_crc32(const void *data, size_t size)
{
	const unsigned char *p = data;
	uint32_t crc = 0xffffffffu;

	while (size--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1u));
	}
	return ~crc;
}

/* Open a state file to load: -ENOENT quietly, anything unusable loudly. */
static int state_open(const char *path, int flags, const char *what)
{
	struct stat st;
	int fd = open_regular(path, flags | O_NOFOLLOW, &st);

	if (!what)
		return fd;
	if (fd == -EBADFD)
		log_warning("Ignoring %s: %s is %s, not a regular file; starting fresh.", what, path, file_kind(&st));
	else if (fd < 0 && fd != -ENOENT)
		log_warning_errno(fd, "Ignoring %s: cannot open %s, starting fresh: %m", what, path);
	return fd;
}

static bool header_valid(const struct state_header *h, uint32_t version, uint32_t flags)
{
	return memcmp(h->magic, STATE_MAGIC, sizeof(h->magic)) == 0 && h->version == version && h->flags == flags &&
	       h->size <= CUSEKIT_STATE_MAX_SIZE;
}

int cusekit_state_load(const char *path, uint32_t version, const char *what, void **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = state_open(path, O_RDONLY, what);
	_cleanup_free_ void *data = NULL;
	struct state_header h;
	char extra;
	int r;

	if (fd < 0)
		return fd;
	r = read_full(fd, &h, sizeof(h));
	if (r >= 0 && !header_valid(&h, version, 0))
		r = -EBADMSG;
	if (r >= 0) {
		data = malloc(h.size ?: 1);
		r = data ? read_full(fd, data, h.size) : -ENOMEM;
	}
	if (r >= 0 && (read(fd, &extra, 1) != 0 || cusekit_crc32(data, h.size) != h.crc))
		r = -EBADMSG;
	if (r < 0 && !what)
		return r;
	if (r < 0)
		return log_warning_errno(r, "Ignoring %s in %s, starting fresh: %s", what, path,
					 r == -EBADMSG ? "corrupt, or of another version" : "%m");
	*ret = TAKE_PTR(data);
	*ret_size = h.size;
	return 0;
}

/* Write header and payload to path's temporary twin, sync, rename over. */
static int state_replace(const char *path, const struct state_header *h, const void *data)
{
	_cleanup_free_ char *tmp = NULL, *copy = strdup(path);
	_cleanup_close_ int fd = -1, dfd = -1;
	const char *dir;
	int r;

	if (!copy || asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	dir = dirname(copy);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return r;

	/* Whatever sits at the temporary name is ours to replace; never open
	 * it (a FIFO there would block). */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return negative_errno();
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	r = write_full(fd, h, sizeof(*h));
	if (r >= 0)
		r = write_full(fd, data, h->size);
	if (r >= 0 && fsync(fd) < 0)
		r = negative_errno();
	if (r >= 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	/* Make the rename itself durable. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0)
		(void)fsync(dfd);
	return 0;
}

int cusekit_state_save(const char *path, uint32_t version, const void *data, size_t size)
{
	struct state_header h = {
		.magic = STATE_MAGIC,
		.version = version,
		.size = (uint32_t)size,
		.crc = cusekit_crc32(data, size),
	};

	if (size > CUSEKIT_STATE_MAX_SIZE)
		return -EFBIG;
	return state_replace(path, &h, data);
}

/* The mapped file as it is, if it is one of ours of this version and size. */
static int state_map_existing(const char *path, uint32_t version, const char *what, size_t size, void **ret)
{
	_cleanup_close_ int fd = state_open(path, O_RDWR, what);
	struct state_header h;
	struct stat st;
	void *map;
	int r;

	if (fd < 0)
		return fd;
	r = read_full(fd, &h, sizeof(h));
	if (r >= 0 && (!header_valid(&h, version, STATE_FLAG_MAPPED) || h.size != size))
		r = -EBADMSG;
	/* A shorter file would fault on access: the size must be exact. */
	if (r >= 0 && (fstat(fd, &st) < 0 || (size_t)st.st_size != sizeof(h) + size))
		r = -EBADMSG;
	if (r < 0)
		return log_warning_errno(r, "Ignoring %s in %s, starting fresh: %s", what, path,
					 r == -EBADMSG ? "corrupt, or of another version" : "%m");
	map = mmap(NULL, sizeof(h) + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return negative_errno();
	*ret = (char *)map + sizeof(h);
	return 0;
}

int cusekit_state_save_mapped(const char *path, uint32_t version, const void *data, size_t size)
{
	struct state_header h = {
		.magic = STATE_MAGIC,
		.version = version,
		.size = (uint32_t)size,
		.flags = STATE_FLAG_MAPPED,
	};

	if (size > CUSEKIT_STATE_MAX_SIZE)
		return -EFBIG;
	return state_replace(path, &h, data);
}

int cusekit_state_map(const char *path, uint32_t version, const char *what, size_t size, void **ret)
{
	_cleanup_free_ void *zero = NULL;
	int r;

	if (state_map_existing(path, version, what, size, ret) >= 0)
		return 1;
	/* A fresh file, complete before it takes the name. */
	zero = calloc(1, size ?: 1);
	if (!zero)
		return -ENOMEM;
	r = cusekit_state_save_mapped(path, version, zero, size);
	if (r < 0)
		return r;
	r = state_map_existing(path, version, what, size, ret);
	return r < 0 ? r : 0;
}

void cusekit_state_unmap(void *data, size_t size)
{
	if (data)
		munmap((char *)data - sizeof(struct state_header), sizeof(struct state_header) + size);
}

int cusekit_state_sync(void *data, size_t size)
{
	if (msync((char *)data - sizeof(struct state_header), sizeof(struct state_header) + size, MS_SYNC) < 0)
		return negative_errno();
	return 0;
}
