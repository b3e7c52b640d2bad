/* SPDX-License-Identifier: MIT */
/*
 * zerod: the book's Zero device. read() returns zeros, write() swallows the
 * data; the daemon counts both, exactly, and keeps the counts across
 * restarts and crashes.
 *
 * Two I/O styles, as the book teaches:
 *   direct    reads are answered straight from one read-only region of zero
 *             pages and writes are acknowledged where libfuse received them:
 *             the daemon neither fills nor copies anything.
 *   buffered  every read fills the framework's buffer, every write is copied
 *             into the daemon's buffer first: the system-buffer model, for
 *             comparison.
 *
 * The counters live in a shared mapping of the state file: every count is in
 * the page cache the moment it is made, so a SIGKILL loses nothing. A
 * request is counted before its answer is sent and uncounted if the answer
 * did not arrive, so no count a client was answered is ever missing: only a
 * request whose client got an error because the daemon died mid-answer may
 * be counted. The daemon is single-threaded: the counters need neither
 * atomics nor a lock, and GET_STATS never tears.
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
/* 1: saved whole, with a CRC; 2: mapped, updated in place. */
#define ZERO_STATE_VERSION_SAVED 1
#define ZERO_STATE_VERSION 2

enum zero_io { ZERO_IO_DIRECT, ZERO_IO_BUFFERED };

struct zero {
	enum zero_io io;
	struct zero_stats *stats;   /* in the mapped state file */
	void *zero_pages;           /* direct: read-only zeros */
	void *sink;                 /* buffered: where written data is copied */
	char *state_path;
};

static ssize_t zero_read(struct cusekit_client *c, struct cusekit_request *req, size_t size)
{
	struct zero *z = cusekit_client_userdata(c);
	void *buffer;

	size = MIN(size, (size_t)ZERO_MAX_REQUEST);
	if (z->io == ZERO_IO_DIRECT)
		cusekit_request_answer_from(req, z->zero_pages);
	else {
		buffer = cusekit_request_buffer(req);
		if (!buffer)
			return -ENOMEM;
		memset(buffer, 0, size);
	}
	z->stats->total_read += size;
	z->stats->read_calls++;
	return (ssize_t)size;
}

static void zero_read_done(struct cusekit_client *c, size_t bytes, bool delivered)
{
	struct zero *z = cusekit_client_userdata(c);

	if (!delivered) {
		z->stats->total_read -= bytes;
		z->stats->read_calls--;
	}
}

static ssize_t zero_write(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size)
{
	struct zero *z = cusekit_client_userdata(c);

	if (z->io == ZERO_IO_BUFFERED)
		memcpy(z->sink, buf, MIN(size, (size_t)ZERO_MAX_REQUEST));
	z->stats->total_written += size;
	z->stats->write_calls++;
	return (ssize_t)size;
}

static void zero_write_done(struct cusekit_client *c, size_t bytes, bool delivered)
{
	struct zero *z = cusekit_client_userdata(c);

	if (!delivered) {
		z->stats->total_written -= bytes;
		z->stats->write_calls--;
	}
}

static int zero_get_stats(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct zero *z = cusekit_client_userdata(c);

	memcpy(out, z->stats, sizeof(*z->stats));
	return 0;
}

static int zero_clear_stats(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct zero *z = cusekit_client_userdata(c);
	const struct cusekit_caller *caller = cusekit_request_caller(req);

	log_info("Counters cleared by pid %d uid %u (read %llu, written %llu bytes).", (int)caller->pid,
		 (unsigned)caller->uid, (unsigned long long)z->stats->total_read,
		 (unsigned long long)z->stats->total_written);
	*z->stats = (struct zero_stats){};
	return 0;
}

static const struct cusekit_ioctl zero_ioctls[] = {
	{ ZERO_IOC_GET_STATS, zero_get_stats },
	{ ZERO_IOC_CLEAR_STATS, zero_clear_stats },
	{}
};

/* Counters saved whole by an older zerod: carried over to the mapped form
 * in one atomic replacement. */
static void zero_convert_saved(const char *path)
{
	_cleanup_free_ void *data = NULL;
	size_t size;
	int r;

	if (cusekit_state_load(path, ZERO_STATE_VERSION_SAVED, NULL, &data, &size) < 0 ||
	    size != sizeof(struct zero_stats))
		return;
	r = cusekit_state_save_mapped(path, ZERO_STATE_VERSION, data, size);
	if (r < 0)
		log_warning_errno(r, "Failed to carry over the counters of an older zerod: %m");
	else
		log_info("Carried over the counters of an older zerod.");
}

static int zero_map_counters(struct zero *z, const char *state_dir)
{
	void *map;
	int r;

	if (asprintf(&z->state_path, "%s/counters", state_dir) < 0)
		return log_oom();
	zero_convert_saved(z->state_path);
	r = cusekit_state_map(z->state_path, ZERO_STATE_VERSION, "counters", sizeof(*z->stats), &map);
	if (r < 0)
		return log_error_errno(r, "Failed to map the counters at %s: %m", z->state_path);
	z->stats = map;
	log_info("Counters: read %llu bytes in %llu calls, written %llu bytes in %llu calls.",
		 (unsigned long long)z->stats->total_read, (unsigned long long)z->stats->read_calls,
		 (unsigned long long)z->stats->total_written, (unsigned long long)z->stats->write_calls);
	return 0;
}

/* The page cache already has every count; this is for power cuts. */
static int zero_save(struct cusekit_device *d)
{
	struct zero *z = cusekit_device_userdata(d);
	int r = cusekit_state_sync(z->stats, sizeof(*z->stats));

	if (r < 0)
		return log_warning_errno(r, "Failed to write the counters back to %s: %m", z->state_path);
	return 0;
}

static int zero_start(struct cusekit_device *d)
{
	struct zero *z = cusekit_device_userdata(d);
	void *pages;

	/* Zeros in real pages, populated once and then read-only: the kernel
	 * pins them for every direct answer, which costs more for the shared
	 * zero page of untouched memory (see bench/README.md). */
	pages = mmap(NULL, ZERO_MAX_REQUEST, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (pages == MAP_FAILED)
		return log_error_errno(negative_errno(), "Failed to map the zero region: %m");
	z->zero_pages = pages;
	if (mprotect(pages, ZERO_MAX_REQUEST, PROT_READ) < 0)
		return log_error_errno(negative_errno(), "Failed to seal the zero region: %m");

	if (z->io == ZERO_IO_BUFFERED) {
		z->sink = malloc(ZERO_MAX_REQUEST);
		if (!z->sink)
			return log_oom();
	}
	log_info("I/O style: %s.", z->io == ZERO_IO_DIRECT ? "direct" : "buffered");
	return zero_map_counters(z, cusekit_device_state_dir(d));
}

static void zero_destroy(struct cusekit_device *d)
{
	struct zero *z = cusekit_device_userdata(d);

	if (z->zero_pages)
		munmap(z->zero_pages, ZERO_MAX_REQUEST);
	cusekit_state_unmap(z->stats, sizeof(*z->stats));
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

const struct cusekit_device_ops zero_device = {
	.name = "zero",
	.description = "Serve /dev/cusekit/zero: reads return zeros, writes are discarded, both are counted.",
	.node_mode = 0666,
	.options = zero_options,
	.size = sizeof(struct zero),
	.start = zero_start,
	.save = zero_save,
	.destroy = zero_destroy,
	.read = zero_read,
	.read_done = zero_read_done,
	.write = zero_write,
	.write_done = zero_write_done,
	.ioctls = zero_ioctls,
};
