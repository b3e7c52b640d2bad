/* SPDX-License-Identifier: MIT */
/*
 * cusekit Zero: /dev/cusekit/zero.
 *
 * read() fills the caller's buffer with zeros and returns the full count
 * asked for (up to the transport's request size, 128 KiB on cuse); write()
 * discards the data and returns its length. The daemon counts bytes and calls
 * exactly, whatever the number of concurrent clients, and keeps the counters
 * across restarts. Anyone may use the node (mode 0666, like /dev/zero);
 * anyone may clear the counters.
 */
#ifndef CUSEKIT_ZERO_H
#define CUSEKIT_ZERO_H

#include <cusekit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

struct zero_stats {
	__u64 total_read;     /* bytes returned by read() */
	__u64 total_written;  /* bytes accepted by write() */
	__u64 read_calls;
	__u64 write_calls;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct zero_stats) == 32, "zero_stats ABI");

#define ZERO_IOC_GET_STATS _IOR('Z', 0x01, struct zero_stats)
#define ZERO_IOC_CLEAR_STATS _IO('Z', 0x02)

#ifdef __cplusplus
}
#endif
#endif
