/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>

#include "uid-table.h"

static size_t slot_of(const struct uid_table *t, uint32_t pid)
{
	/* Fibonacci hashing: consecutive pids spread out. */
	return (size_t)((pid * 2654435769u) & (t->capacity - 1));
}

static size_t find(const struct uid_table *t, uint32_t pid)
{
	size_t i = slot_of(t, pid);

	while (t->pids[i] && t->pids[i] != pid)
		i = (i + 1) & (t->capacity - 1);
	return i;
}

static int grow(struct uid_table *t)
{
	struct uid_table bigger = { .capacity = t->capacity ? t->capacity * 2 : 1024 };

	bigger.pids = calloc(bigger.capacity, sizeof(*bigger.pids));
	bigger.uids = calloc(bigger.capacity, sizeof(*bigger.uids));
	if (!bigger.pids || !bigger.uids) {
		free(bigger.pids);
		free(bigger.uids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->capacity; i++)
		if (t->pids[i]) {
			size_t j = find(&bigger, t->pids[i]);

			bigger.pids[j] = t->pids[i];
			bigger.uids[j] = t->uids[i];
			bigger.count++;
		}
	uid_table_clear(t);
	*t = bigger;
	return 0;
}

int uid_table_set(struct uid_table *t, uint32_t pid, uint32_t uid)
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
	t->uids[i] = uid;
	return 0;
}

bool uid_table_get(const struct uid_table *t, uint32_t pid, uint32_t *uid)
{
	size_t i;

	if (!t->capacity || pid == 0)
		return false;
	i = find(t, pid);
	if (!t->pids[i])
		return false;
	*uid = t->uids[i];
	return true;
}

void uid_table_remove(struct uid_table *t, uint32_t pid)
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
			t->uids[i] = t->uids[j];
			t->pids[j] = 0;
			i = j;
		}
	}
}

void uid_table_clear(struct uid_table *t)
{
	free(t->pids);
	free(t->uids);
	*t = (struct uid_table){};
}
