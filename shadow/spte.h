/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow/spte.h - layout of a shadow page-table entry (analogue:
 * arch/x86/kvm/mmu/spte.h).
 *
 * An spte is a uint64_t describing one guest frame of one VM.  It is read
 * only through the predicates and accessors below and changed only through
 * the pure transition helpers below (value in, value out); the writers that
 * store an spte into a table live in shadow.c and hold the VM's mmu_lock.
 *
 * States:
 *   none           0: no translation known (never faulted, or outside
 *                  every region).  A fresh, zero-filled table is all none.
 *   present        PRESENT, plus WRITABLE, ACCESSED, DIRTY.  The page is
 *                  resident and mapped.
 *   access-tracked TYPE_ACC_TRACK: the page is resident, but its mapping
 *                  was zapped so that the next touch faults and is seen.
 *                  Keeps WRITABLE and DIRTY of the present spte it came from
 *                  (DIRTY: the page differs from any swap copy); ACCESSED
 *                  is gone by definition.
 *   zero           TYPE_ZERO: the page is known to be all zero and has no
 *                  backing at all.
 *
 *     7    6  5   4    3     2    1    0
 *   +------+--------+-----+-----+----+-----+
 *   |  0   |  type  |  D  |  A  | W  |  P  |
 *   +------+--------+-----+-----+----+-----+
 *
 * A secondary table holds translations, not page states: where a page is
 * (absent, swapped in slot S) is the pager's state word alone.
 *
 * Legal transitions (the helper that performs each):
 *   any -> present                     make_fault_spte (the fault path)
 *   present -> access-tracked          mark_spte_for_access_track (zap)
 *   not present -> zero                make_zero_spte (inside an invalidation)
 *   present: A set/cleared             spte_mkyoung, spte_mkold
 *   present/access-tracked: D, W       spte_mkdirty, spte_mark_written,
 *                                      spte_wrprotect_clean
 */
#ifndef SHADOW_SPTE_H
#define SHADOW_SPTE_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#define SPTE_PRESENT_MASK	(1ULL << 0)
#define SPTE_WRITABLE_MASK	(1ULL << 1)
#define SPTE_ACCESSED_MASK	(1ULL << 2)
#define SPTE_DIRTY_MASK		(1ULL << 3)

#define SPTE_TYPE_SHIFT		4
#define SPTE_TYPE_MASK		(3ULL << SPTE_TYPE_SHIFT)
#define SPTE_TYPE_NONE		(0ULL << SPTE_TYPE_SHIFT)
#define SPTE_TYPE_ACC_TRACK	(1ULL << SPTE_TYPE_SHIFT)
/* type 2 is unused: secondary tables hold no swap slots (the state word does) */
#define SPTE_TYPE_ZERO		(3ULL << SPTE_TYPE_SHIFT)

/*
 * Stored in the tables as one byte per gfn (spte_t); the functions below
 * take and return the value widened to uint64_t.
 */
typedef uint8_t spte_t;

/* Bits an access-tracked spte keeps from the present spte it replaced. */
#define SPTE_ACC_TRACK_SAVED_MASK	(SPTE_WRITABLE_MASK | SPTE_DIRTY_MASK)

#define SPTE_NONE		0ULL
#define SPTE_ZERO		SPTE_TYPE_ZERO

/* A zero-filled table is a table of none sptes. */
static_assert(SPTE_NONE == 0, "calloc'd spte tables must read as none");
/* Every non-present type, including none, is told apart from present. */
static_assert(!(SPTE_TYPE_MASK & SPTE_PRESENT_MASK), "type overlaps present");
static_assert(!(SPTE_ZERO & SPTE_PRESENT_MASK), "zero spte looks present");
static_assert(SPTE_TYPE_NONE == SPTE_NONE, "none type is the zero value");
/* The flag bits and the type do not overlap. */
static_assert(!((SPTE_PRESENT_MASK | SPTE_WRITABLE_MASK | SPTE_ACCESSED_MASK |
		 SPTE_DIRTY_MASK) & SPTE_TYPE_MASK), "flags overlap type");
/* Every spte fits in the byte the tables store. */
static_assert((SPTE_PRESENT_MASK | SPTE_WRITABLE_MASK | SPTE_ACCESSED_MASK |
	       SPTE_DIRTY_MASK | SPTE_TYPE_MASK) <= 0xff, "spte fits in spte_t");
/* An access-tracked spte never keeps PRESENT or ACCESSED. */
static_assert(!(SPTE_ACC_TRACK_SAVED_MASK &
		(SPTE_PRESENT_MASK | SPTE_ACCESSED_MASK)),
	      "access tracking must drop present and accessed");
static_assert(SPTE_TYPE_ZERO != SPTE_TYPE_ACC_TRACK, "types are distinct");

enum spte_state {
	SPTE_STATE_NONE,
	SPTE_STATE_PRESENT,
	SPTE_STATE_ACC_TRACK,
	SPTE_STATE_ZERO,
};

/* --- predicates and accessors ------------------------------------------ */

static inline bool is_shadow_present_spte(uint64_t spte)
{
	return spte & SPTE_PRESENT_MASK;
}

static inline uint64_t spte_type(uint64_t spte)
{
	return spte & SPTE_TYPE_MASK;
}

static inline bool is_none_spte(uint64_t spte)
{
	return spte == SPTE_NONE;
}

static inline bool is_access_track_spte(uint64_t spte)
{
	return !is_shadow_present_spte(spte) &&
	       spte_type(spte) == SPTE_TYPE_ACC_TRACK;
}

static inline bool is_zero_spte(uint64_t spte)
{
	return spte == SPTE_ZERO;
}

/* Resident in the object: mapped, or zapped for access tracking. */
static inline bool is_resident_spte(uint64_t spte)
{
	return is_shadow_present_spte(spte) || is_access_track_spte(spte);
}

/* Writable: meaningful for present and (as saved) access-tracked sptes. */
static inline bool is_writable_spte(uint64_t spte)
{
	return is_resident_spte(spte) && (spte & SPTE_WRITABLE_MASK);
}

static inline bool is_accessed_spte(uint64_t spte)
{
	return is_shadow_present_spte(spte) && (spte & SPTE_ACCESSED_MASK);
}

/* Dirty: the resident page differs from any copy in the swap store. */
static inline bool is_dirty_spte(uint64_t spte)
{
	return is_resident_spte(spte) && (spte & SPTE_DIRTY_MASK);
}

static inline enum spte_state spte_state(uint64_t spte)
{
	if (is_shadow_present_spte(spte))
		return SPTE_STATE_PRESENT;
	switch (spte_type(spte)) {
	case SPTE_TYPE_ACC_TRACK:
		return SPTE_STATE_ACC_TRACK;
	case SPTE_TYPE_ZERO:
		return SPTE_STATE_ZERO;
	default:
		return SPTE_STATE_NONE;
	}
}

/* --- constructors -------------------------------------------------------- */

/* A present spte.  A dirty spte is writable: only a write dirties a page. */
static inline uint64_t make_present_spte(bool writable, bool accessed,
					 bool dirty)
{
	assert(!dirty || writable);
	return SPTE_PRESENT_MASK |
	       (writable ? SPTE_WRITABLE_MASK : 0) |
	       (accessed ? SPTE_ACCESSED_MASK : 0) |
	       (dirty ? SPTE_DIRTY_MASK : 0);
}

static inline uint64_t make_zero_spte(void)
{
	return SPTE_ZERO;
}

/* --- transitions --------------------------------------------------------- */

/*
 * Zap a present spte so that the next touch faults and is observed:
 * present -> access-tracked, keeping W and D (analogue:
 * mark_spte_for_access_track).  Any other state is returned unchanged, so
 * zapping is idempotent and keeps zero sptes.
 */
static inline uint64_t mark_spte_for_access_track(uint64_t spte)
{
	if (!is_shadow_present_spte(spte))
		return spte;
	return SPTE_TYPE_ACC_TRACK | (spte & SPTE_ACC_TRACK_SAVED_MASK);
}

/*
 * The spte a fault installs over @old (any state) once the page is mapped
 * again: present; accessed if this gfn was touched; dirty if written now
 * (@write) or already dirty - an access-tracked page keeps unsaved data,
 * a page read back from swap or zero is clean; writable if allowed or
 * dirty, since a dirty spte is always writable.  A present @old keeps its
 * accessed and dirty bits, so a racing fault on the same gfn loses
 * neither.
 */
static inline uint64_t make_fault_spte(uint64_t old, bool writable,
				       bool accessed, bool write)
{
	bool dirty = write || is_dirty_spte(old);

	accessed = accessed || is_accessed_spte(old);
	return make_present_spte(writable || dirty, accessed, dirty);
}

/* Present only: set the accessed bit. */
static inline uint64_t spte_mkyoung(uint64_t spte)
{
	assert(is_shadow_present_spte(spte));
	return spte | SPTE_ACCESSED_MASK;
}

/* Present only: clear the accessed bit (clock harvesting). */
static inline uint64_t spte_mkold(uint64_t spte)
{
	assert(is_shadow_present_spte(spte));
	return spte & ~SPTE_ACCESSED_MASK;
}

/* Present and writable only: a write happened. */
static inline uint64_t spte_mkdirty(uint64_t spte)
{
	assert(is_shadow_present_spte(spte) && (spte & SPTE_WRITABLE_MASK));
	return spte | SPTE_DIRTY_MASK;
}

/*
 * Present or access-tracked: the page was found written after the fact
 * (the pager learns of writes by scanning host ptes once it has zapped
 * them); set D, and W with it since a dirty spte is writable. Other
 * states unchanged: nothing resident to be dirty.
 */
static inline uint64_t spte_mark_written(uint64_t spte)
{
	if (!is_resident_spte(spte))
		return spte;
	return spte | SPTE_DIRTY_MASK | SPTE_WRITABLE_MASK;
}

/*
 * Present or access-tracked: the page was written back (or its dirty bit
 * harvested); clear D and W together so that the next write faults and
 * dirties it again (the PG_clean idea).  Other states unchanged.
 */
static inline uint64_t spte_wrprotect_clean(uint64_t spte)
{
	if (!is_resident_spte(spte))
		return spte;
	return spte & ~(SPTE_DIRTY_MASK | SPTE_WRITABLE_MASK);
}

#endif /* SHADOW_SPTE_H */
