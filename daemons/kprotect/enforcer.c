/* SPDX-License-Identifier: MIT */
/* The enforcer: the rules in force (pids, files, mode), the guards that
 * enforce them, and the state file. See enforcer.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enforcer-private.h"
#include "exec-guard.h"
#include "fs-util.h"
#include "log.h"
#include "lsm.h"
#include "proc-connector.h"
#include "procfs.h"
#include "rules.h"
#include "state.h"

#define KPROTECT_STATE_VERSION 1

struct file_set *enforcer_file_set(struct enforcer *e, enum enforcer_file_kind kind)
{
	return kind == ENFORCER_DENY_EXEC ? &e->rules.execs : &e->rules.exes;
}

const char *enforcer_kind_name(enum enforcer_file_kind kind)
{
	return kind == ENFORCER_DENY_EXEC ? "deny-exec" : "add-exe";
}

/* Saving */

int enforcer_save(struct enforcer *e)
{
	_cleanup_free_ void *data = NULL;
	size_t size;
	int r;

	if (!e->dirty)
		return 0;
	r = rules_encode(&e->rules, &data, &size);
	if (r >= 0)
		r = cusekit_state_save(e->state_path, KPROTECT_STATE_VERSION, data, size);
	if (r < 0)
		return log_warning_errno(r, "Failed to save the rules to %s: %m", e->state_path);
	e->dirty = false;
	return 0;
}

/* Rules are security policy: on disk as soon as they change. */
void enforcer_changed(struct enforcer *e)
{
	e->dirty = true;
	enforcer_save(e);
}

/* Pid rules */

static void forget_pid(struct enforcer *e, uint32_t pid)
{
	int r;

	if (!pid_set_remove(&e->rules.pids, pid))
		return;
	e->dirty = true;
	if (e->kill_guard) {
		r = lsm_unprotect_pid(e->lsm, pid);
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

static void recheck_pids(struct enforcer *e)
{
	bool dirty = e->dirty;

	for (size_t i = e->rules.pids.count; i > 0; i--) {
		const struct pid_rule *rule = &e->rules.pids.rules[i - 1];

		if (!pid_rule_alive(rule)) {
			log_info("Process %" PRIu32 " is gone, unprotected.", rule->pid);
			forget_pid(e, rule->pid);
		}
	}
	if (e->dirty && !dirty)
		enforcer_changed(e);
}

int enforcer_add_pid(struct enforcer *e, uint32_t pid)
{
	uint64_t start_time;
	int r;

	if (!e->kill_guard)
		return -EOPNOTSUPP;
	if (proc_pid_is_process(pid) <= 0 || proc_pid_start_time(pid, &start_time) < 0)
		return 0;
	r = pid_set_add(&e->rules.pids, pid, start_time);
	if (r <= 0)
		return r;
	r = lsm_protect_pid(e->lsm, pid, start_time);
	if (r < 0) {
		pid_set_remove(&e->rules.pids, pid);
		return log_error_errno(r, "Failed to add pid %" PRIu32 " to the kernel map: %m", pid);
	}
	enforcer_changed(e);
	return 1;
}

int enforcer_remove_pid(struct enforcer *e, uint32_t pid)
{
	if (!pid_set_find(&e->rules.pids, pid))
		return 0;
	forget_pid(e, pid);
	enforcer_changed(e);
	return 1;
}

size_t enforcer_clear_pids(struct enforcer *e)
{
	size_t n = e->rules.pids.count;

	while (e->rules.pids.count > 0)
		forget_pid(e, e->rules.pids.rules[e->rules.pids.count - 1].pid);
	if (n > 0)
		enforcer_changed(e);
	return n;
}

size_t enforcer_list_pids(struct enforcer *e, size_t offset, struct kprotect_pid_entry *out, size_t max,
			  size_t *ret_total)
{
	/* Without exit events, look now: the list never shows the dead. */
	if (!e->proc_connector)
		recheck_pids(e);
	*ret_total = e->rules.pids.count;
	return pid_set_page(&e->rules.pids, offset, out, max);
}

/* File rules */

/* An O_PATH descriptor of path, which must name a regular file (EINVAL
 * else): opening it for real could block (a FIFO), act (a device), or wait
 * for our own answer (a file the fanotify guard marks). */
int enforcer_open_path(const char *path, struct stat *ret_st)
{
	int fd = open_regular(path, O_PATH, ret_st);

	return fd == -EBADFD ? -EINVAL : fd;
}

/* The file of the O_PATH fd, opened for reading. Never for a file the
 * fanotify guard marks. */
static int reopen(int fd)
{
	char path[64];
	int r;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	r = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	return r < 0 ? negative_errno() : r;
}

/* May we open the file of path_fd (an O_PATH fd; st its stat) for real? Not
 * when the fanotify guard denies it: our own open would wait for our own
 * answer. A mark a rule left behind (it went by a name its file no longer
 * had) would do the same, so it goes now rather than at the file's next
 * event, which our open would be. */
bool enforcer_openable(struct enforcer *e, int path_fd, const struct stat *st)
{
	if (!e->fanotify)
		return true;
	if (file_set_find(&e->rules.execs, (uint64_t)st->st_dev, (uint64_t)st->st_ino))
		return false;
	return exec_guard_unmark(e->fanotify, path_fd) >= 0;
}

/* A #! script runs as its interpreter: no process ever executes it. */
bool enforcer_is_script(int path_fd)
{
	_cleanup_close_ int fd = reopen(path_fd);
	char magic[2];

	return fd >= 0 && pread(fd, magic, sizeof(magic), 0) == 2 && magic[0] == '#' && magic[1] == '!';
}

/* The kernel's identity of the file of the O_PATH fd. Only where the BPF
 * LSM enforces, so nothing is marked. */
static int file_key(struct enforcer *e, int path_fd, struct lsm_file_key *ret)
{
	_cleanup_close_ int fd = reopen(path_fd);

	return fd < 0 ? fd : lsm_file_key(e->lsm, fd, ret);
}

/* Can a rule of kind be enforced now? */
int enforcer_guard_for(struct enforcer *e, enum enforcer_file_kind kind)
{
	if (kind == ENFORCER_DENY_EXEC)
		return e->exec_lsm || e->fanotify ? 0 : -EOPNOTSUPP;
	return e->kill_guard ? 0 : -EOPNOTSUPP;
}

/* Put rule (on the open file fd) into force. */
static int arm(struct enforcer *e, enum enforcer_file_kind kind, struct file_rule *rule, int fd)
{
	int r;

	if (kind == ENFORCER_DENY_EXEC && e->fanotify)
		return exec_guard_mark(e->fanotify, fd);
	if ((kind == ENFORCER_DENY_EXEC && !e->exec_lsm) || (kind == ENFORCER_PROTECT_EXE && !e->kill_guard))
		return 0;
	r = file_key(e, fd, &rule->key);
	if (r < 0)
		return r;
	return kind == ENFORCER_DENY_EXEC ? lsm_deny_file(e->lsm, &rule->key) : lsm_protect_exe(e->lsm, &rule->key);
}

/* Take rule out of force; fd is the file, or -1 when it is gone (a
 * fanotify mark then goes at its next event). */
void enforcer_disarm(struct enforcer *e, enum enforcer_file_kind kind, struct file_rule *rule, int fd)
{
	int r = 0;

	if (kind == ENFORCER_DENY_EXEC && e->fanotify) {
		if (fd >= 0)
			r = exec_guard_unmark(e->fanotify, fd);
	} else if (kind == ENFORCER_DENY_EXEC && e->exec_lsm)
		r = lsm_allow_file(e->lsm, &rule->key);
	else if (kind == ENFORCER_PROTECT_EXE && e->kill_guard)
		r = lsm_unprotect_exe(e->lsm, &rule->key);
	if (r < 0)
		log_warning_errno(r, "Failed to lift the %s rule for %s (it is gone, so it no longer holds): %m",
				  enforcer_kind_name(kind), rule->path);
}

/* *ret_index (optional): where the rule is in its set, made now or before. */
int enforcer_add_file_at(struct enforcer *e, enum enforcer_file_kind kind, const char *path, const char *origin,
		    size_t *ret_index)
{
	struct file_set *set = enforcer_file_set(e, kind);
	_cleanup_close_ int fd = -1;
	struct file_rule *rule;
	struct stat st;
	int r;

	fd = enforcer_open_path(path, &st);
	if (fd < 0)
		return fd;
	if (kind == ENFORCER_PROTECT_EXE && enforcer_openable(e, fd, &st) && enforcer_is_script(fd))
		return -EINVAL;
	rule = file_set_find(set, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	if (rule) {
		/* A rule a rules file makes belongs to the file. */
		if (origin && (!rule->origin || strcmp(rule->origin, origin))) {
			if (!rule->origin)
				e->dirty = true;
			r = file_rule_set_origin(rule, origin);
			if (r < 0)
				return r;
		}
		if (ret_index)
			*ret_index = (size_t)(rule - set->rules);
		return 0;
	}
	r = enforcer_guard_for(e, kind);
	if (r < 0)
		return r;
	r = file_set_add(set, (uint64_t)st.st_dev, (uint64_t)st.st_ino, path, origin);
	if (r < 0)
		return r;
	rule = &set->rules[set->count - 1];
	r = arm(e, kind, rule, fd);
	if (r < 0) {
		file_set_remove(set, rule->dev, rule->ino);
		return log_error_errno(r, "Failed to enforce the %s rule for %s: %m", enforcer_kind_name(kind), path);
	}
	if (ret_index)
		*ret_index = set->count - 1;
	if (!origin)
		e->dirty = true;
	return 1;
}

int enforcer_add_file(struct enforcer *e, enum enforcer_file_kind kind, const char *path, const char *origin)
{
	int r = enforcer_add_file_at(e, kind, path, origin, NULL);

	if (e->dirty)
		enforcer_changed(e);
	return r;
}

int enforcer_remove_file(struct enforcer *e, enum enforcer_file_kind kind, const char *path)
{
	struct file_set *set = enforcer_file_set(e, kind);
	_cleanup_close_ int fd = -1;
	struct file_rule *rule;
	struct stat st;

	fd = enforcer_open_path(path, &st);
	if (fd >= 0)
		rule = file_set_find(set, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	else if (fd == -ENOENT) {
		/* The file was deleted since: its rule goes by the name it was
		 * made under. */
		rule = file_set_find_path(set, path);
		if (rule)
			log_info("%s is gone: removing the %s rule made under that name.", path, enforcer_kind_name(kind));
	} else
		return fd;
	if (!rule)
		return -ENOENT;
	if (rule->origin)
		return -EROFS;
	enforcer_disarm(e, kind, rule, fd);
	file_set_remove(set, rule->dev, rule->ino);
	enforcer_changed(e);
	return 0;
}

size_t enforcer_list_files(struct enforcer *e, enum enforcer_file_kind kind, size_t offset,
			   struct kprotect_file_entry *out, size_t max, size_t *ret_total)
{
	struct file_set *set = enforcer_file_set(e, kind);

	*ret_total = set->count;
	return file_set_page(set, offset, out, max);
}

/* Mode */

static void apply_mode(struct enforcer *e)
{
	bool enforcing = e->mode == KPROTECT_MODE_ENFORCING;

	if (e->lsm)
		lsm_set_enforcing(e->lsm, enforcing);
	if (e->fanotify)
		exec_guard_set_enforcing(e->fanotify, enforcing);
}

int enforcer_set_mode(struct enforcer *e, uint32_t mode)
{
	if (mode != KPROTECT_MODE_ENFORCING && mode != KPROTECT_MODE_PERMISSIVE)
		return -EINVAL;
	e->mode = e->rules.mode = mode;
	e->rules.config_mode = e->config.mode;
	apply_mode(e);
	enforcer_changed(e);
	return 0;
}

/* Status */

void enforcer_status(struct enforcer *e, struct kprotect_status *st)
{
	struct lsm_counters c = {};

	if (e->lsm)
		lsm_counters(e->lsm, &c);
	*st = (struct kprotect_status){
		.kill_guard_error = e->kill_guard ? 0 : -e->kill_guard_error,
		.exec_guard_error = e->exec_lsm ? 0 : -e->exec_lsm_error,
		.mode = e->mode,
		.pid_count = (uint32_t)e->rules.pids.count,
		.pid_capacity = (uint32_t)e->rules.pids.capacity,
		.exec_count = (uint32_t)e->rules.execs.count,
		.exec_capacity = (uint32_t)e->rules.execs.capacity,
		.exe_count = (uint32_t)e->rules.exes.count,
		.exe_capacity = (uint32_t)e->rules.exes.capacity,
		.rules_files = e->rules_files,
		.rules_errors = e->rules_errors,
		.kill_denials = c.kill,
		.ptrace_denials = c.ptrace,
		.exec_denials = c.exec + e->fanotify_exec_denials,
		.map_denials = c.map + e->fanotify_map_denials,
		.events_lost = c.lost,
	};
	if (e->kill_guard)
		st->guards |= KPROTECT_KILL_GUARD;
	if (e->exec_lsm) {
		st->guards |= KPROTECT_EXEC_GUARD | KPROTECT_EXEC_LSM;
		st->exec_covers = KPROTECT_COVERS_EXECVE | KPROTECT_COVERS_LOADER | KPROTECT_COVERS_DLOPEN |
				  KPROTECT_COVERS_MMAP | KPROTECT_COVERS_MPROTECT;
	} else if (e->fanotify) {
		st->guards |= KPROTECT_EXEC_GUARD | KPROTECT_EXEC_FANOTIFY;
		st->exec_covers = KPROTECT_COVERS_EXECVE | KPROTECT_COVERS_LOADER | KPROTECT_COVERS_DLOPEN;
	} else if (st->exec_guard_error == 0)
		st->exec_guard_error = -e->fanotify_error;
}

/* Process exits */

static void on_proc_event(const struct proc_event *ev, void *userdata)
{
	struct enforcer *e = userdata;
	uint32_t pid = (uint32_t)ev->event_data.exit.process_pid;

	/* The process is over when its main thread exits (its other threads
	 * are being killed, or it called pthread_exit and becomes a zombie
	 * leader: the documented limit). The event comes before the task is a
	 * zombie, so /proc cannot be asked: trust the event. */
	if (ev->what != PROC_EVENT_EXIT || pid != (uint32_t)ev->event_data.exit.process_tgid ||
	    !pid_set_find(&e->rules.pids, pid))
		return;
	log_info("Protected process %" PRIu32 " exited.", pid);
	forget_pid(e, pid);
	enforcer_changed(e);
}

static void on_proc_overrun(void *userdata)
{
	struct enforcer *e = userdata;

	log_warning("Lost process events: re-checking every protected process.");
	recheck_pids(e);
}

/* Start */

/* A second kprotectd would fight over the same rules and guards. */
static int take_lock(struct enforcer *e)
{
	_cleanup_free_ char *path = NULL;

	if (asprintf(&path, "%s/lock", e->config.state_dir) < 0)
		return log_oom();
	e->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (e->lock_fd < 0)
		return log_error_errno(negative_errno(), "Failed to open %s: %m", path);
	if (flock(e->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return log_error_errno(-EBUSY, "Another kprotectd runs on %s, refusing to start.",
					       e->config.state_dir);
		return log_error_errno(negative_errno(), "Failed to lock %s: %m", path);
	}
	return 0;
}

static void load_state(struct enforcer *e)
{
	_cleanup_free_ void *data = NULL;
	size_t size, dropped = 0;
	int r;

	/* The loader warns about a file it cannot use. */
	r = cusekit_state_load(e->state_path, KPROTECT_STATE_VERSION, "the rules", &data, &size);
	if (r < 0)
		return;
	r = rules_decode(data, size, &e->rules, &dropped);
	if (r < 0) {
		log_warning_errno(r, "Ignoring the rules in %s, starting with none: %m", e->state_path);
		return;
	}
	if (dropped > 0) {
		log_warning("Dropped %zu saved rules beyond the capacity.", dropped);
		e->dirty = true;
	}
	log_info("Loaded %zu pid rules, %zu exec rules and %zu program rules.", e->rules.pids.count,
		 e->rules.execs.count, e->rules.exes.count);
}

/* A mode set through the device lasts until the configured one changes. */
static void choose_mode(struct enforcer *e)
{
	if (e->rules.mode != RULES_MODE_UNSET && e->rules.config_mode != e->config.mode) {
		log_info("The configured mode changed since 'protect mode' was used: the configuration's holds.");
		e->rules.mode = e->rules.config_mode = RULES_MODE_UNSET;
		e->dirty = true;
	}
	e->mode = e->rules.mode != RULES_MODE_UNSET ? e->rules.mode : e->config.mode;
	apply_mode(e);
	log_info("Mode: %s%s.", e->mode == KPROTECT_MODE_ENFORCING ? "enforcing" : "PERMISSIVE (nothing is refused)",
		 e->rules.mode != RULES_MODE_UNSET ? ", set by 'protect mode'" : "");
}

static void start_guards(struct enforcer *e, sd_event *event)
{
	struct lsm_capacity capacity = {
		.pids = e->config.pid_capacity,
		.exes = e->config.exe_capacity,
		.files = e->config.exec_capacity,
	};
	int r;

	r = lsm_new(event, &capacity, enforcer_lsm_event, e, &e->lsm);
	if (r < 0)
		e->kill_guard_error = e->exec_lsm_error = r;
	else {
		r = lsm_start_kill_guard(e->lsm);
		e->kill_guard = r >= 0;
		e->kill_guard_error = MIN(r, 0);
		if (e->config.exec_guard == ENFORCER_EXEC_FANOTIFY)
			e->exec_lsm_error = -ECANCELED;
		else {
			r = lsm_start_exec_guard(e->lsm);
			e->exec_lsm = r >= 0;
			e->exec_lsm_error = MIN(r, 0);
		}
		if (!e->kill_guard && !e->exec_lsm)
			e->lsm = lsm_free(e->lsm);
	}
	if (e->kill_guard)
		log_info("Kill guard active: BPF LSM on task_kill and ptrace_access_check, by pid and by program.");
	else
		log_warning_errno(e->kill_guard_error,
				  "Kill guard NOT active (BPF LSM task_kill/ptrace_access_check): %m. "
				  "Protecting processes fails with EOPNOTSUPP.");

	if (e->exec_lsm) {
		log_info("Exec guard active: BPF LSM on bprm_check_security, mmap_file and file_mprotect: "
			 "execve, execveat, #! scripts and interpreters, the dynamic loader run by hand, dlopen, "
			 "every executable mmap and mprotect of a denied file are refused.");
		return;
	}
	r = exec_guard_new(event, enforcer_fanotify_denied, enforcer_fanotify_was_denied, e, &e->fanotify);
	if (r < 0) {
		e->fanotify_error = r;
		log_warning_errno(r, "Exec guard NOT active (no BPF LSM: %s; no fanotify permission events: %m). "
				  "Denying executables fails with EOPNOTSUPP.", strerror(-e->exec_lsm_error));
		return;
	}
	log_info("Exec guard active: fanotify (BPF LSM exec guard: %s): execve, execveat, #! scripts and "
		 "interpreters, the dynamic loader run by hand and dlopen of a denied file are refused; an "
		 "executable mmap or mprotect by other code is NOT (fanotify has no event for it).",
		 e->config.exec_guard == ENFORCER_EXEC_FANOTIFY ? "not used, exec-guard=fanotify"
								: strerror(-e->exec_lsm_error));
}

/* Re-apply saved pid rules: only processes still running with their start
 * time are protected again. */
static void apply_pids(struct enforcer *e)
{
	int r;

	if (!e->kill_guard) {
		if (e->rules.pids.count > 0) {
			log_warning("Dropping %zu saved pid rules: the kill guard is not active.", e->rules.pids.count);
			pid_set_clear(&e->rules.pids);
			e->dirty = true;
		}
		return;
	}
	recheck_pids(e);
	for (size_t i = e->rules.pids.count; i > 0; i--) {
		const struct pid_rule *rule = &e->rules.pids.rules[i - 1];

		r = lsm_protect_pid(e->lsm, rule->pid, rule->start_time);
		if (r < 0) {
			log_error_errno(r, "Failed to protect saved pid %" PRIu32 ": %m", rule->pid);
			forget_pid(e, rule->pid);
		}
	}
}

/* Re-apply saved file rules through their paths; a path that names another
 * file now (replaced, or gone) drops the rule: the rule was that file. */
static void apply_files(struct enforcer *e, enum enforcer_file_kind kind)
{
	struct file_set *set = enforcer_file_set(e, kind);

	for (size_t i = set->count; i > 0; i--) {
		struct file_rule *rule = &set->rules[i - 1];
		_cleanup_close_ int fd = -1;
		struct stat st;
		int r;

		fd = enforcer_open_path(rule->path, &st);
		r = fd < 0 ? fd : ((uint64_t)st.st_dev != rule->dev || (uint64_t)st.st_ino != rule->ino) ? -ESTALE : 0;
		if (r >= 0)
			r = arm(e, kind, rule, fd);
		if (r < 0) {
			log_warning_errno(r, "Dropping the %s rule for %s: %m", enforcer_kind_name(kind), rule->path);
			file_set_remove(set, rule->dev, rule->ino);
			e->dirty = true;
		}
	}
}

int enforcer_new(sd_event *event, const struct enforcer_config *config, struct enforcer **ret)
{
	struct enforcer *e;
	int r;

	e = calloc(1, sizeof(*e));
	if (!e)
		return log_oom();
	*e = (struct enforcer){ .config = *config, .lock_fd = -1 };
	r = rules_init(&e->rules, config->pid_capacity, config->exec_capacity, config->exe_capacity);
	if (r < 0)
		goto fail;
	r = mkdir_p(config->state_dir, 0700);
	if (r < 0) {
		log_error_errno(r, "Failed to create %s: %m", config->state_dir);
		goto fail;
	}
	r = take_lock(e);
	if (r < 0)
		goto fail;
	if (asprintf(&e->state_path, "%s/rules", config->state_dir) < 0) {
		r = log_oom();
		goto fail;
	}
	load_state(e);
	start_guards(e, event);
	choose_mode(e);

	r = proc_connector_new(event, PROC_EVENT_EXIT, on_proc_event, on_proc_overrun, e, &e->proc_connector);
	if (r < 0)
		log_warning_errno(r, "No process exit events (proc connector: %m): "
				  "protected processes are re-checked when listed.");

	apply_pids(e);
	apply_files(e, ENFORCER_DENY_EXEC);
	apply_files(e, ENFORCER_PROTECT_EXE);
	enforcer_reload(e);
	/* Whatever was dropped leaves the state file now, not at the next
	 * periodic save. */
	if (e->dirty)
		enforcer_changed(e);
	*ret = e;
	return 0;
fail:
	enforcer_free(e);
	return r;
}

struct enforcer *enforcer_free(struct enforcer *e)
{
	if (e) {
		proc_connector_free(e->proc_connector);
		exec_guard_free(e->fanotify);
		lsm_free(e->lsm);
		rules_done(&e->rules);
		free(e->state_path);
		if (e->lock_fd >= 0)
			close(e->lock_fd);
		free(e);
	}
	return NULL;
}
