/* SPDX-License-Identifier: MIT */
/*
 * mailboxd: a device that exists only to test the framework. A write posts
 * one message; a read takes the oldest one, or waits for one (parked in a
 * wait queue) unless the file is non-blocking; poll says POLLIN when a
 * message is waiting. Everything a real device does with parked requests,
 * in the fewest lines: so the framework's promises are tested apart from
 * any device's meaning.
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
	struct cusekit_waitq readers;
};

/* The oldest message, or -EAGAIN. It stays until the answer arrives. */
static ssize_t mailbox_take(struct mailbox *m, struct cusekit_request *req, size_t size)
{
	struct message *msg;

	if (list_empty(&m->messages))
		return -EAGAIN;
	msg = list_entry(m->messages.next, struct message, link);
	if (size < msg->size)
		return -EMSGSIZE; /* the message stays for a larger read */
	cusekit_request_answer_from(req, msg->data);
	return (ssize_t)msg->size;
}

static ssize_t reader_try(struct cusekit_waitq *q, struct cusekit_request *req)
{
	return mailbox_take(q->userdata, req, cusekit_request_size(req));
}

static ssize_t mailbox_read(struct cusekit_client *c, struct cusekit_request *req, size_t size)
{
	struct mailbox *m = cusekit_client_userdata(c);

	return cusekit_answer_or_park(&m->readers, req);
}

/* A reader that was gone by the time its answer came loses nothing. */
static void mailbox_read_done(struct cusekit_client *c, size_t bytes, bool delivered)
{
	struct mailbox *m = cusekit_client_userdata(c);
	struct message *msg = list_entry(m->messages.next, struct message, link);

	if (!delivered)
		return;
	list_del(&msg->link);
	m->n_messages--;
	free(msg);
}

static ssize_t mailbox_write(struct cusekit_client *c, struct cusekit_request *req, const void *buf, size_t size)
{
	struct mailbox *m = cusekit_client_userdata(c);
	struct message *msg;

	if (size == 0 || size > MAILBOX_MESSAGE_MAX)
		return -EINVAL;
	if (m->n_messages >= MAILBOX_CAPACITY)
		return -ENOSPC;
	msg = malloc(sizeof(*msg) + size);
	if (!msg)
		return -ENOMEM;
	msg->size = size;
	memcpy(msg->data, buf, size);
	list_add_tail(&m->messages, &msg->link);
	m->n_messages++;

	cusekit_waitq_run(&m->readers);
	cusekit_device_wake_all(c->device);
	return (ssize_t)size;
}

static unsigned mailbox_poll(struct cusekit_client *c)
{
	struct mailbox *m = cusekit_client_userdata(c);

	return POLLOUT | POLLWRNORM | (list_empty(&m->messages) ? 0 : POLLIN | POLLRDNORM);
}

static const struct cusekit_waitq_ops reader_ops = { .try_answer = reader_try };

static void mailbox_init(void *userdata)
{
	struct mailbox *m = userdata;

	list_init(&m->messages);
	cusekit_waitq_init(&m->readers, &reader_ops, m);
}

static void mailbox_destroy(struct cusekit_device *d)
{
	struct mailbox *m = cusekit_device_userdata(d);

	while (!list_empty(&m->messages)) {
		struct message *msg = list_entry(m->messages.next, struct message, link);

		list_del(&msg->link);
		free(msg);
	}
}

static const struct cusekit_device_ops mailbox_device = {
	.name = "mailbox",
	.description = "A test device: write posts a message, read takes one or waits for it.",
	.node_mode = 0666,
	.size = sizeof(struct mailbox),
	.init = mailbox_init,
	.destroy = mailbox_destroy,
	.read = mailbox_read,
	.read_done = mailbox_read_done,
	.write = mailbox_write,
	.poll = mailbox_poll,
};

CUSEKIT_MAIN(mailbox_device)
