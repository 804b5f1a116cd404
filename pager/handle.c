// SPDX-License-Identifier: GPL-2.0-only
/*
 * Secondary-MMU handles of VMM consumers (pager.h), and the discard
 * transition they ask for.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pager/internal.h"

struct pager_handle {
	struct pager *pg;
	const char *name;
	pthread_mutex_t lock;
};

struct pager_handle *pager_handle_open(struct pager *pg, const char *name)
{
	struct pager_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
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
	free(h);
}

static bool handle_copy(struct pager_handle *h, uint64_t gpa, void *buf, size_t len, bool write)
{
	struct pager *pg = h->pg;
	uint64_t p, room;
	bool ok;

	if (!pager_gpa_page(pg, gpa, &p, &room) || len > room)
		return false;
	pthread_mutex_lock(&h->lock);
	if (pg->limited) {
		ok = pager_access(pg, gpa, buf, len, write);
	} else {
		off_t off = (off_t)((p << PAGE_SHIFT) + (gpa & (PAGE_SIZE - 1)));

		ok = (write ? pwrite(pg->memfd, buf, len, off) : pread(pg->memfd, buf, len, off)) ==
		     (ssize_t)len;
	}
	pthread_mutex_unlock(&h->lock);
	return ok;
}

bool pager_handle_read(struct pager_handle *h, uint64_t gpa, void *buf, size_t len)
{
	return handle_copy(h, gpa, buf, len, false);
}

bool pager_handle_write(struct pager_handle *h, uint64_t gpa, const void *buf, size_t len)
{
	return handle_copy(h, gpa, (void *)buf, len, true);
}

bool pager_discard(struct pager *pg, uint64_t gpa, uint64_t len, enum pager_discard_reason why)
{
	(void)pg; (void)gpa; (void)len; (void)why;
	return false;
}

void pager_balloon_deflated(struct pager *pg, uint64_t pages)
{
	(void)pg; (void)pages;
}
