/* SPDX-License-Identifier: MIT */
/*
 * cusekit KProtect: /dev/cusekit/kprotect.
 *
 * Protected processes cannot be killed, stopped or ptrace-attached by any
 * other process, root included (a BPF LSM program on task_kill and
 * ptrace_access_check answers EPERM); they may still exit or signal
 * themselves. A process is identified by its pid and its start time, so a
 * process that exits leaves the list and a later process that reuses its pid
 * is never protected.
 *
 * Denied executables cannot be run by anyone (fanotify FAN_OPEN_EXEC_PERM
 * answers EPERM). A rule names a file by device and inode: a hard link or a
 * rename of the file is still refused, a copy is a different file and runs.
 * If kprotectd stops or dies, the kernel allows everything again (fail open).
 *
 * Anyone may open the node and read the status and lists (mode 0666); rule
 * changes need root or the group cusekit-admin, others get EPERM. Rules
 * survive a restart of the daemon. Pids are numbers in kprotectd's pid
 * namespace.
 */
#ifndef CUSEKIT_KPROTECT_H
#define CUSEKIT_KPROTECT_H

#include <cusekit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KPROTECT_PIDS_MAX 64

/* ADD_PIDS, REMOVE_PIDS: count in (1..64, else EINVAL), count actually added
 * or removed out (the book's partial success). ADD skips duplicates, pids of
 * no running process and thread ids that are not a process's pid, and stops
 * when the list is full (capacity: GET_STATUS). */
struct kprotect_pids {
	__u32 count;
	__u32 pids[KPROTECT_PIDS_MAX];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_pids) == 260, "kprotect_pids ABI");

/* LIST: a page of the protected processes, ordered by pid. offset in (index
 * of the first wanted); count (entries filled) and total out. An offset at or
 * past the end returns count 0. */
struct kprotect_pid_entry {
	__u32 pid;
	__u32 reserved;
	__u64 start_time;  /* clock ticks after boot, /proc/<pid>/stat field 22 */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_pid_entry) == 16, "kprotect_pid_entry ABI");

struct kprotect_pid_list {
	__u32 offset;
	__u32 count;
	__u32 total;
	__u32 reserved;
	struct kprotect_pid_entry entries[KPROTECT_PIDS_MAX];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_pid_list) == 16 + 16 * 64, "kprotect_pid_list ABI");

/* DENY_EXEC, ALLOW_EXEC: a NUL-terminated path of an existing regular file
 * (EINVAL: empty, unterminated, or not a regular file; the path's own errno,
 * e.g. ENOENT, when it cannot be opened). DENY of a file already denied
 * succeeds; ALLOW of a file not denied fails with ENOENT. */
struct kprotect_path {
	char path[4096];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_path) == 4096, "kprotect_path ABI");

/* LIST_EXEC: a page of the exec rules in the order they were made; same
 * offset/count/total contract as LIST. path is the name the file was denied
 * under (it may have been renamed since: the rule is the file, dev/ino). */
#define KPROTECT_EXEC_PAGE 3

struct kprotect_exec_entry {
	__u64 dev;         /* st_dev, as stat(2) returns it */
	__u64 ino;
	char path[4096];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_exec_entry) == 4112, "kprotect_exec_entry ABI");

struct kprotect_exec_list {
	__u32 offset;
	__u32 count;
	__u32 total;
	__u32 reserved;
	struct kprotect_exec_entry entries[KPROTECT_EXEC_PAGE];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_exec_list) == 16 + 4112 * 3, "kprotect_exec_list ABI");

/* GET_STATUS: which guard enforces, counts, and denials since the daemon
 * started. A guard that is not active says why in its *_error (a positive
 * errno: EOPNOTSUPP when the kernel lacks the feature); ADD_PIDS or DENY_EXEC
 * then fail with EOPNOTSUPP. */
#define KPROTECT_KILL_GUARD (1u << 0)   /* BPF LSM task_kill + ptrace_access_check */
#define KPROTECT_EXEC_GUARD (1u << 1)   /* fanotify FAN_OPEN_EXEC_PERM */

struct kprotect_status {
	__u32 guards;          /* KPROTECT_*_GUARD that are active */
	__s32 kill_guard_error;
	__s32 exec_guard_error;
	__u32 pid_count;
	__u32 pid_capacity;
	__u32 exec_count;
	__u32 exec_capacity;
	__u32 reserved;
	__u64 kill_denials;    /* signals refused */
	__u64 ptrace_denials;  /* ptrace attaches refused */
	__u64 exec_denials;    /* executions refused */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_status) == 56, "kprotect_status ABI");

#define KPROTECT_IOC_ADD_PIDS _IOWR('K', 0x01, struct kprotect_pids)
#define KPROTECT_IOC_REMOVE_PIDS _IOWR('K', 0x02, struct kprotect_pids)
#define KPROTECT_IOC_CLEAR _IO('K', 0x03)
#define KPROTECT_IOC_LIST _IOWR('K', 0x04, struct kprotect_pid_list)
#define KPROTECT_IOC_DENY_EXEC _IOW('K', 0x05, struct kprotect_path)
#define KPROTECT_IOC_ALLOW_EXEC _IOW('K', 0x06, struct kprotect_path)
#define KPROTECT_IOC_LIST_EXEC _IOWR('K', 0x07, struct kprotect_exec_list)
#define KPROTECT_IOC_GET_STATUS _IOR('K', 0x08, struct kprotect_status)

#ifdef __cplusplus
}
#endif
#endif
