/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_PAGER_H
#define VMM_PAGER_H

#include <stdbool.h>
#include <stdint.h>

/*
 * The pager: reclaim for guest RAM (DESIGN.md points 3, 5, 6, 8, 9).
 *
 * It keeps the guest's resident set (object pages in the memfd's page
 * cache) at most `limit` pages, swapping the rest to the swap store from
 * user space. Guest RAM is registered with userfaultfd for MISSING, MINOR
 * and WP (asynchronous) faults; fault threads resolve faults, a reclaim
 * thread runs a clock over object pages. Nothing is pinned.
 *
 * Page states (the pager's own, one word per object page):
 *
 *   ABSENT    no backing, reads as zero (never touched, or reclaimed zero)
 *   RESIDENT  in the memfd; flags: ZAPPED (host pte removed so the next
 *             touch is seen: the spte is access-tracked), DIRTY (content
 *             may differ from the swap slot, if any)
 *   SWAPPED   only in swap slot S
 *
 * A RESIDENT page keeps its slot while it is clean: it came in from that
 * slot with a write-protected pte (UFFDIO_COPY_MODE_WP or
 * UFFDIO_CONTINUE_MODE_WP), and the kernel resolves a write to it without
 * a round trip (UFFD_FEATURE_WP_ASYNC), leaving the pte "written". Every
 * zap of a page (MADV_DONTNEED) is followed, under the same chunk lock, by
 * PAGEMAP_SCAN of the zapped range: a pte that was written leaves no
 * uffd-wp marker and is reported PAGE_IS_WRITTEN, so the page becomes
 * DIRTY and its slot is freed (the PG_clean idea of the seeds).
 *
 * Transitions (who makes them):
 *   ABSENT   -> RESIDENT dirty       fault: UFFDIO_ZEROPAGE
 *   SWAPPED  -> RESIDENT clean       fault: UFFDIO_COPY (WP) from the slot
 *   RESIDENT+ZAPPED -> RESIDENT      fault: UFFDIO_CONTINUE (WP if clean)
 *   RESIDENT -> RESIDENT+ZAPPED      reclaim, harvesting access (second chance)
 *   RESIDENT+ZAPPED, clean -> SWAPPED       reclaim: punch, no write
 *   RESIDENT+ZAPPED, dirty, zero -> ABSENT  reclaim: punch, no write
 *   RESIDENT+ZAPPED, dirty -> SWAPPED       reclaim: write slot, punch
 *   write error / store full: the page stays RESIDENT+ZAPPED+DIRTY
 *
 * Locking (outermost first):
 *   chunk lock (one mutex per 64 object pages): protects the state words
 *     of its pages and serialises every change to their host ptes, page
 *     cache and sptes: fault resolution, zap, reclaim, VMM access. Fault
 *     threads block on it; the reclaim thread only trylocks.
 *   shadow/notifier locks, inside shadow_fault() and around invalidations
 *     (shadow/shadow.h).
 *   swap store lock (slot allocator), innermost.
 *   space_lock + space_cv: wait for the resident count to drop (throttled
 *     faults) and wake the reclaim thread; never held with a chunk lock
 *     taken after it.
 * Counters and the resident count are C11 atomics.
 */

struct vm;
struct pager;

/* Build the pager for vm (guest RAM already loaded). NULL on error (printed). */
struct pager *pager_create(struct vm *vm);
/* Start the fault and reclaim threads. */
int pager_start(struct pager *pg);
/* Stop the threads; the guest must not run any more. */
void pager_stop(struct pager *pg);
void pager_destroy(struct pager *pg);

/*
 * Copy between guest RAM and @buf for a VMM thread (device, loader, debug
 * dump), through the same path as a fault: the page is brought in under its
 * chunk lock and copied through the memfd, never through the mapping, so
 * the caller cannot block in its own userfault. Returns false when the
 * range is not guest RAM or the page cannot be restored.
 */
bool pager_access(struct pager *pg, uint64_t gpa, void *buf, uint64_t len, bool write);

/* Statistics: JSON to the --stats file (periodically and at exit). */
void pager_stats_write(struct pager *pg);
/* The one-line summary on stderr at exit. */
void pager_stats_summary(struct pager *pg);

#endif
