/* SPDX-License-Identifier: MIT */
/* Booster's boost stack over fake threads: undo in any order, changes by
 * others left alone, one handle per thread however many changes, released
 * when the thread exits, counts by thread, tid reuse. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "stack.h"

#define ALICE 1000
#define BOB 1001
#define MAX_FAKES 16

/* A fake thread: what the kernel would know of it. */
struct fake {
	pid_t tid;
	uint64_t start_time;
	bool exited;
	struct thread_sched sched;
	uid_t uid;
};

static struct fake fakes[MAX_FAKES];
static unsigned n_fakes, handles_open;

/* The last hook call per fake, and how many. */
static struct {
	bool has_ours;
	struct thread_sched ours;
	unsigned calls;
} hooked[MAX_FAKES];

static int fake_open(pid_t tid, struct thread *t, struct thread_info *info)
{
	/* The newest thread with that number: older ones exited. */
	for (int i = (int)n_fakes - 1; i >= 0; i--)
		if (fakes[i].tid == tid && !fakes[i].exited) {
			*t = (struct thread){ .tid = tid, .proc_fd = i, .start_time = fakes[i].start_time };
			if (info)
				*info = (struct thread_info){ .pid = tid, .ruid = fakes[i].uid, .suid = fakes[i].uid };
			handles_open++;
			return 0;
		}
	return -ESRCH;
}

static void fake_close(struct thread *t)
{
	ck_assert_int_ge(t->proc_fd, 0);
	ck_assert_uint_gt(handles_open, 0);
	handles_open--;
	t->proc_fd = -1;
}

static int fake_check(const struct thread *t)
{
	return fakes[t->proc_fd].exited ? -ESRCH : 0;
}

static int fake_get(const struct thread *t, struct thread_sched *s)
{
	if (fakes[t->proc_fd].exited)
		return -ESRCH;
	*s = fakes[t->proc_fd].sched;
	return 0;
}

static bool set_fails;

static int fake_set(const struct thread *t, const struct thread_sched *s)
{
	if (set_fails)
		return -EPERM;
	if (fakes[t->proc_fd].exited)
		return -ESRCH;
	fakes[t->proc_fd].sched = *s;
	return 0;
}

static const struct thread_ops fake_ops = {
	.open = fake_open, .close = fake_close, .check = fake_check, .get_sched = fake_get, .set_sched = fake_set,
};

static void hook(void *userdata, const struct thread *t, const struct thread_sched *ours)
{
	unsigned *calls = userdata;

	(*calls)++;
	hooked[t->proc_fd].calls++;
	hooked[t->proc_fd].has_ours = ours;
	if (ours)
		hooked[t->proc_fd].ours = *ours;
}

/* What the thread had when Booster said it was about to change it. */
static struct {
	unsigned calls;
	struct thread_sched before, ours;
} changing[MAX_FAKES];

static void changing_hook(void *userdata, const struct thread *t, const struct thread_sched *ours)
{
	changing[t->proc_fd].calls++;
	changing[t->proc_fd].before = fakes[t->proc_fd].sched;
	changing[t->proc_fd].ours = *ours;
}

static const struct boost_hooks hooks = { .changing = changing_hook, .changed = hook };
static unsigned hook_calls;
static struct boost_table *table;

static unsigned fake_new(pid_t tid, uid_t uid)
{
	unsigned i = n_fakes++;

	ck_assert_uint_lt(i, MAX_FAKES);
	fakes[i] = (struct fake){ .tid = tid, .start_time = 1000 + i, .uid = uid };
	return i;
}

static int fake_nice(unsigned i)
{
	ck_assert_uint_eq(fakes[i].sched.sched_policy, 0);
	return fakes[i].sched.sched_nice;
}

static void setup(void)
{
	n_fakes = handles_open = hook_calls = 0;
	set_fails = false;
	memset(hooked, 0, sizeof(hooked));
	memset(changing, 0, sizeof(changing));
	table = boost_table_new(&fake_ops, &hooks, &hook_calls);
	ck_assert_ptr_nonnull(table);
}

static void teardown(void)
{
	table = boost_table_free(table);
	ck_assert_uint_eq(handles_open, 0);
}

static struct thread_sched nice_of(int nice) { return (struct thread_sched){ .sched_nice = nice }; }

static struct thread_sched rr(unsigned prio) { return (struct thread_sched){ .sched_policy = 2, .sched_priority = prio }; }

/* One change through the table as a request makes it. */
static int change(const void *owner, uid_t uid, pid_t tid, struct thread_sched s, bool persistent)
{
	struct boosted_thread *bt;
	int r = boost_table_get(table, tid, &bt, NULL);

	if (r < 0)
		return r;
	r = boost_table_push(table, bt, owner, uid, &s, persistent);
	boost_table_put(table, bt);
	return r;
}

static const char file_a[1], file_b[1], file_c[1];

START_TEST(test_undo_on_release)
{
	unsigned t = fake_new(100, ALICE);

	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-5), false), 0);
	ck_assert_int_eq(fake_nice(t), -5);
	ck_assert_uint_eq(handles_open, 1);
	/* A second change by the same file keeps the original to restore. */
	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-8), false), 0);
	ck_assert_int_eq(fake_nice(t), -8);
	ck_assert_uint_eq(boost_table_n_boosts(table), 1);
	boost_table_release(table, file_a);
	ck_assert_int_eq(fake_nice(t), 0);
	ck_assert_uint_eq(boost_table_n_threads(table), 0);
	ck_assert_uint_eq(handles_open, 0);
	ck_assert(!hooked[t].has_ours);
}
END_TEST

START_TEST(test_stack_unwinds_in_any_order)
{
	unsigned t = fake_new(100, ALICE);

	fakes[t].sched = nice_of(2);
	/* Lower one ends first. */
	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-3), false), 0);
	ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-6), false), 0);
	ck_assert_uint_eq(handles_open, 1);
	boost_table_release(table, file_a);
	ck_assert_int_eq(fake_nice(t), -6);
	boost_table_release(table, file_b);
	ck_assert_int_eq(fake_nice(t), 2);

	/* Upper one ends first. */
	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-3), false), 0);
	ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-6), false), 0);
	boost_table_release(table, file_b);
	ck_assert_int_eq(fake_nice(t), -3);
	ck_assert(hooked[t].has_ours);   /* -3 is still Booster's */
	boost_table_release(table, file_a);
	ck_assert_int_eq(fake_nice(t), 2);
	ck_assert(!hooked[t].has_ours);

	/* Three, the middle one first. */
	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-1), false), 0);
	ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-2), false), 0);
	ck_assert_int_eq(change(file_c, ALICE, 100, nice_of(-3), false), 0);
	boost_table_release(table, file_b);
	ck_assert_int_eq(fake_nice(t), -3);
	boost_table_release(table, file_c);
	ck_assert_int_eq(fake_nice(t), -1);
	boost_table_release(table, file_a);
	ck_assert_int_eq(fake_nice(t), 2);
	ck_assert_uint_eq(handles_open, 0);
}
END_TEST

START_TEST(test_changed_by_someone_else)
{
	unsigned t = fake_new(100, ALICE);

	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-7), false), 0);
	fakes[t].sched = nice_of(4);   /* setpriority(2) by someone else */
	boost_table_release(table, file_a);
	ck_assert_int_eq(fake_nice(t), 4);

	/* A change on top of a thread someone else changed: the old boost can
	 * restore nothing any more and is forgotten at once. */
	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-1), false), 0);
	fakes[t].sched = nice_of(3);
	ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-2), false), 0);
	ck_assert_uint_eq(boost_table_n_boosts(table), 1);
	ck_assert_uint_eq(boost_table_reset(table, file_a, 100), 0);
	boost_table_release(table, file_b);
	ck_assert_int_eq(fake_nice(t), 3);
}
END_TEST

START_TEST(test_persistent)
{
	unsigned t = fake_new(100, ALICE);

	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-4), true), 0);
	boost_table_release(table, file_a);
	ck_assert_int_eq(fake_nice(t), -4);
	/* It still counts for its user. */
	ck_assert_uint_eq(boost_table_threads_of(table, ALICE, NULL), 1);
	ck_assert_uint_eq(boost_table_threads_of(table, BOB, NULL), 0);

	/* RESET through the same file undoes a persistent change. */
	ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-9), true), 0);
	ck_assert_uint_eq(boost_table_reset(table, file_b, 0), 1);
	ck_assert_int_eq(fake_nice(t), -4);
	ck_assert_uint_eq(boost_table_reset(table, file_b, 100), 0);
}
END_TEST

/* Issue 15: one handle per thread however many changes; released when the
 * thread exits, without waiting for any request. */
START_TEST(test_one_handle_per_thread)
{
	unsigned t = fake_new(100, ALICE), u = fake_new(200, ALICE);
	static char files[3000];

	/* 3,000 persistent changes through one file. */
	for (int i = 0; i < 3000; i++)
		ck_assert_int_eq(change(file_a, 0, 100, nice_of(-(i & 1)), true), 0);
	ck_assert_uint_eq(handles_open, 1);
	ck_assert_uint_eq(boost_table_n_boosts(table), 1);
	/* And through 3,000 files, each closed after its change. */
	for (int i = 0; i < 3000; i++) {
		ck_assert_int_eq(change(&files[i], 0, 100, nice_of(-(i % 7)), true), 0);
		boost_table_release(table, &files[i]);
	}
	ck_assert_uint_eq(handles_open, 1);
	ck_assert_uint_le(boost_table_n_boosts(table), 2);
	ck_assert_int_eq(change(file_b, ALICE, 200, nice_of(-1), true), 0);
	ck_assert_uint_eq(handles_open, 2);

	fakes[t].exited = true;
	boost_table_thread_exited(table, 100);
	ck_assert_uint_eq(handles_open, 1);
	ck_assert_uint_eq(boost_table_n_threads(table), 1);
	ck_assert(!hooked[t].has_ours);
	fakes[u].exited = true;
	boost_table_sweep(table);
	ck_assert_uint_eq(handles_open, 0);
}
END_TEST

START_TEST(test_counts_threads_not_changes)
{
	fake_new(100, ALICE);
	fake_new(101, ALICE);

	for (int i = 0; i < 33; i++)
		ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-(i % 5)), true), 0);
	ck_assert_uint_eq(boost_table_threads_of(table, ALICE, NULL), 1);
	for (int i = 0; i < 33; i++)
		ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-(i % 3)), false), 0);
	ck_assert_uint_eq(boost_table_threads_of(table, ALICE, NULL), 1);
	ck_assert_int_eq(change(file_b, ALICE, 101, nice_of(-1), false), 0);
	ck_assert_uint_eq(boost_table_threads_of(table, ALICE, NULL), 2);

	struct boosted_thread *bt;
	ck_assert_int_eq(boost_table_get(table, 101, &bt, NULL), 0);
	ck_assert_uint_eq(boost_table_threads_of(table, ALICE, bt), 1);
	boost_table_put(table, bt);
}
END_TEST

/* A tid reused by a new thread: the old record goes, the new thread is
 * never touched by the old one's undo, and a stale exit event does not
 * drop the new thread's record. */
START_TEST(test_reused_tid)
{
	unsigned old = fake_new(100, ALICE), reused;

	ck_assert_int_eq(change(file_a, ALICE, 100, nice_of(-6), false), 0);
	fakes[old].exited = true;
	reused = fake_new(100, ALICE);
	fakes[reused].sched = nice_of(-6);   /* the same settings we gave the old one */
	ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-2), false), 0);
	ck_assert_uint_eq(boost_table_n_threads(table), 2);
	boost_table_thread_exited(table, 100);   /* the old one's event, late */
	ck_assert_uint_eq(boost_table_n_threads(table), 1);
	boost_table_release(table, file_a);
	ck_assert_int_eq(fake_nice(reused), -2);
	boost_table_release(table, file_b);
	ck_assert_int_eq(fake_nice(reused), -6);
	ck_assert_uint_eq(handles_open, 0);
}
END_TEST

START_TEST(test_thread_gone)
{
	unsigned t = fake_new(100, ALICE);
	struct boosted_thread *bt;
	struct thread_sched s = nice_of(-3);

	ck_assert_int_eq(change(file_a, ALICE, 300, nice_of(-3), false), -ESRCH);
	ck_assert_uint_eq(handles_open, 0);

	/* It exits between the lookup and the change: nothing is kept. */
	ck_assert_int_eq(boost_table_get(table, 100, &bt, NULL), 0);
	fakes[t].exited = true;
	ck_assert_int_eq(boost_table_push(table, bt, file_a, ALICE, &s, false), -ESRCH);
	boost_table_put(table, bt);
	ck_assert_uint_eq(handles_open, 0);
	ck_assert_uint_eq(boost_table_n_threads(table), 0);

	/* Exited with a boost on it: release forgets it without touching. */
	t = fake_new(101, ALICE);
	ck_assert_int_eq(change(file_a, ALICE, 101, nice_of(-3), false), 0);
	fakes[t].exited = true;
	boost_table_release(table, file_a);
	ck_assert_uint_eq(handles_open, 0);
}
END_TEST

START_TEST(test_hook_tracks_ours)
{
	unsigned t = fake_new(100, ALICE);

	ck_assert_int_eq(change(file_a, ALICE, 100, rr(5), false), 0);
	ck_assert(hooked[t].has_ours);
	ck_assert_uint_eq(hooked[t].ours.sched_policy, 2);
	ck_assert_int_eq(change(file_b, ALICE, 100, nice_of(-2), false), 0);
	ck_assert_uint_eq(hooked[t].ours.sched_policy, 0);
	boost_table_release(table, file_b);
	ck_assert(hooked[t].has_ours);
	ck_assert_uint_eq(hooked[t].ours.sched_priority, 5);
	boost_table_release(table, file_a);
	ck_assert(!hooked[t].has_ours);
	ck_assert_uint_ge(hook_calls, 4);
}
END_TEST

/* The hooks hear of a change before the thread has it (a real-time
 * thread may starve the daemon right after), and of what came of a change
 * that failed. */
START_TEST(test_hooks_before_and_after)
{
	const int a = 0, b = 0;
	unsigned i = fake_new(10, 1000), j = fake_new(11, 1000);

	ck_assert_int_eq(change(&a, 1000, 10, rr(5), false), 0);
	ck_assert_uint_eq(changing[i].calls, 1);
	ck_assert_uint_eq(changing[i].before.sched_policy, 0);
	ck_assert_uint_eq(changing[i].ours.sched_priority, 5);
	ck_assert(hooked[i].has_ours);

	/* A change that fails: the thread keeps the earlier boost, and the
	 * hooks are told so. */
	set_fails = true;
	ck_assert_int_lt(change(&b, 1000, 10, rr(7), false), 0);
	ck_assert_uint_eq(changing[i].calls, 2);
	ck_assert_uint_eq(changing[i].ours.sched_priority, 7);
	ck_assert(hooked[i].has_ours);
	ck_assert_uint_eq(hooked[i].ours.sched_priority, 5);
	/* On a thread Booster never changed: nothing of Booster's. */
	ck_assert_int_lt(change(&a, 1000, 11, rr(3), false), 0);
	ck_assert_uint_eq(changing[j].calls, 1);
	ck_assert(!hooked[j].has_ours);
	ck_assert_uint_ge(hooked[j].calls, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("booster-stack");
	TCase *tc = tcase_create("booster-stack");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_undo_on_release);
	tcase_add_test(tc, test_stack_unwinds_in_any_order);
	tcase_add_test(tc, test_changed_by_someone_else);
	tcase_add_test(tc, test_hooks_before_and_after);
	tcase_add_test(tc, test_persistent);
	tcase_add_test(tc, test_one_handle_per_thread);
	tcase_add_test(tc, test_counts_threads_not_changes);
	tcase_add_test(tc, test_reused_tid);
	tcase_add_test(tc, test_thread_gone);
	tcase_add_test(tc, test_hook_tracks_ours);
	suite_add_tcase(s, tc);
	return check_run(s);
}
