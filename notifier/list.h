/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * notifier/list.h - intrusive doubly-linked list, as in <linux/list.h>.
 *
 * Used by the notifier (subscribers, intervals, ranges in progress) and by
 * the shadow (regions of an object).  A list has no lock of its own: every
 * list is protected by the lock documented where its head is declared.
 */
#ifndef NOTIFIER_LIST_H
#define NOTIFIER_LIST_H

#include <stdbool.h>
#include <stddef.h>

#define mn_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

struct mn_list {
	struct mn_list *next, *prev;
};

#define MN_LIST_HEAD_INIT(name) { &(name), &(name) }

static inline void mn_list_init(struct mn_list *head)
{
	head->next = head;
	head->prev = head;
}

static inline bool mn_list_empty(const struct mn_list *head)
{
	return head->next == head;
}

/* Insert @node at the tail of @head. */
static inline void mn_list_add_tail(struct mn_list *node, struct mn_list *head)
{
	node->prev = head->prev;
	node->next = head;
	head->prev->next = node;
	head->prev = node;
}

/* Unlink @node and leave it self-linked, so a second mn_list_del is harmless. */
static inline void mn_list_del(struct mn_list *node)
{
	node->prev->next = node->next;
	node->next->prev = node->prev;
	mn_list_init(node);
}

#define mn_list_entry(ptr, type, member) mn_container_of(ptr, type, member)

#define mn_list_for_each_entry(pos, head, member)				\
	for (pos = mn_list_entry((head)->next, __typeof__(*pos), member);	\
	     &pos->member != (head);						\
	     pos = mn_list_entry(pos->member.next, __typeof__(*pos), member))

/* Safe against removal of @pos inside the loop body. */
#define mn_list_for_each_entry_safe(pos, tmp, head, member)			\
	for (pos = mn_list_entry((head)->next, __typeof__(*pos), member),	\
	     tmp = mn_list_entry(pos->member.next, __typeof__(*pos), member);	\
	     &pos->member != (head);						\
	     pos = tmp,								\
	     tmp = mn_list_entry(tmp->member.next, __typeof__(*pos), member))

#endif /* NOTIFIER_LIST_H */
