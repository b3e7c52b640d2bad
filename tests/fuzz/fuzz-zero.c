/* SPDX-License-Identifier: MIT */
/* Zero: reads of every size in both I/O styles, writes, the counters. */
#include <assert.h>
#include <string.h>

#include <cusekit/zero.h>

#include "fuzz-driver.h"

extern const struct cusekit_device_ops zero_device;

static const char *const direct[] = { "--io=direct", NULL };
static const char *const buffered[] = { "--io=buffered", NULL };
static const char *const *const configs[] = { direct, buffered, NULL };

static const unsigned ioctls[] = { ZERO_IOC_GET_STATS, ZERO_IOC_CLEAR_STATS, 0 };

/* Zeros, and nothing else. */
static void check_read(const void *data, size_t size)
{
	static const unsigned char zeros[4096];

	for (size_t i = 0; i < size; i += sizeof(zeros))
		assert(!memcmp((const unsigned char *)data + i, zeros, MIN(size - i, sizeof(zeros))));
}

const struct fuzz_target fuzz_target = {
	.ops = &zero_device,
	.configs = configs,
	.ioctls = ioctls,
	.check_read = check_read,
};
