/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fs-util.h"
#include "macro.h"
#include "state.h"

#define STATE_MAGIC "CUSEKIT\n"
#define STATE_MAX_SIZE (16u << 20)

struct state_header {
	char magic[8];
	uint32_t version;
	uint32_t size;
	uint32_t crc;
	uint32_t reserved;
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

int cusekit_state_load(const char *path, uint32_t version, void **ret, size_t *ret_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ void *data = NULL;
	struct state_header h;
	char extra;
	int r;

	if (fd < 0)
		return negative_errno();
	r = read_full(fd, &h, sizeof(h));
	if (r < 0)
		return r;
	if (memcmp(h.magic, STATE_MAGIC, sizeof(h.magic)) != 0 || h.version != version ||
	    h.reserved != 0 || h.size > STATE_MAX_SIZE)
		return -EBADMSG;
	data = malloc(h.size ? h.size : 1);
	if (!data)
		return -ENOMEM;
	r = read_full(fd, data, h.size);
	if (r < 0)
		return r;
	if (read(fd, &extra, 1) != 0 || cusekit_crc32(data, h.size) != h.crc)
		return -EBADMSG;

	*ret = TAKE_PTR(data);
	*ret_size = h.size;
	return 0;
}

int cusekit_state_save(const char *path, uint32_t version, const void *data, size_t size)
{
	_cleanup_free_ char *tmp = NULL, *copy = strdup(path);
	_cleanup_close_ int fd = -1, dfd = -1;
	const char *dir;
	struct state_header h = {
		.magic = STATE_MAGIC,
		.version = version,
		.size = (uint32_t)size,
		.crc = cusekit_crc32(data, size),
	};
	int r;

	if (size > STATE_MAX_SIZE)
		return -EFBIG;
	if (!copy || asprintf(&tmp, "%s.tmp", path) < 0)
		return -ENOMEM;
	dir = dirname(copy);
	r = mkdir_p(dir, 0755);
	if (r < 0)
		return r;

	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return negative_errno();
	r = write_full(fd, &h, sizeof(h));
	if (r >= 0)
		r = write_full(fd, data, size);
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
