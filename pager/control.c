// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pager's control API (pager.h, "control"): change the limit at run
 * time, swap out what is cold, swap back in up to the limit. Called from
 * a VMM control thread, never from a pager thread; each call may wait.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pager/internal.h"

#define PAGER_MIN_LIMIT_PAGES 256	/* 1 MiB, as --mem-resident */

static void note_transition(struct pager *pg, uint64_t pages, uint64_t t0)
{
	atomic_store(&pg->last_transition_pages, pages);
	atomic_store(&pg->last_transition_ms, (pager_now_ns() - t0) / 1000000);
}

int pager_set_limit(struct pager *pg, uint64_t pages, unsigned timeout_ms, char *why, size_t len)
{
	uint64_t t0 = pager_now_ns(), deadline = t0 + (uint64_t)timeout_ms * 1000000, before;

	if (!pg->limited) {
		snprintf(why, len, "no resident limit was set at start (--mem-resident)");
		return -1;
	}
	if (pages < PAGER_MIN_LIMIT_PAGES) {
		snprintf(why, len, "a limit of %llu pages is below the minimum of %u",
			 (unsigned long long)pages, PAGER_MIN_LIMIT_PAGES);
		return -1;
	}
	before = atomic_load(&pg->resident);
	pager_set_watermarks(pg, pages);
	/* Raising releases throttled faults; lowering wakes reclaim. */
	pthread_mutex_lock(&pg->space_lock);
	pg->reclaim_kick = true;
	pthread_cond_signal(&pg->reclaim_cv);
	pthread_cond_broadcast(&pg->space_cv);
	pthread_mutex_unlock(&pg->space_lock);
	while (atomic_load(&pg->resident) > pages) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		if (atomic_load(&pg->store_failing)) {
			snprintf(why, len, "the swap store cannot take pages (full, or write errors)");
			return -1;
		}
		if (pager_now_ns() >= deadline) {
			snprintf(why, len, "%llu pages still resident after %u ms",
				 (unsigned long long)atomic_load(&pg->resident), timeout_ms);
			return -1;
		}
		/* Reclaim stops at the low watermark, below the limit: keep it going. */
		pager_kick_reclaim(pg);
		nanosleep(&ts, NULL);
	}
	note_transition(pg, before > pages ? before - atomic_load(&pg->resident) : 0, t0);
	return 0;
}

long pager_swap_out(struct pager *pg)
{
	uint64_t t0 = pager_now_ns();
	uint8_t *rbuf, *wbuf;
	long evicted = 0;

	if (!pg->limited)
		return -1;
	rbuf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	wbuf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	if (!rbuf || !wbuf) {
		free(rbuf);
		free(wbuf);
		return -1;
	}
	for (uint64_t c = 0; c < pg->nchunks && !atomic_load(&pg->stopping); c++)
		evicted += pager_evict_cold(pg, c, rbuf, wbuf);
	free(rbuf);
	free(wbuf);
	pthread_mutex_lock(&pg->space_lock);
	pthread_cond_broadcast(&pg->space_cv);
	pthread_mutex_unlock(&pg->space_lock);
	note_transition(pg, evicted, t0);
	return evicted;
}

long pager_swap_in(struct pager *pg)
{
	uint64_t t0 = pager_now_ns();
	uint8_t *buf;
	long in = 0;

	if (!pg->limited || !(buf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE)))
		return -1;
	atomic_store(&pg->swapping_in, true);
	for (uint64_t p = 0; p < pg->npages && !atomic_load(&pg->stopping); p++) {
		uint64_t before;
		int ret;

		if (atomic_load(&pg->resident) >= atomic_load(&pg->wm_high))
			break;
		pthread_mutex_lock(chunk_lock(pg, p));
		if (ps_state(pg->state[p]) != PS_SWAPPED) {
			pthread_mutex_unlock(chunk_lock(pg, p));
			continue;
		}
		pthread_mutex_unlock(chunk_lock(pg, p));
		before = atomic_load(&pg->c.swapped_in);
		ret = pager_fault_in(pg, p, 1, false, buf, false);
		if (ret) {
			in = in ? in : -1;
			break;
		}
		in += atomic_load(&pg->c.swapped_in) - before ? 1 : 0;
	}
	atomic_store(&pg->swapping_in, false);
	free(buf);
	note_transition(pg, in > 0 ? in : 0, t0);
	return in;
}
