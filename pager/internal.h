/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_PAGER_INTERNAL_H
#define VMM_PAGER_INTERNAL_H

/*
 * Shared by the pager's files: pager.c (set-up, rmap walks), page_state.c
 * (the transitions), fault.c, reclaim.c, handle.c (consumers, discard),
 * control.c, stats.c.
 *
 * Locking (outermost first):
 *   chunk lock (one mutex per CHUNK_PAGES object pages): protects the
 *     state words of its pages and the chunk's busy mask (pg->busy[c]).
 *     Held only for short steps that do no I/O: by a fault (fault_resolve)
 *     to reserve room, mark its batch busy and note the words (fault_own),
 *     and again for the transitions (fault_commit); by reclaim (trylock
 *     only: reclaim never waits for a fault) to pick, zap and mark its
 *     victims, and again to punch them and apply the transitions; by a
 *     discard around its invalidation, punch and transitions. Dropped while
 *     a throttled fault waits for room and while anyone waits for a busy
 *     page (busy_wait).
 *   busy pages (pager/busy.c): a page one thread owns while it works on it
 *     with no lock held, like the kernel's locked folio / PG_writeback: a
 *     fault's batch during its swap read and its UFFDIO_ZEROPAGE / COPY /
 *     CONTINUE (fault_read_swap, fault_install), reclaim's dirty victims
 *     during their read from the memfd and swap write (reclaim_pages).
 *     Nobody else changes a busy page's word, maps, zaps or punches it:
 *     reclaim skips busy pages (chunk_pages), a fault waits for its own
 *     page and clips its batch before any other busy one (fault_own), a
 *     discard waits for the busy pages of its range (pager_discard). A
 *     waiter sleeps on the chunk's futex word (pg->busy_seq[c], timed on
 *     CLOCK_MONOTONIC) holding no lock; busy_clear_unlock wakes it. An
 *     owner holds no lock while it owns pages and waits for nothing but
 *     its own I/O (a fault reserves room before it marks anything busy),
 *     so waits for busy pages end.
 *   the object's rmap_lock, the spaces' notifier locks and the shadows'
 *     mmu_locks, inside pager_inval_start .. pager_inval_end and
 *     shadow_fault / shadow_access (shadow/shadow.h, notifier/notifier.h).
 *     A consumer copies under its table's mmu_lock and holds nothing else.
 *   a handle's lock: serialises that handle's calls; taken before
 *     everything above, never by the pager's threads.
 *   swap store lock (slot allocator and checksums), innermost.
 *   space_lock + space_cv / reclaim_cv (CLOCK_MONOTONIC): waits for room
 *     (throttled faults, holding no chunk lock and no busy page) and wakes
 *     the reclaim thread; no chunk lock is taken while it is held.
 * No I/O happens under a chunk lock, an mmu_lock or a notifier lock: swap
 *   reads and writes, memfd reads of reclaim and the UFFDIO_* installs
 *   (the kernel's page allocation) run with their pages busy and no lock
 *   held. Every invalidator of object pages (reclaim, discard) holds their
 *   chunk lock from pager_inval_start to the transition and never touches
 *   a busy page, so a fault's batch is invalidated by nobody while it is
 *   busy; fault_resolve still checks, before it installs a swap read, that
 *   no invalidation of the batch began (shadow_fault_stale) and no word
 *   changed (a defence: else -EAGAIN, fault_retries, swap_pages_read_stale),
 *   and an EEXIST of an install still means a broken invariant. The
 *   shadow's own read_retry under its mmu_lock stays the final check
 *   before sptes are installed.
 * Counters, the resident and swapped counts, the limit and its watermarks
 *   are C11 atomics.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "notifier/notifier.h"
#include "shadow/shadow.h"
#include "pager/page_state.h"
#include "pager/pager.h"
#include "pager/swap_store.h"
#include "pager/util.h"

#define CHUNK_SHIFT	6
#define CHUNK_PAGES	(1u << CHUNK_SHIFT)	/* pages per chunk lock, max batch */
#define SEQ_HINTS	64
#define HIST_BUCKETS	256
/* A fault waits this long for reclaim before it may use the overshoot. */
#define PAGER_THROTTLE_MAX_NS	(2000ULL * 1000 * 1000)

/*
 * Tests only (tests/test_pager_busy.c): called with no lock held, at
 * PAGER_TEST_INSTALL before a fault's UFFDIO_* of object pages [p, p + n),
 * at PAGER_TEST_SWAP_WRITE before reclaim's swap write of n dirty pages of
 * one chunk, the first of them page p. The pages are busy meanwhile. May
 * block.
 */
enum pager_test_point { PAGER_TEST_INSTALL, PAGER_TEST_SWAP_WRITE };
typedef void (*pager_test_hook_fn)(void *opaque, enum pager_test_point at, uint64_t p,
				   unsigned n);
/* Set the hook before pager_start (pager.c). */
void pager_set_test_hook(struct pager *pg, pager_test_hook_fn fn, void *opaque);

struct pager_counters {
	atomic_uint_fast64_t faults_missing;	/* uffd MISSING messages */
	atomic_uint_fast64_t faults_minor;	/* uffd MINOR messages */
	atomic_uint_fast64_t faults_wp;		/* uffd WP messages (0 with WP_ASYNC) */
	atomic_uint_fast64_t zero_fills;	/* pages resolved with UFFDIO_ZEROPAGE */
	atomic_uint_fast64_t swapped_in;	/* pages resolved with UFFDIO_COPY */
	atomic_uint_fast64_t continued;		/* pages resolved with UFFDIO_CONTINUE */
	atomic_uint_fast64_t swapped_out;	/* pages written to the store */
	atomic_uint_fast64_t clean_drops;	/* clean pages punched without a write */
	atomic_uint_fast64_t zero_drops;	/* all-zero pages punched, nothing stored */
	atomic_uint_fast64_t dirtied;		/* clean pages found written (slot freed) */
	atomic_uint_fast64_t zaps;		/* pages zapped to harvest access */
	atomic_uint_fast64_t throttled;		/* faults that waited for reclaim */
	atomic_uint_fast64_t write_failures;	/* reclaim batches that could not be stored */
	atomic_uint_fast64_t resident_peak;
	atomic_uint_fast64_t discarded;		/* pages made absent by discards */
	atomic_uint_fast64_t balloon_pages;	/* inflated now */
	atomic_uint_fast64_t reported_free;	/* reported free by the guest, in all */
	atomic_uint_fast64_t full_pauses;	/* times faults were held: store full */
	atomic_uint_fast64_t vmm_accesses;	/* page copies through VMM consumers' handles */
	atomic_uint_fast64_t stale_reads;	/* swapped pages read, then thrown away: stale */
	atomic_uint_fast64_t hist[HIST_BUCKETS]; /* fault service time, log-linear ns */
};

/* Access-pattern hint per faulting thread (hashed by tid); heuristic only. */
struct seq_hint {
	atomic_uint tid;
	atomic_uint_fast64_t next;	/* page that would continue the run */
	atomic_uint window;		/* pages to resolve on the next fault */
};

struct pager {
	struct pager_config cfg;	/* a copy; read-only after create */
	bool limited;			/* a resident limit: uffd, reclaim, store */
	uint64_t npages;
	/* The limit and its watermarks change only by pager_set_limit. */
	atomic_uint_fast64_t limit, wm_high, wm_low;
	uint64_t overshoot;		/* pages above limit while the store fails */
	uint8_t *base;			/* guest RAM mapping (object offset 0) */
	int memfd, uffd, pagemap_fd, stop_fd;
	bool wp_async;			/* clean tracking available */
	bool pagemap_scan;		/* PAGEMAP_SCAN available (else pagemap bits) */

	page_state_t *state;		/* one word per object page, under its chunk lock */
	uint64_t nchunks;
	pthread_mutex_t *chunk_locks;
	uint64_t *busy;			/* per chunk: its busy pages, under the chunk lock */
	atomic_uint *busy_seq;		/* per chunk: futex word of busy waits (busy.c) */
	pager_test_hook_fn test_hook;	/* tests only; set before pager_start */
	void *test_opaque;

	struct swap_store store;
	struct mn_space *space;
	struct shadow *shadow;		/* the vCPUs' secondary MMU (uffd faults) */
	struct mn_space *vmm_space;
	struct shadow *vmm_shadow;	/* the VMM consumers' (pager handles) */
	struct shadow_object *obj;

	unsigned nr_fault_threads;
	pthread_t *fault_threads;
	pthread_t reclaim_thread;
	bool threads_started;
	atomic_bool stopping;

	atomic_uint_fast64_t resident;	/* pages RESIDENT (and reserved) */
	atomic_uint_fast64_t swapped;	/* pages SWAPPED */
	/* For pager_status.state and the control API. */
	atomic_bool store_failing;	/* the last write batch could not be stored */
	atomic_bool paused_full, swapping_in, reclaiming, reported_stats_error;
	atomic_uint throttle_waiters;
	atomic_uint_fast64_t last_transition_pages, last_transition_ms;
	/* space_lock protects reclaim_kick and orders the two condvars. */
	pthread_mutex_t space_lock;
	pthread_cond_t space_cv;	/* resident dropped, or back-off began */
	pthread_cond_t reclaim_cv;	/* wake the reclaim thread */
	bool reclaim_kick;
	atomic_uint_fast64_t backoff_until;	/* ns; reclaim writes nothing before */
	atomic_bool reported_write_error, reported_full, reported_memory_error;

	/* Reclaim thread only. */
	uint64_t hand;
	uint8_t *rbuf, *wbuf;

	struct seq_hint hints[SEQ_HINTS];
	struct pager_counters c;
	const char *stats_file;
	uint64_t start_ns;
};

/* --- busy pages (pager/busy.c) ---------------------------------------------- */

bool busy_wait(struct pager *pg, uint64_t c, uint64_t mask);
void busy_mark(struct pager *pg, uint64_t c, uint64_t mask);
void busy_clear_unlock(struct pager *pg, uint64_t c, uint64_t mask);

/* Bits [i, i + n) of a chunk's 64-page mask, n >= 1. */
static inline uint64_t chunk_mask(unsigned i, unsigned n)
{
	return (n >= 64 ? ~0ULL : (1ULL << n) - 1) << i;
}

/* --- named transitions of the state words (pager/page_state.h) ------------- */
/*
 * Chunk lock of the pages held. Each changes the state word, the counters
 * and, where the page's translations change, the secondary tables
 * (pager_spte_update, inside the caller's invalidation); installs of
 * translations on faults are the shadow fault path's own.
 */
void page_loaded(struct pager *pg, uint64_t p);
void page_zero_filled(struct pager *pg, uint64_t p);
void page_swapped_in(struct pager *pg, uint64_t p, bool clean);
void page_continued(struct pager *pg, uint64_t p, bool clean);
void page_zapped(struct pager *pg, uint64_t p, bool written);
void page_dropped_clean(struct pager *pg, uint64_t p);
void page_dropped_zero(struct pager *pg, uint64_t p);
void page_swapped_out(struct pager *pg, uint64_t p, uint64_t slot);
void page_discarded(struct pager *pg, uint64_t p);

static inline void *page_hva(const struct pager *pg, uint64_t p)
{
	return pg->base + (p << PAGE_SHIFT);
}

static inline pthread_mutex_t *chunk_lock(struct pager *pg, uint64_t p)
{
	return &pg->chunk_locks[p >> CHUNK_SHIFT];
}

/* --- shared between pager.c, pager_fault.c and pager_reclaim.c ------------- */

/*
 * Invalidations of object pages [p, p + n), n within one chunk: one mn_range
 * per mapping run (every region of every VM mapping those pages, found by
 * pgoff arithmetic); room for a few VMs sharing the object.
 */
struct inval {
	struct mn_range r[PAGER_MAX_REGIONS * 4];
	unsigned n;
};

enum spte_update { SU_WRITTEN, SU_GONE };

void pager_inval_start(struct pager *pg, struct inval *iv, uint64_t p, uint64_t n);
void pager_inval_end(struct pager *pg, struct inval *iv);
void pager_spte_update(struct pager *pg, uint64_t p, enum spte_update what);
bool pager_harvest_consumer_dirty(struct pager *pg, uint64_t p);
bool pager_page_gfn(struct pager *pg, uint64_t p, uint64_t *gfn);
void pager_report_memory_error(struct pager *pg, uint64_t p, uint64_t slot, int err);
bool pager_backoff_active(struct pager *pg);
void pager_event(struct pager *pg, enum pager_event ev, uint64_t gpa, const char *msg);
void pager_set_watermarks(struct pager *pg, uint64_t limit);
bool pager_gpa_page(const struct pager *pg, uint64_t gpa, uint64_t *page, uint64_t *room);

void pager_kick_reclaim(struct pager *pg);
int uffd_resolve(struct pager *pg, unsigned long cmd, uint64_t p, unsigned n, const void *src,
		 uint64_t mode);	/* pager/uffd.c */
int pager_fault_in(struct pager *pg, uint64_t p, unsigned n, bool write, uint8_t *buf,
		   bool from_uffd);
void *pager_fault_thread(void *arg);
void *pager_reclaim_thread(void *arg);
unsigned pager_evict_cold(struct pager *pg, uint64_t c, uint8_t *rbuf, uint8_t *wbuf);
unsigned pager_clock_step(struct pager *pg, uint64_t c);

void pager_hist_add(struct pager *pg, uint64_t ns);
uint64_t pager_fault_retries(struct pager *pg);
uint64_t pager_vmm_retries(struct pager *pg);
int pager_stats_check(const char *path);

/* Resident pages are at most this (README "Statistics"): limit + overshoot. */
static inline uint64_t pager_resident_bound(struct pager *pg)
{
	return atomic_load(&pg->limit) + pg->overshoot;
}

#endif
