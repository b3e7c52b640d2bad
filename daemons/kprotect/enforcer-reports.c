/* SPDX-License-Identifier: MIT */
/* The enforcer's reports of refusals (or, permissive, of refusals not
 * made), from the BPF programs' ring buffer and the fanotify guard. */
#include <string.h>

#include "enforcer-private.h"
#include "log.h"

static const char *mode_word(bool enforced)
{
	return enforced ? "Refused" : "Would refuse (permissive)";
}

static const char *denied_path(struct enforcer *e, const struct lsm_file_key *key)
{
	for (size_t i = 0; i < e->rules.execs.count; i++)
		if (e->rules.execs.rules[i].key.dev == key->dev && e->rules.execs.rules[i].key.ino == key->ino)
			return e->rules.execs.rules[i].path;
	return "a denied file";
}

void enforcer_lsm_event(const struct kprotect_event *ev, void *userdata)
{
	struct enforcer *e = userdata;
	char comm[sizeof(ev->comm) + 1] = {};
	const char *what = mode_word(ev->enforced);

	memcpy(comm, ev->comm, sizeof(ev->comm));
	switch (ev->kind) {
	case KPROTECT_EVENT_KILL:
		log_notice("%s signal %u from pid %u (%s, uid %u) to protected process %u.", what, ev->signal, ev->pid,
			   comm, ev->uid, ev->target_pid);
		break;
	case KPROTECT_EVENT_PTRACE:
		log_notice("%s ptrace attach by pid %u (%s, uid %u) to protected process %u.", what, ev->pid, comm,
			   ev->uid, ev->target_pid);
		break;
	case KPROTECT_EVENT_EXEC:
		log_notice("%s pid %u (%s, uid %u) executing %s.", what, ev->pid, comm, ev->uid,
			   denied_path(e, &ev->file));
		break;
	case KPROTECT_EVENT_MMAP:
	case KPROTECT_EVENT_MPROTECT:
		log_notice("%s pid %u (%s, uid %u) mapping %s executable (%s).", what, ev->pid, comm, ev->uid,
			   denied_path(e, &ev->file), ev->kind == KPROTECT_EVENT_MMAP ? "mmap" : "mprotect");
		break;
	}
}

bool enforcer_fanotify_denied(uint64_t dev, uint64_t ino, void *userdata)
{
	struct enforcer *e = userdata;

	return file_set_find(&e->rules.execs, dev, ino);
}

void enforcer_fanotify_was_denied(pid_t tid, uint64_t dev, uint64_t ino, enum exec_guard_refusal kind, bool enforced,
				void *userdata)
{
	struct enforcer *e = userdata;
	const struct file_rule *rule = file_set_find(&e->rules.execs, dev, ino);
	const char *path = rule ? rule->path : "a denied file";

	if (kind == EXEC_GUARD_EXEC) {
		e->fanotify_exec_denials++;
		log_notice("%s task %d executing %s.", mode_word(enforced), (int)tid, path);
	} else {
		e->fanotify_map_denials++;
		log_notice("%s the dynamic loader in task %d opening %s.", mode_word(enforced), (int)tid, path);
	}
}

