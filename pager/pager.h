/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef PAGER_PAGER_H
#define PAGER_PAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pager/util.h"

/*
 * The pager library: the memory object of guest RAM and reclaim for it.
 *
 * The memory object is a memfd plus one state word per object page
 * (pager/page_state.h: absent, resident clean with its swap slot, resident
 * dirty, swapped in slot S). The state word is the one truth about a page;
 * secondary MMUs (the shadow of the vCPUs' view, and one per VMM consumer,
 * see pager_handle_open) hold translations with accessed and dirty bits only.
 *
 * With a resident limit, guest RAM is registered with userfaultfd (MISSING,
 * MINOR, asynchronous WP); fault threads resolve faults and a reclaim
 * thread runs a clock over object pages, keeping resident pages at most
 * the limit (see pager_status.resident_peak_pages for the bound), swapping
 * the rest to the swap store. Without a limit the object and its secondary
 * MMUs exist all the same (consumers and discards go through them) but no
 * thread runs and nothing is registered. Nothing is pinned.
 *
 * The library includes nothing from the VMM: it takes everything in
 * struct pager_config and reports through its callbacks. Libraries point
 * down: vmm -> pager -> shadow -> notifier.
 *
 * Locking is documented in pager/internal.h.
 */

#define PAGER_MAX_REGIONS 4

struct pager;

/* One range of the object mapped at a guest-physical address. */
struct pager_region {
	uint64_t gpa, size;	/* bytes, page-aligned */
	uint64_t pgoff;		/* first object page mapped */
};

/* Events for the VMM (QMP X_PAGER_ERROR, and the store-full pause of the vCPUs). */
enum pager_event {
	PAGER_EVENT_WRITE_ERROR,	/* a swap write failed; reclaim backs off */
	PAGER_EVENT_STORE_FULL,		/* overshoot exhausted: the VMM must pause the vCPUs */
	PAGER_EVENT_STORE_OK,		/* slots free again: the VMM may resume */
	PAGER_EVENT_UNRESTORABLE,	/* a page cannot be restored (then the fatal callback) */
};
/* Set in the pager's configuration; called from pager threads, must not block long. */
typedef void (*pager_event_fn)(void *opaque, enum pager_event ev, uint64_t gpa, const char *msg);

/* Why the pager cannot go on. */
enum pager_fatal {
	PAGER_FATAL_UNRESTORABLE,	/* a guest page cannot be restored (VMM: exit 14) */
	PAGER_FATAL_INTERNAL,		/* a fault could not be resolved at all */
};
typedef void (*pager_fatal_fn)(void *opaque, enum pager_fatal why, const char *msg);

struct pager_config {
	int memfd;			/* the object: guest RAM, size bytes */
	uint8_t *base;			/* its MAP_SHARED mapping, object offset 0 */
	uint64_t size;
	struct pager_region regions[PAGER_MAX_REGIONS];
	unsigned nr_regions;
	uint64_t limit;			/* resident bytes; 0 = no limit, no reclaim */
	uint64_t overshoot;		/* bytes above the limit while the store cannot
					   take pages, then faults wait (STORE_FULL) */
	const char *swap_dir;		/* a directory for the unnamed swap file */
	const char *swap_file;		/* or a block device or new/empty file (--swap-file) */
	uint64_t soft_limit;		/* bytes: background reclaim starts here when below
					   the limit's own watermark (libvirt's soft_limit);
					   0 = the default */
	uint64_t swap_limit;		/* bytes the swap store may hold at most; past it the
					   store is full (libvirt's swap_hard_limit); 0 = no cap */
	unsigned threads;		/* fault threads */
	const char *stats_file;		/* --stats, or NULL */
	pager_fatal_fn fatal;		/* required */
	pager_event_fn event;		/* may be NULL */
	pager_log_fn log;		/* may be NULL: stderr */
	void *opaque;			/* for the callbacks */
};

/* The default overshoot when the store is full: max(limit / 4, 16 MiB). */
uint64_t pager_default_overshoot(uint64_t limit);

/* Build the object (guest RAM already loaded). NULL on error (printed). */
struct pager *pager_create(const struct pager_config *cfg);
/* Start the fault and reclaim threads (none without a limit). */
int pager_start(struct pager *pg);
/* Stop the threads; the guest must not run any more. */
void pager_stop(struct pager *pg);
void pager_destroy(struct pager *pg);

/* True when a resident limit is set (userfaultfd, reclaim, swap store). */
bool pager_limited(const struct pager *pg);

/* --- consumers: secondary MMUs of VMM threads ------------------------------- */

/*
 * A secondary-MMU handle for one VMM consumer (a device, a loader, the
 * register dump): its own shadow table over the object's regions,
 * subscribed to the notifier, so every invalidation (reclaim, discard)
 * drops its translations under its lock. Access: translate; fault the page
 * in through the pager if it is not present (may sleep and read swap);
 * install only if no invalidation began meanwhile (read_begin/read_retry),
 * else retry; copy under the handle's lock. A write sets the translation's
 * dirty bit, which reclaim reads before it drops a page as clean.
 * One handle's calls are serialised by the handle.
 */
struct pager_handle;

struct pager_handle *pager_handle_open(struct pager *pg, const char *name);
void pager_handle_close(struct pager_handle *h);
/* Copy out of / into guest RAM; false if not all RAM or not restorable. */
bool pager_handle_read(struct pager_handle *h, uint64_t gpa, void *buf, size_t len);
bool pager_handle_write(struct pager_handle *h, uint64_t gpa, const void *buf, size_t len);

enum pager_discard_reason { PAGER_DISCARD_BALLOON, PAGER_DISCARD_REPORTED };
/*
 * The "discard" transition over [gpa, gpa + len) (page-aligned, all RAM):
 * every page becomes absent (invalidated, hole punched, swap slot and its
 * checksum freed, resident count lowered). False if not all RAM or not aligned.
 */
bool pager_discard(struct pager *pg, uint64_t gpa, uint64_t len, enum pager_discard_reason why);
void pager_balloon_deflated(struct pager *pg, uint64_t pages);

/* --- statistics -------------------------------------------------------------- */

/* Statistics: JSON to the --stats file (periodically and at exit). */
void pager_stats_write(struct pager *pg);
/* The summary at exit: a few labelled lines, through the log callback. */
void pager_stats_summary(struct pager *pg);
/* Bytes of per-page metadata: state words, secondary tables, checksums, chunk locks (stats.c). */
uint64_t pager_metadata_bytes(struct pager *pg);

/* --- control (docs/notifier-protocol.md, the control socket) ----------------- */

/* A snapshot of the pager, for x-query-pager and --stats (all counters as in --stats). */
struct pager_status {
	const char *state;		/* "idle", "reclaiming", "throttling", "paused-store-full",
					   "swapping-in", "stopped" */
	uint64_t guest_pages, resident_limit_pages, resident_pages, resident_peak_pages;
	uint64_t swapped_pages, swap_slots_in_use;
	uint64_t faults_missing, faults_minor, fault_retries;
	uint64_t vcpu_fault_retries;	/* of fault_retries, those of uffd faults */
	uint64_t pages_swapped_in, pages_swapped_out, clean_drops, zero_pages;
	uint64_t balloon_pages, pages_reported_free;
	uint64_t swap_bytes_written, swap_bytes_read;
	uint64_t fault_p50_ns, fault_p99_ns, elapsed_ms;
	uint64_t last_transition_pages, last_transition_ms;	/* crosvm's "swap status" */
};
void pager_get_status(struct pager *pg, struct pager_status *st);

/*
 * Change the resident limit at run time. Lowering: reclaim runs down to the new limit and the
 * call returns 0 once resident_pages <= pages, or -1 with a reason in why[] (store full, write
 * errors, timeout_ms passed). Raising: returns 0 at once, throttled faults are released.
 */
int pager_set_limit(struct pager *pg, uint64_t pages, unsigned timeout_ms, char *why, size_t len);

/* Evict every page not touched since the last clock pass; returns pages evicted or -1. */
long pager_swap_out(struct pager *pg);
/* Bring swapped pages back, up to the limit; returns pages brought in or -1. */
long pager_swap_in(struct pager *pg);

#endif
