// SPDX-License-Identifier: GPL-2.0-only
/*
 * The named transitions of the state words (pager/page_state.h lists
 * them). Chunk lock of the page held; the reclaim and discard transitions
 * run inside the caller's invalidation of the page.
 */
#include "pager/internal.h"

static void drop_slot(struct pager *pg, uint64_t p)
{
	uint64_t slot = ps_slot(pg->state[p]);

	if (slot != PS_NO_SLOT)
		swap_slot_free(&pg->store, slot);
}

/* Before start: a page the loader wrote is resident and dirty. */
void page_loaded(struct pager *pg, uint64_t p)
{
	assert(ps_state(pg->state[p]) == PS_ABSENT);
	pg->state[p] = ps_resident(PS_NO_SLOT, false);
	atomic_fetch_add(&pg->resident, 1);
}

/* ABSENT -> RESIDENT dirty: UFFDIO_ZEROPAGE mapped it (resident reserved). */
void page_zero_filled(struct pager *pg, uint64_t p)
{
	assert(ps_state(pg->state[p]) == PS_ABSENT);
	pg->state[p] = ps_resident(PS_NO_SLOT, false);
	atomic_fetch_add(&pg->c.zero_fills, 1);
}

/*
 * SWAPPED -> RESIDENT: UFFDIO_COPY mapped it from its slot (resident
 * reserved). Write-protected (@clean) it keeps the slot; else it is dirty
 * from now on and the slot goes.
 */
void page_swapped_in(struct pager *pg, uint64_t p, bool clean)
{
	uint64_t slot = ps_slot(pg->state[p]);

	assert(ps_state(pg->state[p]) == PS_SWAPPED);
	if (!clean) {
		swap_slot_free(&pg->store, slot);
		atomic_fetch_add(&pg->c.dirtied, 1);
		slot = PS_NO_SLOT;
	}
	pg->state[p] = ps_resident(slot, false);
	atomic_fetch_sub(&pg->swapped, 1);
	atomic_fetch_add(&pg->c.swapped_in, 1);
}

/* RESIDENT+ZAPPED -> RESIDENT: UFFDIO_CONTINUE mapped it again; writable means dirty. */
void page_continued(struct pager *pg, uint64_t p, bool clean)
{
	page_state_t w = pg->state[p];

	assert(ps_state(w) == PS_RESIDENT);
	if (!clean && ps_clean(w)) {
		drop_slot(pg, p);
		atomic_fetch_add(&pg->c.dirtied, 1);
		pg->state[p] = ps_resident(PS_NO_SLOT, false);
	} else {
		pg->state[p] = ps_resident(ps_slot(w), false);
	}
	atomic_fetch_add(&pg->c.continued, 1);
}

/*
 * RESIDENT -> RESIDENT+ZAPPED: its host ptes were removed (inside the
 * invalidation that dropped every secondary translation). @written: the
 * scan of the host ptes or a consumer's dirty bit saw a write, so the page
 * is dirty: its slot goes, and its sptes are marked dirty.
 */
void page_zapped(struct pager *pg, uint64_t p, bool written)
{
	page_state_t w = pg->state[p];

	assert(ps_state(w) == PS_RESIDENT);
	if (written && ps_clean(w)) {
		drop_slot(pg, p);
		atomic_fetch_add(&pg->c.dirtied, 1);
	}
	pg->state[p] = ps_resident(written ? PS_NO_SLOT : ps_slot(w), true);
	if (written)
		pager_spte_update(pg, p, SU_WRITTEN);
	atomic_fetch_add(&pg->c.zaps, 1);
}

/* Evicted: punched; every secondary translation forgotten. */
static void page_evicted(struct pager *pg, uint64_t p, page_state_t w)
{
	assert(ps_state(pg->state[p]) == PS_RESIDENT && ps_zapped(pg->state[p]));
	pg->state[p] = w;
	pager_spte_update(pg, p, SU_GONE);
	atomic_fetch_sub(&pg->resident, 1);
	if (ps_state(w) == PS_SWAPPED)
		atomic_fetch_add(&pg->swapped, 1);
}

/* RESIDENT+ZAPPED clean -> SWAPPED in the slot it already had: no write. */
void page_dropped_clean(struct pager *pg, uint64_t p)
{
	assert(ps_clean(pg->state[p]));
	page_evicted(pg, p, ps_swapped(ps_slot(pg->state[p])));
	atomic_fetch_add(&pg->c.clean_drops, 1);
}

/* RESIDENT+ZAPPED dirty and all zero -> ABSENT: nothing stored. */
void page_dropped_zero(struct pager *pg, uint64_t p)
{
	assert(ps_dirty(pg->state[p]));
	page_evicted(pg, p, ps_absent());
	atomic_fetch_add(&pg->c.zero_drops, 1);
}

/* RESIDENT+ZAPPED dirty -> SWAPPED in @slot, just written. */
void page_swapped_out(struct pager *pg, uint64_t p, uint64_t slot)
{
	assert(ps_dirty(pg->state[p]));
	page_evicted(pg, p, ps_swapped(slot));
	atomic_fetch_add(&pg->c.swapped_out, 1);
}

/* Any -> ABSENT: discarded (hole punched inside the caller's invalidation). */
void page_discarded(struct pager *pg, uint64_t p)
{
	page_state_t w = pg->state[p];

	drop_slot(pg, p);
	if (pg->limited && ps_state(w) == PS_RESIDENT)
		atomic_fetch_sub(&pg->resident, 1);
	if (ps_state(w) == PS_SWAPPED)
		atomic_fetch_sub(&pg->swapped, 1);
	pg->state[p] = ps_absent();
	pager_spte_update(pg, p, SU_GONE);
	atomic_fetch_add(&pg->c.discarded, 1);
}
