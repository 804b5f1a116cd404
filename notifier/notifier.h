/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * notifier/notifier.h - mmu-notifier subscriptions and the invalidate/retry
 * protocol (analogue: include/linux/mmu_notifier.h, mm/mmu_notifier.c).
 *
 * An address space (struct mn_space) is a range of page numbers
 * [0, 2^64) - for the VMM, the guest frame numbers of one VM.  Whoever
 * changes what a page of the space maps to (the pager) brackets the change
 * with mn_invalidate_range_start() / mn_invalidate_range_end().  Two kinds
 * of secondary MMUs listen:
 *
 *  - subscribers (struct mn_subscriber) get callbacks: invalidate_range_start
 *    and _end around every change, clear_young / test_young when the pager
 *    harvests accessed bits, and release once when the space goes away;
 *
 *  - intervals (struct mn_interval) get no callback; each carries a
 *    sequence number that every overlapping invalidation bumps, so a fault
 *    path can resolve a page without locks and install its mapping only if
 *    no invalidation of its interval began meanwhile:
 *
 *	again:
 *		seq = mn_interval_read_begin(&iv);	// waits out invalidations
 *		resolve the page (may sleep);
 *		lock(subscriber lock);
 *		if (mn_interval_read_retry(&iv, seq)) {
 *			unlock(subscriber lock);
 *			goto again;
 *		}
 *		install the mapping;
 *		unlock(subscriber lock);
 *
 *    This is correct only if the subscriber's invalidate_range_start takes
 *    the same subscriber lock to zap: the sequence is bumped before any
 *    callback runs, so either the reader checked (and installed) before the
 *    zap took the lock, and the zap removes the mapping, or the reader
 *    checks after, and sees the new sequence.
 *
 * Rules (see docs/notifier-protocol.md for the sequence diagram):
 *  - Between invalidate_range_start(R) returning and the matching
 *    invalidate_range_end(R) being called, read_retry of every interval
 *    overlapping R returns true, and read_begin of such an interval waits
 *    until no invalidation overlapping it is in progress.
 *  - Invalidations of overlapping or disjoint ranges may run concurrently
 *    from any number of threads; an interval overlapping several of them
 *    stays invalidated until the last one ends.
 *  - Callbacks of one subscriber may run concurrently with each other (two
 *    threads invalidating two ranges); the subscriber serialises with its
 *    own lock.  Callbacks may sleep.  A callback must not call any mn_*
 *    function on the same space (registration would deadlock).
 *
 * Locking inside a space (outermost first):
 *  - subs_lock, a writer-preferring rwlock, protects the subscriber list
 *    and the released flag.  Every callback runs with it held for read;
 *    mn_register / mn_unregister / mn_space_release take it for write, so
 *    they wait until callbacks already running have returned, and no
 *    callback of a subscriber runs once mn_unregister has returned.
 *  - lock, a mutex, protects the interval list, the list of invalidations
 *    in progress, and each interval's bookkeeping; the condition variable
 *    under it wakes readers waiting in read_begin.  Never held while a
 *    callback runs.
 * Interval sequence numbers are C11 atomics, written under lock and read
 * without it by read_retry.
 *
 * Public symbols are prefixed mn_.  Every function may be called from any
 * thread unless its comment says otherwise.
 */
#ifndef NOTIFIER_NOTIFIER_H
#define NOTIFIER_NOTIFIER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "notifier/list.h"

struct mn_space;
struct mn_subscriber;

/*
 * One invalidation in progress: the page range [start, end), end > start.
 * The caller provides the storage (usually on its stack) and keeps it alive
 * from mn_invalidate_range_start() until mn_invalidate_range_end() returns;
 * callbacks see it read-only.
 */
struct mn_range {
	uint64_t start;
	uint64_t end;
	/* private to the notifier */
	struct mn_space *space;
	struct mn_list node;		/* on space->active, under space->lock */
};

/*
 * Subscriber callbacks.  Any of them may be NULL.  Each is called with the
 * space's subs_lock held for read, without any other notifier lock.
 *
 * @invalidate_range_start: the pages of @range are about to change.  On
 *	return the subscriber has dropped every mapping of the range and will
 *	establish none until the matching invalidate_range_end (fault paths
 *	ensure that through mn_interval_read_retry, see above).
 * @invalidate_range_end: the change of @range is complete.  A subscriber
 *	registered while an invalidation was in progress may get an end whose
 *	start it never saw; it must treat that as harmless.
 * @clear_young: clear the accessed state of every page in [start, end);
 *	return true if any was accessed.  If @young is not NULL, also set bit
 *	(gfn - start) of the bitmap @young (64 pages per word, bit i of word
 *	i / 64) for each accessed page; never clear bits in it.
 * @test_young: as clear_young, but leave the accessed state unchanged.
 * @release: the space is going away.  Called exactly once per subscriber
 *	still registered, after every other callback of the subscriber has
 *	returned; no callback of the subscriber runs after it.  The subscriber
 *	drops all its mappings.  It may call mn_unregister() later (a no-op).
 */
struct mn_ops {
	void (*invalidate_range_start)(struct mn_subscriber *sub,
				       const struct mn_range *range);
	void (*invalidate_range_end)(struct mn_subscriber *sub,
				     const struct mn_range *range);
	bool (*clear_young)(struct mn_subscriber *sub, uint64_t start,
			    uint64_t end, uint64_t *young);
	bool (*test_young)(struct mn_subscriber *sub, uint64_t start,
			   uint64_t end, uint64_t *young);
	void (*release)(struct mn_subscriber *sub);
};

/*
 * A subscriber, embedded in the secondary MMU's own structure (use
 * mn_container_of in callbacks).  Fields are private; set up only by
 * mn_register().
 */
struct mn_subscriber {
	const struct mn_ops *ops;
	/* Set by mn_register, cleared by mn_unregister; the owner's only. */
	struct mn_space *space;
	struct mn_list node;		/* on space->subs, under subs_lock */
};

/*
 * An interval [start, end) of a space that a reader resolves pages of.
 * Embedded in the reader's structure or on its stack; fields are private.
 * Cheap enough to insert for the duration of one fault.
 */
struct mn_interval {
	struct mn_space *space;
	uint64_t start;
	uint64_t end;
	/* Bumped by each invalidation overlapping [start, end) as it starts. */
	_Atomic uint64_t seq;
	/* Overlapping invalidations started and not yet ended. */
	_Atomic unsigned int active;
	struct mn_list node;		/* on space->intervals, under lock */
};

/*
 * Create an empty address space.  Returns NULL on allocation failure.
 */
struct mn_space *mn_space_create(void);

/*
 * The space goes away: call ->release of every registered subscriber once,
 * then detach them all.  Waits for callbacks already running to return;
 * from the moment it is called no other callback starts, including the
 * invalidate_range_end of invalidations still in progress.  Later calls
 * are no-ops.  Intervals keep working (invalidations still bump them), so
 * readers racing with teardown still retry instead of installing.
 * Must not be called from a callback.
 */
void mn_space_release(struct mn_space *space);

/*
 * Release the space if not yet released, then free it.  The caller
 * guarantees no invalidation is in progress, no interval is inserted and
 * no thread will call into the space again (mn_unregister included:
 * unregister subscribers before destroying their space).
 */
void mn_space_destroy(struct mn_space *space);

/*
 * Register @sub with @ops on @space.  Safe while invalidations run: it
 * waits for callbacks already running, and the new subscriber sees every
 * invalidate_range_start from then on (and possibly an unmatched end, see
 * struct mn_ops).  Returns 0, or -ESHUTDOWN if the space was released.
 * Must not be called from a callback.
 */
int mn_register(struct mn_space *space, struct mn_subscriber *sub,
		const struct mn_ops *ops);

/*
 * Unregister @sub.  On return no callback of @sub is running or will run,
 * so its memory may be freed.  A subscriber unregistered between an
 * invalidation's start and end gets no end.  A no-op if @sub is not
 * registered (never was, already unregistered, or detached by release).
 * Must not be called from a callback.
 */
void mn_unregister(struct mn_subscriber *sub);

/*
 * Begin invalidating [start, end) of @space (start < end), with @range as
 * storage.  Marks every overlapping interval invalidated (read_retry true,
 * read_begin waits) and bumps its sequence, then calls every subscriber's
 * invalidate_range_start in registration order.  On return no subscriber
 * maps a page of the range and none can establish a mapping until
 * mn_invalidate_range_end(@range).  May sleep (in callbacks).
 */
void mn_invalidate_range_start(struct mn_space *space, struct mn_range *range,
			       uint64_t start, uint64_t end);

/*
 * End the invalidation begun on @range: call every subscriber's
 * invalidate_range_end, then let overlapping intervals go (waking readers
 * in read_begin once no other invalidation overlaps them).  @range may be
 * reused after this returns.
 */
void mn_invalidate_range_end(struct mn_range *range);

/*
 * Clear the accessed state of [start, end) in every subscriber; returns
 * true if any subscriber reported a page accessed.  @young, if not NULL, is
 * a bitmap of (end - start) bits that the caller zeroed; each subscriber
 * sets the bits of its accessed pages, so the result is their union.
 */
bool mn_clear_young(struct mn_space *space, uint64_t start, uint64_t end,
		    uint64_t *young);

/* As mn_clear_young, without clearing anything. */
bool mn_test_young(struct mn_space *space, uint64_t start, uint64_t end,
		   uint64_t *young);

/*
 * Insert @iv covering [start, end) (start < end) into @space.  If
 * invalidations overlapping it are in progress, @iv starts out invalidated
 * until they all end, exactly as if it had been inserted before they
 * started.  Never fails.
 */
void mn_interval_insert(struct mn_space *space, struct mn_interval *iv,
			uint64_t start, uint64_t end);

/* Remove @iv; its storage may be reused on return. */
void mn_interval_remove(struct mn_interval *iv);

/*
 * Begin a read of @iv: wait (sleeping) until no invalidation overlapping
 * @iv is in progress, then return its sequence number for
 * mn_interval_read_retry().  Call with no lock held that an invalidator
 * may need (in particular not the subscriber lock), and never between
 * start and end of an overlapping invalidation of one's own: it would wait
 * for itself.
 */
uint64_t mn_interval_read_begin(struct mn_interval *iv);

/*
 * True if the read that returned @seq must be retried: an invalidation
 * overlapping @iv started since (whether or not it has ended yet).  Call
 * under the subscriber lock that the subscriber's invalidate_range_start
 * takes, and install the mapping under that same lock only if this
 * returned false.
 * Lockless: may also be called without the lock as an early exit.
 */
bool mn_interval_read_retry(const struct mn_interval *iv, uint64_t seq);

#endif /* NOTIFIER_NOTIFIER_H */
