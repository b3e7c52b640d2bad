/* SPDX-License-Identifier: MIT */
/*
 * cusekit KProtect: /dev/cusekit/kprotect.
 *
 * Protected processes cannot be killed, stopped or ptrace-attached by any
 * other process, root included (a BPF LSM program on task_kill and
 * ptrace_access_check answers EPERM); they may still exit or signal
 * themselves. A process is protected by pid (its pid and its start time, so
 * a process that exits leaves the list and a later process that reuses its
 * pid is never protected) or by program: every process executing a
 * protected file is protected from its first instruction, decided in the
 * kernel.
 *
 * Denied files cannot be executed or mapped executable by anyone. A rule
 * names a file by device and inode: a hard link, a rename or a bind mount of
 * the file is still refused, a copy is a different file and runs. Where the
 * BPF LSM is active the kernel's own checks refuse (bprm_check_security,
 * mmap_file, file_mprotect); elsewhere fanotify permission events refuse
 * executions and the dynamic loader's opens (GET_STATUS says which, and
 * what it covers). If kprotectd stops or dies, the kernel allows everything
 * again (fail open).
 *
 * Rules come from this device (persisted across restarts) and from rules
 * files (/etc/cusekit/kprotect.d/ *.rules, read at start and on reload). In
 * permissive mode nothing is refused, and every refusal that enforcing mode
 * would make is logged and counted.
 *
 * Anyone may open the node and read the status and lists (mode 0666); rule
 * changes need root or the group cusekit-admin, others get EPERM. Pids are
 * numbers in kprotectd's pid namespace.
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
 * succeeds; ALLOW of a file not denied fails with ENOENT, and of a file a
 * rules file denies with EROFS (change the file and reload). */
struct kprotect_path {
	char path[4096];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_path) == 4096, "kprotect_path ABI");

/* LIST_EXEC, LIST_EXE: a page of the file rules (denied executables,
 * protected programs) in the order they were made; same offset/count/total
 * contract as LIST. path is the name the file was denied under (it may have
 * been renamed since: the rule is the file, dev/ino). origin says where the
 * rule comes from: "" made through this device (and kept in its state),
 * else "NAME:LINE" of a rules file in the rules directory. */
#define KPROTECT_FILE_PAGE 3
#define KPROTECT_ORIGIN_MAX 288

struct kprotect_file_entry {
	__u64 dev;         /* st_dev, as stat(2) returns it */
	__u64 ino;
	char path[4096];
	char origin[KPROTECT_ORIGIN_MAX];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_file_entry) == 4400, "kprotect_file_entry ABI");

struct kprotect_file_list {
	__u32 offset;
	__u32 count;
	__u32 total;
	__u32 reserved;
	struct kprotect_file_entry entries[KPROTECT_FILE_PAGE];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_file_list) == 16 + 4400 * 3, "kprotect_file_list ABI");

/* GET_STATUS: which guard enforces and what it covers, the mode, counts,
 * and refusals since the daemon started (in permissive mode: the refusals
 * that enforcing mode would have made). A guard that is not active says why
 * in its *_error (a positive errno: EOPNOTSUPP when the kernel lacks the
 * feature); the requests that need it fail with EOPNOTSUPP. */
#define KPROTECT_KILL_GUARD (1u << 0)   /* BPF LSM task_kill + ptrace_access_check */
#define KPROTECT_EXEC_GUARD (1u << 1)   /* an exec guard is active, one of: */
#define KPROTECT_EXEC_LSM (1u << 2)     /*   BPF LSM bprm_check_security, mmap_file, file_mprotect */
#define KPROTECT_EXEC_FANOTIFY (1u << 3)/*   fanotify FAN_OPEN_EXEC_PERM + FAN_OPEN_PERM */

/* exec_covers: the ways to run a denied file that the active exec guard
 * refuses. Neither guard covers an interpreter reading a denied script
 * given as its argument (sh FILE), nor a copy of a denied file. */
#define KPROTECT_COVERS_EXECVE (1u << 0)     /* execve, execveat, fexecve, #! scripts and interpreters */
#define KPROTECT_COVERS_LOADER (1u << 1)     /* the dynamic loader run by hand: ld.so FILE */
#define KPROTECT_COVERS_DLOPEN (1u << 2)     /* the dynamic loader loading it: dlopen, DT_NEEDED */
#define KPROTECT_COVERS_MMAP (1u << 3)       /* any mmap with PROT_EXEC */
#define KPROTECT_COVERS_MPROTECT (1u << 4)   /* mprotect to PROT_EXEC */

#define KPROTECT_MODE_ENFORCING 0u
#define KPROTECT_MODE_PERMISSIVE 1u

struct kprotect_status {
	__u32 guards;          /* KPROTECT_*_GUARD, KPROTECT_EXEC_* that are active */
	__s32 kill_guard_error;
	__s32 exec_guard_error; /* why no exec guard; with FANOTIFY, why not the BPF LSM one
				 * (ECANCELED: exec-guard=fanotify chose so) */
	__u32 exec_covers;     /* KPROTECT_COVERS_* */
	__u32 mode;            /* KPROTECT_MODE_* */
	__u32 pid_count;
	__u32 pid_capacity;
	__u32 exec_count;      /* denied executables */
	__u32 exec_capacity;
	__u32 exe_count;       /* protected programs */
	__u32 exe_capacity;
	__u32 rules_files;     /* rules files read at the last (re)load */
	__u32 rules_errors;    /* bad lines skipped then */
	__u32 reserved;
	__u64 kill_denials;    /* signals refused */
	__u64 ptrace_denials;  /* ptrace attaches refused */
	__u64 exec_denials;    /* executions refused */
	__u64 map_denials;     /* executable mappings (or loader opens) refused */
	__u64 events_lost;     /* refusals not logged (the kernel's event buffer was full) */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_status) == 96, "kprotect_status ABI");

/* SET_MODE: KPROTECT_MODE_*, else EINVAL. Kept across restarts until the
 * configured mode (mode = in kprotect.conf) changes. */
struct kprotect_mode {
	__u32 mode;
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_mode) == 4, "kprotect_mode ABI");

/* CHECK_RULES: read a rules file, or every *.rules file of a directory, as
 * a reload would, and report without applying anything. path in: absolute,
 * or "" for the daemon's rules directory. Out: files read, rules that would
 * be made, problems found (total) and the first KPROTECT_CHECK_PROBLEMS of
 * them. A rules file that cannot be read at all is a problem of line 0. */
#define KPROTECT_CHECK_PROBLEMS 16

struct kprotect_check_problem {
	__u32 line;
	__s32 error;       /* errno, when the problem has one; else 0 */
	char file[256];    /* file name (in the directory checked) */
	char message[256];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_check_problem) == 520, "kprotect_check_problem ABI");

struct kprotect_check {
	char path[4096];
	__u32 files;
	__u32 rules;
	__u32 problems;
	__u32 reserved;
	struct kprotect_check_problem entries[KPROTECT_CHECK_PROBLEMS];
};
CUSEKIT_STATIC_ASSERT(sizeof(struct kprotect_check) == 4096 + 16 + 520 * 16, "kprotect_check ABI");

#define KPROTECT_IOC_ADD_PIDS _IOWR('K', 0x01, struct kprotect_pids)
#define KPROTECT_IOC_REMOVE_PIDS _IOWR('K', 0x02, struct kprotect_pids)
#define KPROTECT_IOC_CLEAR _IO('K', 0x03)
#define KPROTECT_IOC_LIST _IOWR('K', 0x04, struct kprotect_pid_list)
#define KPROTECT_IOC_DENY_EXEC _IOW('K', 0x05, struct kprotect_path)
#define KPROTECT_IOC_ALLOW_EXEC _IOW('K', 0x06, struct kprotect_path)
#define KPROTECT_IOC_LIST_EXEC _IOWR('K', 0x07, struct kprotect_file_list)
#define KPROTECT_IOC_GET_STATUS _IOR('K', 0x08, struct kprotect_status)
/* ADD_EXE, REMOVE_EXE: protect every process executing the file (any name
 * of it), or stop. Same path contract as DENY_EXEC; EINVAL also for a #!
 * script (the process executes its interpreter); EOPNOTSUPP without the
 * kill guard. */
#define KPROTECT_IOC_ADD_EXE _IOW('K', 0x09, struct kprotect_path)
#define KPROTECT_IOC_REMOVE_EXE _IOW('K', 0x0a, struct kprotect_path)
#define KPROTECT_IOC_LIST_EXE _IOWR('K', 0x0b, struct kprotect_file_list)
#define KPROTECT_IOC_SET_MODE _IOW('K', 0x0c, struct kprotect_mode)
#define KPROTECT_IOC_CHECK_RULES _IOWR('K', 0x0d, struct kprotect_check)

#ifdef __cplusplus
}
#endif
#endif
