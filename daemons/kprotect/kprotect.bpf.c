// SPDX-License-Identifier: GPL-2.0
/*
 * KProtect in the kernel: BPF LSM programs.
 *
 * The kill guard: a protected process refuses, with EPERM, every signal
 * whose default action terminates or stops it and every ptrace attach, from
 * any other process, root included. A process is protected by pid (the map
 * protected_pids, with its start time as identity) or by program (the file
 * its mm executes, mm->exe_file, is in protected_exes: decided at the
 * signal, so from the first instruction after exec, with no daemon racing
 * the new process). Signals a process sends itself, and signals the kernel
 * sends (these do not pass the task_kill hook), go through.
 *
 * The exec guard: a denied file (denied_files, keyed by its inode as the
 * hooks see it) is refused by the kernel's own checks: bprm_check_security
 * (execve, execveat, a #! script and the interpreter it names) and every
 * executable mapping (mmap_file and file_mprotect with PROT_EXEC: the
 * dynamic loader run by hand, dlopen, a plain mmap).
 *
 * In permissive mode (enforcing == 0) nothing is refused: every refusal is
 * counted and reported all the same.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kprotect-event.h"

#define EPERM 1
#define PTRACE_MODE_ATTACH 0x02
#define PROT_EXEC 0x4

/* Signals whose default action is to ignore or continue (signal(7)), and 0,
 * which only asks whether the process exists. */
#define SIGCHLD 17
#define SIGCONT 18
#define SIGURG 23
#define SIGWINCH 28

char LICENSE[] SEC("license") = "GPL";

/* Set before load: nanoseconds per clock tick (1e9 / USER_HZ), the unit of
 * the start times user space reads from /proc/<pid>/stat; and kprotectd's
 * own process, whose mmaps teach it the kernel's identity of a file. */
const volatile __u64 ns_per_tick = 10000000;
const volatile __u32 daemon_tgid = 0;

/* Written by the daemon at any time. */
__u32 enforcing = 1;

/* Counters, all before learned_key: lsm.c clears them by .bss's layout. */
__u64 kill_denials = 0;
__u64 ptrace_denials = 0;
__u64 exec_denials = 0;
__u64 map_denials = 0;
__u64 events_lost = 0;

/* The identity of the file the daemon's last mmap named. */
struct lsm_file_key learned_key = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);   /* resized to the daemon's capacity before load */
	__type(key, __u32);          /* pid (tgid) */
	__type(value, __u64);        /* start time, clock ticks after boot */
} protected_pids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct lsm_file_key);
	__type(value, __u8);
} protected_exes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct lsm_file_key);
	__type(value, __u8);
} denied_files SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

static __always_inline __u32 current_tgid(void)
{
	return (__u32)(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline void file_key(struct file *file, struct lsm_file_key *key)
{
	key->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	key->ino = BPF_CORE_READ(file, f_inode, i_ino);
}

/* Count, report, and answer: EPERM when enforcing. */
static __always_inline int refuse(__u64 *counter, __u32 kind, __u32 target_pid, int sig,
				  const struct lsm_file_key *file)
{
	__u32 enforced = enforcing;
	struct kprotect_event *e;

	__sync_fetch_and_add(counter, 1);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->kind = kind;
		e->enforced = enforced;
		e->pid = current_tgid();
		e->uid = (__u32)bpf_get_current_uid_gid();
		e->target_pid = target_pid;
		e->signal = (__u32)sig;
		if (file)
			e->file = *file;
		else
			e->file = (struct lsm_file_key){};
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	} else
		__sync_fetch_and_add(&events_lost, 1);
	return enforced ? -EPERM : 0;
}

/* Kill guard */

/* Is target's process protected against the current process? */
static bool protected_from_current(struct task_struct *target)
{
	__u32 tgid = BPF_CORE_READ(target, tgid);
	struct lsm_file_key exe;
	__u64 *start_time;
	struct file *exe_file;

	if (tgid == current_tgid())
		return false;
	start_time = bpf_map_lookup_elem(&protected_pids, &tgid);
	/* A pid reused by a new process is not the protected one. */
	if (start_time && BPF_CORE_READ(target, group_leader, start_boottime) / ns_per_tick == *start_time)
		return true;
	/* By program: what target's process executes now. Kernel threads and
	 * exited tasks have no mm. */
	exe_file = BPF_CORE_READ(target, mm, exe_file);
	if (!exe_file)
		return false;
	file_key(exe_file, &exe);
	return bpf_map_lookup_elem(&protected_exes, &exe) != NULL;
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
	return refuse(&kill_denials, KPROTECT_EVENT_KILL, BPF_CORE_READ(p, tgid), sig, NULL);
}

SEC("lsm/ptrace_access_check")
int BPF_PROG(kprotect_ptrace_access_check, struct task_struct *child, unsigned int mode, int ret)
{
	if (ret != 0)
		return ret;
	/* Reads (/proc/<pid>/environ, ps) stay allowed: attach is control.
	 * kprotectd itself looks at /proc/<tid>/syscall of who opens a denied
	 * file (an attach-mode check), protected or not. */
	if (!(mode & PTRACE_MODE_ATTACH) || current_tgid() == daemon_tgid || !protected_from_current(child))
		return 0;
	return refuse(&ptrace_denials, KPROTECT_EVENT_PTRACE, BPF_CORE_READ(child, tgid), 0, NULL);
}

/* Exec guard */

static __always_inline int check_file(struct file *file, __u64 *counter, __u32 kind)
{
	struct lsm_file_key key;

	file_key(file, &key);
	if (!bpf_map_lookup_elem(&denied_files, &key))
		return 0;
	return refuse(counter, kind, 0, 0, &key);
}

/* Called for the executed file, and again for the interpreter a #! line
 * or binfmt_misc names. */
SEC("lsm/bprm_check_security")
int BPF_PROG(kprotect_bprm_check_security, struct linux_binprm *bprm, int ret)
{
	if (ret != 0)
		return ret;
	return check_file(bprm->file, &exec_denials, KPROTECT_EVENT_EXEC);
}

/* Every mmap of a file, by any process, also the kernel's own ELF loader
 * mapping a program's interpreter. prot has READ_IMPLIES_EXEC applied. */
SEC("lsm/mmap_file")
int BPF_PROG(kprotect_mmap_file, struct file *file, unsigned long reqprot, unsigned long prot,
	     unsigned long flags, int ret)
{
	if (!file)
		return ret;
	if (current_tgid() == daemon_tgid)
		file_key(file, &learned_key);
	if (ret != 0 || !(prot & PROT_EXEC))
		return ret;
	return check_file(file, &map_denials, KPROTECT_EVENT_MMAP);
}

SEC("lsm/file_mprotect")
int BPF_PROG(kprotect_file_mprotect, struct vm_area_struct *vma, unsigned long reqprot, unsigned long prot,
	     int ret)
{
	struct file *file;

	if (ret != 0 || !(prot & PROT_EXEC))
		return ret;
	file = vma->vm_file;
	if (!file)
		return 0;
	return check_file(file, &map_denials, KPROTECT_EVENT_MPROTECT);
}
