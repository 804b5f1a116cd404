/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PAGER_PAGE_STATE_H
#define PAGER_PAGE_STATE_H

/*
 * The state word of an object page: the one truth about it (DESIGN point 1).
 * Pure: layout, predicates and constructors; no locks, no I/O. The named
 * transitions that change a word together with the counters and the
 * secondary tables are in pager/page_state.c (declared in pager/internal.h).
 *
 *    31                                      3    2       1   0
 *   +----------------------------------------+--------+-------+
 *   | slot + 1 (0: no slot)                  | ZAPPED | state |
 *   +----------------------------------------+--------+-------+
 *
 * States:
 *   ABSENT    no backing, reads as zero; no slot, never zapped.
 *   RESIDENT  in the memfd. With a slot: clean, the slot holds exactly this
 *             page (it came in write-protected and was not written since).
 *             Without: dirty. ZAPPED: its host ptes were removed so that the
 *             next touch is seen (the clock's second chance).
 *   SWAPPED   only in its slot; never zapped.
 *
 * Transitions (pager/page_state.c, one function each):
 *   ABSENT   -> RESIDENT dirty            page_zero_filled   (UFFDIO_ZEROPAGE)
 *   SWAPPED  -> RESIDENT clean or dirty   page_swapped_in    (UFFDIO_COPY [WP])
 *   RESIDENT+ZAPPED -> RESIDENT           page_continued     (UFFDIO_CONTINUE [WP])
 *   RESIDENT -> RESIDENT+ZAPPED           page_zapped        (reclaim; dirty if written)
 *   RESIDENT+ZAPPED clean -> SWAPPED      page_dropped_clean (punch, no write)
 *   RESIDENT+ZAPPED dirty zero -> ABSENT  page_dropped_zero  (punch, nothing stored)
 *   RESIDENT+ZAPPED dirty -> SWAPPED      page_swapped_out   (slot written, punch)
 *   any -> ABSENT                         page_discarded     (balloon, free page reporting)
 *   (before start) ABSENT -> RESIDENT dirty  page_loaded     (written by the loader)
 * A write error or a full store leaves the page RESIDENT+ZAPPED dirty.
 * Every transition runs under the page's chunk lock; a busy page (one a
 * fault or a write-back owns, pager/busy.c) goes through its owner's only:
 * page_zero_filled, page_swapped_in, page_continued after a fault's
 * install; page_dropped_zero, page_swapped_out after reclaim's write.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

typedef uint32_t page_state_t;

enum { PS_ABSENT = 0, PS_RESIDENT = 1, PS_SWAPPED = 2 };
#define PS_STATE_MASK	3u
#define PF_ZAPPED	(1u << 2)
#define PS_SLOT_SHIFT	3
#define PS_SLOT_MAX	((UINT32_MAX >> PS_SLOT_SHIFT) - 1)	/* highest slot a word holds */
#define PS_NO_SLOT	UINT64_MAX

/* A zero-filled array of words is all ABSENT pages. */
static_assert(PS_ABSENT == 0, "calloc'd state words must read as absent");
/* State, flag and slot fields do not overlap and fill the word. */
static_assert(!(PS_STATE_MASK & PF_ZAPPED), "zapped overlaps the state");
static_assert((PS_STATE_MASK | PF_ZAPPED) < (1u << PS_SLOT_SHIFT), "slot overlaps the flags");
static_assert(PS_SWAPPED <= PS_STATE_MASK && PS_RESIDENT <= PS_STATE_MASK, "states fit");
/* Slot 0 is a valid slot and still differs from "no slot". */
static_assert(((0u + 1) << PS_SLOT_SHIFT) != 0, "slot 0 must be encodable");
/* A slot fits in the word: (PS_SLOT_MAX + 1) << PS_SLOT_SHIFT does not overflow. */
static_assert(((uint64_t)PS_SLOT_MAX + 1) << PS_SLOT_SHIFT <= UINT32_MAX, "slot field overflows");
/* At least 2 TiB of swap (2^29 slots of 4 KiB), more than the largest guest (1 TiB). */
static_assert(PS_SLOT_MAX + 1 >= (1u << 28), "too few slots for a 1 TiB guest");

static inline unsigned ps_state(page_state_t w)
{
	return w & PS_STATE_MASK;
}

static inline uint64_t ps_slot(page_state_t w)
{
	return (w >> PS_SLOT_SHIFT) ? (uint64_t)(w >> PS_SLOT_SHIFT) - 1 : PS_NO_SLOT;
}

static inline bool ps_zapped(page_state_t w)
{
	return w & PF_ZAPPED;
}

/* Clean: resident, and its swap slot still holds exactly this page. */
static inline bool ps_clean(page_state_t w)
{
	return ps_state(w) == PS_RESIDENT && ps_slot(w) != PS_NO_SLOT;
}

static inline bool ps_dirty(page_state_t w)
{
	return ps_state(w) == PS_RESIDENT && ps_slot(w) == PS_NO_SLOT;
}

/* Constructors: the only legal words. */
static inline page_state_t ps_absent(void)
{
	return PS_ABSENT;
}

static inline page_state_t ps_resident(uint64_t slot, bool zapped)
{
	assert(slot == PS_NO_SLOT || slot <= PS_SLOT_MAX);
	return PS_RESIDENT | (zapped ? PF_ZAPPED : 0) |
	       (slot == PS_NO_SLOT ? 0 : (page_state_t)(slot + 1) << PS_SLOT_SHIFT);
}

static inline page_state_t ps_swapped(uint64_t slot)
{
	assert(slot <= PS_SLOT_MAX);
	return PS_SWAPPED | (page_state_t)(slot + 1) << PS_SLOT_SHIFT;
}

/* --- pure helpers of fault service and reclaim --------------------------- */

/*
 * Runs of set bits in a 64-page mask: for_each_run(mask, a, b) { [a, b) }.
 * next_run: the run at or after *b; false when there is none.
 */
static inline bool ps_next_run(uint64_t mask, unsigned *a, unsigned *b)
{
	uint64_t m = *b >= 64 ? 0 : mask & (~0ULL << *b);

	if (!m)
		return false;
	*a = __builtin_ctzll(m);
	m = ~mask & (*a == 63 ? 0 : ~0ULL << (*a + 1));
	*b = m ? __builtin_ctzll(m) : 64;
	return true;
}

#define for_each_run(mask, a, b) for (a = 0, b = 0; ps_next_run(mask, &a, &b); )

/*
 * The batch window of a fault at page @p, at most up to @end, given where
 * the faulting thread's last batch ended (@next) and its size (@window, 0
 * for none): one page for random access; on a sequential run, a window that
 * doubles up to @max, as readahead does. Returns the window; *@n is the
 * batch size (clipped at @end).
 */
static inline unsigned ps_fault_window(uint64_t next, unsigned window, uint64_t p, uint64_t end,
				       unsigned max, unsigned *n)
{
	unsigned w = 1;

	if (window && p >= next && p <= next + window)
		w = window * 2 > max ? max : window * 2;
	*n = p + w > end ? end - p : w;
	return w;
}

/* Watermarks: reclaim wakes at high and works down to low. */
static inline uint64_t pager_wm_high(uint64_t limit)
{
	return limit - (limit / 32 > 16 ? limit / 32 : 16);
}

/* The smallest soft limit taken, in pages: pager_wm_low() of it stays positive. */
#define PAGER_SOFT_LIMIT_MIN	128

static inline uint64_t pager_wm_low(uint64_t limit)
{
	return limit - (limit / 8 > 64 ? limit / 8 : 64);
}

#endif
