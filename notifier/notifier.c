// SPDX-License-Identifier: GPL-2.0-only
/*
 * notifier/notifier.c - mmu-notifier subscriptions and the invalidate/retry
 * protocol.  The contract and the locking rules are in notifier.h; this
 * file only adds why the code is shaped as it is.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "notifier/notifier.h"

struct mn_space {
	/*
	 * subs_lock (writer-preferring rwlock) protects subs and released.
	 * Callbacks run under it for read, so taking it for write waits for
	 * every running callback; writer preference keeps a steady stream of
	 * invalidations from starving (un)registration.
	 */
	pthread_rwlock_t subs_lock;
	struct mn_list subs;
	bool released;

	/*
	 * lock protects intervals, active, and every interval's start, end
	 * and node; interval seq and active are written only under it.
	 * wait (with lock) wakes readers in mn_interval_read_begin when an
	 * interval's active count drops to zero.
	 */
	pthread_mutex_t lock;
	pthread_cond_t wait;
	struct mn_list intervals;
	struct mn_list active;		/* struct mn_range in progress */
};

struct mn_space *mn_space_create(void)
{
	struct mn_space *space = calloc(1, sizeof(*space));
	pthread_rwlockattr_t attr;

	if (!space)
		return NULL;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&space->subs_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&space->lock, NULL);
	pthread_cond_init(&space->wait, NULL);
	mn_list_init(&space->subs);
	mn_list_init(&space->intervals);
	mn_list_init(&space->active);
	return space;
}

/*
 * Release happens in three steps so that a release callback may sleep and
 * a concurrent mn_unregister stays safe: (1) under the write lock, mark the
 * space released - this waits for running callbacks and stops new ones;
 * (2) under the read lock, call ->release - mn_unregister, which needs the
 * write lock, waits for it; (3) under the write lock, detach whoever is
 * still on the list, so a later mn_unregister finds nothing to do.
 */
void mn_space_release(struct mn_space *space)
{
	struct mn_subscriber *sub, *tmp;

	pthread_rwlock_wrlock(&space->subs_lock);
	if (space->released) {
		pthread_rwlock_unlock(&space->subs_lock);
		return;
	}
	space->released = true;
	pthread_rwlock_unlock(&space->subs_lock);

	pthread_rwlock_rdlock(&space->subs_lock);
	mn_list_for_each_entry(sub, &space->subs, node)
		if (sub->ops->release)
			sub->ops->release(sub);
	pthread_rwlock_unlock(&space->subs_lock);

	pthread_rwlock_wrlock(&space->subs_lock);
	mn_list_for_each_entry_safe(sub, tmp, &space->subs, node)
		mn_list_del(&sub->node);
	pthread_rwlock_unlock(&space->subs_lock);
}

void mn_space_destroy(struct mn_space *space)
{
	mn_space_release(space);
	assert(mn_list_empty(&space->intervals));
	assert(mn_list_empty(&space->active));
	pthread_cond_destroy(&space->wait);
	pthread_mutex_destroy(&space->lock);
	pthread_rwlock_destroy(&space->subs_lock);
	free(space);
}

int mn_register(struct mn_space *space, struct mn_subscriber *sub,
		const struct mn_ops *ops)
{
	pthread_rwlock_wrlock(&space->subs_lock);
	if (space->released) {
		pthread_rwlock_unlock(&space->subs_lock);
		return -ESHUTDOWN;
	}
	sub->ops = ops;
	sub->space = space;
	mn_list_add_tail(&sub->node, &space->subs);
	pthread_rwlock_unlock(&space->subs_lock);
	return 0;
}

/*
 * sub->space is the caller's: set by mn_register, cleared here, never
 * touched by other threads.  Release detaches the node (self-linked), so
 * mn_list_del of an already detached subscriber is a no-op.
 */
void mn_unregister(struct mn_subscriber *sub)
{
	struct mn_space *space = sub->space;

	if (!space)
		return;
	pthread_rwlock_wrlock(&space->subs_lock);
	mn_list_del(&sub->node);
	pthread_rwlock_unlock(&space->subs_lock);
	sub->space = NULL;
}

static bool ranges_overlap(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

/*
 * Order matters for the lockless mn_interval_read_begin fast path: active
 * is raised before seq, so a reader that sees the new seq also sees
 * active != 0 (all accesses are sequentially consistent).
 */
static void intervals_invalidate_start(struct mn_space *space,
				       struct mn_range *range)
{
	struct mn_interval *iv;

	pthread_mutex_lock(&space->lock);
	mn_list_add_tail(&range->node, &space->active);
	mn_list_for_each_entry(iv, &space->intervals, node) {
		if (!ranges_overlap(iv->start, iv->end, range->start, range->end))
			continue;
		atomic_fetch_add(&iv->active, 1);
		atomic_fetch_add(&iv->seq, 1);
	}
	pthread_mutex_unlock(&space->lock);
}

static void intervals_invalidate_end(struct mn_space *space,
				     struct mn_range *range)
{
	struct mn_interval *iv;
	bool wake = false;

	pthread_mutex_lock(&space->lock);
	mn_list_del(&range->node);
	mn_list_for_each_entry(iv, &space->intervals, node) {
		if (!ranges_overlap(iv->start, iv->end, range->start, range->end))
			continue;
		if (atomic_fetch_sub(&iv->active, 1) == 1)
			wake = true;
	}
	if (wake)
		pthread_cond_broadcast(&space->wait);
	pthread_mutex_unlock(&space->lock);
}

/*
 * Intervals are marked before any subscriber is called: a subscriber zaps
 * under its own lock, and a reader that takes that lock after the zap must
 * already see the new sequence (see notifier.h).
 */
void mn_invalidate_range_start(struct mn_space *space, struct mn_range *range,
			       uint64_t start, uint64_t end)
{
	struct mn_subscriber *sub;

	assert(start < end);
	range->start = start;
	range->end = end;
	range->space = space;
	intervals_invalidate_start(space, range);

	pthread_rwlock_rdlock(&space->subs_lock);
	if (!space->released)
		mn_list_for_each_entry(sub, &space->subs, node)
			if (sub->ops->invalidate_range_start)
				sub->ops->invalidate_range_start(sub, range);
	pthread_rwlock_unlock(&space->subs_lock);
}

/*
 * Subscribers hear of the end before intervals are let go, so a reader
 * woken in read_begin finds every subscriber out of its critical section.
 */
void mn_invalidate_range_end(struct mn_range *range)
{
	struct mn_space *space = range->space;
	struct mn_subscriber *sub;

	pthread_rwlock_rdlock(&space->subs_lock);
	if (!space->released)
		mn_list_for_each_entry(sub, &space->subs, node)
			if (sub->ops->invalidate_range_end)
				sub->ops->invalidate_range_end(sub, range);
	pthread_rwlock_unlock(&space->subs_lock);

	intervals_invalidate_end(space, range);
}

static bool young_call(struct mn_space *space, uint64_t start, uint64_t end,
		       uint64_t *young, bool clear)
{
	struct mn_subscriber *sub;
	bool ret = false;

	assert(start < end);
	pthread_rwlock_rdlock(&space->subs_lock);
	if (!space->released) {
		mn_list_for_each_entry(sub, &space->subs, node) {
			if (clear && sub->ops->clear_young)
				ret |= sub->ops->clear_young(sub, start, end, young);
			else if (!clear && sub->ops->test_young)
				ret |= sub->ops->test_young(sub, start, end, young);
		}
	}
	pthread_rwlock_unlock(&space->subs_lock);
	return ret;
}

bool mn_clear_young(struct mn_space *space, uint64_t start, uint64_t end,
		    uint64_t *young)
{
	return young_call(space, start, end, young, true);
}

bool mn_test_young(struct mn_space *space, uint64_t start, uint64_t end,
		   uint64_t *young)
{
	return young_call(space, start, end, young, false);
}

/*
 * An interval inserted while invalidations are in progress counts those
 * that overlap it, so it stays invalidated until the last of them ends,
 * which mn_invalidate_range_end undoes because it finds the interval on
 * the list.
 */
void mn_interval_insert(struct mn_space *space, struct mn_interval *iv,
			uint64_t start, uint64_t end)
{
	struct mn_range *range;
	unsigned int active = 0;

	assert(start < end);
	iv->space = space;
	iv->start = start;
	iv->end = end;
	atomic_init(&iv->seq, 0);

	pthread_mutex_lock(&space->lock);
	mn_list_for_each_entry(range, &space->active, node)
		if (ranges_overlap(start, end, range->start, range->end))
			active++;
	atomic_init(&iv->active, active);
	mn_list_add_tail(&iv->node, &space->intervals);
	pthread_mutex_unlock(&space->lock);
}

void mn_interval_remove(struct mn_interval *iv)
{
	struct mn_space *space = iv->space;

	pthread_mutex_lock(&space->lock);
	mn_list_del(&iv->node);
	pthread_mutex_unlock(&space->lock);
}

/*
 * Fast path without the lock: seq is loaded before active and an
 * invalidation raises active before seq, so seeing active == 0 after
 * loading seq means either no invalidation was in progress at that seq,
 * or one starts later and changes seq, which read_retry catches.
 */
uint64_t mn_interval_read_begin(struct mn_interval *iv)
{
	struct mn_space *space = iv->space;
	uint64_t seq;

	seq = atomic_load(&iv->seq);
	if (atomic_load(&iv->active) == 0)
		return seq;

	pthread_mutex_lock(&space->lock);
	while (atomic_load(&iv->active) != 0)
		pthread_cond_wait(&space->wait, &space->lock);
	seq = atomic_load(&iv->seq);
	pthread_mutex_unlock(&space->lock);
	return seq;
}

/*
 * Every invalidation overlapping @iv bumps seq as it starts, and
 * read_begin returned @seq only while none was in progress, so an
 * unchanged seq means no invalidation overlapped the read.
 */
bool mn_interval_read_retry(const struct mn_interval *iv, uint64_t seq)
{
	return atomic_load(&iv->seq) != seq;
}
