// SPDX-License-Identifier: GPL-2.0-only
/*
 * Secondary-MMU handles of VMM consumers (pager.h) and the discard
 * transition. Every handle's translations live in the VMM consumers'
 * shadow (pg->vmm_shadow), subscribed to its own notifier space, which
 * every invalidation of the object reaches through the rmap. A copy is
 *
 *	shadow_access(vmm_shadow, gfn, flags, handle_resolve, handle_copy):
 *	  shadow_fault: read_begin; sample; handle_resolve (pager_fault_in:
 *	    the vCPU shadow's fault path, fault_resolve; may sleep, may read
 *	    swap with no lock held);
 *	    install only if read_retry says no invalidation began, else again;
 *	  under the shadow's mmu_lock, which invalidation also takes: the spte
 *	    still present? mark A (D), copy through the memfd; else again.
 *
 * so no copy overlaps a zap, write-protect or punch of its page, and a
 * handle's write reaches the dirty decision through the spte's D bit
 * (pager_harvest_consumer_dirty). Copies go through the memfd, never the
 * mapping, so a VMM thread never waits on its own userfault.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pager/internal.h"

struct pager_handle {
	struct pager *pg;
	const char *name;
	pthread_mutex_t lock;		/* serialises this handle's calls */
	uint8_t *buf;			/* a page for swap-ins of this handle's faults */
};

/* One page's copy, for shadow_access. */
struct handle_op {
	struct pager_handle *h;
	uint64_t page, off, len;
	uint8_t *buf;
	bool write;
};

struct pager_handle *pager_handle_open(struct pager *pg, const char *name)
{
	struct pager_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->buf = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	if (!h->buf) {
		free(h);
		return NULL;
	}
	h->pg = pg;
	h->name = name;
	pthread_mutex_init(&h->lock, NULL);
	return h;
}

void pager_handle_close(struct pager_handle *h)
{
	if (!h)
		return;
	pthread_mutex_destroy(&h->lock);
	free(h->buf);
	free(h);
}

/* Not present in the handle's table: bring the page in (no lock held). */
static int handle_resolve(struct shadow_fault *f, void *ctx)
{
	struct handle_op *op = ctx;
	struct pager *pg = op->h->pg;

	if (!pg->limited)
		return 0;	/* no reclaim: the memfd always holds the page */
	return pager_fault_in(pg, f->pgoff, 1, op->write, op->h->buf, false);
}

/* mmu_lock held and the translation present: the page cannot go meanwhile. */
static int handle_copy(void *ctx)
{
	struct handle_op *op = ctx;
	off_t at = (off_t)((op->page << PAGE_SHIFT) + op->off);
	ssize_t done = op->write ? pwrite(op->h->pg->memfd, op->buf, op->len, at) :
				   pread(op->h->pg->memfd, op->buf, op->len, at);

	return done == (ssize_t)op->len ? 0 : -EIO;
}

static bool handle_access(struct pager_handle *h, uint64_t gpa, uint8_t *buf, size_t len,
			  bool write)
{
	struct pager *pg = h->pg;
	uint64_t p, room;
	bool ok = true;

	if (!len)
		return true;
	if (!pager_gpa_page(pg, gpa, &p, &room) || len > room)
		return false;	/* not all RAM of one region: refused, never clipped */
	pthread_mutex_lock(&h->lock);
	while (ok && len) {
		struct handle_op op = {
			.h = h, .off = gpa & (PAGE_SIZE - 1), .buf = buf, .write = write,
		};

		op.len = PAGE_SIZE - op.off < len ? PAGE_SIZE - op.off : len;
		ok = pager_gpa_page(pg, gpa, &op.page, NULL) &&
		     shadow_access(pg->vmm_shadow, gpa >> PAGE_SHIFT,
				   write ? SHADOW_FAULT_WRITE : 0, handle_resolve, handle_copy,
				   &op) == 0;
		if (ok)
			atomic_fetch_add(&pg->c.vmm_accesses, 1);
		gpa += op.len;
		buf += op.len;
		len -= op.len;
	}
	pthread_mutex_unlock(&h->lock);
	return ok;
}

bool pager_handle_read(struct pager_handle *h, uint64_t gpa, void *buf, size_t len)
{
	return handle_access(h, gpa, buf, len, false);
}

bool pager_handle_write(struct pager_handle *h, uint64_t gpa, const void *buf, size_t len)
{
	return handle_access(h, gpa, (void *)buf, len, true);
}

/*
 * The discard transition of object pages [p, p + n), chunk lock held, n
 * within the chunk, none of them busy (pager_discard waits): invalidate every secondary MMU, punch the hole, and
 * make each page absent: its swap slot (and the slot's checksum) freed,
 * the resident or swapped count lowered.
 */
static int page_discard_run(struct pager *pg, uint64_t p, unsigned n)
{
	struct inval iv;

	pager_inval_start(pg, &iv, p, n);
	if (pg->limited)
		madvise(page_hva(pg, p), (uint64_t)n << PAGE_SHIFT, MADV_DONTNEED);
	if (fallocate(pg->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(p << PAGE_SHIFT), (off_t)n << PAGE_SHIFT) < 0) {
		int err = errno;

		pager_inval_end(pg, &iv);
		return -err;
	}
	for (unsigned i = 0; i < n; i++)
		page_discarded(pg, p + i);
	pager_inval_end(pg, &iv);
	return 0;
}

bool pager_discard(struct pager *pg, uint64_t gpa, uint64_t len, enum pager_discard_reason why)
{
	uint64_t p, room, end;

	if ((gpa | len) & (PAGE_SIZE - 1) || !pager_gpa_page(pg, gpa, &p, &room) || len > room)
		return false;
	end = p + (len >> PAGE_SHIFT);
	while (p < end) {
		uint64_t stop = ((p >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;
		unsigned n = (stop < end ? stop : end) - p;
		int ret;

		pthread_mutex_lock(chunk_lock(pg, p));
		/* A fault or a write-back owns some of them: wait, lock dropped. */
		busy_wait(pg, p >> CHUNK_SHIFT, chunk_mask(p & (CHUNK_PAGES - 1), n));
		ret = page_discard_run(pg, p, n);
		pthread_mutex_unlock(chunk_lock(pg, p));
		if (ret) {
			pager_err("pager: discarding guest RAM pages: %s", strerror(-ret));
			return false;
		}
		atomic_fetch_add(why == PAGER_DISCARD_BALLOON ? &pg->c.balloon_pages :
			&pg->c.reported_free, n);
		p += n;
	}
	return true;
}

void pager_balloon_deflated(struct pager *pg, uint64_t pages)
{
	uint64_t b = atomic_load(&pg->c.balloon_pages);

	while (!atomic_compare_exchange_weak(&pg->c.balloon_pages, &b, b > pages ? b - pages : 0))
		;
}
