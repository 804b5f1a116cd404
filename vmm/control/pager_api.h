/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_PAGER_API_H
#define VMM_CONTROL_PAGER_API_H
/*
 * A copy of the pager library's control API as agreed between the
 * redesign (pager/pager.h) and the control socket, so that cmd_pager.c can
 * be written before that library is merged. When it is, cmd_pager.c
 * includes pager/pager.h instead and this file goes.
 */
#include <stddef.h>
#include <stdint.h>

struct pager;

/* A snapshot of the pager, for x-query-pager and --stats (all counters as in --stats). */
struct pager_status {
	const char *state;		/* "idle", "reclaiming", "throttling", "paused-store-full",
					   "swapping-in", "stopped" */
	uint64_t guest_pages, resident_limit_pages, resident_pages, resident_peak_pages;
	uint64_t swapped_pages, swap_slots_in_use;
	uint64_t faults_missing, faults_minor, fault_retries;
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

/* Events for the VMM (QMP X_PAGER_ERROR, and the store-full pause of the vCPUs). */
enum pager_event {
	PAGER_EVENT_WRITE_ERROR,	/* a swap write failed; reclaim backs off */
	PAGER_EVENT_STORE_FULL,		/* overshoot exhausted: the VMM must pause the vCPUs */
	PAGER_EVENT_STORE_OK,		/* slots free again: the VMM may resume */
	PAGER_EVENT_UNRESTORABLE,	/* a page cannot be restored (then the fatal callback) */
};
/* Set in the pager's configuration; called from pager threads, must not block long. */
typedef void (*pager_event_fn)(void *opaque, enum pager_event ev, uint64_t gpa, const char *msg);

#endif
