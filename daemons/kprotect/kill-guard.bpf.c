// SPDX-License-Identifier: GPL-2.0
/*
 * KProtect's kill guard: a BPF LSM program. A process in the protected map
 * (keyed by pid, with its start time as identity) refuses, with EPERM, every
 * signal whose default action terminates or stops it and every ptrace attach,
 * from any other process, root included. Signals a process sends itself, and
 * signals the kernel sends (these do not pass the task_kill hook), go through.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#define EPERM 1
#define PTRACE_MODE_ATTACH 0x02

/* Signals whose default action is to ignore or continue (signal(7)), and 0,
 * which only asks whether the process exists. */
#define SIGCHLD 17
#define SIGCONT 18
#define SIGURG 23
#define SIGWINCH 28

char LICENSE[] SEC("license") = "GPL";

/* Set before load: nanoseconds per clock tick (1e9 / USER_HZ), the unit of
 * the start times user space reads from /proc/<pid>/stat. */
const volatile __u64 ns_per_tick = 10000000;

__u64 kill_denials = 0;
__u64 ptrace_denials = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);   /* resized to the daemon's capacity before load */
	__type(key, __u32);          /* pid (tgid) */
	__type(value, __u64);        /* start time, clock ticks after boot */
} protected_pids SEC(".maps");

/* Is target's process protected against the current process? */
static bool protected_from_current(struct task_struct *target)
{
	__u32 tgid = BPF_CORE_READ(target, tgid);
	__u64 *start_time, start_ns;

	if (tgid == (__u32)(bpf_get_current_pid_tgid() >> 32))
		return false;
	start_time = bpf_map_lookup_elem(&protected_pids, &tgid);
	if (!start_time)
		return false;
	/* A pid reused by a new process is not the protected one. */
	start_ns = BPF_CORE_READ(target, group_leader, start_boottime);
	return start_ns / ns_per_tick == *start_time;
}

static bool signal_harmless(int sig)
{
	return sig == 0 || sig == SIGCHLD || sig == SIGCONT || sig == SIGURG || sig == SIGWINCH;
}

SEC("lsm/task_kill")
int BPF_PROG(kprotect_task_kill, struct task_struct *p, struct kernel_siginfo *info, int sig,
	     const struct cred *cred, int ret)
{
	if (ret != 0)
		return ret;
	if (signal_harmless(sig) || !protected_from_current(p))
		return 0;
	__sync_fetch_and_add(&kill_denials, 1);
	return -EPERM;
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(kprotect_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret != 0)
		return ret;
	/* Reads (/proc/<pid>/environ, ps) stay allowed: attach is control. */
	if (!(mode & PTRACE_MODE_ATTACH) || !protected_from_current(child))
		return 0;
	__sync_fetch_and_add(&ptrace_denials, 1);
	return -EPERM;
}
