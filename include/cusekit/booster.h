/* SPDX-License-Identifier: MIT */
/*
 * cusekit Booster: /dev/cusekit/booster.
 *
 * Sets the scheduling of a thread: its nice value, or a real-time policy.
 * The daemon knows who asks from the kernel's request context and applies a
 * policy (/etc/cusekit/booster.conf): a caller may change only threads of
 * processes it owns (its uid is the target's real or saved uid, as for
 * kill(2)) unless it is root or in the configured admin group; nice values
 * below a floor (default -10) and real-time priorities above a ceiling
 * (default 0: no real-time at all) are refused; each user may hold a limited
 * number of boosted threads at once. Root is exempt from the limits.
 *
 * A change lives as long as the open file it was made through: when the file
 * is closed (or its process dies), the thread gets its previous settings back
 * -- unless someone else changed the thread since, or the change was
 * persistent (BOOSTER_FLAG_PERSIST, or any book-style write()). A thread that
 * died is never confused with a later thread that reuses its id. Every change
 * carries SCHED_RESET_ON_FORK: children of a boosted thread start unboosted.
 *
 * The node is root:cusekit-booster 0660: members of the group may open it.
 * Thread ids are those of the daemon's pid namespace (gettid() outside
 * containers).
 *
 * Book-compatible write(): one or more struct booster_thread_data records.
 * priority is on the book's scale:
 *
 *   priority   1   2   3   4   5   6   7   8   9  10  11  12  13  14  15
 *   nice      19  17  14  11   8   5   2   0  -2  -5  -8 -11 -14 -17 -20
 *
 *   priority  16..31: SCHED_RR with real-time priority (priority - 15), 1..16
 *
 * (nice = (8 - priority) * 20 / 7, truncated, limited to 19.) Errors: a
 * length that is not a whole number of records, EINVAL; priority outside
 * 1..31, EINVAL; no such thread, ESRCH; refused by the policy, EPERM; over
 * the per-user rate limit, or real-time during the canary's cool-down after
 * a starvation, EBUSY (the same request succeeds later). When a later record
 * of a write fails, the write returns the bytes of the records done before
 * it; when the first fails, its error. One write does at most
 * BOOSTER_WRITE_RECORDS_MAX records and returns their bytes, a short write
 * (write the rest again), so that no client holds up the others for long.
 *
 * Every real-time grant bounds the target process's RLIMIT_RTTIME (default
 * 200 ms, unless lower): a real-time thread that spins without blocking is
 * killed by the kernel. Where the kernel schedules by autogroup, a nice boost
 * also raises the thread's session. See boosterd(8).
 */
#ifndef CUSEKIT_BOOSTER_H
#define CUSEKIT_BOOSTER_H

#include <cusekit/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BOOSTER_PRIORITY_MIN 1
#define BOOSTER_PRIORITY_NORMAL 8    /* nice 0 */
#define BOOSTER_PRIORITY_RT_MIN 16   /* first SCHED_RR priority */
#define BOOSTER_PRIORITY_MAX 31

struct booster_thread_data {
	__u32 thread_id;
	__s32 priority;      /* 1..31, the book's scale */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct booster_thread_data) == 8, "booster_thread_data ABI");
#define BOOSTER_WRITE_RECORDS_MAX 1024

/* Scheduling policies: the kernel's SCHED_* values. */
#define BOOSTER_POLICY_OTHER 0
#define BOOSTER_POLICY_FIFO 1
#define BOOSTER_POLICY_RR 2
#define BOOSTER_POLICY_BATCH 3
#define BOOSTER_POLICY_IDLE 5

/* The change is not undone when the file is closed. */
#define BOOSTER_FLAG_PERSIST 0x1u

/*
 * SET: OTHER, BATCH and IDLE take nice (-20..19) and rt_priority 0; FIFO and
 * RR take rt_priority 1..99 and ignore nice (which must still be -20..19).
 * Unknown flags: EINVAL.
 * GET: tid in; out the thread's current policy, nice and rt_priority, flags 0.
 * Like sched_getattr(2), it reports only what the policy uses: nice is 0 for
 * FIFO and RR, rt_priority 0 for the others.
 * Anyone who may open the device may GET any thread.
 */
struct booster_request {
	__u32 tid;
	__u32 policy;        /* BOOSTER_POLICY_* */
	__s32 nice;
	__u32 rt_priority;
	__u32 flags;         /* BOOSTER_FLAG_* */
};
CUSEKIT_STATIC_ASSERT(sizeof(struct booster_request) == 20, "booster_request ABI");

#define BOOSTER_IOC_SET _IOW('B', 0x01, struct booster_request)
#define BOOSTER_IOC_GET _IOWR('B', 0x02, struct booster_request)
/* Undo this file's change to that tid (0: all of them), persistent or not,
 * restoring the previous settings if the thread still has ours. ESRCH: this
 * file has no change on that tid. */
#define BOOSTER_IOC_RESET _IOW('B', 0x03, __u32)

#ifdef __cplusplus
}
#endif
#endif
