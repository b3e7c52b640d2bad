/* SPDX-License-Identifier: MIT */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kill-guard.bpf.skel.h"
#include "kill-guard.h"
#include "log.h"
#include "procfs.h"

struct kill_guard {
	struct kill_guard_bpf *skel;
};

static int libbpf_log(enum libbpf_print_level level, const char *format, va_list args)
{
	char line[512];

	if (level == LIBBPF_DEBUG && log_get_max_level() < LOG_DEBUG)
		return 0;
	vsnprintf(line, sizeof(line), format, args);
	line[strcspn(line, "\n")] = '\0';
	log_full_errno(level == LIBBPF_WARN ? LOG_WARNING : LOG_DEBUG, 0, "%s", line);
	return 0;
}

/* The kernel's list of active LSMs, when securityfs is mounted: a fast,
 * clear answer before trying anything. */
static int bpf_lsm_listed(void)
{
	_cleanup_close_ int fd = open("/sys/kernel/security/lsm", O_RDONLY | O_CLOEXEC);
	char buf[512];
	ssize_t n;

	if (fd < 0)
		return -ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		return negative_errno();
	buf[n] = '\0';
	for (char *s, *save = NULL, *p = buf; (s = strtok_r(p, ",\n", &save)); p = NULL)
		if (!strcmp(s, "bpf"))
			return 1;
	log_info("Active LSMs: %s: no bpf (boot with lsm=...,bpf to enable it).", buf);
	return 0;
}

/* An attached LSM program is silently never called when the bpf LSM is not
 * active, so only a refused signal proves the guard works: protect a child
 * and try to kill it. */
static int kill_guard_self_test(struct kill_guard *g)
{
	uint64_t start_time;
	pid_t child;
	int r, refused;

	child = fork();
	if (child < 0)
		return negative_errno();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	r = proc_pid_start_time((uint32_t)child, &start_time);
	if (r >= 0)
		r = kill_guard_protect(g, (uint32_t)child, start_time);
	refused = r >= 0 && kill(child, SIGKILL) < 0 && errno == EPERM;
	kill_guard_unprotect(g, (uint32_t)child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (r < 0)
		return log_error_errno(r, "Kill guard self-test could not protect its child: %m");
	/* Count only the refusals of real requests. */
	g->skel->bss->kill_denials = 0;
	return refused ? 0 : -EOPNOTSUPP;
}

int kill_guard_new(size_t capacity, struct kill_guard **ret)
{
	_cleanup_free_ struct kill_guard *g = NULL;
	long ticks = sysconf(_SC_CLK_TCK);
	int r;

	libbpf_set_print(libbpf_log);
	if (bpf_lsm_listed() == 0)
		return -EOPNOTSUPP;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->skel = kill_guard_bpf__open();
	if (!g->skel)
		return log_warning_errno(negative_errno(), "Failed to open the BPF program: %m");
	g->skel->rodata->ns_per_tick = 1000000000ULL / (unsigned long long)(ticks > 0 ? ticks : 100);
	r = bpf_map__set_max_entries(g->skel->maps.protected_pids, (uint32_t)capacity);
	if (r >= 0)
		r = kill_guard_bpf__load(g->skel);
	if (r >= 0)
		r = kill_guard_bpf__attach(g->skel);
	if (r >= 0)
		r = kill_guard_self_test(g);
	if (r < 0) {
		kill_guard_bpf__destroy(g->skel);
		return r;
	}
	*ret = TAKE_PTR(g);
	return 0;
}

struct kill_guard *kill_guard_free(struct kill_guard *g)
{
	if (g) {
		kill_guard_bpf__destroy(g->skel);
		free(g);
	}
	return NULL;
}

int kill_guard_protect(struct kill_guard *g, uint32_t pid, uint64_t start_time)
{
	return bpf_map__update_elem(g->skel->maps.protected_pids, &pid, sizeof(pid), &start_time,
				    sizeof(start_time), BPF_ANY);
}

int kill_guard_unprotect(struct kill_guard *g, uint32_t pid)
{
	int r = bpf_map__delete_elem(g->skel->maps.protected_pids, &pid, sizeof(pid), 0);

	return r == -ENOENT ? 0 : r;
}

void kill_guard_denials(const struct kill_guard *g, uint64_t *ret_kill, uint64_t *ret_ptrace)
{
	*ret_kill = __atomic_load_n(&g->skel->bss->kill_denials, __ATOMIC_RELAXED);
	*ret_ptrace = __atomic_load_n(&g->skel->bss->ptrace_denials, __ATOMIC_RELAXED);
}
