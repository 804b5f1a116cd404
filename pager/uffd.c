// SPDX-License-Identifier: GPL-2.0-only
/*
 * userfaultfd resolution for the fault side (pager/fault.c): one
 * UFFDIO_COPY / ZEROPAGE / CONTINUE over a run of object pages, with the
 * kernel's EAGAIN and EEXIST answers handled. Called with no lock held,
 * the pages busy (the caller's).
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "pager/internal.h"
#include "pager/uffd_compat.h"
#include "pager/util.h"

/*
 * EEXIST from UFFDIO_COPY / UFFDIO_ZEROPAGE: page p is mapped although its
 * state says absent or swapped, an invariant is broken. It is accepted only
 * if it already holds exactly what we were installing (@src, or zeroes);
 * else the caller stops the guest rather than declare anything clean.
 */
static int uffd_verify_existing(struct pager *pg, uint64_t p, const void *src)
{
	uint8_t cur[PAGE_SIZE];
	static const uint8_t zero[PAGE_SIZE];

	if (pread(pg->memfd, cur, PAGE_SIZE, (off_t)(p << PAGE_SHIFT)) != (ssize_t)PAGE_SIZE)
		return -EIO;
	if (memcmp(cur, src ? src : zero, PAGE_SIZE)) {
		pager_err("pager: guest RAM page %llu is mapped with other contents although its "
			  "state says %s: stopping", (unsigned long long)p,
			  src ? "swapped" : "absent");
		return -EEXIST;
	}
	return 0;
}

/*
 * One UFFDIO_{COPY,ZEROPAGE,CONTINUE} over [p, p + n). EAGAIN (the mapping
 * is changing) is retried after what was done; EEXIST (a page already
 * mapped) is resolved page by page from the first page not yet done, each
 * page with its own source; an existing page is verified for COPY and
 * ZEROPAGE (uffd_verify_existing), expected for CONTINUE. Returns 0 or -errno.
 */
int uffd_resolve(struct pager *pg, unsigned long cmd, uint64_t p, unsigned n,
			const void *src, uint64_t mode)
{
	uint64_t start = (uintptr_t)page_hva(pg, p), len = (uint64_t)n << PAGE_SHIFT;
	__s64 *result;
	union {
		struct uffdio_copy copy;
		struct uffdio_zeropage zero;
		struct uffdio_continue cont;
	} a;

	for (int tries = 0; tries < 100; tries++) {
		/* Pages before start are done; src, if any, is the source of start. */
		uint64_t first = (start - (uintptr_t)pg->base) >> PAGE_SHIFT;

		memset(&a, 0, sizeof(a));
		if (cmd == UFFDIO_COPY) {
			a.copy = (struct uffdio_copy){ .dst = start, .src = (uintptr_t)src,
						       .len = len, .mode = mode };
			result = &a.copy.copy;
		} else if (cmd == UFFDIO_ZEROPAGE) {
			a.zero = (struct uffdio_zeropage){ .range = { start, len } };
			result = &a.zero.zeropage;
		} else {
			a.cont = (struct uffdio_continue){ .range = { start, len }, .mode = mode };
			result = &a.cont.mapped;
		}
		if (ioctl(pg->uffd, cmd, &a) == 0)
			return 0;
		if (errno == EAGAIN && *result > 0 && (uint64_t)*result < len) {
			/* Partly done: continue after what was resolved. */
			uint64_t done = *result & ~(PAGE_SIZE - 1);

			start += done;
			len -= done;
			if (src)
				src = (const uint8_t *)src + done;
			continue;
		}
		if (errno == EAGAIN)
			continue;
		if (errno == EEXIST) {
			unsigned left = len >> PAGE_SHIFT;

			if (left == 1) {
				struct uffdio_range wake = { start, len };
				int ret = cmd == UFFDIO_CONTINUE ? 0 :
					  uffd_verify_existing(pg, first, src);

				if (!ret)
					ioctl(pg->uffd, UFFDIO_WAKE, &wake);
				return ret;
			}
			for (unsigned i = 0; i < left; i++) {
				int ret = uffd_resolve(pg, cmd, first + i, 1,
						       src ? (const uint8_t *)src + ((uint64_t)i << PAGE_SHIFT) : NULL,
						       mode);
				if (ret)
					return ret;
			}
			return 0;
		}
		return -errno;
	}
	(void)p;
	return -EBUSY;	/* not -EAGAIN: that would make shadow_fault start again */
}

