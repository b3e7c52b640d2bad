/* SPDX-License-Identifier: MIT */
/*
 * zerod: the book's Zero device. read() returns zeros, write() swallows the
 * data; the daemon counts both, exactly, and keeps the counts across
 * restarts.
 *
 * Two I/O styles, as the book teaches:
 *   direct    reads are answered straight from one shared read-only region of
 *             zero pages and writes are acknowledged where libfuse received
 *             them: the daemon neither fills nor copies anything.
 *   buffered  every read fills a buffer of its own, every write is copied
 *             into the daemon's buffer first: the system-buffer model, for
 *             comparison.
 * The daemon is single-threaded, so the counters need neither atomics nor a
 * lock to be exact with any number of clients, and GET_STATS never tears.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <cusekit/zero.h>

#include "device.h"
#include "log.h"
#include "state.h"

/* The largest request either transport sends (fuse: 256 pages). */
#define ZERO_MAX_REQUEST (1u << 20)
#define ZERO_STATE_VERSION 1

enum zero_io { ZERO_IO_DIRECT, ZERO_IO_BUFFERED };

struct zero {
	enum zero_io io;
	struct zero_stats stats;
	struct zero_stats saved;    /* what the state file holds */
	const void *zero_pages;     /* direct: PROT_READ, all one shared zero page */
	void *sink;                 /* buffered: where written data is copied */
	char *state_path;
};

static void zero_read(struct cusekit_client *c, fuse_req_t req, size_t size, bool nonblock)
{
	struct zero *z = cusekit_client_userdata(c);
	_cleanup_free_ void *buffer = NULL;
	const void *data = z->zero_pages;

	(void)nonblock;
	size = MIN(size, (size_t)ZERO_MAX_REQUEST);
	if (z->io == ZERO_IO_BUFFERED && size > 0) {
		buffer = malloc(size);
		if (!buffer) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		data = memset(buffer, 0, size);
	}
	/* Count only what reached the reader: a reply to a request that was
	 * interrupted meanwhile fails, and those bytes were never read. */
	if (fuse_reply_buf(req, data, size) == 0) {
		z->stats.total_read += size;
		z->stats.read_calls++;
	}
}

static void zero_write(struct cusekit_client *c, fuse_req_t req, const void *buf, size_t size, bool nonblock)
{
	struct zero *z = cusekit_client_userdata(c);

	(void)nonblock;
	if (z->io == ZERO_IO_BUFFERED)
		memcpy(z->sink, buf, MIN(size, (size_t)ZERO_MAX_REQUEST));
	if (fuse_reply_write(req, size) == 0) {
		z->stats.total_written += size;
		z->stats.write_calls++;
	}
}

static int zero_get_stats(struct cusekit_client *c, fuse_req_t req, const void *in, void *out)
{
	struct zero *z = cusekit_client_userdata(c);

	(void)req;
	(void)in;
	memcpy(out, &z->stats, sizeof(z->stats));
	return 0;
}

static int zero_clear_stats(struct cusekit_client *c, fuse_req_t req, const void *in, void *out)
{
	struct zero *z = cusekit_client_userdata(c);
	const struct fuse_ctx *caller = cusekit_caller(req);

	(void)in;
	(void)out;
	log_info("Counters cleared by pid %d uid %u (read %llu, written %llu bytes).", (int)caller->pid,
		 (unsigned)caller->uid, (unsigned long long)z->stats.total_read,
		 (unsigned long long)z->stats.total_written);
	z->stats = (struct zero_stats){};
	return 0;
}

static const struct cusekit_ioctl zero_ioctls[] = {
	{ ZERO_IOC_GET_STATS, zero_get_stats },
	{ ZERO_IOC_CLEAR_STATS, zero_clear_stats },
	{}
};

static int zero_load(struct zero *z)
{
	_cleanup_free_ void *data = NULL;
	size_t size;
	int r;

	r = cusekit_state_load(z->state_path, ZERO_STATE_VERSION, &data, &size);
	if (r == -ENOENT)
		return 0;
	if (r >= 0 && size != sizeof(z->stats))
		r = -EBADMSG;
	if (r < 0) {
		log_warning_errno(r, "Ignoring counters in %s, starting from zero: %m", z->state_path);
		return 0;
	}
	memcpy(&z->stats, data, sizeof(z->stats));
	z->saved = z->stats;
	log_info("Resumed counters: read %llu bytes in %llu calls, written %llu bytes in %llu calls.",
		 (unsigned long long)z->stats.total_read, (unsigned long long)z->stats.read_calls,
		 (unsigned long long)z->stats.total_written, (unsigned long long)z->stats.write_calls);
	return 0;
}

static int zero_save(struct cusekit_device *d)
{
	struct zero *z = cusekit_device_userdata(d);
	int r;

	if (!memcmp(&z->stats, &z->saved, sizeof(z->stats)))
		return 0;
	r = cusekit_state_save(z->state_path, ZERO_STATE_VERSION, &z->stats, sizeof(z->stats));
	if (r < 0)
		return log_warning_errno(r, "Failed to save counters to %s: %m", z->state_path);
	z->saved = z->stats;
	return 0;
}

static int zero_start(struct cusekit_device *d)
{
	struct zero *z = cusekit_device_userdata(d);
	void *pages;

	if (asprintf(&z->state_path, "%s/counters", cusekit_device_state_dir(d)) < 0)
		return log_oom();

	/* Untouched anonymous memory: every page maps the kernel's one zero
	 * page, so the region costs no memory and stays hot in the cache. */
	pages = mmap(NULL, ZERO_MAX_REQUEST, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		return log_error_errno(negative_errno(), "Failed to map the zero region: %m");
	z->zero_pages = pages;

	if (z->io == ZERO_IO_BUFFERED) {
		z->sink = malloc(ZERO_MAX_REQUEST);
		if (!z->sink)
			return log_oom();
	}
	log_info("I/O style: %s.", z->io == ZERO_IO_DIRECT ? "direct" : "buffered");
	return zero_load(z);
}

static void zero_destroy(struct cusekit_device *d)
{
	struct zero *z = cusekit_device_userdata(d);

	if (z->zero_pages)
		munmap((void *)z->zero_pages, ZERO_MAX_REQUEST);
	free(z->sink);
	free(z->state_path);
}

static int parse_io(void *userdata, const char *arg)
{
	struct zero *z = userdata;

	if (!strcmp(arg, "direct"))
		z->io = ZERO_IO_DIRECT;
	else if (!strcmp(arg, "buffered"))
		z->io = ZERO_IO_BUFFERED;
	else
		return -EINVAL;
	return 0;
}

static const struct cusekit_option zero_options[] = {
	{ "io", true, "direct|buffered  I/O style (default: direct)", parse_io },
	{}
};

static const struct cusekit_device_ops zero_device = {
	.name = "zero",
	.description = "Serve /dev/cusekit/zero: reads return zeros, writes are discarded, both are counted.",
	.node_mode = 0666,
	.options = zero_options,
	.start = zero_start,
	.save = zero_save,
	.destroy = zero_destroy,
	.read = zero_read,
	.write = zero_write,
	.ioctls = zero_ioctls,
};

int main(int argc, char *argv[])
{
	struct zero zero = { .io = ZERO_IO_DIRECT };

	return cusekit_main(argc, argv, &zero_device, &zero);
}
