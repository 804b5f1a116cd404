// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pager's reclaim side: a clock over object pages that zaps present
 * pages (second chance) and evicts pages left untouched since, after
 * learning from PAGEMAP_SCAN which were written; dirty pages go to the
 * swap store in one batch, clean and zero pages go without a write.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pager/internal.h"
#include "pager/uffd_compat.h"
#include "pager/util.h"

/* --- dirty tracking: zap, then scan ---------------------------------------------- */

/*
 * After [p, p + n) was zapped: which of its pages had been written since
 * they were last write-protected? A written pte leaves nothing behind, a
 * protected one leaves a uffd-wp marker; PAGEMAP_SCAN reports the former
 * PAGE_IS_WRITTEN (classic pagemap: bit 57 clear). Sets bit i of *written.
 */
static void scan_written(struct pager *pg, uint64_t p, unsigned n, uint64_t *written)
{
	*written = 0;
	if (!pg->wp_async) {
		*written = n == 64 ? ~0ULL : (1ULL << n) - 1;
		return;
	}
	if (pg->pagemap_scan) {
		struct page_region regs[CHUNK_PAGES];
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.start = (uintptr_t)page_hva(pg, p),
			.end = (uintptr_t)page_hva(pg, p + n),
			.vec = (uintptr_t)regs,
			.vec_len = CHUNK_PAGES,
			.category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};
		int nr = ioctl(pg->pagemap_fd, PAGEMAP_SCAN, &a);

		if (nr >= 0) {
			for (int i = 0; i < nr; i++)
				for (uint64_t a0 = regs[i].start; a0 < regs[i].end; a0 += PAGE_SIZE)
					*written |= 1ULL << ((a0 - (uintptr_t)page_hva(pg, p)) >> PAGE_SHIFT);
			/* Fail closed: pages the walk did not reach count as written. */
			for (uint64_t a0 = a.walk_end; a0 < a.end; a0 += PAGE_SIZE)
				*written |= 1ULL << ((a0 - (uintptr_t)page_hva(pg, p)) >> PAGE_SHIFT);
			return;
		}
		pg->pagemap_scan = false;
	}
	{
		uint64_t e[CHUNK_PAGES];
		ssize_t r = pread(pg->pagemap_fd, e, n * sizeof(e[0]),
				  ((uintptr_t)page_hva(pg, p) >> PAGE_SHIFT) * sizeof(e[0]));

		for (unsigned i = 0; i < n; i++)
			if (r != (ssize_t)(n * sizeof(e[0])) || !(e[i] & (1ULL << 57)))
				*written |= 1ULL << i;
	}
}

/*
 * Chunk lock held: zap the host ptes of the pages in @mask (relative to
 * chunk base @p0) so their next touch is seen, recording which were
 * written since last protected.
 */
static void zap_pages(struct pager *pg, uint64_t p0, uint64_t mask)
{
	unsigned a, b;

	for_each_run(mask, a, b) {
		struct inval iv;
		uint64_t written;

		pager_inval_start(pg, &iv, p0 + a, b - a);
		if (madvise(page_hva(pg, p0 + a), (uint64_t)(b - a) << PAGE_SHIFT, MADV_DONTNEED)) {
			/* Not zapped: the pages stay hot, and a later write is not lost. */
			pager_inval_end(pg, &iv);
			continue;
		}
		scan_written(pg, p0 + a, b - a, &written);
		for (unsigned i = a; i < b; i++) {
			/* Both sources, always: a handle's write leaves no host pte trace. */
			bool consumer = pager_harvest_consumer_dirty(pg, p0 + i);

			page_zapped(pg, p0 + i, consumer || (written & (1ULL << (i - a))));
		}
		pager_inval_end(pg, &iv);
	}
}

/* --- reclaim ------------------------------------------------------------------------ */

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static bool read_pages(struct pager *pg, uint64_t p, unsigned n, uint8_t *buf)
{
	size_t len = (size_t)n << PAGE_SHIFT, done = 0;

	while (done < len) {
		ssize_t r = pread(pg->memfd, buf + done, len - done, (p << PAGE_SHIFT) + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += r;
	}
	return true;
}

static void start_backoff(struct pager *pg, int err)
{
	char msg[256];

	atomic_store(&pg->backoff_until, pager_now_ns() + 1000000000ULL);
	atomic_store(&pg->store_failing, true);
	atomic_fetch_add(&pg->c.write_failures, 1);
	if (err == -ENOSPC) {
		snprintf(msg, sizeof(msg), "pager: the swap store is full (%s): pages stay resident "
			 "and reclaim backs off; guest RAM may grow %llu MiB past --mem-resident "
			 "(--swap-full-overshoot)", pg->store.dir,
			 (unsigned long long)(pg->overshoot >> 8));
		if (!atomic_exchange(&pg->reported_full, true)) {
			pager_err("%s", msg);
			pager_event(pg, PAGER_EVENT_WRITE_ERROR, 0, msg);
		}
	} else {
		snprintf(msg, sizeof(msg), "pager: writing the swap store failed (%s): pages stay "
			 "resident and reclaim backs off; guest RAM may grow %llu MiB past "
			 "--mem-resident (--swap-full-overshoot)", strerror(-err),
			 (unsigned long long)(pg->overshoot >> 8));
		if (!atomic_exchange(&pg->reported_write_error, true)) {
			pager_err("%s", msg);
			pager_event(pg, PAGER_EVENT_WRITE_ERROR, 0, msg);
		}
	}
	/* Throttled faults must not wait for reclaim that cannot happen. */
	pthread_mutex_lock(&pg->space_lock);
	pthread_cond_broadcast(&pg->space_cv);
	pthread_mutex_unlock(&pg->space_lock);
}

/*
 * Chunk lock of chunk @c held: evict the cold (zapped, untouched since)
 * pages in @mask, none busy: drop clean ones, store nothing for zero ones,
 * write the rest in one batch, punch them all. The dirty ones are busy
 * (ours) while they are read from the memfd and written to the store with
 * the chunk lock dropped: faults on them wait, on the chunk's other pages
 * go on. Unlocks the chunk (waking the busy pages' waiters) and returns
 * how many pages left the page cache.
 * @rbuf, @wbuf: CHUNK_PAGES pages each, private to the caller.
 */
static unsigned reclaim_pages(struct pager *pg, uint64_t c, uint64_t mask, uint8_t *rbuf,
			      uint8_t *wbuf)
{
	uint64_t p0 = c << CHUNK_SHIFT, drop = 0, dirty = 0, zero = 0, write = 0;
	uint64_t pages[CHUNK_PAGES], slots[CHUNK_PAGES];
	unsigned a, b, nw = 0, got = 0, evicted = 0;

	for (unsigned i = 0; i < CHUNK_PAGES; i++) {
		if (!(mask & (1ULL << i)))
			continue;
		if (ps_clean(pg->state[p0 + i]))
			drop |= 1ULL << i;
		else
			dirty |= 1ULL << i;
	}
	if (dirty) {
		busy_mark(pg, c, dirty);
		pthread_mutex_unlock(&pg->chunk_locks[c]);
		/* No lock held: the dirty pages are ours, nobody maps or writes them. */
		for_each_run(dirty, a, b) {
			if (!read_pages(pg, p0 + a, b - a, rbuf + ((uint64_t)a << PAGE_SHIFT)))
				continue;	/* cannot read it: keep it */
			for (unsigned i = a; i < b; i++) {
				const uint8_t *src = rbuf + ((uint64_t)i << PAGE_SHIFT);

				if (page_is_zero(src)) {
					zero |= 1ULL << i;
				} else {
					memcpy(wbuf + ((uint64_t)nw << PAGE_SHIFT), src, PAGE_SIZE);
					pages[nw++] = p0 + i;
				}
			}
		}
		if (nw && !pager_backoff_active(pg)) {
			int ret;

			got = swap_slots_alloc(&pg->store, slots, nw);
			/* Slots a state word cannot hold count as a full store (ascending). */
			while (got && slots[got - 1] > PS_SLOT_MAX)
				swap_slot_free(&pg->store, slots[--got]);
			if (got && pg->test_hook)
				pg->test_hook(pg->test_opaque, PAGER_TEST_SWAP_WRITE, pages[0], got);
			ret = got ? swap_write(&pg->store, slots, pages, wbuf, got) : 0;
			if (ret) {
				for (unsigned i = 0; i < got; i++)
					swap_slot_free(&pg->store, slots[i]);
				got = 0;
				start_backoff(pg, ret);
			} else if (got < nw) {
				start_backoff(pg, -ENOSPC);
			} else {
				atomic_store(&pg->store_failing, false);
			}
			for (unsigned i = 0; i < got; i++)
				write |= 1ULL << (pages[i] - p0);
		}
		pthread_mutex_lock(&pg->chunk_locks[c]);
		/* The clean ones were not ours: a fault or a discard may have taken them. */
		for (unsigned i = 0; i < CHUNK_PAGES; i++) {
			page_state_t w = pg->state[p0 + i];

			if ((drop & (1ULL << i)) &&
			    (!ps_clean(w) || !ps_zapped(w) || (pg->busy[c] & (1ULL << i))))
				drop &= ~(1ULL << i);
		}
	}

	for_each_run(drop | zero | write, a, b) {
		struct inval iv;
		unsigned k = 0;

		pager_inval_start(pg, &iv, p0 + a, b - a);
		if (fallocate(pg->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (p0 + a) << PAGE_SHIFT, (uint64_t)(b - a) << PAGE_SHIFT) < 0) {
			pager_err("pager: punching guest RAM pages: %s", strerror(errno));
			pager_inval_end(pg, &iv);
			/* The pages stay resident: the slots just written go back. */
			for (unsigned i = 0; i < got; i++)
				if (pages[i] >= p0 + a && pages[i] < p0 + b)
					swap_slot_free(&pg->store, slots[i]);
			continue;
		}
		for (unsigned i = a; i < b; i++) {
			uint64_t bit = 1ULL << i;

			if (drop & bit) {
				page_dropped_clean(pg, p0 + i);
			} else if (zero & bit) {
				page_dropped_zero(pg, p0 + i);
			} else {
				while (pages[k] != p0 + i)
					k++;
				page_swapped_out(pg, p0 + i, slots[k]);
			}
			evicted++;
		}
		pager_inval_end(pg, &iv);
	}
	if (dirty)
		busy_clear_unlock(pg, c, dirty);
	else
		pthread_mutex_unlock(&pg->chunk_locks[c]);
	return evicted;
}

/* Chunk lock of chunk @c held: its resident pages that are not busy, cold and hot. */
static void chunk_pages(struct pager *pg, uint64_t c, uint64_t *cold, uint64_t *hot)
{
	uint64_t p0 = c << CHUNK_SHIFT;
	unsigned n = pg->npages - p0 < CHUNK_PAGES ? pg->npages - p0 : CHUNK_PAGES;

	*cold = *hot = 0;
	for (unsigned i = 0; i < n; i++) {
		page_state_t w = pg->state[p0 + i];

		if (ps_state(w) != PS_RESIDENT || (pg->busy[c] & (1ULL << i)))
			continue;
		if (ps_zapped(w))
			*cold |= 1ULL << i;
		else
			*hot |= 1ULL << i;
	}
}

/*
 * One step of the clock over chunk @c: pages zapped on the last visit and
 * not touched since are cold and go; pages touched since (present again)
 * get a second chance: they are zapped now, to be judged next time. Busy
 * pages (a fault's, or a write-back's) are skipped, as is a chunk whose
 * lock is taken: reclaim never waits for a fault.
 */
static unsigned clock_chunk(struct pager *pg, uint64_t c)
{
	uint64_t hot, cold;

	if (pthread_mutex_trylock(&pg->chunk_locks[c]))
		return 0;
	chunk_pages(pg, c, &cold, &hot);
	/* Zap first: reclaim_pages drops the lock, the hot pages' states may change meanwhile. */
	if (hot)
		zap_pages(pg, c << CHUNK_SHIFT, hot);
	if (cold)
		return reclaim_pages(pg, c, cold, pg->rbuf, pg->wbuf);
	pthread_mutex_unlock(&pg->chunk_locks[c]);
	return 0;
}

/*
 * Chunk @c, waiting for its lock: evict its cold pages that are not busy
 * (pager_swap_out, a control thread: its own buffers, CHUNK_PAGES pages
 * each, since reclaim_pages writes with no lock held).
 */
unsigned pager_evict_cold(struct pager *pg, uint64_t c, uint8_t *rbuf, uint8_t *wbuf)
{
	uint64_t hot, cold;

	pthread_mutex_lock(&pg->chunk_locks[c]);
	chunk_pages(pg, c, &cold, &hot);
	if (cold)
		return reclaim_pages(pg, c, cold, rbuf, wbuf);
	pthread_mutex_unlock(&pg->chunk_locks[c]);
	return 0;
}

/* One step of the reclaim thread's clock over chunk @c (tests drive reclaim with it). */
unsigned pager_clock_step(struct pager *pg, uint64_t c)
{
	return clock_chunk(pg, c);
}

void *pager_reclaim_thread(void *arg)
{
	struct pager *pg = arg;

	pthread_setname_np(pthread_self(), "pager-reclaim");
	while (!atomic_load(&pg->stopping)) {
		uint64_t scanned = 0, idle = 0;

		pthread_mutex_lock(&pg->space_lock);
		while (!atomic_load(&pg->stopping) && !pg->reclaim_kick &&
		       atomic_load(&pg->resident) < atomic_load(&pg->wm_high)) {
			struct timespec until = pager_deadline_ns(100 * 1000 * 1000);

			pthread_cond_timedwait(&pg->reclaim_cv, &pg->space_lock, &until);
		}
		pg->reclaim_kick = false;
		pthread_mutex_unlock(&pg->space_lock);

		atomic_store(&pg->reclaiming, true);
		while (!atomic_load(&pg->stopping) && atomic_load(&pg->resident) > atomic_load(&pg->wm_low) &&
		       scanned < 3 * pg->nchunks) {
			unsigned got = clock_chunk(pg, pg->hand);

			pg->hand = (pg->hand + 1) % pg->nchunks;
			scanned++;
			if (got) {
				idle = 0;
				pthread_mutex_lock(&pg->space_lock);
				pthread_cond_broadcast(&pg->space_cv);
				pthread_mutex_unlock(&pg->space_lock);
			} else if (++idle > pg->nchunks) {
				break;
			}
		}
		atomic_store(&pg->reclaiming, false);
		if (atomic_load(&pg->resident) > atomic_load(&pg->wm_low) && idle) {
			/* Nothing to take now (all busy, or the store failing): pause. */
			struct timespec ts = { 0, 5 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

bool pager_backoff_active(struct pager *pg)
{
	return pager_now_ns() < atomic_load(&pg->backoff_until);
}

void pager_kick_reclaim(struct pager *pg)
{
	pthread_mutex_lock(&pg->space_lock);
	pg->reclaim_kick = true;
	pthread_cond_signal(&pg->reclaim_cv);
	pthread_mutex_unlock(&pg->space_lock);
}
