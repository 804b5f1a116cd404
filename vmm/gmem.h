/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_GMEM_H
#define VMM_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * How a VMM thread (a device doing DMA, a virtqueue walker, a loader after
 * start, the register dump) touches guest memory: through a handle of its
 * own, one per consumer. Each call translates the guest-physical range,
 * brings missing pages in, copies, and keeps no pointer into guest RAM
 * once it returns. A range that is not all RAM is refused, never clipped.
 *
 * The handle is a secondary MMU of the memory object: its translations are
 * dropped by every invalidation (docs/notifier-protocol.md), so a copy that
 * overlaps a reclaim of the same pages either completes before the pages go
 * or is retried after they come back.
 *
 * Handles are safe to use from any thread; one handle's calls are
 * serialised by the handle itself.
 */

struct vm;
struct gmem_handle;

/* Open a handle named for messages and statistics ("virtio-balloon"). */
struct gmem_handle *gmem_open(struct vm *vm, const char *name);
void gmem_close(struct gmem_handle *h);

/* Copy [gpa, gpa + len) out of / into guest RAM; false if not all RAM. */
bool gmem_read(struct gmem_handle *h, uint64_t gpa, void *buf, size_t len);
bool gmem_write(struct gmem_handle *h, uint64_t gpa, const void *buf, size_t len);

/* Why the guest gave pages back (for the statistics). */
enum gmem_discard_reason {
	GMEM_DISCARD_INFLATE,	/* balloon inflation: counted in balloon_pages */
	GMEM_DISCARD_REPORTED,	/* free page reporting: pages_reported_free */
};

/*
 * The guest no longer needs [gpa, gpa + len) (page-aligned): every page
 * becomes absent in the memory object (hole punched, swap slot and checksum
 * freed, resident count lowered) and its next touch reads zeroes. Returns
 * false if the range is not all RAM or not page-aligned.
 */
bool gmem_discard(struct gmem_handle *h, uint64_t gpa, uint64_t len,
		  enum gmem_discard_reason why);
/* Deflation gave `pages` inflated pages back to the guest. */
void gmem_balloon_deflated(struct gmem_handle *h, uint64_t pages);

#endif
