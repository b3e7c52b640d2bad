/* SPDX-License-Identifier: MIT */
/*
 * An intrusive doubly linked list, as in the kernel. A node that is on no list
 * points at itself, so list_del() on an unlinked node is harmless: owners can
 * always unlink without tracking which list, if any, holds the node.
 */
#pragma once

#include <stdbool.h>

#include "macro.h"

struct list_node {
	struct list_node *prev, *next;
};

#define LIST_INIT(name) { &(name), &(name) }

static inline void list_init(struct list_node *n) { n->prev = n->next = n; }
static inline bool list_empty(const struct list_node *head) { return head->next == head; }

static inline void list_add_tail(struct list_node *head, struct list_node *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static inline void list_del(struct list_node *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member) list_entry((head)->next, type, member)

#define list_for_each(pos, head) for ((pos) = (head)->next; (pos) != (head); (pos) = (pos)->next)

/* Safe against removal of the current entry. */
#define list_for_each_safe(pos, tmp, head) \
	for ((pos) = (head)->next, (tmp) = (pos)->next; (pos) != (head); (pos) = (tmp), (tmp) = (pos)->next)
