/* SPDX-License-Identifier: MIT */
/*
 * The boosts: every change Booster made to a thread's scheduling, kept so it
 * can be undone exactly, and nothing else. No libfuse, no policy: threads
 * are reached through struct thread_ops (thread.h), so all of this runs
 * under a unit test on fake threads.
 *
 * A changed thread is held once, however many changes sit on it: one
 * record, one handle (an O_PATH /proc/<tid> fd on the real ops), and on it
 * the stack of its boosts, oldest first. A boost is one owner's change (the
 * owner is an open file; NULL once a persistent boost's file closed): the
 * settings the thread had before ("previous") and the ones we gave it
 * ("ours"). A later boost sits on an earlier one when its previous settings
 * are the earlier one's ours; ending the lower one first hands its previous
 * settings up, so the stack unwinds to the original in any order. A boost
 * restores only while the thread still has its settings: a thread someone
 * else changed since is left alone.
 *
 * The record, its handle and its boosts go as soon as the thread exits:
 * boost_table_thread_exited() (on the kernel's exit event), or
 * boost_table_sweep() when events may have been lost.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "list.h"
#include "thread.h"

struct boost_table;
struct boosted_thread;

/* Told whenever Booster changed a thread: ours is the settings the thread has
 * from Booster now (after a change, or after an undo that restored a lower
 * boost's), or NULL when it has none of Booster's any more (its boosts ended
 * or it is forgotten; t may be gone). The canary tracks real-time grants
 * through it, the autogroup module nice boosts. */
struct boost_hooks {
	/* Booster is about to give t the settings ours: called before the
	 * change, so that what watches real-time threads (the canary) knows
	 * of the thread before it runs with them, even if the change starves
	 * the daemon's own loop. */
	void (*changing)(void *userdata, const struct thread *t, const struct thread_sched *ours);
	/* t has ours now (NULL: nothing of Booster's). */
	void (*changed)(void *userdata, const struct thread *t, const struct thread_sched *ours);
};

struct boost_table *boost_table_new(const struct thread_ops *ops, const struct boost_hooks *hooks, void *userdata);
/* Forget everything (persistent boosts stay on their threads); NULL. */
struct boost_table *boost_table_free(struct boost_table *table);

/* The record of thread tid, made if there is none (with an empty stack), held
 * until boost_table_put(). -ESRCH: no such thread. info: who owns it. */
int boost_table_get(struct boost_table *table, pid_t tid, struct boosted_thread **ret, struct thread_info *info);
void boost_table_put(struct boost_table *table, struct boosted_thread *bt);
const struct thread *boosted_thread_thread(const struct boosted_thread *bt);

/* Threads on which uid has a boost that still counts (the thread has its
 * settings, or a later boost sits on it), not counting except. Boosts that
 * stopped counting are forgotten on the way. */
unsigned boost_table_threads_of(struct boost_table *table, uid_t uid, const struct boosted_thread *except);

/* Give bt the settings ours for owner (uid asked): 0, or -errno (-ESRCH: the
 * thread exited meanwhile) and nothing changed. A second change by the same
 * owner while the thread still has its first replaces it in place (the
 * previous settings stay those before the first). */
int boost_table_push(struct boost_table *table, struct boosted_thread *bt, const void *owner, uid_t uid,
		     const struct thread_sched *ours, bool persistent);

/* End owner's boosts on tid (0: all of its boosts): the number ended. */
unsigned boost_table_reset(struct boost_table *table, const void *owner, pid_t tid);
/* owner (its file) is gone: end its boosts, except persistent ones, which
 * stay and count for their user until the thread exits or someone else
 * changes it. */
void boost_table_release(struct boost_table *table, const void *owner);

/* The kernel said thread tid exited: forget it (if the record with that tid
 * is really that thread and not a later one with the same number). */
void boost_table_thread_exited(struct boost_table *table, pid_t tid);
/* Forget every thread that exited, and every boost that can no longer
 * restore anything. */
void boost_table_sweep(struct boost_table *table);

/* Threads held (one handle each) and boosts on them: what the table costs. */
size_t boost_table_n_threads(const struct boost_table *table);
size_t boost_table_n_boosts(const struct boost_table *table);
