/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow/shadow.h - the VMM's secondary page table over guest frames, the
 * memory objects and regions behind it, and the reverse map (analogue:
 * arch/x86/kvm/mmu, mm/rmap.c).
 *
 * Objects.  A memory object (struct shadow_object) is N pages of guest RAM
 * (for the VMM, one memfd); the shadow knows only its size and an opaque
 * pointer for the owner.
 *
 * Regions.  A region maps npages of an object, from page pgoff, at guest
 * frame gfn of one VM.  Regions of one VM never overlap; any number of
 * regions of one or several VMs may map the same object pages.  Moving a
 * region changes gfn and keeps pgoff, as a vma keeps vm_pgoff across
 * mremap, and moves the sptes with it.
 *
 * The table.  Each VM (struct shadow) has one spte (shadow/spte.h) per gfn
 * covered by a region, in a five-level radix tree indexed by gfn, like a
 * page table: a top of 16 pointers embedded in the shadow (128 bytes, gfn
 * bits 39..36); a root of 512 directory pointers per 256 TiB of
 * guest-physical span in use (4,104 bytes, bits 35..27); a directory of
 * 512 node pointers per 512 GiB of span in use (4,104 bytes, bits
 * 26..18); a node of 512 chunk pointers and 512 coverage counts per GiB of
 * span in use (5,128 bytes, bits 17..9).  These are allocated when a
 * region covers part of their span.  A chunk of 512 sptes per 2 MiB (512
 * bytes, one byte per spte, bits 8..0) is allocated on first use: when the
 * first spte of those 2 MiB becomes other than none (a fault installs it,
 * set_zero, a region move carries one there, or shadow_sptep() hands out
 * its address).  Lookup is five dependent loads, O(1).  Every level is
 * freed when no region covers it any more; a chunk is not freed when its
 * sptes go back to none (rmap walkers may hold its address under the
 * rmap_lock alone).  So for guest RAM the table costs 5,128 bytes per GiB
 * covered plus 512 bytes per 2 MiB ever mapped (at most 267,272 bytes per
 * GiB, 0.025%), plus 128 bytes per VM and 4,104 bytes per 256 TiB and per
 * 512 GiB of span, whatever the holes between regions (8,336 bytes for a
 * VM below 512 GiB): a table whose pages nothing maps (a VMM consumer's,
 * which touches a few device buffers) costs next to nothing.  gfns are
 * below SHADOW_GFN_LIMIT (52-bit guest-physical addresses).
 * shadow_get_stats() reports the bytes in use.
 *
 * Reverse map.  Computed from the regions by pgoff arithmetic,
 * gfn = region.gfn + (page - region.pgoff), with no per-page chains: an
 * object keeps the list of regions that map it (its i_mmap), walked by
 * for_each_rmap_spte() / for_each_rmap_range().
 *
 * Notifier.  A shadow subscribes to its VM's struct mn_space (indexed by
 * gfn).  invalidate_range_start zaps the present sptes of the range to
 * access-tracked (keeping W and D, and leaving zero sptes
 * alone); clear_young / test_young answer from the accessed bits;
 * release zaps everything and makes later faults fail.  shadow_fault()
 * is the fault path that follows the read_begin / read_retry protocol.
 *
 * Code: table.c (the radix tree), rmap.c (objects, regions, reverse map),
 * shadow.c (VMs, spte writers, notifier callbacks, faults).
 *
 * Locking (outermost first; never take them in another order):
 *  - object->rmap_lock (rwlock): protects the object's list of regions and
 *    every region's gfn, pgoff and npages.  Held for write by region
 *    add / move / remove, for read by rmap walkers (shadow_rmap_lock).
 *  - the VM's mn_space locks, taken inside mn_* calls (see notifier.h);
 *    the shadow's notifier callbacks then take:
 *  - shadow->mmu_lock (mutex): protects the VM's list of regions, the radix
 *    tree and every spte of the VM.  Held briefly, never while sleeping:
 *    not across resolve callbacks, I/O or waits.  Taken with shadow_lock()
 *    by callers that use the spte-level functions below.
 * A region's fields are therefore stable under either its object's
 * rmap_lock or its shadow's mmu_lock.  The table's levels for a region's
 * gfns change only under both locks, except that a chunk may be allocated
 * (first use) under mmu_lock alone: its pointer is an atomic, published
 * with release and read with acquire, so an rmap walker under the
 * rmap_lock sees NULL or a zeroed chunk.  Statistics are C11 atomics.
 *
 * Lifetimes: the caller destroys a shadow before the objects it maps, an
 * object only when no region maps it, and keeps objects alive while any
 * fault on them may run.  No function here pins or touches guest memory.
 *
 * Public symbols are prefixed shadow_ (spte helpers: spte_ / *_spte).
 * Functions return 0 or a negative errno unless stated otherwise.
 */
#ifndef SHADOW_SHADOW_H
#define SHADOW_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include "notifier/list.h"
#include "notifier/notifier.h"
#include "shadow/spte.h"

#define SHADOW_GFN_BITS		40
#define SHADOW_GFN_LIMIT	(1ULL << SHADOW_GFN_BITS)

/* A fault resolves and installs at most this many consecutive gfns. */
#define SHADOW_FAULT_MAX_PAGES	64

/* shadow_fault() flags */
#define SHADOW_FAULT_WRITE	(1u << 0)

struct shadow;
struct shadow_object;
struct shadow_region;

/* --- memory objects ------------------------------------------------------ */

/*
 * Create an object of @npages pages (> 0); @priv is returned by
 * shadow_object_priv() (the pager's own object).  NULL on ENOMEM or
 * npages == 0.
 */
struct shadow_object *shadow_object_create(uint64_t npages, void *priv);

/* Free @obj.  Returns -EBUSY (and frees nothing) while a region maps it. */
int shadow_object_destroy(struct shadow_object *obj);

uint64_t shadow_object_npages(const struct shadow_object *obj);
void *shadow_object_priv(const struct shadow_object *obj);

/* --- VMs ------------------------------------------------------------------ */

/*
 * Create the shadow table of one VM and register it as a subscriber of
 * @space (the VM's gfn-indexed notifier, which the caller owns and which
 * must outlive the shadow).  @priv is returned by shadow_priv().  NULL on
 * ENOMEM or if @space was already released.
 */
struct shadow *shadow_create(struct mn_space *space, void *priv);

/*
 * Remove every remaining region (with invalidations, as
 * shadow_region_remove), unregister from the space and free the shadow.
 * No other call on @s may run concurrently or later.
 */
void shadow_destroy(struct shadow *s);

struct mn_space *shadow_space(const struct shadow *s);
void *shadow_priv(const struct shadow *s);

/* --- regions -------------------------------------------------------------- */

/*
 * Map pages [pgoff, pgoff + npages) of @obj at gfns [gfn, gfn + npages) of
 * @s.  The new sptes are none.  On success stores the region in *@regionp.
 * Errors: -EINVAL if npages is 0, the pages are outside the object or the
 * gfns reach SHADOW_GFN_LIMIT; -EEXIST if the gfns overlap a region of @s;
 * -ENOMEM.  Needs no invalidation: nothing was mapped there.
 * Takes obj->rmap_lock for write and s->mmu_lock.
 */
int shadow_region_add(struct shadow *s, struct shadow_object *obj,
		      uint64_t pgoff, uint64_t npages, uint64_t gfn,
		      struct shadow_region **regionp);

/*
 * Move @r to start at @gfn, keeping its pgoff (mremap): invalidates the old
 * gfns (every subscriber drops them), then moves each spte - zapped,
 * zero or none - to its new gfn, so the rmap of every object page
 * now yields the new gfn and the same state.  The new range may overlap
 * the old one.  Errors leave the region where it was: -EINVAL past
 * SHADOW_GFN_LIMIT (nothing done); -EEXIST if the new gfns overlap another
 * region of the VM, -ENOMEM (the old gfns were invalidated, so their
 * present sptes are zapped, and nothing else changed).
 * Takes the space's notifier locks, then obj->rmap_lock for write and
 * s->mmu_lock; call with none of them held.
 */
int shadow_region_move(struct shadow_region *r, uint64_t gfn);

/*
 * Remove @r: invalidate its gfns, forget their sptes, unlink it from the VM and the
 * object, free it.  Locks as shadow_region_move.
 */
void shadow_region_remove(struct shadow_region *r);

/*
 * Region fields: stable under the object's rmap_lock or the shadow's
 * mmu_lock, or for the thread that adds, moves and removes regions.
 */
uint64_t shadow_region_gfn(const struct shadow_region *r);
uint64_t shadow_region_pgoff(const struct shadow_region *r);
uint64_t shadow_region_npages(const struct shadow_region *r);
struct shadow_object *shadow_region_object(const struct shadow_region *r);
struct shadow *shadow_region_shadow(const struct shadow_region *r);

/* --- sptes ---------------------------------------------------------------- */

/* Take / drop s->mmu_lock, for the functions documented "mmu_lock held". */
void shadow_lock(struct shadow *s);
void shadow_unlock(struct shadow *s);

/*
 * mmu_lock held: the spte of @gfn, or NULL if no region of @s covers @gfn
 * (or, rarely, out of memory).  Allocates @gfn's chunk if it was never
 * used, so use it to write an spte (set_zero), not to look one up in bulk
 * (shadow_get_spte, walks).  The pointer stays valid while the lock is
 * held (or while the covering region cannot go away, i.e. under its
 * object's rmap_lock).
 */
spte_t *shadow_sptep(struct shadow *s, uint64_t gfn);

/* mmu_lock held: the region of @s covering @gfn, or NULL. */
struct shadow_region *shadow_find_region(struct shadow *s, uint64_t gfn);

/*
 * Read the spte of @gfn into *@spte under mmu_lock (taken here); none if
 * its chunk was never used.  -EFAULT if no region covers @gfn.
 */
int shadow_get_spte(struct shadow *s, uint64_t gfn, uint64_t *spte);

/*
 * mmu_lock held, and the caller inside an invalidation of the spte's gfn
 * (between mn_invalidate_range_start and _end on the shadow's space): the
 * pager finished reclaiming the page.  set_zero records that it is all
 * zero.  Returns -EBUSY and
 * changes nothing if the spte is present, which means no invalidation
 * covered it.  @sptep is not NULL (shadow_sptep() gives one where an rmap
 * iterator's is NULL).
 */
int shadow_spte_set_zero(struct shadow *s, spte_t *sptep);
/*
 * Same rules: the page left the object; its translation is forgotten
 * (none).  A NULL @sptep (an rmap iterator's, chunk never used) is none
 * already: returns 0.
 */
int shadow_spte_set_none(struct shadow *s, spte_t *sptep);

/*
 * Range walk, mmu_lock held: visits, in increasing gfn order, every gfn of
 * [start, end) whose 2 MiB chunk is allocated (covered by some region and
 * used since, see "The table" above), setting w->gfn and w->sptep; gfns in
 * a chunk but outside every region read as none.  Skips absent chunks and
 * nodes without visiting their gfns (their sptes are all none), so a walk
 * over holes and over never-mapped memory is cheap.  The body may rewrite
 * *w->sptep through the spte transition helpers, which keep none as none;
 * an spte outside every region must stay none (use shadow_find_region()
 * to tell).
 *
 *	struct shadow_walk w;
 *	for_each_shadow_spte(s, start, end, &w)
 *		*w.sptep = mark_spte_for_access_track(*w.sptep);
 */
struct shadow_walk {
	struct shadow *shadow;
	uint64_t gfn;		/* current gfn (valid in the loop body) */
	uint64_t end;
	spte_t *sptep;	/* current spte (valid in the loop body) */
	/* private */
	uint64_t next;		/* the next gfn to visit */
	spte_t *chunk;		/* sptes of next's chunk, if looked up */
};

void shadow_walk_init(struct shadow_walk *w, struct shadow *s,
		      uint64_t start, uint64_t end);
bool shadow_walk_next(struct shadow_walk *w);

#define for_each_shadow_spte(s, start, end, w) \
	for (shadow_walk_init(w, s, start, end); shadow_walk_next(w); )

/* --- faults --------------------------------------------------------------- */

/*
 * What a fault is resolving, handed to the resolve step.  All fields but
 * map_writable are inputs.  old_spte[i] is the spte of gfn + i sampled
 * after read_begin: none, zero or access-tracked. Where the page is
 * (absent, swapped in slot S) is the owner's state, never the spte's; a
 * present old spte means the page is mapped already (only gfn + 0 can be
 * present, for a write to a read-only spte).
 */
struct shadow_fault {
	struct shadow *shadow;
	struct shadow_object *obj;
	uint64_t gfn;			/* first gfn: the one that faulted */
	uint64_t pgoff;			/* object page of gfn */
	unsigned int npages;		/* pages gfn .. gfn + npages - 1 */
	unsigned int flags;		/* SHADOW_FAULT_* */
	uint64_t old_spte[SHADOW_FAULT_MAX_PAGES];
	/*
	 * Output, preset to true: false installs the pages read-only, so that
	 * a write faults again (clean pages with a valid swap copy); pages
	 * whose spte is dirty are installed writable regardless.  A write
	 * fault whose resolve clears it fails with -EACCES.
	 */
	bool map_writable;
	/* private: the fault's interval and its read_begin sequence */
	struct mn_interval *iv;
	uint64_t seq;
};

/*
 * Inside a resolve step, any lock held or none: has an invalidation of the
 * batch begun since this attempt's read_begin? (mn_interval_read_retry on
 * the fault's interval.) A resolver that drops its own lock around I/O
 * checks it under that lock, which every invalidator of its pages also
 * holds, before it installs anything, and returns -EAGAIN if so. The
 * check under mmu_lock before the sptes are installed stays the final one.
 */
bool shadow_fault_stale(const struct shadow_fault *f);

/*
 * Resolve the pages of @f so they can be mapped: bring them in (may sleep,
 * read swap, issue UFFDIO_*), with no shadow lock held.  Returns 0, -EAGAIN
 * to start the fault again (read_begin, sample, resolve: an invalidation
 * or a change of the owner's state overlapped the resolve; counted in
 * fault_retries), or a negative errno that shadow_fault() returns as is.
 * May be called again for the same pages if an invalidation raced; must
 * then act on the new old_spte values.
 */
typedef int (*shadow_resolve_fn)(struct shadow_fault *f, void *ctx);

/*
 * The fault path.  Make gfns [gfn, gfn + npages) present, npages from 1 to
 * SHADOW_FAULT_MAX_PAGES, clipped to the end of the region of @gfn and
 * stopped before the first neighbour that is already present (so a batch
 * is gfn plus prefetched neighbours):
 *
 *	insert an interval over the batch into the space;
 *	again:
 *	  seq = mn_interval_read_begin();          waits out invalidations
 *	  lock; find region, sample old sptes; unlock;
 *	  gfn present (and writable if a write)?   mark A (D) and return 0;
 *	  resolve(f, ctx);                         may sleep; -EAGAIN: again
 *	  lock;
 *	  if (mn_interval_read_retry(seq)) { unlock; goto again; }
 *	  install the batch present; unlock;
 *	remove the interval.
 *
 * Installed sptes: gfn is accessed, and dirty if SHADOW_FAULT_WRITE;
 * prefetched neighbours are not accessed; pages that were access-tracked
 * keep their dirty bit; pages from swap or zero are clean.  So no spte in a
 * range is present between mn_invalidate_range_start returning and the
 * matching end, and no resolve result covered by an invalidation is
 * installed.
 *
 * On success gfn is present (writable if a write) and the return value is
 * the number of sptes this call installed from its last resolve (gfn and
 * the neighbours it made present, >= 1), or 0 if gfn was found present
 * and no resolve result was installed (resolve may still have run before a
 * retry).  Errors: -EFAULT if no region covers gfn, -EINVAL for a bad
 * npages, -ESHUTDOWN after the space was released, -EACCES (see
 * map_writable), or resolve's error.
 * Call with no shadow or notifier lock held; any thread.
 */
int shadow_fault(struct shadow *s, uint64_t gfn, unsigned int npages,
		 unsigned int flags, shadow_resolve_fn resolve, void *ctx);

/*
 * A consumer's access to one page: shadow_fault(@gfn, 1 page, @flags,
 * @resolve) until the spte is present (and writable for a write), then,
 * under mmu_lock - which every invalidation of the gfn also takes, so the
 * page cannot be zapped, write-protected or punched meanwhile - mark it
 * accessed (dirty for a write) and call @access(@ctx). If an invalidation
 * zapped the spte between the fault's install and the lock, retry (counted
 * in fault_retries). @access must not sleep or take other locks. Returns
 * @access's value, or shadow_fault's error.
 */
typedef int (*shadow_access_fn)(void *ctx);
int shadow_access(struct shadow *s, uint64_t gfn, unsigned int flags,
		  shadow_resolve_fn resolve, shadow_access_fn access, void *ctx);

/* --- harvesting ----------------------------------------------------------- */

/*
 * Dirty harvesting over [gfn, gfn + npages): for each resident dirty spte,
 * clear D and write-protect it (spte_wrprotect_clean) and set bit
 * (g - gfn) in @dirty (a caller-zeroed bitmap, 64 gfns per word; may be
 * NULL).  Returns the number of pages harvested.  The next write to such a
 * page goes through shadow_fault(SHADOW_FAULT_WRITE) and dirties it again.
 * Takes mmu_lock.
 */
uint64_t shadow_harvest_dirty(struct shadow *s, uint64_t gfn, uint64_t npages,
			      uint64_t *dirty);

/*
 * Accessed-bit harvesting is the notifier's: mn_clear_young() /
 * mn_test_young() on shadow_space(s) reach the shadow's callbacks, which
 * clear / test the A bit of present sptes of the range (access-tracked
 * sptes are not young: their next touch faults).
 */

/* --- reverse map ---------------------------------------------------------- */

/* Take / drop obj->rmap_lock for read: regions of @obj cannot change. */
void shadow_rmap_lock(struct shadow_object *obj);
void shadow_rmap_unlock(struct shadow_object *obj);

/*
 * Iterator over the mappings of object pages.  After a successful
 * shadow_rmap_next, the public fields describe one mapping:
 *   shadow, region  the VM and region that map it;
 *   gfn, pgoff      first gfn and the object page it maps;
 *   count           how many consecutive pages (1 for for_each_rmap_spte);
 *   sptep           spte of gfn (read and write it under shadow's mmu_lock;
 *                   valid until shadow_rmap_unlock), or NULL if gfn's
 *                   chunk was never used: the spte is none.  Inside an
 *                   invalidation of gfn (the rmap walker's usual place) it
 *                   stays none, as no fault can install it meanwhile; to
 *                   write one that is not none (set_zero), take
 *                   shadow_sptep(it.shadow, it.gfn) under mmu_lock.
 */
struct shadow_rmap_iter {
	struct shadow *shadow;
	struct shadow_region *region;
	uint64_t gfn;
	uint64_t pgoff;
	uint64_t count;
	spte_t *sptep;
	/* private */
	struct shadow_object *obj;
	uint64_t first, last;		/* object pages asked for, inclusive */
	struct mn_list *pos;
};

void shadow_rmap_iter_init(struct shadow_rmap_iter *it,
			   struct shadow_object *obj, uint64_t pgoff,
			   uint64_t npages);
bool shadow_rmap_next(struct shadow_rmap_iter *it);

/*
 * Every (VM, region, gfn, spte) mapping object page @pgoff, one per region.
 * obj->rmap_lock held for read (shadow_rmap_lock).
 *
 *	shadow_rmap_lock(obj);
 *	for_each_rmap_spte(obj, p, &it) {
 *		mn_invalidate_range_start(shadow_space(it.shadow), &r[n++],
 *					  it.gfn, it.gfn + 1);
 *		...
 *	}
 */
#define for_each_rmap_spte(obj, pgoff, it) \
	for (shadow_rmap_iter_init(it, obj, pgoff, 1); shadow_rmap_next(it); )

/*
 * Every mapping of object pages [pgoff, pgoff + npages), as one run of
 * it->count consecutive gfns per region overlapping them: the batch form
 * (one invalidation per run).  it->sptep is the spte of it->gfn only; get
 * the others of the run with shadow_sptep() or for_each_shadow_spte().
 * obj->rmap_lock held for read.
 */
#define for_each_rmap_range(obj, pgoff, npages, it) \
	for (shadow_rmap_iter_init(it, obj, pgoff, npages); shadow_rmap_next(it); )

/* --- statistics ----------------------------------------------------------- */

struct shadow_stats {
	uint64_t faults;	/* shadow_fault calls that resolved pages */
	uint64_t fault_retries;	/* read_retry said retry */
	uint64_t installed;	/* sptes made present by faults */
	uint64_t zapped;	/* present sptes zapped by invalidations */
	uint64_t present;	/* present sptes now */
	uint64_t table_bytes;	/* memory of the spte table, root included */
};

/* A snapshot of @s's counters (each read atomically; no lock). */
void shadow_get_stats(const struct shadow *s, struct shadow_stats *st);

#endif /* SHADOW_SHADOW_H */
