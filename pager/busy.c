// SPDX-License-Identifier: GPL-2.0-only
/*
 * Busy pages: a page one thread owns while it works on it with no lock
 * held (a fault's swap read and UFFDIO_* install, reclaim's swap write),
 * like the kernel's locked folio or PG_writeback. Per chunk, a mask of its
 * busy pages (pg->busy[c], under the chunk lock) and a futex word
 * (pg->busy_seq[c]: bit 0 "someone waits", the rest a sequence bumped on
 * every clear). Only the chunk lock's holder changes either, so a waiter
 * that set bit 0 under the lock and sleeps on the value it saw cannot miss
 * a clear: the clear changes the word before the futex wake, and the
 * kernel compares the word before it sleeps. A waiter never holds the
 * chunk lock while it sleeps; it retakes it and looks again (its wake-up
 * is ordered by that lock, not by the futex).
 */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pager/internal.h"

/* Chunk lock of chunk @c held: wait until no page of @mask is busy. True if it waited. */
bool busy_wait(struct pager *pg, uint64_t c, uint64_t mask)
{
	bool waited = false;

	while (pg->busy[c] & mask) {
		/* Relative, so measured on CLOCK_MONOTONIC; a time-out only looks again. */
		struct timespec rel = { 0, 100 * 1000 * 1000 };
		unsigned v = atomic_fetch_or(&pg->busy_seq[c], 1u) | 1u;

		pthread_mutex_unlock(&pg->chunk_locks[c]);
		syscall(SYS_futex, (uint32_t *)&pg->busy_seq[c], FUTEX_WAIT_PRIVATE, v, &rel,
			NULL, 0);
		pthread_mutex_lock(&pg->chunk_locks[c]);
		waited = true;
	}
	return waited;
}

/* Chunk lock of chunk @c held: the pages of @mask (none busy) are the caller's now. */
void busy_mark(struct pager *pg, uint64_t c, uint64_t mask)
{
	assert(!(pg->busy[c] & mask));
	pg->busy[c] |= mask;
}

/*
 * Chunk lock of chunk @c held, and the caller owns the pages of @mask:
 * they are not busy any more; unlock the chunk and wake whoever waits.
 */
void busy_clear_unlock(struct pager *pg, uint64_t c, uint64_t mask)
{
	unsigned v = atomic_load(&pg->busy_seq[c]);

	assert((pg->busy[c] & mask) == mask);
	pg->busy[c] &= ~mask;
	atomic_store(&pg->busy_seq[c], (v + 2) & ~1u);
	pthread_mutex_unlock(&pg->chunk_locks[c]);
	if (v & 1)
		syscall(SYS_futex, (uint32_t *)&pg->busy_seq[c], FUTEX_WAKE_PRIVATE, INT_MAX,
			NULL, NULL, 0);
}
