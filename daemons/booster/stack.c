/* SPDX-License-Identifier: MIT */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "stack.h"

struct boosted_thread {
	struct list_node link;          /* table->threads */
	struct thread thread;           /* the one handle on it */
	struct list_node boosts;        /* struct boost.link, oldest first */
	unsigned refs;                  /* requests holding it (boost_table_get) */
};

struct boost {
	struct list_node link;
	const void *owner;              /* NULL: persistent, its file closed */
	uid_t uid;                      /* who asked: counts against that user's cap */
	bool persistent;
	struct thread_sched previous;
	struct thread_sched ours;
};

struct boost_table {
	const struct thread_ops *ops;
	struct boost_hooks hooks;
	void *userdata;
	struct list_node threads;
};

static void changed(struct boost_table *table, const struct boosted_thread *bt, const struct thread_sched *ours)
{
	if (table->hooks.changed)
		table->hooks.changed(table->userdata, &bt->thread, ours);
}

struct boost_table *boost_table_new(const struct thread_ops *ops, const struct boost_hooks *hooks, void *userdata)
{
	struct boost_table *table = calloc(1, sizeof(*table));

	if (!table)
		return NULL;
	table->ops = ops;
	if (hooks)
		table->hooks = *hooks;
	table->userdata = userdata;
	list_init(&table->threads);
	return table;
}

static void boost_free(struct boost *b)
{
	list_del(&b->link);
	free(b);
}

/* Forget the thread: its boosts, its handle, its record. */
static void thread_forget(struct boost_table *table, struct boosted_thread *bt)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &bt->boosts)
		boost_free(list_entry(i, struct boost, link));
	changed(table, bt, NULL);
	list_del(&bt->link);
	table->ops->close(&bt->thread);
	free(bt);
}

/* A record lives while it has boosts or a request holds it. */
static void thread_maybe_forget(struct boost_table *table, struct boosted_thread *bt)
{
	if (bt->refs == 0 && list_empty(&bt->boosts))
		thread_forget(table, bt);
}

struct boost_table *boost_table_free(struct boost_table *table)
{
	struct list_node *i, *tmp;

	if (!table)
		return NULL;
	list_for_each_safe(i, tmp, &table->threads)
		thread_forget(table, list_entry(i, struct boosted_thread, link));
	free(table);
	return NULL;
}

static struct boosted_thread *thread_find(struct boost_table *table, const struct thread *t)
{
	for (struct list_node *i = table->threads.next; i != &table->threads; i = i->next) {
		struct boosted_thread *bt = list_entry(i, struct boosted_thread, link);

		if (thread_same(&bt->thread, t))
			return bt;
	}
	return NULL;
}

int boost_table_get(struct boost_table *table, pid_t tid, struct boosted_thread **ret, struct thread_info *info)
{
	struct thread t = { .proc_fd = -1 };
	struct boosted_thread *bt;
	int r;

	r = table->ops->open(tid, &t, info);
	if (r < 0)
		return r;
	bt = thread_find(table, &t);
	if (bt) {
		/* One handle per thread: the one we hold already. */
		table->ops->close(&t);
	} else {
		bt = calloc(1, sizeof(*bt));
		if (!bt) {
			table->ops->close(&t);
			return -ENOMEM;
		}
		bt->thread = t;
		list_init(&bt->boosts);
		list_add_tail(&table->threads, &bt->link);
	}
	bt->refs++;
	*ret = bt;
	return 0;
}

void boost_table_put(struct boost_table *table, struct boosted_thread *bt)
{
	assert(bt->refs > 0);
	bt->refs--;
	thread_maybe_forget(table, bt);
}

const struct thread *boosted_thread_thread(const struct boosted_thread *bt) { return &bt->thread; }

/* The boost that sits on b: a later one made on top of b's settings. */
static struct boost *boost_above(struct boosted_thread *bt, struct boost *b)
{
	for (struct list_node *i = b->link.next; i != &bt->boosts; i = i->next) {
		struct boost *up = list_entry(i, struct boost, link);

		if (thread_sched_same(&up->previous, &b->ours))
			return up;
	}
	return NULL;
}

/* Does b still decide the thread's settings, now or once the boosts on top
 * of it end? now: the thread's settings. */
static bool boost_counts(struct boosted_thread *bt, struct boost *b, const struct thread_sched *now)
{
	return thread_sched_same(now, &b->ours) || boost_above(bt, b);
}

/* The thread's settings now; false when it exited (then forgotten, unless a
 * request holds it). */
static bool thread_now(struct boost_table *table, struct boosted_thread *bt, struct thread_sched *now)
{
	if (table->ops->check(&bt->thread) < 0 || table->ops->get_sched(&bt->thread, now) < 0) {
		log_debug("Thread %d is gone, nothing to undo.", (int)bt->thread.tid);
		return false;
	}
	return true;
}

/* Forget the boosts of bt that can no longer restore anything. */
static void thread_prune(struct boosted_thread *bt, const struct thread_sched *now)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &bt->boosts) {
		struct boost *b = list_entry(i, struct boost, link);

		if (!boost_counts(bt, b, now))
			boost_free(b);
	}
}

/* Whether the thread's settings now are one of its boosts'. */
static bool thread_has_ours(struct boosted_thread *bt, const struct thread_sched *now)
{
	for (struct list_node *i = bt->boosts.next; i != &bt->boosts; i = i->next)
		if (thread_sched_same(&list_entry(i, struct boost, link)->ours, now))
			return true;
	return false;
}

/* A persistent boost whose file closed, directly on another such one: they
 * are one change now, restoring what the lower one would (nobody can end
 * either on its own any more). So a thread holds at most one of them between
 * boosts whose files are open, however many persistent changes were made. */
static void thread_merge_orphans(struct boosted_thread *bt)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &bt->boosts) {
		struct boost *b = list_entry(i, struct boost, link), *below;

		if (b->owner || b->link.prev == &bt->boosts)
			continue;
		below = list_entry(b->link.prev, struct boost, link);
		if (below->owner || !thread_sched_same(&b->previous, &below->ours))
			continue;
		b->previous = below->previous;
		boost_free(below);
	}
}

static void restored(struct boost_table *table, struct boosted_thread *bt, const struct thread_sched *now);

/* Undo b where it is still ours, and forget it. now: the thread's settings. */
static void boost_end(struct boost_table *table, struct boosted_thread *bt, struct boost *b,
		      const struct thread_sched *now)
{
	struct boost *up = boost_above(bt, b);
	int r;

	if (up) {
		up->previous = b->previous;
		log_debug("Thread %d: a later boost sits on the one ending; it will restore the settings before.",
			  (int)bt->thread.tid);
	} else if (!thread_sched_same(now, &b->ours)) {
		log_info("Thread %d was changed since our boost (now policy %u, nice %d, rt %u): leaving it alone.",
			 (int)bt->thread.tid, now->sched_policy, now->sched_nice, now->sched_priority);
	} else {
		r = table->ops->set_sched(&bt->thread, &b->previous);
		if (r < 0)
			log_warning_errno(r, "Failed to restore thread %d: %m", (int)bt->thread.tid);
		else {
			struct thread_sched previous = b->previous;

			log_debug("Thread %d restored to policy %u, nice %d, rt %u.", (int)bt->thread.tid,
				  previous.sched_policy, previous.sched_nice, previous.sched_priority);
			boost_free(b);
			restored(table, bt, &previous);
			return;
		}
	}
	boost_free(b);
}

/* The settings the thread has now after an undo restored them: Booster's
 * when a boost below set them. */
static void restored(struct boost_table *table, struct boosted_thread *bt, const struct thread_sched *now)
{
	changed(table, bt, thread_has_ours(bt, now) ? now : NULL);
}

unsigned boost_table_threads_of(struct boost_table *table, uid_t uid, const struct boosted_thread *except)
{
	struct list_node *i, *tmp;
	unsigned n = 0;

	list_for_each_safe(i, tmp, &table->threads) {
		struct boosted_thread *bt = list_entry(i, struct boosted_thread, link);
		struct thread_sched now;
		bool held = false;

		if (bt == except)
			continue;
		if (!thread_now(table, bt, &now)) {
			if (bt->refs == 0)
				thread_forget(table, bt);
			continue;
		}
		thread_prune(bt, &now);
		for (struct list_node *j = bt->boosts.next; j != &bt->boosts; j = j->next)
			held |= list_entry(j, struct boost, link)->uid == uid;
		n += held;
		thread_maybe_forget(table, bt);
	}
	return n;
}

static struct boost *boost_of(struct boosted_thread *bt, const void *owner)
{
	for (struct list_node *i = bt->boosts.next; i != &bt->boosts; i = i->next) {
		struct boost *b = list_entry(i, struct boost, link);

		if (b->owner == owner)
			return b;
	}
	return NULL;
}

int boost_table_push(struct boost_table *table, struct boosted_thread *bt, const void *owner, uid_t uid,
		     const struct thread_sched *ours, bool persistent)
{
	struct thread_sched now;
	struct boost *b, *top;
	bool created = false;
	int r;

	assert(owner);
	assert(bt->refs > 0);
	r = table->ops->get_sched(&bt->thread, &now);
	if (r < 0)
		return r;

	/* Replace this owner's boost in place only while it is on top and the
	 * thread still has it; otherwise end it and push anew. */
	b = boost_of(bt, owner);
	top = list_empty(&bt->boosts) ? NULL : list_entry(bt->boosts.prev, struct boost, link);
	if (b && (b != top || !thread_sched_same(&now, &b->ours))) {
		boost_end(table, bt, b, &now);
		b = NULL;
	}
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return -ENOMEM;
		*b = (struct boost){ .owner = owner, .uid = uid, .previous = now };
		list_add_tail(&bt->boosts, &b->link);
		created = true;
	}

	if (table->hooks.changing)
		table->hooks.changing(table->userdata, &bt->thread, ours);
	r = table->ops->set_sched(&bt->thread, ours);
	/* The thread may have exited meanwhile: check its identity again. */
	if (r == 0 && table->ops->check(&bt->thread) < 0)
		r = -ESRCH;
	if (r < 0) {
		if (created)
			boost_free(b);
		/* The hooks heard of the change: tell them what came of it. */
		if (thread_now(table, bt, &now))
			restored(table, bt, &now);
		else
			changed(table, bt, NULL);
		return r;
	}
	b->ours = *ours;
	b->uid = uid;
	b->persistent = persistent;
	/* Boosts the thread left behind (changed by someone else since) can
	 * never restore anything now. */
	thread_prune(bt, ours);
	changed(table, bt, ours);
	return 0;
}

/* Ending a thread's boost: first learn whether it is still there. */
static void thread_end_boost(struct boost_table *table, struct boosted_thread *bt, struct boost *b)
{
	struct thread_sched now;

	if (!thread_now(table, bt, &now)) {
		boost_free(b);
		/* The rest goes with the thread, now or when the request lets go. */
		if (bt->refs == 0)
			thread_forget(table, bt);
		return;
	}
	boost_end(table, bt, b, &now);
	thread_merge_orphans(bt);
	thread_maybe_forget(table, bt);
}

unsigned boost_table_reset(struct boost_table *table, const void *owner, pid_t tid)
{
	struct list_node *i, *tmp;
	unsigned n = 0;

	list_for_each_safe(i, tmp, &table->threads) {
		struct boosted_thread *bt = list_entry(i, struct boosted_thread, link);
		struct boost *b;

		if (tid != 0 && bt->thread.tid != tid)
			continue;
		b = boost_of(bt, owner);
		if (!b)
			continue;
		n++;
		thread_end_boost(table, bt, b);
	}
	return n;
}

void boost_table_release(struct boost_table *table, const void *owner)
{
	struct list_node *i, *tmp;

	assert(owner);
	list_for_each_safe(i, tmp, &table->threads) {
		struct boosted_thread *bt = list_entry(i, struct boosted_thread, link);
		struct boost *b = boost_of(bt, owner);

		if (!b)
			continue;
		if (b->persistent) {
			b->owner = NULL;
			thread_merge_orphans(bt);
		} else
			thread_end_boost(table, bt, b);
	}
}

void boost_table_thread_exited(struct boost_table *table, pid_t tid)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &table->threads) {
		struct boosted_thread *bt = list_entry(i, struct boosted_thread, link);

		/* The event may be for an earlier thread with this number: ours
		 * goes only if it has really exited. */
		if (bt->thread.tid == tid && bt->refs == 0 && table->ops->check(&bt->thread) < 0) {
			log_debug("Thread %d exited: its boosts are forgotten.", (int)tid);
			thread_forget(table, bt);
		}
	}
}

void boost_table_sweep(struct boost_table *table)
{
	struct list_node *i, *tmp;

	list_for_each_safe(i, tmp, &table->threads) {
		struct boosted_thread *bt = list_entry(i, struct boosted_thread, link);
		struct thread_sched now;

		if (bt->refs > 0)
			continue;
		if (!thread_now(table, bt, &now)) {
			thread_forget(table, bt);
			continue;
		}
		thread_prune(bt, &now);
		thread_maybe_forget(table, bt);
	}
}

size_t boost_table_n_threads(const struct boost_table *table)
{
	size_t n = 0;

	for (struct list_node *i = table->threads.next; i != &table->threads; i = i->next)
		n++;
	return n;
}

size_t boost_table_n_boosts(const struct boost_table *table)
{
	size_t n = 0;

	for (struct list_node *i = table->threads.next; i != &table->threads; i = i->next) {
		struct boosted_thread *bt = list_entry(i, struct boosted_thread, link);

		for (struct list_node *j = bt->boosts.next; j != &bt->boosts; j = j->next)
			n++;
	}
	return n;
}
