// SPDX-License-Identifier: GPL-2.0-only
/*
 * Provisional guest-memory handles: copies go through guest_mem_read/write
 * (the pager's access path when it owns guest RAM); a discard punches the
 * memfd when there is no pager. The secondary-MMU handles of the memory
 * object replace this file.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "vmm/gmem.h"
#include "vmm/util.h"
#include "vmm/vm.h"

struct gmem_handle {
	struct vm *vm;
	const char *name;
};

static atomic_uint_fast64_t balloon_pages, pages_reported_free;

struct gmem_handle *gmem_open(struct vm *vm, const char *name)
{
	struct gmem_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->vm = vm;
	h->name = name;
	return h;
}

void gmem_close(struct gmem_handle *h)
{
	free(h);
}

bool gmem_read(struct gmem_handle *h, uint64_t gpa, void *buf, size_t len)
{
	return guest_mem_read(&h->vm->mem, gpa, buf, len);
}

bool gmem_write(struct gmem_handle *h, uint64_t gpa, const void *buf, size_t len)
{
	return guest_mem_write(&h->vm->mem, gpa, buf, len);
}

bool gmem_discard(struct gmem_handle *h, uint64_t gpa, uint64_t len,
		  enum gmem_discard_reason why)
{
	const struct guest_mem *mem = &h->vm->mem;
	const struct guest_region *r = guest_mem_region(mem, gpa);
	uint64_t off;

	if (!r || (gpa | len) & (PAGE_SIZE - 1) || len > r->size - (gpa - r->gpa))
		return false;
	if (h->vm->pager)
		return false;	/* needs the memory object's discard transition */
	off = (r->pgoff << PAGE_SHIFT) + (gpa - r->gpa);
	if (fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
		      (off_t)len))
		return false;
	atomic_fetch_add(why == GMEM_DISCARD_INFLATE ? &balloon_pages : &pages_reported_free,
			 len >> PAGE_SHIFT);
	return true;
}

void gmem_balloon_deflated(struct gmem_handle *h, uint64_t pages)
{
	(void)h;
	atomic_fetch_sub(&balloon_pages, pages);
}
