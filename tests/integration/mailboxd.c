/* SPDX-License-Identifier: MIT */
/*
 * mailboxd: a device that exists only to test the framework. A write posts
 * one message; a read takes the oldest one, or waits for one (a deferred
 * request) unless the file is non-blocking; poll says POLLIN when a message
 * is waiting. Everything a real device does with deferred requests, in the
 * fewest lines: so the framework's promises are tested apart from any
 * device's meaning.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "device.h"
#include "log.h"

#define MAILBOX_MESSAGE_MAX 4096
#define MAILBOX_CAPACITY 64

struct message {
	struct list_node link;
	size_t size;
	char data[];
};

struct mailbox {
	struct list_node messages;  /* struct message */
	unsigned n_messages;
	struct list_node readers;   /* struct cusekit_pending.link, oldest first */
};

static void wake_all(struct cusekit_client *c, void *arg) { cusekit_client_wake(c); }

static void deliver(struct mailbox *m, fuse_req_t req, size_t size)
{
	struct message *msg = list_first_entry(&m->messages, struct message, link);

	if (size < msg->size) {
		fuse_reply_err(req, EMSGSIZE); /* the message stays for a larger read */
		return;
	}
	/* A reply that fails (the reader is gone) must not lose the message. */
	if (fuse_reply_buf(req, msg->data, msg->size) < 0)
		return;
	list_del(&msg->link);
	m->n_messages--;
	free(msg);
}

static void mailbox_read(struct cusekit_client *c, fuse_req_t req, size_t size, bool nonblock)
{
	struct mailbox *m = cusekit_client_userdata(c);
	struct cusekit_pending *p;

	if (!list_empty(&m->messages)) {
		deliver(m, req, size);
		return;
	}
	if (nonblock) {
		fuse_reply_err(req, EAGAIN);
		return;
	}
	p = cusekit_defer(c, req, NULL, sizeof(size_t));
	if (!p)
		return;
	memcpy(p->payload, &size, sizeof(size));
	list_add_tail(&m->readers, &p->link);
}

static void mailbox_write(struct cusekit_client *c, fuse_req_t req, const void *buf, size_t size, bool nonblock)
{
	struct mailbox *m = cusekit_client_userdata(c);
	struct message *msg;

	if (size == 0 || size > MAILBOX_MESSAGE_MAX) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (m->n_messages >= MAILBOX_CAPACITY) {
		fuse_reply_err(req, ENOSPC);
		return;
	}
	msg = malloc(sizeof(*msg) + size);
	if (!msg) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	msg->size = size;
	memcpy(msg->data, buf, size);
	list_add_tail(&m->messages, &msg->link);
	m->n_messages++;
	fuse_reply_write(req, size);

	while (!list_empty(&m->readers) && !list_empty(&m->messages)) {
		struct cusekit_pending *p = list_first_entry(&m->readers, struct cusekit_pending, link);
		size_t want;

		memcpy(&want, p->payload, sizeof(want));
		deliver(m, cusekit_pending_take(p), want);
	}
	cusekit_device_foreach_client(c->device, wake_all, NULL);
}

static unsigned mailbox_poll(struct cusekit_client *c)
{
	struct mailbox *m = cusekit_client_userdata(c);

	return POLLOUT | POLLWRNORM | (list_empty(&m->messages) ? 0 : POLLIN | POLLRDNORM);
}

static void mailbox_destroy(struct cusekit_device *d)
{
	struct mailbox *m = cusekit_device_userdata(d);

	while (!list_empty(&m->messages)) {
		struct message *msg = list_first_entry(&m->messages, struct message, link);

		list_del(&msg->link);
		free(msg);
	}
}

static const struct cusekit_device_ops mailbox_device = {
	.name = "mailbox",
	.description = "A test device: write posts a message, read takes one or waits for it.",
	.node_mode = 0666,
	.destroy = mailbox_destroy,
	.read = mailbox_read,
	.write = mailbox_write,
	.poll = mailbox_poll,
};

int main(int argc, char *argv[])
{
	struct mailbox m = {
		.messages = LIST_INIT(m.messages),
		.readers = LIST_INIT(m.readers),
	};

	return cusekit_main(argc, argv, &mailbox_device, &m);
}
