/* SPDX-License-Identifier: MIT */
/*
 * kprotectd: the book's KProtect, done so that it holds. Protected processes
 * cannot be killed, stopped or ptrace-attached by others (the kill guard, a
 * BPF LSM program); denied executables cannot run (the exec guard, fanotify).
 *
 * A protected process is its pid plus its start time, in the daemon's list,
 * in the kernel map and in the state file. It leaves the list when it exits
 * (proc connector exit events; after lost events every rule is re-checked
 * against /proc), and the BPF program compares start times too, so a process
 * that reuses a pid is never protected.
 *
 * Anyone may read; only root and the group cusekit-admin change rules. A
 * guard the kernel cannot provide is reported at start and in GET_STATUS,
 * and the requests that need it fail with EOPNOTSUPP: never pretend.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cusekit/kprotect.h>

#include "device.h"
#include "exec-guard.h"
#include "fs-util.h"
#include "kill-guard.h"
#include "log.h"
#include "proc-connector.h"
#include "procfs.h"
#include "rules.h"
#include "state.h"

#define KPROTECT_STATE_VERSION 1
#define KPROTECT_ADMIN_GROUP "cusekit-admin"
#define KPROTECT_CAPACITY_DEFAULT 1024
#define KPROTECT_CAPACITY_MAX 65536

struct kprotect {
	unsigned pid_capacity;
	unsigned exec_capacity;
	gid_t admin_gid;            /* CUSEKIT_NO_GROUP: root only */
	struct pid_set pids;
	struct exec_set execs;
	struct kill_guard *kill_guard;
	int kill_guard_error;       /* why it is not active, -errno */
	struct exec_guard *exec_guard;
	int exec_guard_error;
	struct proc_connector *proc_connector;
	uint64_t exec_denials;
	bool dirty;                 /* rules changed since the last save */
	char *state_path;
	int lock_fd;
};

/* Rules */

/* Drop pid's rule from the list and the kernel map. */
static void kprotect_forget_pid(struct kprotect *k, uint32_t pid)
{
	int r;

	if (!pid_set_remove(&k->pids, pid))
		return;
	k->dirty = true;
	if (k->kill_guard) {
		r = kill_guard_unprotect(k->kill_guard, pid);
		if (r < 0)
			log_warning_errno(r, "Failed to remove pid %" PRIu32 " from the kernel map: %m", pid);
	}
}

/* Is the rule's process still the one running under its pid? */
static bool pid_rule_alive(const struct pid_rule *rule)
{
	uint64_t start_time;

	return proc_pid_start_time(rule->pid, &start_time) >= 0 && start_time == rule->start_time;
}

/* Drop the rules of processes that are gone. */
static void kprotect_recheck_pids(struct kprotect *k)
{
	for (size_t i = k->pids.count; i > 0; i--) {
		const struct pid_rule *rule = &k->pids.rules[i - 1];

		if (!pid_rule_alive(rule)) {
			log_info("Process %" PRIu32 " is gone, unprotected.", rule->pid);
			kprotect_forget_pid(k, rule->pid);
		}
	}
}

/* 1: pid is protected now (added); 0: it was already, or is no process. */
static int kprotect_add_pid(struct kprotect *k, uint32_t pid)
{
	uint64_t start_time;
	int r;

	if (proc_pid_is_process(pid) <= 0 || proc_pid_start_time(pid, &start_time) < 0)
		return 0;
	r = pid_set_add(&k->pids, pid, start_time);
	if (r <= 0)
		return r;
	r = kill_guard_protect(k->kill_guard, pid, start_time);
	if (r < 0) {
		pid_set_remove(&k->pids, pid);
		return log_error_errno(r, "Failed to add pid %" PRIu32 " to the kernel map: %m", pid);
	}
	k->dirty = true;
	return 1;
}

static void kprotect_clear_pids(struct kprotect *k)
{
	while (k->pids.count > 0)
		kprotect_forget_pid(k, k->pids.rules[k->pids.count - 1].pid);
}

static bool exec_denied(uint64_t dev, uint64_t ino, void *userdata)
{
	struct kprotect *k = userdata;

	return exec_set_find(&k->execs, dev, ino);
}

static void exec_was_denied(pid_t pid, uint64_t dev, uint64_t ino, void *userdata)
{
	struct kprotect *k = userdata;
	const struct exec_rule *rule = exec_set_find(&k->execs, dev, ino);

	k->exec_denials++;
	log_notice("Refused to let pid %d execute %s.", (int)pid, rule ? rule->path : "a denied file");
}

/* A rule's file: a regular file, opened without side effects (EINVAL when
 * it is anything else). */
static int open_rule_file(const char *path, struct stat *ret_st)
{
	int fd = open_regular(path, O_RDONLY, ret_st);

	return fd == -EBADFD ? -EINVAL : fd;
}

/* 1: denied now; 0: it already was. */
static int kprotect_deny_exec(struct kprotect *k, const char *path)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = open_rule_file(path, &st);
	if (fd < 0)
		return fd;
	r = exec_set_add(&k->execs, (uint64_t)st.st_dev, (uint64_t)st.st_ino, path);
	if (r <= 0)
		return r;
	r = exec_guard_mark(k->exec_guard, fd);
	if (r < 0) {
		exec_set_remove(&k->execs, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
		return log_error_errno(r, "Failed to mark %s: %m", path);
	}
	k->dirty = true;
	return 1;
}

/* A denied file deleted since: its rule goes by the name it was denied
 * under. Decisions look up the set, so the file (if another link keeps it)
 * runs again; the kernel's inode mark lingers harmlessly until the inode
 * goes. */
static int kprotect_allow_deleted(struct kprotect *k, const char *path)
{
	struct exec_rule *rule = exec_set_find_path(&k->execs, path);

	if (!rule)
		return -ENOENT;
	log_info("%s is gone: removing the rule it was denied under.", path);
	exec_set_remove(&k->execs, rule->dev, rule->ino);
	k->dirty = true;
	return 0;
}

static int kprotect_allow_exec(struct kprotect *k, const char *path)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int r;

	fd = open_rule_file(path, &st);
	if (fd == -ENOENT)
		return kprotect_allow_deleted(k, path);
	if (fd < 0)
		return fd;
	if (!exec_set_remove(&k->execs, (uint64_t)st.st_dev, (uint64_t)st.st_ino))
		return -ENOENT;
	k->dirty = true;
	if (k->exec_guard) {
		r = exec_guard_unmark(k->exec_guard, fd);
		if (r < 0)
			log_warning_errno(r, "Failed to unmark %s (the rule is gone, so it runs): %m", path);
	}
	return 0;
}

static int kprotect_save(struct cusekit_device *d)
{
	struct kprotect *k = cusekit_device_userdata(d);
	_cleanup_free_ void *data = NULL;
	size_t size;
	int r;

	if (!k->dirty)
		return 0;
	r = rules_encode(&k->pids, &k->execs, &data, &size);
	if (r >= 0)
		r = cusekit_state_save(k->state_path, KPROTECT_STATE_VERSION, data, size);
	if (r < 0)
		return log_warning_errno(r, "Failed to save the rules to %s: %m", k->state_path);
	k->dirty = false;
	return 0;
}

/* Rules are security policy: keep them on disk as soon as they change, not
 * only at the next periodic save. */
static void kprotect_changed(struct cusekit_client *c)
{
	kprotect_save(c->device);
}

/* ioctls */

/* Rule changes: root or cusekit-admin. */
static int check_admin(struct kprotect *k, struct cusekit_request *req)
{
	int r = cusekit_request_privileged(req, k->admin_gid);

	if (r < 0)
		return r;
	return r ? 0 : -EPERM;
}

static int check_pids(const struct kprotect_pids *in)
{
	return in->count == 0 || in->count > KPROTECT_PIDS_MAX ? -EINVAL : 0;
}

/* Who asks is checked before what is asked. */
static int check_pid_change(struct kprotect *k, struct cusekit_request *req, const struct kprotect_pids *pids)
{
	int r = check_admin(k, req);

	return r < 0 ? r : check_pids(pids);
}

static int kprotect_remove_pid(struct kprotect *k, uint32_t pid)
{
	if (!pid_set_find(&k->pids, pid))
		return 0;
	kprotect_forget_pid(k, pid);
	return 1;
}

/* ADD_PIDS and REMOVE_PIDS: change each pid in turn and answer the count
 * done, the book's partial success. change returns 1 done, 0 skipped,
 * -ENOSPC when nothing more can be done. */
static int change_pids(struct cusekit_client *c, struct cusekit_request *req, const struct kprotect_pids *pids,
		       struct kprotect_pids *result, int (*change)(struct kprotect *k, uint32_t pid),
		       const char *verb)
{
	struct kprotect *k = cusekit_client_userdata(c);
	uint32_t done = 0;

	for (uint32_t i = 0; i < pids->count; i++) {
		int r = change(k, pids->pids[i]);

		if (r == -ENOSPC)
			break;
		if (r > 0)
			done++;
	}
	if (done > 0) {
		log_info("%s %" PRIu32 " of %" PRIu32 " pids for uid %u.", verb, done, pids->count,
			 (unsigned)cusekit_request_caller(req)->uid);
		kprotect_changed(c);
	}
	*result = *pids;
	result->count = done;
	return 0;
}

static int kprotect_ioc_add_pids(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	int r;

	r = check_pid_change(k, req, in);
	if (r < 0)
		return r;
	if (!k->kill_guard)
		return -EOPNOTSUPP;
	return change_pids(c, req, in, out, kprotect_add_pid, "Protected");
}

static int kprotect_ioc_remove_pids(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	int r;

	r = check_pid_change(cusekit_client_userdata(c), req, in);
	if (r < 0)
		return r;
	return change_pids(c, req, in, out, kprotect_remove_pid, "Unprotected");
}

static int kprotect_ioc_clear(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	int r;

	r = check_admin(k, req);
	if (r < 0)
		return r;
	log_info("Unprotected all %zu pids for uid %u.", k->pids.count, (unsigned)cusekit_request_caller(req)->uid);
	kprotect_clear_pids(k);
	kprotect_changed(c);
	return 0;
}

static int kprotect_ioc_list(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	const struct kprotect_pid_list *query = in;
	struct kprotect_pid_list *page = out;

	/* Without exit events, look now: the list never shows the dead. */
	if (!k->proc_connector)
		kprotect_recheck_pids(k);
	*page = (struct kprotect_pid_list){ .offset = query->offset, .total = (uint32_t)k->pids.count };
	page->count = (uint32_t)pid_set_page(&k->pids, query->offset, page->entries, KPROTECT_PIDS_MAX);
	return 0;
}

/* The path of a DENY_EXEC/ALLOW_EXEC request: absolute (the daemon's working
 * directory is not the caller's) and NUL-terminated. */
static int check_path(const struct kprotect_path *p)
{
	if (p->path[0] != '/' || !memchr(p->path, '\0', sizeof(p->path)))
		return -EINVAL;
	return 0;
}

static int kprotect_ioc_deny_exec(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	const struct kprotect_path *p = in;
	int r;

	r = check_admin(k, req);
	if (r >= 0)
		r = check_path(p);
	if (r < 0)
		return r;
	if (!k->exec_guard)
		return -EOPNOTSUPP;
	r = kprotect_deny_exec(k, p->path);
	if (r > 0) {
		log_info("Denied execution of %s for uid %u.", p->path, (unsigned)cusekit_request_caller(req)->uid);
		kprotect_changed(c);
	}
	return r < 0 ? r : 0;
}

static int kprotect_ioc_allow_exec(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	const struct kprotect_path *p = in;
	int r;

	r = check_admin(k, req);
	if (r >= 0)
		r = check_path(p);
	if (r >= 0)
		r = kprotect_allow_exec(k, p->path);
	if (r < 0)
		return r;
	log_info("Allowed execution of %s for uid %u.", p->path, (unsigned)cusekit_request_caller(req)->uid);
	kprotect_changed(c);
	return 0;
}

static int kprotect_ioc_list_exec(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	const struct kprotect_exec_list *query = in;
	struct kprotect_exec_list *page = out;

	*page = (struct kprotect_exec_list){ .offset = query->offset, .total = (uint32_t)k->execs.count };
	page->count = (uint32_t)exec_set_page(&k->execs, query->offset, page->entries, KPROTECT_EXEC_PAGE);
	return 0;
}

static int kprotect_ioc_get_status(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	struct kprotect_status *st = out;
	uint64_t kill_denials = 0, ptrace_denials = 0;

	*st = (struct kprotect_status){
		.kill_guard_error = -k->kill_guard_error,
		.exec_guard_error = -k->exec_guard_error,
		.pid_count = (uint32_t)k->pids.count,
		.pid_capacity = k->pid_capacity,
		.exec_count = (uint32_t)k->execs.count,
		.exec_capacity = k->exec_capacity,
		.exec_denials = k->exec_denials,
	};
	if (k->kill_guard) {
		st->guards |= KPROTECT_KILL_GUARD;
		kill_guard_denials(k->kill_guard, &kill_denials, &ptrace_denials);
		st->kill_denials = kill_denials;
		st->ptrace_denials = ptrace_denials;
	}
	if (k->exec_guard)
		st->guards |= KPROTECT_EXEC_GUARD;
	return 0;
}

static const struct cusekit_ioctl kprotect_ioctls[] = {
	{ KPROTECT_IOC_ADD_PIDS, kprotect_ioc_add_pids },
	{ KPROTECT_IOC_REMOVE_PIDS, kprotect_ioc_remove_pids },
	{ KPROTECT_IOC_CLEAR, kprotect_ioc_clear },
	{ KPROTECT_IOC_LIST, kprotect_ioc_list },
	{ KPROTECT_IOC_DENY_EXEC, kprotect_ioc_deny_exec },
	{ KPROTECT_IOC_ALLOW_EXEC, kprotect_ioc_allow_exec },
	{ KPROTECT_IOC_LIST_EXEC, kprotect_ioc_list_exec },
	{ KPROTECT_IOC_GET_STATUS, kprotect_ioc_get_status },
	{}
};

/* Process exits */

static void on_proc_event(const struct proc_event *ev, void *userdata)
{
	struct kprotect *k = userdata;
	uint32_t pid = (uint32_t)ev->event_data.exit.process_pid;

	/* The process is over when its main thread exits (its other threads
	 * are being killed, or it called pthread_exit and becomes a zombie
	 * leader: the documented limit). The event comes before the task is a
	 * zombie, so /proc cannot be asked: trust the event. */
	if (ev->what != PROC_EVENT_EXIT || pid != (uint32_t)ev->event_data.exit.process_tgid ||
	    !pid_set_find(&k->pids, pid))
		return;
	log_info("Protected process %" PRIu32 " exited.", pid);
	kprotect_forget_pid(k, pid);
}

static void on_proc_overrun(void *userdata)
{
	struct kprotect *k = userdata;

	log_warning("Lost process events: re-checking every protected process.");
	kprotect_recheck_pids(k);
}

/* Start */

/* A second kprotectd would fight over the same rules and guards. */
static int kprotect_lock(struct kprotect *k, const char *state_dir)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/lock", state_dir) < 0)
		return log_oom();
	k->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (k->lock_fd < 0)
		return log_error_errno(negative_errno(), "Failed to open %s: %m", path);
	if (flock(k->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return log_error_errno(-EBUSY, "Another kprotectd runs on %s, refusing to start.", state_dir);
		return log_error_errno(negative_errno(), "Failed to lock %s: %m", path);
	}
	return 0;
}

/* Re-apply saved pid rules: only processes still running with their start
 * time are protected again. */
static void kprotect_apply_pids(struct kprotect *k)
{
	int r;

	if (!k->kill_guard) {
		if (k->pids.count > 0)
			log_warning("Dropping %zu saved pid rules: the kill guard is not active.", k->pids.count);
		pid_set_clear(&k->pids);
		return;
	}
	kprotect_recheck_pids(k);
	for (size_t i = k->pids.count; i > 0; i--) {
		const struct pid_rule *rule = &k->pids.rules[i - 1];

		r = kill_guard_protect(k->kill_guard, rule->pid, rule->start_time);
		if (r < 0) {
			log_error_errno(r, "Failed to protect saved pid %" PRIu32 ": %m", rule->pid);
			pid_set_remove(&k->pids, rule->pid);
		}
	}
}

/* Re-mark saved exec rules through their paths; a path that names another
 * file now (replaced, or gone) drops the rule: the rule was that file. */
static void kprotect_apply_execs(struct kprotect *k)
{
	for (size_t i = k->execs.count; i > 0; i--) {
		struct exec_rule *rule = &k->execs.rules[i - 1];
		_cleanup_close_ int fd = -1;
		struct stat st;
		int r;

		fd = open_rule_file(rule->path, &st);
		r = fd < 0 ? fd : ((uint64_t)st.st_dev != rule->dev || (uint64_t)st.st_ino != rule->ino) ? -ESTALE : 0;
		if (r >= 0 && k->exec_guard)
			r = exec_guard_mark(k->exec_guard, fd);
		if (r < 0) {
			log_warning_errno(r, "Dropping the exec rule for %s: %m", rule->path);
			exec_set_remove(&k->execs, rule->dev, rule->ino);
			k->dirty = true;
		}
	}
}

static int kprotect_load(struct kprotect *k)
{
	_cleanup_free_ void *data = NULL;
	size_t size, dropped = 0;
	int r;

	r = cusekit_state_load(k->state_path, KPROTECT_STATE_VERSION, "the rules", &data, &size);
	if (r < 0)
		return 0;
	r = rules_decode(data, size, &k->pids, &k->execs, &dropped);
	if (r < 0) {
		log_warning_errno(r, "Ignoring the rules in %s, starting with none: %m", k->state_path);
		return 0;
	}
	if (dropped > 0)
		log_warning("Dropped %zu saved rules beyond the capacity.", dropped);
	log_info("Loaded %zu pid rules and %zu exec rules.", k->pids.count, k->execs.count);
	return 0;
}

static void kprotect_start_guards(struct kprotect *k, sd_event *e)
{
	int r;

	r = kill_guard_new(k->pid_capacity, &k->kill_guard);
	if (r < 0) {
		k->kill_guard_error = r;
		log_warning_errno(r, "Kill guard NOT active (BPF LSM task_kill/ptrace_access_check): %m. "
				  "Adding pids fails with EOPNOTSUPP.");
	} else
		log_info("Kill guard active: BPF LSM on task_kill and ptrace_access_check.");

	r = exec_guard_new(e, exec_denied, exec_was_denied, k, &k->exec_guard);
	if (r < 0) {
		k->exec_guard_error = r;
		log_warning_errno(r, "Exec guard NOT active (fanotify FAN_OPEN_EXEC_PERM): %m. "
				  "Denying executables fails with EOPNOTSUPP.");
	} else
		log_info("Exec guard active: fanotify FAN_OPEN_EXEC_PERM, fail open if kprotectd dies.");
}

static int kprotect_start(struct cusekit_device *d)
{
	struct kprotect *k = cusekit_device_userdata(d);
	const char *state_dir = cusekit_device_state_dir(d);
	int r;

	k->admin_gid = cusekit_group_resolve(KPROTECT_ADMIN_GROUP, "who may change rules");

	r = mkdir_p(state_dir, 0700);
	if (r < 0)
		return log_error_errno(r, "Failed to create %s: %m", state_dir);
	r = kprotect_lock(k, state_dir);
	if (r < 0)
		return r;
	if (asprintf(&k->state_path, "%s/rules", state_dir) < 0)
		return log_oom();
	if (pid_set_init(&k->pids, k->pid_capacity) < 0 || exec_set_init(&k->execs, k->exec_capacity) < 0)
		return log_oom();
	r = kprotect_load(k);
	if (r < 0)
		return r;

	kprotect_start_guards(k, cusekit_device_event(d));

	r = proc_connector_new(cusekit_device_event(d), PROC_EVENT_EXIT, on_proc_event, on_proc_overrun, k,
			       &k->proc_connector);
	if (r < 0)
		log_warning_errno(r, "No process exit events (proc connector: %m): "
				  "protected processes are re-checked when listed.");

	kprotect_apply_pids(k);
	kprotect_apply_execs(k);
	return 0;
}

static void kprotect_destroy(struct cusekit_device *d)
{
	struct kprotect *k = cusekit_device_userdata(d);

	proc_connector_free(k->proc_connector);
	exec_guard_free(k->exec_guard);
	kill_guard_free(k->kill_guard);
	pid_set_done(&k->pids);
	exec_set_done(&k->execs);
	free(k->state_path);
	if (k->lock_fd >= 0)
		close(k->lock_fd);
}

static int parse_capacity(const char *arg, unsigned *ret)
{
	long long v;
	int r = cusekit_parse_integer(arg, 1, KPROTECT_CAPACITY_MAX, &v);

	if (r >= 0)
		*ret = (unsigned)v;
	return r;
}

static int parse_pid_capacity(void *userdata, const char *arg)
{
	return parse_capacity(arg, &((struct kprotect *)userdata)->pid_capacity);
}

static int parse_exec_capacity(void *userdata, const char *arg)
{
	return parse_capacity(arg, &((struct kprotect *)userdata)->exec_capacity);
}

static const struct cusekit_option kprotect_options[] = {
	{ "capacity", true, "N  most protected processes (default 1024)", parse_pid_capacity },
	{ "exec-capacity", true, "N  most denied executables (default 1024)", parse_exec_capacity },
	{}
};

static void kprotect_init(void *userdata)
{
	struct kprotect *k = userdata;

	k->pid_capacity = KPROTECT_CAPACITY_DEFAULT;
	k->exec_capacity = KPROTECT_CAPACITY_DEFAULT;
	k->admin_gid = CUSEKIT_NO_GROUP;
	k->lock_fd = -1;
}

const struct cusekit_device_ops kprotect_device = {
	.name = "kprotect",
	.description = "Serve /dev/cusekit/kprotect: processes others cannot kill, executables that cannot run.",
	.node_mode = 0666,
	.options = kprotect_options,
	.size = sizeof(struct kprotect),
	.init = kprotect_init,
	.start = kprotect_start,
	.save = kprotect_save,
	.destroy = kprotect_destroy,
	.ioctls = kprotect_ioctls,
};
