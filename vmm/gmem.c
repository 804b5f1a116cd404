// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest-memory handles of VMM threads (vmm/gmem.h): each is a
 * secondary-MMU handle of the memory object (pager_handle_open), so its
 * copies follow the notifier protocol of docs/notifier-protocol.md.
 */
#include <stdlib.h>

#include "pager/pager.h"
#include "vmm/gmem.h"
#include "vmm/vm.h"

struct gmem_handle {
	struct pager *pg;
	struct pager_handle *h;
};

struct gmem_handle *gmem_open(struct vm *vm, const char *name)
{
	struct gmem_handle *g = calloc(1, sizeof(*g));

	if (!g || !vm->pager || !(g->h = pager_handle_open(vm->pager, name))) {
		free(g);
		return NULL;
	}
	g->pg = vm->pager;
	return g;
}

void gmem_close(struct gmem_handle *g)
{
	if (!g)
		return;
	pager_handle_close(g->h);
	free(g);
}

bool gmem_read(struct gmem_handle *g, uint64_t gpa, void *buf, size_t len)
{
	return pager_handle_read(g->h, gpa, buf, len);
}

bool gmem_write(struct gmem_handle *g, uint64_t gpa, const void *buf, size_t len)
{
	return pager_handle_write(g->h, gpa, buf, len);
}

bool gmem_discard(struct gmem_handle *g, uint64_t gpa, uint64_t len,
		  enum gmem_discard_reason why)
{
	return pager_discard(g->pg, gpa, len, why == GMEM_DISCARD_INFLATE ? PAGER_DISCARD_BALLOON :
						  PAGER_DISCARD_REPORTED);
}

void gmem_balloon_deflated(struct gmem_handle *g, uint64_t pages)
{
	pager_balloon_deflated(g->pg, pages);
}
