/* SPDX-License-Identifier: MIT */
/*
 * kprotectd: the book's KProtect, done so that it holds. Protected processes
 * cannot be killed, stopped or ptrace-attached by others (the kill guard);
 * denied files cannot be executed or mapped executable (the exec guard).
 *
 * This file is the device: its requests, options and lifetime. The rules
 * and what enforces them live in the enforcer (enforcer.h).
 *
 * Anyone may read; only root and the group cusekit-admin change rules. A
 * guard the kernel cannot provide is reported at start and in GET_STATUS,
 * and the requests that need it fail with EOPNOTSUPP: never pretend.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <cusekit/kprotect.h>

#include "device.h"
#include "enforcer.h"
#include "log.h"
#include "rules.h"

#define KPROTECT_ADMIN_GROUP "cusekit-admin"
#define KPROTECT_RULES_DIR "/etc/cusekit/kprotect.d"

struct kprotect {
	struct enforcer_config config;
	char *rules_dir;            /* --rules-dir, else KPROTECT_RULES_DIR */
	gid_t admin_gid;            /* CUSEKIT_NO_GROUP: root only */
	struct enforcer *enforcer;
};

/* Rule changes: root or cusekit-admin. */
static int check_admin(struct kprotect *k, struct cusekit_request *req)
{
	int r = cusekit_request_privileged(req, k->admin_gid);

	if (r < 0)
		return r;
	return r ? 0 : -EPERM;
}

static unsigned caller_uid(struct cusekit_request *req)
{
	return (unsigned)cusekit_request_caller(req)->uid;
}

/* Pid rules */

/* ADD_PIDS and REMOVE_PIDS: change each pid in turn and answer the count
 * done, the book's partial success. change returns 1 done, 0 skipped,
 * -ENOSPC when nothing more can be done. */
static int change_pids(struct kprotect *k, struct cusekit_request *req, const struct kprotect_pids *pids,
		       struct kprotect_pids *result, int (*change)(struct enforcer *e, uint32_t pid),
		       const char *verb)
{
	uint32_t done = 0;
	int r;

	/* Who asks is checked before what is asked. */
	r = check_admin(k, req);
	if (r < 0)
		return r;
	if (pids->count == 0 || pids->count > KPROTECT_PIDS_MAX)
		return -EINVAL;
	for (uint32_t i = 0; i < pids->count; i++) {
		r = change(k->enforcer, pids->pids[i]);
		if (r == -ENOSPC)
			break;
		if (r == -EOPNOTSUPP)
			return r;
		if (r > 0)
			done++;
	}
	if (done > 0)
		log_info("%s %" PRIu32 " of %" PRIu32 " pids for uid %u.", verb, done, pids->count, caller_uid(req));
	*result = *pids;
	result->count = done;
	return 0;
}

static int kprotect_ioc_add_pids(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return change_pids(cusekit_client_userdata(c), req, in, out, enforcer_add_pid, "Protected");
}

static int kprotect_ioc_remove_pids(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return change_pids(cusekit_client_userdata(c), req, in, out, enforcer_remove_pid, "Unprotected");
}

static int kprotect_ioc_clear(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	int r;

	r = check_admin(k, req);
	if (r < 0)
		return r;
	log_info("Unprotected all %zu pids for uid %u.", enforcer_clear_pids(k->enforcer), caller_uid(req));
	return 0;
}

static int kprotect_ioc_list(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	const struct kprotect_pid_list *query = in;
	struct kprotect_pid_list *page = out;
	size_t total;

	*page = (struct kprotect_pid_list){ .offset = query->offset };
	page->count = (uint32_t)enforcer_list_pids(k->enforcer, query->offset, page->entries, KPROTECT_PIDS_MAX,
						   &total);
	page->total = (uint32_t)total;
	return 0;
}

/* File rules */

/* The path of a request: absolute (the daemon's working directory is not
 * the caller's) and NUL-terminated. */
static int check_path(const struct kprotect_path *p)
{
	if (p->path[0] != '/' || !memchr(p->path, '\0', sizeof(p->path)))
		return -EINVAL;
	return 0;
}

static int add_file(struct cusekit_client *c, struct cusekit_request *req, const struct kprotect_path *p,
		    enum enforcer_file_kind kind, const char *done)
{
	struct kprotect *k = cusekit_client_userdata(c);
	int r;

	r = check_admin(k, req);
	if (r >= 0)
		r = check_path(p);
	if (r >= 0)
		r = enforcer_add_file(k->enforcer, kind, p->path, NULL);
	if (r < 0)
		return r;
	if (r > 0)
		log_info("%s %s for uid %u.", done, p->path, caller_uid(req));
	return 0;
}

static int remove_file(struct cusekit_client *c, struct cusekit_request *req, const struct kprotect_path *p,
		       enum enforcer_file_kind kind, const char *done)
{
	struct kprotect *k = cusekit_client_userdata(c);
	int r;

	r = check_admin(k, req);
	if (r >= 0)
		r = check_path(p);
	if (r >= 0)
		r = enforcer_remove_file(k->enforcer, kind, p->path);
	if (r >= 0)
		log_info("%s %s for uid %u.", done, p->path, caller_uid(req));
	return r;
}

static int list_files(struct cusekit_client *c, const struct kprotect_file_list *query, struct kprotect_file_list *page,
		      enum enforcer_file_kind kind)
{
	struct kprotect *k = cusekit_client_userdata(c);
	size_t total;

	memset(page, 0, sizeof(*page));
	page->offset = query->offset;
	page->count = (uint32_t)enforcer_list_files(k->enforcer, kind, query->offset, page->entries, KPROTECT_FILE_PAGE,
						    &total);
	page->total = (uint32_t)total;
	return 0;
}

static int kprotect_ioc_deny_exec(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return add_file(c, req, in, ENFORCER_DENY_EXEC, "Denied execution of");
}

static int kprotect_ioc_allow_exec(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return remove_file(c, req, in, ENFORCER_DENY_EXEC, "Allowed execution of");
}

static int kprotect_ioc_list_exec(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return list_files(c, in, out, ENFORCER_DENY_EXEC);
}

static int kprotect_ioc_add_exe(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return add_file(c, req, in, ENFORCER_PROTECT_EXE, "Protected every process executing");
}

static int kprotect_ioc_remove_exe(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return remove_file(c, req, in, ENFORCER_PROTECT_EXE, "No longer protecting processes executing");
}

static int kprotect_ioc_list_exe(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	return list_files(c, in, out, ENFORCER_PROTECT_EXE);
}

static int kprotect_ioc_set_mode(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	const struct kprotect_mode *m = in;
	int r;

	r = check_admin(k, req);
	if (r >= 0)
		r = enforcer_set_mode(k->enforcer, m->mode);
	if (r >= 0)
		log_notice("Mode %s for uid %u.", m->mode == KPROTECT_MODE_ENFORCING ? "enforcing" : "PERMISSIVE",
			   caller_uid(req));
	return r;
}

/* Reading files as root for anyone would show them what is in any file:
 * checking is for those who may change rules. */
static int kprotect_ioc_check_rules(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);
	const struct kprotect_check *query = in;
	struct kprotect_check *report = out;
	int r;

	r = check_admin(k, req);
	if (r < 0)
		return r;
	if (!memchr(query->path, '\0', sizeof(query->path)) || (query->path[0] && query->path[0] != '/'))
		return -EINVAL;
	memcpy(report->path, query->path, sizeof(report->path));
	enforcer_check(k->enforcer, query->path[0] ? query->path : NULL, report);
	return 0;
}

static int kprotect_ioc_get_status(struct cusekit_client *c, struct cusekit_request *req, const void *in, void *out)
{
	struct kprotect *k = cusekit_client_userdata(c);

	enforcer_status(k->enforcer, out);
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
	{ KPROTECT_IOC_ADD_EXE, kprotect_ioc_add_exe },
	{ KPROTECT_IOC_REMOVE_EXE, kprotect_ioc_remove_exe },
	{ KPROTECT_IOC_LIST_EXE, kprotect_ioc_list_exe },
	{ KPROTECT_IOC_SET_MODE, kprotect_ioc_set_mode },
	{ KPROTECT_IOC_CHECK_RULES, kprotect_ioc_check_rules },
	{}
};

/* Lifetime */

/* systemctl reload: the rules files again. */
static int kprotect_reload(struct cusekit_device *d)
{
	struct kprotect *k = cusekit_device_userdata(d);

	enforcer_reload(k->enforcer);
	return 0;
}

static int kprotect_start(struct cusekit_device *d)
{
	struct kprotect *k = cusekit_device_userdata(d);
	int r;

	k->admin_gid = cusekit_group_resolve(KPROTECT_ADMIN_GROUP, "who may change rules");
	k->config.state_dir = cusekit_device_state_dir(d);
	k->config.rules_dir = k->rules_dir ?: KPROTECT_RULES_DIR;
	r = enforcer_new(cusekit_device_event(d), &k->config, &k->enforcer);
	return r < 0 ? r : 0;
}

static int kprotect_save(struct cusekit_device *d)
{
	struct kprotect *k = cusekit_device_userdata(d);

	return k->enforcer ? enforcer_save(k->enforcer) : 0;
}

static void kprotect_destroy(struct cusekit_device *d)
{
	struct kprotect *k = cusekit_device_userdata(d);

	k->enforcer = enforcer_free(k->enforcer);
	free(k->rules_dir);
}

/* Options */

static int parse_count(const char *arg, size_t max, size_t *ret)
{
	long long v;
	int r = cusekit_parse_integer(arg, 1, (long long)max, &v);

	if (r >= 0)
		*ret = (size_t)v;
	return r;
}

static int parse_pid_capacity(void *userdata, const char *arg)
{
	return parse_count(arg, KPROTECT_PID_CAPACITY_MAX, &((struct kprotect *)userdata)->config.pid_capacity);
}

static int parse_exec_capacity(void *userdata, const char *arg)
{
	return parse_count(arg, KPROTECT_FILE_CAPACITY_MAX, &((struct kprotect *)userdata)->config.exec_capacity);
}

static int parse_exe_capacity(void *userdata, const char *arg)
{
	return parse_count(arg, KPROTECT_FILE_CAPACITY_MAX, &((struct kprotect *)userdata)->config.exe_capacity);
}

static int parse_mode(void *userdata, const char *arg)
{
	struct kprotect *k = userdata;

	if (!strcmp(arg, "enforcing"))
		k->config.mode = KPROTECT_MODE_ENFORCING;
	else if (!strcmp(arg, "permissive"))
		k->config.mode = KPROTECT_MODE_PERMISSIVE;
	else
		return -EINVAL;
	return 0;
}

static int parse_exec_guard(void *userdata, const char *arg)
{
	struct kprotect *k = userdata;

	if (!strcmp(arg, "auto"))
		k->config.exec_guard = ENFORCER_EXEC_AUTO;
	else if (!strcmp(arg, "fanotify"))
		k->config.exec_guard = ENFORCER_EXEC_FANOTIFY;
	else
		return -EINVAL;
	return 0;
}

static int parse_rules_dir(void *userdata, const char *arg)
{
	struct kprotect *k = userdata;
	char *copy;

	if (arg[0] != '/')
		return -EINVAL;
	copy = strdup(arg);
	if (!copy)
		return -ENOMEM;
	free(k->rules_dir);
	k->rules_dir = copy;
	return 0;
}

static const struct cusekit_option kprotect_options[] = {
	{ "capacity", true, "N  most protected processes (default 1024, at most 65536)", parse_pid_capacity },
	{ "exec-capacity", true, "N  most denied executables (default 1024, at most 1536)", parse_exec_capacity },
	{ "exe-capacity", true, "N  most protected programs (default 1024, at most 1536)", parse_exe_capacity },
	{ "mode", true, "MODE  enforcing (default) or permissive: refuse nothing, log and count", parse_mode },
	{ "exec-guard", true, "GUARD  auto (default: the BPF LSM, else fanotify) or fanotify", parse_exec_guard },
	{ "rules-dir", true, "DIR  the rules files (default " KPROTECT_RULES_DIR ")", parse_rules_dir },
	{}
};

static void kprotect_init(void *userdata)
{
	struct kprotect *k = userdata;

	k->config = (struct enforcer_config){
		.pid_capacity = KPROTECT_CAPACITY_DEFAULT,
		.exec_capacity = KPROTECT_CAPACITY_DEFAULT,
		.exe_capacity = KPROTECT_CAPACITY_DEFAULT,
		.mode = KPROTECT_MODE_ENFORCING,
	};
	k->admin_gid = CUSEKIT_NO_GROUP;
}

const struct cusekit_device_ops kprotect_device = {
	.name = "kprotect",
	.description = "Serve /dev/cusekit/kprotect: processes others cannot kill, files that cannot run.",
	.node_mode = 0666,
	.options = kprotect_options,
	.size = sizeof(struct kprotect),
	.init = kprotect_init,
	.start = kprotect_start,
	.save = kprotect_save,
	.reload = kprotect_reload,
	.destroy = kprotect_destroy,
	.ioctls = kprotect_ioctls,
};
