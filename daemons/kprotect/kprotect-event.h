/* SPDX-License-Identifier: MIT */
/*
 * What kprotect.bpf.c and lsm.c share: a file's identity as the kernel sees
 * it, and the record of a refusal (or, in permissive mode, of a refusal
 * that was not made) sent to the daemon through the ring buffer.
 */
#pragma once

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* The inode as the LSM hooks see it: (i_sb->s_dev, i_ino). Never computed
 * by user space: the daemon learns it from the kernel (lsm_file_key()), since
 * stat(2)'s st_dev differs from s_dev on btrfs subvolumes and overlayfs. */
struct lsm_file_key {
	__u64 dev;
	__u64 ino;
};

enum kprotect_event_kind {
	KPROTECT_EVENT_KILL = 1,     /* a signal to a protected process */
	KPROTECT_EVENT_PTRACE,       /* a ptrace attach to a protected process */
	KPROTECT_EVENT_EXEC,         /* bprm_check_security of a denied file */
	KPROTECT_EVENT_MMAP,         /* mmap_file with PROT_EXEC of a denied file */
	KPROTECT_EVENT_MPROTECT,     /* file_mprotect to PROT_EXEC of a denied file */
};

struct kprotect_event {
	__u32 kind;             /* enum kprotect_event_kind */
	__u32 enforced;         /* 1: refused; 0: permissive, let through */
	__u32 pid;              /* who (tgid) */
	__u32 uid;
	__u32 target_pid;       /* KILL, PTRACE: the protected process (tgid) */
	__u32 signal;           /* KILL */
	struct lsm_file_key file;   /* EXEC, MMAP, MPROTECT */
	char comm[16];          /* who */
};
