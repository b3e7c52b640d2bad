/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "process-table.h"
#include "record.h"

static size_t slot_of(const struct process_table *t, uint32_t pid)
{
	/* Fibonacci hashing: consecutive pids spread out. */
	return (size_t)((pid * 2654435769u) & (t->capacity - 1));
}

static size_t find(const struct process_table *t, uint32_t pid)
{
	size_t i = slot_of(t, pid);

	while (t->pids[i] && t->pids[i] != pid)
		i = (i + 1) & (t->capacity - 1);
	return i;
}

static int grow(struct process_table *t)
{
	struct process_table bigger = { .capacity = t->capacity ? t->capacity * 2 : 1024 };

	bigger.pids = calloc(bigger.capacity, sizeof(*bigger.pids));
	bigger.infos = calloc(bigger.capacity, sizeof(*bigger.infos));
	if (!bigger.pids || !bigger.infos) {
		free(bigger.pids);
		free(bigger.infos);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->capacity; i++)
		if (t->pids[i]) {
			size_t j = find(&bigger, t->pids[i]);

			bigger.pids[j] = t->pids[i];
			bigger.infos[j] = t->infos[i];
			bigger.count++;
		}
	process_table_clear(t);
	*t = bigger;
	return 0;
}

int process_table_set(struct process_table *t, uint32_t pid, const struct process_info *info)
{
	size_t i;

	if (pid == 0)
		return -EINVAL;
	/* At most half full: probes stay short. */
	if ((t->count + 1) * 2 > t->capacity && grow(t) < 0)
		return -ENOMEM;
	i = find(t, pid);
	if (!t->pids[i]) {
		t->pids[i] = pid;
		t->count++;
	}
	t->infos[i] = *info;
	return 0;
}

bool process_table_get(const struct process_table *t, uint32_t pid, struct process_info *ret)
{
	size_t i;

	if (!t->capacity || pid == 0)
		return false;
	i = find(t, pid);
	if (!t->pids[i])
		return false;
	*ret = t->infos[i];
	return true;
}

void process_table_remove(struct process_table *t, uint32_t pid)
{
	size_t mask = t->capacity - 1, i, j;

	if (!t->capacity || pid == 0)
		return;
	i = find(t, pid);
	if (!t->pids[i])
		return;
	t->pids[i] = 0;
	t->count--;
	/* Backward shift: move later entries of the probe run into the hole
	 * when their home slot does not lie between the hole and them. */
	for (j = (i + 1) & mask; t->pids[j]; j = (j + 1) & mask) {
		size_t home = slot_of(t, t->pids[j]);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->pids[i] = t->pids[j];
			t->infos[i] = t->infos[j];
			t->pids[j] = 0;
			i = j;
		}
	}
}

void process_table_clear(struct process_table *t)
{
	free(t->pids);
	free(t->infos);
	*t = (struct process_table){};
}

void process_table_track(struct process_table *t, const struct sm_record *r)
{
	const struct sysmon_header *h = sm_record_header(r);
	struct process_info info;

	switch (h->type) {
	case SYSMON_PROCESS_CREATE: {
		const struct sysmon_create *c = (const void *)h;

		info = (struct process_info){ c->uid, c->process.start_time, 0 };
		break;
	}
	case SYSMON_PROCESS_EXEC: {
		const struct sysmon_exec *x = (const void *)h;

		info = (struct process_info){ x->uid, x->process.start_time, 0 };
		break;
	}
	case SYSMON_UID_CHANGE: {
		const struct sysmon_id_change *u = (const void *)h;

		if (!process_table_get(t, r->pid, &info))
			info.start_time = u->process.start_time;
		info.uid = u->real;
		break;
	}
	case SYSMON_PROCESS_EXIT:
		if (!process_table_get(t, r->pid, &info))
			return;
		info.exited = h->time_ns;
		break;
	default:
		return;
	}
	if (info.uid != SM_UID_UNKNOWN && process_table_set(t, r->pid, &info) < 0)
		process_table_clear(t);   /* no memory: better unknown than wrong */
}

void process_table_purge(struct process_table *t, uint64_t before_ns)
{
	for (size_t i = 0; i < t->capacity; i++)
		/* A removal may shift a later entry into slot i: look again. */
		while (t->pids[i] && t->infos[i].exited && t->infos[i].exited < before_ns)
			process_table_remove(t, t->pids[i]);
}
