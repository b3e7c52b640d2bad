/* SPDX-License-Identifier: MIT */
/*
 * The kernel's process events connector (NETLINK_CONNECTOR, CN_IDX_PROC):
 * fork, exec, exit, uid/gid changes... of every task, delivered on the event
 * loop. Needs CAP_NET_ADMIN in the initial user and pid namespaces.
 *
 * Events are filtered by the kernel where it can (Linux 6.6+: LISTEN with a
 * struct proc_input naming the wanted events), in user space otherwise; the
 * callback only ever sees the events asked for.
 */
#pragma once

#include <linux/cn_proc.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Every event type; 6.1 headers lack PROC_EVENT_ALL. */
#define PROC_CONNECTOR_EVENT_ALL                                                                  \
	((uint32_t)(PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_UID | PROC_EVENT_GID |         \
		    PROC_EVENT_SID | PROC_EVENT_PTRACE | PROC_EVENT_COMM | PROC_EVENT_COREDUMP |  \
		    PROC_EVENT_EXIT))

struct proc_connector;

/* Called on the loop for each event; ev is valid during the call only. */
typedef void (*proc_connector_event_fn)(const struct proc_event *ev, void *userdata);
/* The kernel dropped events (ENOBUFS on the socket): n unknown. */
typedef void (*proc_connector_overrun_fn)(void *userdata);

/* Subscribe (PROC_CN_MCAST_LISTEN) on a NETLINK_CONNECTOR socket, attach to e.
 * event_mask: PROC_EVENT_* bits wanted; uses the kernel's filter (PROC_CN_MCAST_LISTEN with
 * proc_input/event_type, Linux 6.6+) where it exists, filters in user space otherwise.
 * Returns 0, or -errno: -EPERM without CAP_NET_ADMIN, -EOPNOTSUPP when the kernel does not
 * answer (no CONFIG_PROC_EVENTS, or a non-initial namespace). */
int proc_connector_new(sd_event *e, uint32_t event_mask, proc_connector_event_fn on_event,
		       proc_connector_overrun_fn on_overrun, void *userdata, struct proc_connector **ret);
struct proc_connector *proc_connector_free(struct proc_connector *pc); /* returns NULL */

/* Takes in every event queued now (the socket drained), calling on_event
 * (or on_overrun) for each before it returns, so that a reader of /proc can
 * tell whether anything happened to a process up to its read. Returns the
 * datagrams read; -EAGAIN when events kept coming faster than it read. */
int proc_connector_receive(struct proc_connector *pc);

/* Whether the kernel filters for us (for logs and tests). */
int proc_connector_kernel_filter(const struct proc_connector *pc);
