// SPDX-License-Identifier: GPL-2.0
/*
 * SysMon's kernel-side capture: process events and executable mappings taken
 * in the context of the event, so a process that lives for a microsecond
 * still has its image, argv, credentials and working directory.
 *
 * Attach points are BTF tracepoints (tp_btf), which load on kernels that
 * refuse fentry/fexit and LSM programs:
 *   sched_process_fork   PROCESS_CREATE / THREAD_CREATE
 *   sched_process_exec   PROCESS_EXEC, and IMAGE_LOAD of the program and its
 *                        interpreter (mapped by the kernel, not by mmap(2))
 *   sched_process_exit   PROCESS_EXIT / THREAD_EXIT
 *   sys_exit             IMAGE_LOAD of each mmap(2) with PROT_EXEC of a file:
 *                        shared libraries, dlopen()
 * Events go to one ring buffer; what does not fit is counted (lost), never
 * silently dropped.
 */
#include "vmlinux.h"
#pragma clang diagnostic ignored "-Wgnu-variable-sized-type-not-at-end"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "process-bpf-event.h"

char LICENSE[] SEC("license") = "GPL";

#define PROT_EXEC 0x4
#define MAP_ANONYMOUS 0x20
#define VM_EXEC 0x4
#define AT_BASE 7
#define NR_MMAP 9            /* x86-64 */
#define PATH_DEPTH 256       /* steps (names and mounts) walked; deeper paths are cut */
#define PATH_MASK (SM_BPF_PATH_BUF - 1)
#define NAME_MASK 255
#define ARGV_MASK (2 * SM_BPF_ARGV_MAX - 1)
#define ROOM (128 << 10)     /* after an event's fixed part: paths and argv */
#define IMAGE_VMAS_MAX 6     /* vmas looked at from the interpreter's base */

/* Set before load. */
const volatile __u64 ns_per_tick = 10000000;   /* 1e9 / USER_HZ */
const volatile __u32 scratch_slots = 2;        /* per CPU */

__u64 lost_events = 0;    /* events the ring buffer had no room for */
__u64 busy_events = 0;    /* events lost because every scratch slot was in use */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20);   /* resized by the loader */
} events SEC(".maps");

/* Room to build an event: the path walked backwards, then the event. */
struct scratch {
	__u32 busy;
	__u32 key;         /* its own index, for bpf_loop callbacks */
	char path[2 * SM_BPF_PATH_BUF];
	union {
		struct sm_bpf_exec exec;
		struct sm_bpf_image image;
	};
	char room[ROOM];   /* the event's data[] runs on into here */
};

/* 2 slots per possible CPU (resized by the loader): a program preempted on
 * its CPU (syscall tracepoints may be) leaves the other slot to the next. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch_map SEC(".maps");

static struct scratch *scratch_get(void)
{
	__u32 base = bpf_get_smp_processor_id() * scratch_slots;

	for (__u32 i = 0; i < 2; i++) {
		__u32 key = base + i;
		struct scratch *s = bpf_map_lookup_elem(&scratch_map, &key);

		if (s && __sync_lock_test_and_set(&s->busy, 1) == 0) {
			s->key = key;
			return s;
		}
	}
	__sync_fetch_and_add(&busy_events, 1);
	return NULL;
}

static void scratch_put(struct scratch *s)
{
	__sync_lock_test_and_set(&s->busy, 0);
}

static __u64 ticks(__u64 ns)
{
	return ns / ns_per_tick * ns_per_tick;
}

static __u64 process_start(struct task_struct *t)
{
	return ticks(BPF_CORE_READ(t, group_leader, start_boottime));
}

static void output(void *data, __u64 size)
{
	if (bpf_ringbuf_output(&events, data, size, 0) < 0)
		__sync_fetch_and_add(&lost_events, 1);
}

struct walk {
	__u32 key;                 /* the scratch slot */
	__u32 off;                 /* where the path starts in its path[] */
	__u32 flags;
	struct vfsmount *vfsmnt;
	struct mount *mnt;
	struct dentry *dentry;
	struct dentry *root_dentry;
	struct vfsmount *root_mnt;
};

/* One step up: a name, or a mount crossed. 1 when done. */
static long walk_step(__u32 i, void *ctx)
{
	struct walk *w = ctx;
	/* Locals: CO-RE relocates kernel types, not struct walk. */
	struct vfsmount *vfsmnt = w->vfsmnt;
	struct dentry *dentry = w->dentry, *parent, *mnt_root;
	struct mount *mnt = w->mnt;
	struct scratch *s;
	struct qstr name;
	__u32 len;

	if (dentry == w->root_dentry && vfsmnt == w->root_mnt)
		return 1;
	mnt_root = BPF_CORE_READ(vfsmnt, mnt_root);
	parent = BPF_CORE_READ(dentry, d_parent);
	if (dentry == mnt_root || dentry == parent) {
		struct mount *mnt_parent = BPF_CORE_READ(mnt, mnt_parent);

		if (mnt_parent == mnt)
			return 1;   /* the top: the task's root lies outside it */
		w->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = mnt_parent;
		w->vfsmnt = (void *)mnt_parent + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	s = bpf_map_lookup_elem(&scratch_map, &w->key);
	if (!s)
		return 1;
	name = BPF_CORE_READ(dentry, d_name);
	len = name.len & NAME_MASK;
	if (len + 1 > w->off) {
		w->flags |= SM_BPF_PATH_TRUNCATED;
		return 1;
	}
	w->off -= len + 1;
	bpf_probe_read_kernel(&s->path[(w->off + 1) & PATH_MASK], len, name.name);
	s->path[w->off & PATH_MASK] = '/';
	w->dentry = parent;
	return 0;
}

/* The path of (vfsmnt, dentry) as a task whose root is root sees it,
 * written backwards into s->path ending at SM_BPF_PATH_BUF - 1. Returns
 * where it starts; *flags gets SM_BPF_PATH_TRUNCATED when it did not fit. */
static __u32 path_walk(struct scratch *s, struct vfsmount *vfsmnt, struct dentry *dentry, const struct path *root,
		       __u32 *flags)
{
	struct walk w = {
		.key = s->key,
		.off = SM_BPF_PATH_BUF - 1,
		.vfsmnt = vfsmnt,
		.mnt = (void *)vfsmnt - bpf_core_field_offset(struct mount, mnt),
		.dentry = dentry,
		.root_dentry = BPF_CORE_READ(root, dentry),
		.root_mnt = BPF_CORE_READ(root, mnt),
	};

	s->path[SM_BPF_PATH_BUF - 1] = 0;
	if (bpf_loop(PATH_DEPTH, walk_step, &w, 0) == PATH_DEPTH)
		w.flags |= SM_BPF_PATH_TRUNCATED;
	*flags |= w.flags;
	if (w.off == SM_BPF_PATH_BUF - 1) {
		w.off--;
		s->path[w.off & PATH_MASK] = '/';
	}
	return w.off;
}

/* Appends the walked path (from off) and a NUL to data at *pos; returns its
 * length. */
static __u32 path_append(struct scratch *s, __u32 off, char *data, __u32 *pos)
{
	__u32 len = (SM_BPF_PATH_BUF - 1 - off) & PATH_MASK;
	__u32 at = *pos & (2 * SM_BPF_PATH_BUF - 1);

	bpf_probe_read_kernel(&data[at], len, &s->path[off & PATH_MASK]);
	data[(at + len) & (ROOM - 1)] = 0;
	*pos = at + len + 1;
	return len;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(sysmon_fork, struct task_struct *parent, struct task_struct *child)
{
	struct sm_bpf_fork e = {
		.kind = SM_BPF_FORK,
		.pid = BPF_CORE_READ(child, tgid),
		.time_ns = bpf_ktime_get_ns(),
		.tid = BPF_CORE_READ(child, pid),
		.ppid = BPF_CORE_READ(child, real_parent, tgid),
		.creator_tid = BPF_CORE_READ(parent, pid),
		.uid = BPF_CORE_READ(child, cred, uid.val),
		.start_time = process_start(child),
		.parent_start_time = process_start(BPF_CORE_READ(child, real_parent)),
	};

	output(&e, sizeof(e));
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(sysmon_exit, struct task_struct *p)
{
	struct sm_bpf_exit e = {
		.kind = SM_BPF_EXIT,
		.pid = BPF_CORE_READ(p, tgid),
		.time_ns = bpf_ktime_get_ns(),
		.tid = BPF_CORE_READ(p, pid),
		.exit_code = BPF_CORE_READ(p, exit_code),
		.uid = BPF_CORE_READ(p, cred, uid.val),
		.start_time = process_start(p),
	};

	output(&e, sizeof(e));
	return 0;
}

static __u32 task_sid(struct task_struct *t)
{
	struct pid *sid = BPF_CORE_READ(t, signal, pids[PIDTYPE_SID]);

	return sid ? BPF_CORE_READ(sid, numbers[0].nr) : 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sysmon_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch *s = scratch_get();
	struct sm_bpf_exec *e;
	struct file *exe;
	struct path root;
	__u64 arg_start, arg_end, argv_len;
	__u32 off, pos = 0;

	if (!s)
		return 0;
	e = &s->exec;
	e->kind = SM_BPF_EXEC;
	e->pid = BPF_CORE_READ(p, tgid);
	e->time_ns = bpf_ktime_get_ns();
	e->flags = 0;
	e->ppid = BPF_CORE_READ(p, real_parent, tgid);
	e->uid = BPF_CORE_READ(p, cred, uid.val);
	e->euid = BPF_CORE_READ(p, cred, euid.val);
	e->gid = BPF_CORE_READ(p, cred, gid.val);
	e->egid = BPF_CORE_READ(p, cred, egid.val);
	e->loginuid = (__u32)-1;
	e->audit_session = (__u32)-1;
	if (bpf_core_field_exists(p->loginuid)) {
		e->loginuid = BPF_CORE_READ(p, loginuid.val);
		e->audit_session = BPF_CORE_READ(p, sessionid);
	}
	e->sid = task_sid(p);
	e->argc = BPF_CORE_READ(bprm, argc);
	e->start_time = process_start(p);
	e->parent_start_time = process_start(BPF_CORE_READ(p, real_parent));

	root = BPF_CORE_READ(p, fs, root);
	exe = BPF_CORE_READ(p, mm, exe_file);
	off = path_walk(s, BPF_CORE_READ(exe, f_path.mnt), BPF_CORE_READ(exe, f_path.dentry), &root, &e->flags);
	e->image_length = path_append(s, off, e->data, &pos);
	off = path_walk(s, BPF_CORE_READ(p, fs, pwd.mnt), BPF_CORE_READ(p, fs, pwd.dentry), &root, &e->flags);
	e->cwd_length = path_append(s, off, e->data, &pos);

	/* The new program's argv, where exec has just put it. */
	arg_start = BPF_CORE_READ(p, mm, arg_start);
	arg_end = BPF_CORE_READ(p, mm, arg_end);
	argv_len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (argv_len > SM_BPF_ARGV_MAX) {
		argv_len = SM_BPF_ARGV_MAX;
		e->flags |= SM_BPF_ARGV_TRUNCATED;
	}
	pos &= 2 * SM_BPF_PATH_BUF - 1;
	if (bpf_probe_read_user(&e->data[pos], argv_len & ARGV_MASK, (void *)arg_start) < 0)
		argv_len = 0;
	e->argv_length = argv_len;
	output(e, (sizeof(*e) + pos + (argv_len & ARGV_MASK)) & (ROOM - 1));
	scratch_put(s);
	return 0;
}

struct vma_found {
	struct file *file;
	__u64 start, end, pgoff, flags;
};

/* One IMAGE_LOAD: the file mapping v of task t. */
static __always_inline void image_output(struct scratch *s, struct task_struct *t, const struct vma_found *v)
{
	struct sm_bpf_image *e = &s->image;
	struct path root = BPF_CORE_READ(t, fs, root);
	struct file *file = v->file;   /* a local: CO-RE relocates kernel types only */
	__u32 off, pos = 0;

	e->kind = SM_BPF_IMAGE;
	e->pid = BPF_CORE_READ(t, tgid);
	e->time_ns = bpf_ktime_get_ns();
	e->flags = 0;
	e->uid = BPF_CORE_READ(t, cred, uid.val);
	e->start_time = process_start(t);
	e->address = v->start;
	e->size = v->end - v->start;
	e->offset = v->pgoff << 12;
	off = path_walk(s, BPF_CORE_READ(file, f_path.mnt), BPF_CORE_READ(file, f_path.dentry), &root, &e->flags);
	e->path_length = path_append(s, off, e->data, &pos);
	output(e, (sizeof(*e) + pos) & (ROOM - 1));
}

static long vma_take(struct task_struct *task, struct vm_area_struct *vma, void *ctx)
{
	struct vma_found *v = ctx;

	v->file = BPF_CORE_READ(vma, vm_file);
	v->start = BPF_CORE_READ(vma, vm_start);
	v->end = BPF_CORE_READ(vma, vm_end);
	v->pgoff = BPF_CORE_READ(vma, vm_pgoff);
	v->flags = BPF_CORE_READ(vma, vm_flags);
	return 0;
}

/* The executable mapping of a file at or after addr (within a few vmas). */
static bool exec_vma_from(struct task_struct *t, __u64 addr, struct vma_found *v)
{
	for (int i = 0; i < IMAGE_VMAS_MAX; i++) {
		*v = (struct vma_found){};
		if (bpf_find_vma(t, addr, vma_take, v, 0) < 0 || !v->file)
			return false;
		if (v->flags & VM_EXEC)
			return true;
		addr = v->end;
	}
	return false;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(sysmon_exec_images, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	struct scratch *s = scratch_get();
	struct vma_found v;
	__u64 base;

	if (!s)
		return 0;
	/* The program: its text starts at start_code. */
	if (exec_vma_from(p, BPF_CORE_READ(p, mm, start_code), &v))
		image_output(s, p, &v);
	/* The interpreter (ld.so) the kernel mapped at AT_BASE. */
	for (int i = 0; i < 24; i += 2)
		if (BPF_CORE_READ(p, mm, saved_auxv[i]) == AT_BASE) {
			base = BPF_CORE_READ(p, mm, saved_auxv[i + 1]);
			if (base && exec_vma_from(p, base, &v))
				image_output(s, p, &v);
			break;
		}
	scratch_put(s);
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(sysmon_mmap, struct pt_regs *regs, long ret)
{
	struct task_struct *t;
	struct scratch *s;
	struct vma_found v = {};

	if (BPF_CORE_READ(regs, orig_ax) != NR_MMAP || (unsigned long)ret >= (unsigned long)-4095)
		return 0;
	if (!(BPF_CORE_READ(regs, dx) & PROT_EXEC) || (BPF_CORE_READ(regs, r10) & MAP_ANONYMOUS))
		return 0;
	t = bpf_get_current_task_btf();
	/* The mapping as it is: its file, bounds and offset. */
	if (bpf_find_vma(t, ret, vma_take, &v, 0) < 0 || !v.file || !(v.flags & VM_EXEC))
		return 0;
	s = scratch_get();
	if (!s)
		return 0;
	image_output(s, t, &v);
	scratch_put(s);
	return 0;
}
