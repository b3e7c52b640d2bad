/* SPDX-License-Identifier: MIT */
/*
 * What process.bpf.c hands its loader (process-bpf.c) through the ring
 * buffer: one struct per event, its kind first. Shared by the BPF program
 * (vmlinux.h types) and user space (linux/types.h).
 */
#pragma once

#define SM_BPF_PATH_BUF 4096        /* a path with its NUL; longer ones are cut */
#define SM_BPF_ARGV_MAX 32768       /* == SYSMON_ARGV_MAX */

enum sm_bpf_kind {
	SM_BPF_FORK = 1,
	SM_BPF_EXEC = 2,
	SM_BPF_EXIT = 3,
	SM_BPF_IMAGE = 4,
};

/* Flags the BPF side sets (the record's SYSMON_FLAG_* values). */
#define SM_BPF_ARGV_TRUNCATED 0x00001000u
#define SM_BPF_PATH_TRUNCATED 0x00002000u

/* time_ns: CLOCK_MONOTONIC. start times: ns after boot, at clock-tick
 * resolution (as /proc/<pid>/stat gives them). */
struct sm_bpf_fork {
	__u32 kind;
	__u32 pid;           /* the new task's process */
	__u64 time_ns;
	__u32 tid;           /* the new task */
	__u32 ppid;          /* its parent process */
	__u32 creator_tid;   /* the thread that called clone */
	__u32 uid;
	__u64 start_time;    /* pid's */
	__u64 parent_start_time;
};

struct sm_bpf_exit {
	__u32 kind;
	__u32 pid;
	__u64 time_ns;
	__u32 tid;
	__u32 exit_code;     /* wait(2) status */
	__u32 uid;
	__u32 reserved;
	__u64 start_time;
};

/* data: the image path, NUL, the working directory, NUL, argv. */
struct sm_bpf_exec {
	__u32 kind;
	__u32 pid;
	__u64 time_ns;
	__u32 flags;
	__u32 ppid;
	__u32 uid, euid, gid, egid;
	__u32 loginuid, audit_session, sid, argc;
	__u64 start_time;
	__u64 parent_start_time;
	__u16 image_length;
	__u16 cwd_length;
	__u32 argv_length;
	char data[];
};

/* An executable file mapping. data: the path, NUL. */
struct sm_bpf_image {
	__u32 kind;
	__u32 pid;
	__u64 time_ns;
	__u32 flags;
	__u32 uid;
	__u64 start_time;
	__u64 address;
	__u64 size;
	__u64 offset;        /* in the file, bytes */
	__u32 path_length;
	__u32 reserved;
	char data[];
};
