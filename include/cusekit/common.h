/* SPDX-License-Identifier: MIT */
/*
 * cusekit: what every device answers.
 *
 * Every cusekit device (/dev/cusekit/<name>, or /run/cusekit/<name> on the
 * fuse fallback) answers CUSEKIT_IOC_GET_INFO: who it is and how many clients
 * hold it open right now -- the "outstanding clients" question answered by the
 * device itself.
 */
#ifndef CUSEKIT_COMMON_H
#define CUSEKIT_COMMON_H

#include <linux/ioctl.h>
#include <linux/types.h>

#ifdef __cplusplus
#define CUSEKIT_STATIC_ASSERT(expr, msg) static_assert(expr, msg)
extern "C" {
#else
#define CUSEKIT_STATIC_ASSERT(expr, msg) _Static_assert(expr, msg)
#endif

#define CUSEKIT_ABI_VERSION 2
#define CUSEKIT_DEV_DIR "/dev/cusekit"   /* real character devices (cuse) */
#define CUSEKIT_FUSE_DIR "/run/cusekit"  /* one-file fuse mounts (fallback) */

/* Structs grow only at their end, and a grown struct is a new ioctl number
 * (the size is part of it): the older number is still answered with the
 * older, shorter struct, so programs built against an older header go on
 * working. */
struct cusekit_info {
	__u32 abi_version;     /* CUSEKIT_ABI_VERSION of the daemon */
	__u32 clients_open;    /* open files on the device now */
	__u64 opens_total;     /* opens since the daemon started */
	__u64 requests_total;  /* requests (open, read, write, ioctl, poll) served */
	char name[64];         /* device name, NUL-terminated */
	/* ABI 2 */
	__u32 requests_waiting; /* requests parked in the device now (blocked reads, writes, ...) */
	__u32 reserved;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct cusekit_info) == 96, "cusekit_info ABI");

#define CUSEKIT_IOC_GET_INFO _IOR('C', 0x01, struct cusekit_info)
/* ABI 1's GET_INFO: the first 88 bytes. */
#define CUSEKIT_IOC_GET_INFO_V1 _IOR('C', 0x01, char[88])

#ifdef __cplusplus
}
#endif
#endif
