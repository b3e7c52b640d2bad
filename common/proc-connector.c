/* SPDX-License-Identifier: MIT */
/*
 * The process events connector on the event loop.
 *
 * Subscribing: the kernel answers a LISTEN with an ack (a PROC_EVENT_NONE
 * event carrying our sequence number and an errno), synchronously, inside
 * our sendmsg(). Linux 6.6+ also accepts LISTEN as a struct proc_input
 * {op, event_type} and then filters in the kernel; older kernels ignore that
 * form without an answer. So we first send proc_input with every event
 * wanted, whose ack passes any filter: an ack means the kernel filters, and
 * a second proc_input narrows the subscription to event_mask. No ack: the
 * plain 4-byte LISTEN, and the mask is applied here.
 */
#include <errno.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "proc-connector.h"

/* What Linux 6.6 added to <linux/cn_proc.h>; named here so that newer
 * headers, which have them, do not clash. */
struct proc_connector_input {
	uint32_t mcast_op;     /* enum proc_cn_mcast_op */
	uint32_t event_type;   /* enum proc_cn_event: PROC_EVENT_* bits */
};

/* The kernel's PROC_EVENT_ALL also has the PROC_EVENT_NONZERO_EXIT modifier;
 * only that exact value lets acks through the kernel's filter. */
#define PROC_CONNECTOR_KERNEL_ALL (PROC_CONNECTOR_EVENT_ALL | 0x20000000u)

#define PROC_CONNECTOR_RCVBUF (8u << 20)
#define PROC_CONNECTOR_RECEIVE_MAX 4096 /* datagrams one proc_connector_receive() takes in */
#define PROC_CONNECTOR_MSG_MAX 8192 /* one recv: a few events, each ~100 bytes */

struct proc_connector {
	int fd;
	sd_event_source *source;
	uint32_t event_mask;
	bool kernel_filter;
	uint32_t seq;
	bool ack_found;        /* while subscribing: the ack of seq arrived */
	int ack_error;         /* its errno, positive */
	proc_connector_event_fn on_event;
	proc_connector_overrun_fn on_overrun;
	void *userdata;
};

static int pc_send_listen(struct proc_connector *pc, const void *data, size_t size)
{
	_Alignas(NLMSG_ALIGNTO) unsigned char buf[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof(struct proc_connector_input))] = {};
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct cn_msg *msg = NLMSG_DATA(nlh);
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*msg) + size);
	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_pid = 0;
	msg->id.idx = CN_IDX_PROC;
	msg->id.val = CN_VAL_PROC;
	msg->seq = ++pc->seq;
	msg->ack = pc->seq;   /* the kernel answers with ack + 1 */
	msg->len = (uint16_t)size;
	memcpy(msg->data, data, size);
	if (sendto(pc->fd, buf, nlh->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return negative_errno();
	return 0;
}

/* Walks one datagram from the kernel; calls fn for each process event. */
static void pc_parse(const void *buf, size_t len,
		     void (*fn)(struct proc_connector *pc, const struct cn_msg *msg, const struct proc_event *ev),
		     struct proc_connector *pc)
{
	for (const struct nlmsghdr *nlh = buf; NLMSG_OK(nlh, len); nlh = NLMSG_NEXT(nlh, len)) {
		const struct cn_msg *msg = NLMSG_DATA(nlh);

		if (nlh->nlmsg_type != NLMSG_DONE ||
		    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*msg) + sizeof(struct proc_event)))
			continue;
		struct proc_event ev;

		if (msg->id.idx != CN_IDX_PROC || msg->id.val != CN_VAL_PROC ||
		    msg->len < sizeof(struct proc_event))
			continue;
		/* The event sits 4 bytes past 8-byte alignment (nlmsghdr 16, cn_msg
		 * 20): copy it out rather than read 64-bit fields in place. */
		memcpy(&ev, msg->data, sizeof(ev));
		fn(pc, msg, &ev);
	}
}

/* Reads one datagram: >0 its size, 0 nothing now (or not from the kernel),
 * -ENOBUFS the kernel dropped events, other -errno. */
static ssize_t pc_recv(struct proc_connector *pc, void *buf, size_t size)
{
	struct sockaddr_nl from = {};
	socklen_t fromlen = sizeof(from);
	ssize_t n;

	n = recvfrom(pc->fd, buf, size, 0, (struct sockaddr *)&from, &fromlen);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : negative_errno();
	/* Only the kernel speaks on this group. */
	if (fromlen != sizeof(from) || from.nl_pid != 0)
		return 0;
	return n;
}

static void pc_check_ack(struct proc_connector *pc, const struct cn_msg *msg, const struct proc_event *ev)
{
	if (ev->what == PROC_EVENT_NONE && msg->ack == pc->seq + 1) {
		pc->ack_found = true;
		pc->ack_error = (int)ev->event_data.ack.err;
	}
}

/* The ack is queued during sendmsg(): drain what is there now, looking for it.
 * Events received meanwhile precede the subscription's start and are dropped. */
static int pc_listen(struct proc_connector *pc, const void *data, size_t size, bool *acked)
{
	_Alignas(8) unsigned char buf[PROC_CONNECTOR_MSG_MAX];
	ssize_t n;
	int r;

	r = pc_send_listen(pc, data, size);
	if (r < 0)
		return r;
	pc->ack_found = false;
	/* Bounded: other listeners keep events flowing to our group meanwhile. */
	for (int i = 0; i < 1024 && (n = pc_recv(pc, buf, sizeof(buf))) != 0; i++) {
		if (n == -ENOBUFS)
			continue;
		if (n < 0)
			return (int)n;
		pc_parse(buf, (size_t)n, pc_check_ack, pc);
		if (pc->ack_found)
			break;
	}
	*acked = pc->ack_found;
	return pc->ack_found && pc->ack_error ? -pc->ack_error : 0;
}

static int pc_subscribe(struct proc_connector *pc)
{
	struct proc_connector_input all = { PROC_CN_MCAST_LISTEN, PROC_CONNECTOR_KERNEL_ALL };
	enum proc_cn_mcast_op listen = PROC_CN_MCAST_LISTEN;
	bool acked;
	int r;

	r = pc_listen(pc, &all, sizeof(all), &acked);
	if (r < 0)
		return r;
	if (acked) {
		struct proc_connector_input wanted = { PROC_CN_MCAST_LISTEN, pc->event_mask };

		pc->kernel_filter = true;
		/* Its ack is filtered out: PROC_EVENT_NONE is not wanted. */
		return pc_send_listen(pc, &wanted, sizeof(wanted));
	}
	r = pc_listen(pc, &listen, sizeof(listen), &acked);
	if (r < 0)
		return r;
	return acked ? 0 : -EOPNOTSUPP;
}

static void pc_dispatch(struct proc_connector *pc, const struct cn_msg *msg, const struct proc_event *ev)
{
	/* Acks (PROC_EVENT_NONE) of other listeners come here too. */
	if (ev->what & pc->event_mask)
		pc->on_event(ev, pc->userdata);
}

static int pc_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct proc_connector *pc = userdata;
	_Alignas(8) unsigned char buf[PROC_CONNECTOR_MSG_MAX];
	ssize_t n;

	/* A bounded batch, so a storm cannot starve the rest of the loop. */
	for (int i = 0; i < 256; i++) {
		n = pc_recv(pc, buf, sizeof(buf));
		if (n == 0)
			break;
		if (n == -ENOBUFS) {
			if (pc->on_overrun)
				pc->on_overrun(pc->userdata);
			continue;
		}
		if (n < 0) {
			log_warning_errno((int)n, "Failed to receive process events: %m");
			break;
		}
		pc_parse(buf, (size_t)n, pc_dispatch, pc);
	}
	return 0;
}

int proc_connector_receive(struct proc_connector *pc)
{
	_Alignas(8) unsigned char buf[PROC_CONNECTOR_MSG_MAX];
	ssize_t n;

	/* Bounded: a storm may refill the socket as fast as it is read. */
	for (int i = 0; i < PROC_CONNECTOR_RECEIVE_MAX; i++) {
		n = pc_recv(pc, buf, sizeof(buf));
		if (n == 0)
			return i;
		if (n == -ENOBUFS) {
			if (pc->on_overrun)
				pc->on_overrun(pc->userdata);
			continue;
		}
		if (n < 0)
			return (int)n;
		pc_parse(buf, (size_t)n, pc_dispatch, pc);
	}
	return -EAGAIN;
}

static int pc_socket(void)
{
	struct sockaddr_nl addr = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
	int size = PROC_CONNECTOR_RCVBUF;
	_cleanup_close_ int fd = -1;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
	if (fd < 0)
		return negative_errno();
	/* A storm of short processes outruns any reader for a moment: a deep
	 * buffer turns most of those moments into latency instead of loss.
	 * FORCE (root) may exceed net.core.rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
		log_debug_errno(negative_errno(), "Failed to enlarge the process events buffer: %m");
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

int proc_connector_new(sd_event *e, uint32_t event_mask, proc_connector_event_fn on_event,
		       proc_connector_overrun_fn on_overrun, void *userdata, struct proc_connector **ret)
{
	struct proc_connector *pc;
	int r;

	if (!on_event || !ret || (event_mask & ~PROC_CONNECTOR_EVENT_ALL) || !event_mask)
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	*pc = (struct proc_connector){
		.fd = -1,
		.event_mask = event_mask,
		.seq = (uint32_t)getpid() << 8,
		.on_event = on_event,
		.on_overrun = on_overrun,
		.userdata = userdata,
	};
	r = pc->fd = pc_socket();
	if (r >= 0)
		r = pc_subscribe(pc);
	if (r >= 0)
		r = sd_event_add_io(e, &pc->source, pc->fd, EPOLLIN, pc_on_io, pc);
	if (r < 0) {
		proc_connector_free(pc);
		return r;
	}
	log_debug("Process events connector: subscribed to 0x%08x, %s filter.", (unsigned)event_mask,
		  pc->kernel_filter ? "kernel" : "user space");
	*ret = pc;
	return 0;
}

int proc_connector_kernel_filter(const struct proc_connector *pc)
{
	return pc->kernel_filter;
}

struct proc_connector *proc_connector_free(struct proc_connector *pc)
{
	if (!pc)
		return NULL;
	sd_event_source_disable_unref(pc->source);
	if (pc->fd >= 0) {
		enum proc_cn_mcast_op ignore = PROC_CN_MCAST_IGNORE;

		/* Lets the kernel stop building events nobody reads. */
		(void)pc_send_listen(pc, &ignore, sizeof(ignore));
		close(pc->fd);
	}
	free(pc);
	return NULL;
}
