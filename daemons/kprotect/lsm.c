/* SPDX-License-Identifier: MIT */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf-log.h"
#include "log.h"
#include "lsm.h"
/* After lsm.h: the skeleton names struct lsm_file_key. */
#include "kprotect.bpf.skel.h"
#include "procfs.h"

struct lsm {
	struct kprotect_bpf *skel;
	struct ring_buffer *events;
	sd_event_source *events_source;
	lsm_event_fn fn;
	void *userdata;
	bool self_testing;      /* drop the reports of our own tests */
};

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

static int handle_event(void *ctx, void *data, size_t size)
{
	struct lsm *l = ctx;

	if (size >= sizeof(struct kprotect_event) && !l->self_testing)
		l->fn(data, l->userdata);
	return 0;
}

static int on_events(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct lsm *l = userdata;
	int r = ring_buffer__consume(l->events);

	if (r < 0)
		log_warning_errno(r, "Failed to read the refusal reports: %m");
	return 0;
}

static int attach(struct bpf_program *prog, struct bpf_link **link)
{
	*link = bpf_program__attach(prog);
	return *link ? 0 : negative_errno();
}

int lsm_new(sd_event *e, const struct lsm_capacity *capacity, lsm_event_fn fn, void *userdata, struct lsm **ret)
{
	_cleanup_free_ struct lsm *l = NULL;
	long ticks = sysconf(_SC_CLK_TCK);
	struct kprotect_bpf *skel;
	int r;

	cusekit_bpf_log_setup();
	if (bpf_lsm_listed() == 0)
		return -EOPNOTSUPP;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	*l = (struct lsm){ .fn = fn, .userdata = userdata };
	l->skel = skel = kprotect_bpf__open();
	if (!skel)
		return log_warning_errno(negative_errno(), "Failed to open the BPF programs: %m");
	skel->rodata->ns_per_tick = 1000000000ULL / (unsigned long long)(ticks > 0 ? ticks : 100);
	skel->rodata->daemon_tgid = (uint32_t)getpid();
	r = bpf_map__set_max_entries(skel->maps.protected_pids, (uint32_t)capacity->pids);
	if (r >= 0)
		r = bpf_map__set_max_entries(skel->maps.protected_exes, (uint32_t)capacity->exes);
	if (r >= 0)
		r = bpf_map__set_max_entries(skel->maps.denied_files, (uint32_t)capacity->files);
	if (r >= 0)
		r = kprotect_bpf__load(skel);
	if (r >= 0)
		r = attach(skel->progs.kprotect_mmap_file, &skel->links.kprotect_mmap_file);
	if (r >= 0) {
		l->events = ring_buffer__new(bpf_map__fd(skel->maps.events), handle_event, l, NULL);
		r = l->events ? 0 : negative_errno();
	}
	if (r >= 0)
		r = sd_event_add_io(e, &l->events_source, ring_buffer__epoll_fd(l->events), EPOLLIN, on_events, l);
	if (r < 0) {
		lsm_free(TAKE_PTR(l));
		return r;
	}
	*ret = TAKE_PTR(l);
	return 0;
}

struct lsm *lsm_free(struct lsm *l)
{
	if (l) {
		sd_event_source_disable_unref(l->events_source);
		ring_buffer__free(l->events);
		kprotect_bpf__destroy(l->skel);
		free(l);
	}
	return NULL;
}

/* Run test with enforcing on and its reports dropped; then count only the
 * refusals of real requests. */
static int self_test(struct lsm *l, int (*test)(struct lsm *l))
{
	uint32_t enforcing = l->skel->data->enforcing;
	int r;

	l->skel->data->enforcing = 1;
	l->self_testing = true;
	r = test(l);
	ring_buffer__consume(l->events);
	l->self_testing = false;
	l->skel->data->enforcing = enforcing;
	/* The counters: every variable of .bss before learned_key. */
	memset(l->skel->bss, 0, offsetof(struct kprotect_bpf__bss, learned_key));
	return r;
}

static int kill_test(struct lsm *l)
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
		r = lsm_protect_pid(l, (uint32_t)child, start_time);
	refused = r >= 0 && kill(child, SIGKILL) < 0 && errno == EPERM;
	lsm_unprotect_pid(l, (uint32_t)child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	if (r < 0)
		return log_error_errno(r, "Kill guard self-test could not protect its child: %m");
	return refused ? 0 : -EOPNOTSUPP;
}

int lsm_start_kill_guard(struct lsm *l)
{
	struct kprotect_bpf *skel = l->skel;
	int r;

	r = attach(skel->progs.kprotect_task_kill, &skel->links.kprotect_task_kill);
	if (r >= 0)
		r = attach(skel->progs.kprotect_ptrace_access_check, &skel->links.kprotect_ptrace_access_check);
	if (r >= 0)
		r = self_test(l, kill_test);
	if (r < 0) {
		bpf_link__destroy(TAKE_PTR(skel->links.kprotect_task_kill));
		bpf_link__destroy(TAKE_PTR(skel->links.kprotect_ptrace_access_check));
	}
	return r;
}

/* A file of our own, denied: mapping it executable must fail, and the
 * program must say it refused (a noexec mount would refuse too). */
static int exec_test(struct lsm *l)
{
	_cleanup_close_ int fd = memfd_create("kprotect-self-test", MFD_CLOEXEC);
	struct lsm_file_key key;
	void *p;
	int r;

	if (fd < 0)
		return negative_errno();
	if (ftruncate(fd, 4096) < 0)
		return negative_errno();
	r = lsm_file_key(l, fd, &key);
	if (r >= 0)
		r = lsm_deny_file(l, &key);
	if (r < 0)
		return log_error_errno(r, "Exec guard self-test could not deny its file: %m");
	p = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
	if (p != MAP_FAILED)
		munmap(p, 4096);
	lsm_allow_file(l, &key);
	return p == MAP_FAILED && errno == EPERM && l->skel->bss->map_denials == 1 ? 0 : -EOPNOTSUPP;
}

int lsm_start_exec_guard(struct lsm *l)
{
	struct kprotect_bpf *skel = l->skel;
	int r;

	r = attach(skel->progs.kprotect_bprm_check_security, &skel->links.kprotect_bprm_check_security);
	if (r >= 0)
		r = attach(skel->progs.kprotect_file_mprotect, &skel->links.kprotect_file_mprotect);
	if (r >= 0)
		r = self_test(l, exec_test);
	if (r < 0) {
		bpf_link__destroy(TAKE_PTR(skel->links.kprotect_bprm_check_security));
		bpf_link__destroy(TAKE_PTR(skel->links.kprotect_file_mprotect));
	}
	return r;
}

/* Our mmap_file program notes the identity of every file we map: a
 * zero-length mapping passes the hook and then fails, mapping nothing. */
int lsm_file_key(struct lsm *l, int fd, struct lsm_file_key *ret)
{
	struct lsm_file_key *learned = &l->skel->bss->learned_key;

	*learned = (struct lsm_file_key){};
	if (mmap(NULL, 0, PROT_READ, MAP_SHARED, fd, 0) != MAP_FAILED || errno != EINVAL)
		return -EIO;
	*ret = *learned;
	return ret->ino != 0 ? 0 : -EIO;
}

int lsm_protect_pid(struct lsm *l, uint32_t pid, uint64_t start_time)
{
	return bpf_map__update_elem(l->skel->maps.protected_pids, &pid, sizeof(pid), &start_time,
				    sizeof(start_time), BPF_ANY);
}

static int delete_elem(struct bpf_map *map, const void *key, size_t size)
{
	int r = bpf_map__delete_elem(map, key, size, 0);

	return r == -ENOENT ? 0 : r;
}

int lsm_unprotect_pid(struct lsm *l, uint32_t pid)
{
	return delete_elem(l->skel->maps.protected_pids, &pid, sizeof(pid));
}

static int add_key(struct bpf_map *map, const struct lsm_file_key *key)
{
	uint8_t one = 1;

	return bpf_map__update_elem(map, key, sizeof(*key), &one, sizeof(one), BPF_ANY);
}

int lsm_protect_exe(struct lsm *l, const struct lsm_file_key *key)
{
	return add_key(l->skel->maps.protected_exes, key);
}

int lsm_unprotect_exe(struct lsm *l, const struct lsm_file_key *key)
{
	return delete_elem(l->skel->maps.protected_exes, key, sizeof(*key));
}

int lsm_deny_file(struct lsm *l, const struct lsm_file_key *key)
{
	return add_key(l->skel->maps.denied_files, key);
}

int lsm_allow_file(struct lsm *l, const struct lsm_file_key *key)
{
	return delete_elem(l->skel->maps.denied_files, key, sizeof(*key));
}

void lsm_set_enforcing(struct lsm *l, bool enforcing)
{
	__atomic_store_n(&l->skel->data->enforcing, enforcing ? 1u : 0u, __ATOMIC_RELAXED);
}

void lsm_counters(const struct lsm *l, struct lsm_counters *ret)
{
	const struct kprotect_bpf__bss *bss = l->skel->bss;

	*ret = (struct lsm_counters){
		.kill = __atomic_load_n(&bss->kill_denials, __ATOMIC_RELAXED),
		.ptrace = __atomic_load_n(&bss->ptrace_denials, __ATOMIC_RELAXED),
		.exec = __atomic_load_n(&bss->exec_denials, __ATOMIC_RELAXED),
		.map = __atomic_load_n(&bss->map_denials, __ATOMIC_RELAXED),
		.lost = __atomic_load_n(&bss->events_lost, __ATOMIC_RELAXED),
	};
}
