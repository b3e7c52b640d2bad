/* SPDX-License-Identifier: MIT */
/*
 * cusekit SysMon: /dev/cusekit/sysmon.
 *
 * read() returns whole records, as many as fit, never a partial one; if the
 * next record does not fit the buffer: EMSGSIZE, and it stays queued. A read
 * blocks until a record is queued (O_NONBLOCK: EAGAIN); poll/epoll report
 * POLLIN while records are queued. Every open file is a reader with its own
 * bounded queue (bytes, the daemon's queue-bytes option, default 1 MiB) and
 * its own filter. A reader that falls behind loses its oldest records; its
 * next read then starts with an EVENTS_LOST record counting them exactly.
 * Kernel overruns (the kernel dropped events before the daemon saw them,
 * number unknown) are reported in EVENTS_LOST too.
 *
 * Records: struct sysmon_header, then the payload of its type. Records are
 * 8-byte aligned and header.size (a multiple of 8) covers the whole record:
 * step by it, and skip types you do not know. Strings are given by offset
 * (from the record start) and length (without the NUL that follows them).
 *
 * Who sees what: root and members of the group cusekit-sysmon (at open time)
 * see every event; anyone else sees only events of processes whose real uid
 * is theirs.
 */
#ifndef CUSEKIT_SYSMON_H
#define CUSEKIT_SYSMON_H

#include <cusekit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sysmon_type {
	SYSMON_PROCESS_CREATE = 1,  /* struct sysmon_create */
	SYSMON_PROCESS_EXEC = 2,    /* struct sysmon_exec */
	SYSMON_PROCESS_EXIT = 3,    /* struct sysmon_exit */
	SYSMON_THREAD_CREATE = 4,   /* struct sysmon_create */
	SYSMON_THREAD_EXIT = 5,     /* struct sysmon_exit */
	SYSMON_IMAGE_LOAD = 6,      /* struct sysmon_path */
	SYSMON_FILE_WRITE = 7,      /* struct sysmon_path */
	SYSMON_EVENTS_LOST = 8,     /* struct sysmon_lost */
	SYSMON_TYPE_MAX = SYSMON_EVENTS_LOST,
};

#define SYSMON_TYPE_BIT(type) (1u << (type))
/* Every type a filter can select; EVENTS_LOST is always delivered. */
#define SYSMON_TYPES_ALL                                                                        \
	(SYSMON_TYPE_BIT(SYSMON_PROCESS_CREATE) | SYSMON_TYPE_BIT(SYSMON_PROCESS_EXEC) |         \
	 SYSMON_TYPE_BIT(SYSMON_PROCESS_EXIT) | SYSMON_TYPE_BIT(SYSMON_THREAD_CREATE) |          \
	 SYSMON_TYPE_BIT(SYSMON_THREAD_EXIT) | SYSMON_TYPE_BIT(SYSMON_IMAGE_LOAD) |              \
	 SYSMON_TYPE_BIT(SYSMON_FILE_WRITE))

struct sysmon_header {
	__u16 type;      /* enum sysmon_type */
	__u16 size;      /* the whole record, header included; multiple of 8 */
	__u32 reserved;
	__u64 time_ns;   /* CLOCK_REALTIME */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_header) == 16, "sysmon_header ABI");

/* PROCESS_CREATE: pid == tid, the new process; ppid its parent process.
 * THREAD_CREATE: tid the new thread of process pid (ppid == pid).
 * creator_tid: the thread that called fork/clone. uid: real uid. */
struct sysmon_create {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 creator_tid;
	__u32 uid;
	__u32 reserved;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_create) == 40, "sysmon_create ABI");

/* PROCESS_EXEC: the image (/proc/<pid>/exe) and command line (argv strings,
 * each followed by a NUL, as /proc/<pid>/cmdline; length counts those NULs,
 * at most 4096 bytes). Both are read when the daemon handles the event: a
 * process that is already gone leaves them empty. */
struct sysmon_exec {
	struct sysmon_header header;
	__u32 pid;
	__u32 uid;
	__u16 image_offset;
	__u16 image_length;
	__u16 cmdline_offset;
	__u16 cmdline_length;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_exec) == 32, "sysmon_exec ABI");

/* PROCESS_EXIT (tid == pid) and THREAD_EXIT: exit_code as given to exit()
 * (0..255) and signal, the signal that terminated it (0: none). */
struct sysmon_exit {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 exit_code;
	__u32 signal;
	__u32 uid;
	__u32 core_dumped;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_exit) == 40, "sysmon_exit ABI");

/* IMAGE_LOAD: a file opened for execution (the program, its interpreter).
 * FILE_WRITE: a file under a watched path closed after writing. */
struct sysmon_path {
	struct sysmon_header header;
	__u32 pid;
	__u32 uid;
	__u16 path_offset;
	__u16 path_length;
	__u32 reserved;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_path) == 32, "sysmon_path ABI");

#define SYSMON_LOST_READER 0x1   /* this reader's queue was full: count records dropped */
#define SYSMON_LOST_KERNEL 0x2   /* the kernel dropped events: how many is unknown */

/* Since the previous EVENTS_LOST (or the open), before the next record. */
struct sysmon_lost {
	struct sysmon_header header;
	__u64 count;             /* records this reader lost, exactly */
	__u32 reasons;           /* SYSMON_LOST_* */
	__u32 kernel_overruns;   /* times the kernel reported dropping events */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_lost) == 32, "sysmon_lost ABI");

/* SYSMON_IOC_SET_FILTER: records of types in type_mask (SYSMON_TYPE_BIT),
 * and, with the flags, only of process pid / real uid uid. Replaces the
 * previous filter and drops queued records that do not pass it. A new reader
 * gets everything it may see. */
#define SYSMON_FILTER_PID 0x1
#define SYSMON_FILTER_UID 0x2
struct sysmon_filter {
	__u32 type_mask;
	__u32 flags;     /* SYSMON_FILTER_* */
	__u32 pid;
	__u32 uid;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_filter) == 16, "sysmon_filter ABI");

/* SYSMON_IOC_GET_STATS: this reader's counters. */
struct sysmon_stats {
	__u64 delivered;        /* records returned by read(), EVENTS_LOST excluded */
	__u64 dropped;          /* records lost because the queue was full */
	__u64 kernel_overruns;  /* kernel overruns since the open */
	__u64 queued;           /* records queued now */
	__u64 queued_bytes;
	__u64 queue_bytes;      /* the queue's limit */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_stats) == 48, "sysmon_stats ABI");

/* SYSMON_IOC_SET_EVENTFD: fd is an eventfd of the caller's process (-1:
 * none); the daemon takes its own reference and adds 1 to it whenever a
 * record is queued to this reader's empty queue (drain with reads until
 * EAGAIN after each wake-up). EBADF: no such fd; EINVAL: not an eventfd. The
 * reference goes with this open file. */
struct sysmon_eventfd {
	__s32 fd;
	__u32 reserved;  /* 0 */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_eventfd) == 8, "sysmon_eventfd ABI");

#define SYSMON_IOC_SET_FILTER _IOW('S', 0x01, struct sysmon_filter)
#define SYSMON_IOC_GET_STATS _IOR('S', 0x02, struct sysmon_stats)
#define SYSMON_IOC_SET_EVENTFD _IOW('S', 0x03, struct sysmon_eventfd)

#ifdef __cplusplus
}
#endif
#endif
