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
 * Kernel overruns (the kernel dropped events before the daemon saw them)
 * are reported in EVENTS_LOST too.
 *
 * Records: struct sysmon_header, then the payload of its type. Records are
 * 8-byte aligned and header.size (a multiple of 8) covers the whole record:
 * step by it, and skip types you do not know (sysmon_record_next() does).
 * Strings are given by offset (from the record start) and length (without
 * the NUL that follows them).
 *
 * Growth without breaking readers (SYSMON_ABI_VERSION): a record type keeps
 * its number and its fields' places forever; new fields are appended, so a
 * record may be longer than the struct a reader was built with (read what
 * you know, step by header.size) or, from an older daemon, shorter (check
 * header.size before reading an appended field: sysmon_has_field()). New
 * kinds of event get new type numbers. SYSMON_IOC_GET_STATUS says which
 * types this daemon emits and from which sources.
 *
 * Processes: every process record carries the process's start time and its
 * GUID (struct sysmon_process_id), the same in its create, exec, exit and
 * every other record, and different for a later process with the same pid.
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

/* 1: types 1..8 with their first fields. 2: the fields marked "since 2",
 * types 9..17, SYSMON_IOC_GET_STATUS. */
#define SYSMON_ABI_VERSION 2

enum sysmon_type {
	SYSMON_PROCESS_CREATE = 1,  /* struct sysmon_create */
	SYSMON_PROCESS_EXEC = 2,    /* struct sysmon_exec */
	SYSMON_PROCESS_EXIT = 3,    /* struct sysmon_exit */
	SYSMON_THREAD_CREATE = 4,   /* struct sysmon_create */
	SYSMON_THREAD_EXIT = 5,     /* struct sysmon_exit */
	SYSMON_IMAGE_LOAD = 6,      /* struct sysmon_image */
	SYSMON_FILE_WRITE = 7,      /* struct sysmon_path */
	SYSMON_EVENTS_LOST = 8,     /* struct sysmon_lost */
	/* since 2 */
	SYSMON_UID_CHANGE = 9,      /* struct sysmon_id_change: setuid() and friends */
	SYSMON_GID_CHANGE = 10,     /* struct sysmon_id_change: setgid() and friends */
	SYSMON_SESSION = 11,        /* struct sysmon_session: setsid() */
	SYSMON_PTRACE = 12,         /* struct sysmon_ptrace: attach and detach */
	SYSMON_COMM = 13,           /* struct sysmon_comm: a new name (prctl, /proc/<pid>/comm) */
	SYSMON_COREDUMP = 14,       /* struct sysmon_coredump */
	SYSMON_FILE_CREATE = 15,    /* struct sysmon_path */
	SYSMON_FILE_DELETE = 16,    /* struct sysmon_path */
	SYSMON_FILE_RENAME = 17,    /* struct sysmon_rename */
	SYSMON_TYPE_MAX = SYSMON_FILE_RENAME,
};

#define SYSMON_TYPE_BIT(type) (1u << (type))
/* Every type a filter can select; EVENTS_LOST is always delivered. */
#define SYSMON_TYPES_ALL (((1u << (SYSMON_TYPE_MAX + 1)) - 2) & ~SYSMON_TYPE_BIT(SYSMON_EVENTS_LOST))

struct sysmon_header {
	__u16 type;      /* enum sysmon_type */
	__u16 size;      /* the whole record, header included; multiple of 8 */
	__u32 reserved;
	__u64 time_ns;   /* CLOCK_REALTIME */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_header) == 16, "sysmon_header ABI");

/* Identity that survives pid reuse. start_time: nanoseconds after boot
 * (CLOCK_BOOTTIME) when the process started, at the resolution of
 * /proc/<pid>/stat's starttime (clock ticks: a multiple of 1e9 / USER_HZ),
 * so every source agrees. guid: bytes 0-3 the first four bytes of the boot
 * id (/proc/sys/kernel/random/boot_id), 4-11 start_time and 12-15 the pid,
 * both big-endian; printed like Sysmon's ProcessGuid,
 * {01234567-89ab-cdef-0123-456789abcdef}. All zero when unknown
 * (SYSMON_FLAG_START_MISSING). Thread records carry their process's. */
struct sysmon_process_id {
	__u64 start_time;
	__u8 guid[16];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_process_id) == 24, "sysmon_process_id ABI");

/* Per-record flags (the records' flags field): how complete the record is.
 * A field the daemon read from /proc after the event is LATE: it was
 * checked to belong to this process and, for PROCESS_EXEC, to this exec (no
 * later exec or exit of that pid had happened when it was read). A field
 * that could not be read, or not shown to belong, is MISSING and left empty
 * (zero, or ""), never filled with another program's. Records captured in
 * kernel context at the event (the BPF source) carry no LATE or MISSING. */
#define SYSMON_FLAG_IMAGE_LATE       0x00000001u
#define SYSMON_FLAG_IMAGE_MISSING    0x00000002u
#define SYSMON_FLAG_ARGV_LATE        0x00000004u
#define SYSMON_FLAG_ARGV_MISSING     0x00000008u
#define SYSMON_FLAG_CWD_LATE         0x00000010u
#define SYSMON_FLAG_CWD_MISSING      0x00000020u
#define SYSMON_FLAG_CREDS_LATE       0x00000040u   /* uids, gids, login uid, sessions */
#define SYSMON_FLAG_CREDS_MISSING    0x00000080u
#define SYSMON_FLAG_START_LATE       0x00000100u   /* start time and GUID */
#define SYSMON_FLAG_START_MISSING    0x00000200u
#define SYSMON_FLAG_PARENT_LATE      0x00000400u   /* ppid and parent's start time */
#define SYSMON_FLAG_PARENT_MISSING   0x00000800u
#define SYSMON_FLAG_ARGV_TRUNCATED   0x00001000u   /* argv longer than SYSMON_ARGV_MAX: cut */
#define SYSMON_FLAG_PATH_TRUNCATED   0x00002000u   /* a path longer than SYSMON_PATH_MAX: cut */
#define SYSMON_FLAG_NO_ADDRESS       0x00004000u   /* IMAGE_LOAD without address and size */
#define SYSMON_FLAG_PATH_MISSING     0x00008000u   /* a file event's path unknown (gone) */
#define SYSMON_FLAG_KERNEL           0x00010000u   /* captured in kernel context (BPF) */
#define SYSMON_FLAGS_INCOMPLETE                                                                   \
	(SYSMON_FLAG_IMAGE_MISSING | SYSMON_FLAG_ARGV_MISSING | SYSMON_FLAG_CWD_MISSING |         \
	 SYSMON_FLAG_CREDS_MISSING | SYSMON_FLAG_START_MISSING | SYSMON_FLAG_PARENT_MISSING |     \
	 SYSMON_FLAG_PATH_MISSING)

#define SYSMON_ARGV_MAX 32768    /* bytes of argv (with each argument's NUL) in PROCESS_EXEC */
#define SYSMON_PATH_MAX 4095     /* bytes of a path (without the NUL) */

/* PROCESS_CREATE: pid == tid, the new process; ppid its parent process.
 * THREAD_CREATE: tid the new thread of process pid (ppid == pid).
 * creator_tid: the thread that called fork/clone (0: unknown, the proc
 * connector does not say for threads). uid: real uid. */
struct sysmon_create {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 ppid;
	__u32 creator_tid;
	__u32 uid;
	__u32 flags;                         /* since 2: SYSMON_FLAG_* */
	struct sysmon_process_id process;    /* since 2: pid's */
	struct sysmon_process_id parent;     /* since 2: ppid's */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_create) == 88, "sysmon_create ABI");

/* PROCESS_EXEC: the image (what /proc/<pid>/exe names: for a script, its
 * interpreter), the command line (argv strings, each followed by a NUL, as
 * /proc/<pid>/cmdline; length counts those NULs, at most SYSMON_ARGV_MAX,
 * SYSMON_FLAG_ARGV_TRUNCATED when cut) and the working directory; paths as
 * the process sees them (relative to its root directory). Credentials are
 * those the new program runs with (a setuid program's euid is its owner). */
struct sysmon_exec {
	struct sysmon_header header;
	__u32 pid;
	__u32 uid;                           /* real uid */
	__u16 image_offset;
	__u16 image_length;
	__u16 cmdline_offset;
	__u16 cmdline_length;
	/* since 2 */
	__u32 flags;                         /* SYSMON_FLAG_* */
	__u32 ppid;
	__u32 euid;
	__u32 gid;                           /* real gid */
	__u32 egid;
	__u32 loginuid;                      /* audit login uid; 4294967295: unset */
	__u32 audit_session;                 /* audit session id; 4294967295: unset */
	__u32 sid;                           /* session id (setsid) */
	__u16 cwd_offset;
	__u16 cwd_length;
	__u32 argc;                          /* arguments in the command line given */
	struct sysmon_process_id process;
	struct sysmon_process_id parent;     /* ppid's */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_exec) == 120, "sysmon_exec ABI");

/* PROCESS_EXIT (tid == pid) and THREAD_EXIT: exit_code as given to exit()
 * (0..255) and signal, the signal that terminated it (0: none). Filters can
 * keep only the others (SYSMON_FILTER_NONZERO_EXIT). */
struct sysmon_exit {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 exit_code;
	__u32 signal;
	__u32 uid;
	__u32 core_dumped;
	__u32 flags;                         /* since 2 */
	__u32 reserved;
	struct sysmon_process_id process;    /* since 2 */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_exit) == 72, "sysmon_exit ABI");

/* FILE_WRITE: a file under a watched path closed after writing.
 * FILE_CREATE, FILE_DELETE: a directory entry made or removed under a
 * watched path (a directory too: SYSMON_PATH_DIRECTORY). path_offset and
 * path_length are where they were in version 1 (then IMAGE_LOAD used this
 * struct too: struct sysmon_image begins with the same fields). */
#define SYSMON_PATH_DIRECTORY 0x1
struct sysmon_path {
	struct sysmon_header header;
	__u32 pid;
	__u32 uid;
	__u16 path_offset;
	__u16 path_length;
	__u32 flags;                         /* since 2 (was reserved) */
	struct sysmon_process_id process;    /* since 2 */
	__u32 kind;                          /* since 2: SYSMON_PATH_* */
	__u32 reserved;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_path) == 64, "sysmon_path ABI");

/* IMAGE_LOAD: an executable mapping of a file into process pid: the
 * program, its interpreter, each shared library, each dlopen()ed object.
 * address and size: the executable mapping (a line of /proc/<pid>/maps with
 * x in its permissions); offset: where in the file it starts. From the
 * fanotify fallback (files opened for execution): no address or size,
 * SYSMON_FLAG_NO_ADDRESS. */
struct sysmon_image {
	struct sysmon_header header;
	__u32 pid;
	__u32 uid;
	__u16 path_offset;
	__u16 path_length;
	__u32 flags;
	struct sysmon_process_id process;
	__u64 address;
	__u64 size;
	__u64 offset;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_image) == 80, "sysmon_image ABI");

/* FILE_RENAME: old and new path. */
struct sysmon_rename {
	struct sysmon_header header;
	__u32 pid;
	__u32 uid;
	__u16 old_offset;
	__u16 old_length;
	__u16 new_offset;
	__u16 new_length;
	__u32 flags;
	__u32 kind;                          /* SYSMON_PATH_* */
	struct sysmon_process_id process;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_rename) == 64, "sysmon_rename ABI");

/* UID_CHANGE, GID_CHANGE: thread tid of process pid now has these ids
 * (uids for UID_CHANGE, gids for GID_CHANGE). uid: the real uid after it. */
struct sysmon_id_change {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 flags;
	__u32 real;
	__u32 effective;
	struct sysmon_process_id process;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_id_change) == 64, "sysmon_id_change ABI");

/* SESSION: process pid made a new session (its id is pid). */
struct sysmon_session {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 flags;
	struct sysmon_process_id process;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_session) == 56, "sysmon_session ABI");

/* PTRACE: tracer_pid (thread tracer_tid) attached to (attach = 1) or
 * detached from (0) the tracee pid / tid. Detach names no tracer
 * (tracer_pid 0). process: the tracee's. */
struct sysmon_ptrace {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 flags;
	__u32 tracer_pid;
	__u32 tracer_tid;
	__u32 attach;
	__u32 reserved;
	struct sysmon_process_id process;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_ptrace) == 72, "sysmon_ptrace ABI");

/* COMM: thread tid of process pid is now called comm (NUL-terminated). */
struct sysmon_comm {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 flags;
	char comm[16];
	struct sysmon_process_id process;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_comm) == 72, "sysmon_comm ABI");

/* COREDUMP: thread tid of process pid is dumping core (its exit follows). */
struct sysmon_coredump {
	struct sysmon_header header;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 flags;
	__u32 ppid;
	__u32 reserved;
	struct sysmon_process_id process;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_coredump) == 64, "sysmon_coredump ABI");

#define SYSMON_LOST_READER 0x1   /* this reader's queue was full: count records dropped */
#define SYSMON_LOST_KERNEL 0x2   /* the kernel dropped events: kernel_overruns times */

/* Since the previous EVENTS_LOST (or the open), before the next record. */
struct sysmon_lost {
	struct sysmon_header header;
	__u64 count;             /* records this reader lost, exactly */
	__u32 reasons;           /* SYSMON_LOST_* */
	__u32 kernel_overruns;   /* times the kernel reported dropping events */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_lost) == 32, "sysmon_lost ABI");

/* SYSMON_IOC_SET_FILTER: records of types in type_mask (SYSMON_TYPE_BIT),
 * and, with the flags, only of process pid / real uid uid, and only exits
 * with a non-zero code or a signal. Replaces the previous filter and drops
 * queued records that do not pass it. A new reader gets everything it may
 * see. */
#define SYSMON_FILTER_PID 0x1
#define SYSMON_FILTER_UID 0x2
#define SYSMON_FILTER_NONZERO_EXIT 0x4   /* since 2: PROCESS_EXIT/THREAD_EXIT of failures only */
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

/* SYSMON_IOC_GET_STATUS (since 2): what this daemon emits and from where. */
enum sysmon_source {
	SYSMON_SOURCE_NONE = 0,
	SYSMON_SOURCE_BPF = 1,        /* BPF programs: fields taken in kernel context */
	SYSMON_SOURCE_PROC = 2,       /* the proc connector, fields read late from /proc */
	SYSMON_SOURCE_FANOTIFY = 3,   /* fanotify */
};
struct sysmon_status {
	__u32 abi_version;       /* SYSMON_ABI_VERSION */
	__u32 types;             /* SYSMON_TYPE_BIT()s of the types emitted */
	__u32 process_source;    /* enum sysmon_source: exec, fork, exit */
	__u32 image_source;      /* IMAGE_LOAD: BPF (every executable mapping) or FANOTIFY (exec opens) */
	__u32 file_source;       /* FILE_*: FANOTIFY or NONE */
	__u32 argv_max;          /* SYSMON_ARGV_MAX */
	__u32 watched;           /* watched paths whose file system is marked */
	__u32 unwatched;         /* watched paths that could not be (logged at start) */
	__u64 kernel_lost;       /* events the kernel side dropped (BPF ring full, overruns) */
	__u64 file_unresolved;   /* file events whose path could not be resolved */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct sysmon_status) == 48, "sysmon_status ABI");

#define SYSMON_IOC_SET_FILTER _IOW('S', 0x01, struct sysmon_filter)
#define SYSMON_IOC_GET_STATS _IOR('S', 0x02, struct sysmon_stats)
#define SYSMON_IOC_SET_EVENTFD _IOW('S', 0x03, struct sysmon_eventfd)
#define SYSMON_IOC_GET_STATUS _IOR('S', 0x04, struct sysmon_status)

/* Walking records (what a client needs; no library to link). */

/* The size of the fixed part of a type this header knows (of version
 * SYSMON_ABI_VERSION), 0 for others. */
static inline unsigned sysmon_type_size(__u16 type)
{
	switch (type) {
	case SYSMON_PROCESS_CREATE:
	case SYSMON_THREAD_CREATE:
		return sizeof(struct sysmon_create);
	case SYSMON_PROCESS_EXEC:
		return sizeof(struct sysmon_exec);
	case SYSMON_PROCESS_EXIT:
	case SYSMON_THREAD_EXIT:
		return sizeof(struct sysmon_exit);
	case SYSMON_IMAGE_LOAD:
		return sizeof(struct sysmon_image);
	case SYSMON_FILE_WRITE:
	case SYSMON_FILE_CREATE:
	case SYSMON_FILE_DELETE:
		return sizeof(struct sysmon_path);
	case SYSMON_EVENTS_LOST:
		return sizeof(struct sysmon_lost);
	case SYSMON_UID_CHANGE:
	case SYSMON_GID_CHANGE:
		return sizeof(struct sysmon_id_change);
	case SYSMON_SESSION:
		return sizeof(struct sysmon_session);
	case SYSMON_PTRACE:
		return sizeof(struct sysmon_ptrace);
	case SYSMON_COMM:
		return sizeof(struct sysmon_comm);
	case SYSMON_COREDUMP:
		return sizeof(struct sysmon_coredump);
	case SYSMON_FILE_RENAME:
		return sizeof(struct sysmon_rename);
	default:
		return 0;
	}
}

/* The smallest record of a type any daemon sends: the fixed part as it was
 * in the version that brought the type (version 1: 40, 32, 40, 40, 40, 32,
 * 32, 32 bytes for types 1..8). */
static inline unsigned sysmon_type_min_size(__u16 type)
{
	switch (type) {
	case SYSMON_PROCESS_CREATE:
	case SYSMON_THREAD_CREATE:
	case SYSMON_PROCESS_EXIT:
	case SYSMON_THREAD_EXIT:
		return 40;
	case SYSMON_PROCESS_EXEC:
	case SYSMON_IMAGE_LOAD:
	case SYSMON_FILE_WRITE:
	case SYSMON_EVENTS_LOST:
		return 32;
	default:
		return sysmon_type_size(type);
	}
}

/* Does record h hold the field that ends at byte end (offsetof + sizeof)? */
#define sysmon_has_field(h, type, field)                                                          \
	((h)->size >= __builtin_offsetof(type, field) + sizeof(((type *)0)->field))

static inline int sysmon_string_inside(const struct sysmon_header *h, unsigned fixed, __u16 offset, __u16 length)
{
	/* The NUL after the string is inside too. */
	return offset >= fixed && (unsigned)offset + length < h->size &&
	       ((const char *)h)[offset + length] == '\0';
}

/* Checks the record at the start of buf (len bytes there): its size, and
 * that the strings of the types this header knows lie inside it, each
 * NUL-terminated. Returns its size (step by it), or -1 if it is malformed.
 * Records of older daemons pass too (shorter, sysmon_type_min_size()):
 * check sysmon_has_field() before reading a field a later version added. */
static inline int sysmon_record_check(const void *buf, unsigned long len)
{
	const struct sysmon_header *h = (const struct sysmon_header *)buf;
	unsigned fixed;

	if (len < sizeof(*h) || h->size < sizeof(*h) || h->size % 8 || h->size > len)
		return -1;
	fixed = sysmon_type_size(h->type);
	if (h->size < sysmon_type_min_size(h->type))
		return -1;
	if (h->size < fixed)
		fixed = sysmon_type_min_size(h->type);   /* an older daemon's */
	switch (h->type) {
	case SYSMON_PROCESS_EXEC: {
		const struct sysmon_exec *x = (const struct sysmon_exec *)buf;

		if (!sysmon_string_inside(h, fixed, x->image_offset, x->image_length) ||
		    (sysmon_has_field(h, struct sysmon_exec, parent) &&
		     !sysmon_string_inside(h, fixed, x->cwd_offset, x->cwd_length)) ||
		    x->cmdline_offset < fixed || (unsigned)x->cmdline_offset + x->cmdline_length >= h->size)
			return -1;
		break;
	}
	case SYSMON_IMAGE_LOAD:
	case SYSMON_FILE_WRITE:
	case SYSMON_FILE_CREATE:
	case SYSMON_FILE_DELETE: {
		const struct sysmon_path *p = (const struct sysmon_path *)buf;

		if (!sysmon_string_inside(h, fixed, p->path_offset, p->path_length))
			return -1;
		break;
	}
	case SYSMON_FILE_RENAME: {
		const struct sysmon_rename *r = (const struct sysmon_rename *)buf;

		if (!sysmon_string_inside(h, fixed, r->old_offset, r->old_length) ||
		    !sysmon_string_inside(h, fixed, r->new_offset, r->new_length))
			return -1;
		break;
	}
	default:
		break;
	}
	return h->size;
}

/* A string of a checked record. */
static inline const char *sysmon_record_string(const void *record, __u16 offset)
{
	return (const char *)record + offset;
}

/* Iterates over the records of one read(): for (h = sysmon_record_first(buf,
 * n); h; h = sysmon_record_next(buf, n, h)). Stops (NULL) at the end or at a
 * malformed record; *bad (if not NULL) is set then. */
static inline const struct sysmon_header *sysmon_record_at(const void *buf, unsigned long n, unsigned long off,
							     int *bad)
{
	if (off >= n)
		return 0;
	if (sysmon_record_check((const char *)buf + off, n - off) < 0) {
		if (bad)
			*bad = 1;
		return 0;
	}
	return (const struct sysmon_header *)((const char *)buf + off);
}
#define sysmon_record_first(buf, n, bad) sysmon_record_at((buf), (n), 0, (bad))
#define sysmon_record_next(buf, n, h, bad)                                                         \
	sysmon_record_at((buf), (n), (unsigned long)((const char *)(h) - (const char *)(buf)) + (h)->size, (bad))

/* The process GUID as Sysmon prints it: {xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}
 * into out (at least 39 bytes). */
static inline void sysmon_guid_format(const __u8 guid[16], char out[39])
{
	static const char hex[] = "0123456789abcdef";
	int o = 0;

	out[o++] = '{';
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[guid[i] >> 4];
		out[o++] = hex[guid[i] & 15];
	}
	out[o++] = '}';
	out[o] = '\0';
}

#ifdef __cplusplus
}
#endif
#endif
