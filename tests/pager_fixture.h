/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TESTS_PAGER_FIXTURE_H
#define TESTS_PAGER_FIXTURE_H

/*
 * Shared by the pager's defect tests (test_pager_fault_defects,
 * test_pager_reclaim_defects): a real pager (memfd, userfaultfd, swap
 * file) with no thread started; the test drives faults (pager_fault_in)
 * and reclaim (pager_clock_step, one step of the reclaim thread's clock)
 * itself, so every step is ordered. The test thread touches the mapping
 * only where a page is present (nothing would serve its fault).
 *
 * Where the kernel cannot be made to fail on demand (MADV_DONTNEED, a hole
 * punch, PAGEMAP_SCAN on a kernel without it) or to stop a PAGEMAP_SCAN
 * walk early, the test binaries are linked with ld's --wrap: the pager's
 * madvise, fallocate and ioctl calls reach the wrappers of pager_fixture.c,
 * which pass every call to the kernel unless a test armed a failure below.
 * UFFDIO_COPY and UFFDIO_ZEROPAGE are never faked; the wrapper only counts
 * the kernel's answers. Needs userfaultfd (root), not /dev/kvm.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pager/internal.h"

#define NPAGES	128		/* two chunks */
#define WORDS	(PAGE_SIZE / 8)

/* Armed by the tests (counts of calls to fail), reset by pager_down. */
extern atomic_int fail_dontneed;	/* MADV_DONTNEED: ENOMEM */
extern atomic_int fail_punch;		/* FALLOC_FL_PUNCH_HOLE: EIO */
extern atomic_int fail_scan;		/* PAGEMAP_SCAN: ENOTTY (a kernel without it) */
extern atomic_int scan_max_pages;	/* PAGEMAP_SCAN: the kernel stops after so many pages */
/* What the kernel answered. */
extern atomic_int scans_short;		/* PAGEMAP_SCAN walks that ended before the range */
extern atomic_int copies_partial;	/* UFFDIO_COPY: EAGAIN with bytes done */
extern atomic_int copies_eexist;	/* UFFDIO_COPY: EEXIST */

extern int memfd;
extern uint8_t *base;			/* the memfd, mapped and registered */
extern struct pager *pg;
extern uint8_t *buf;			/* a fault's swap-in buffer */
extern atomic_uint fatal_calls;		/* the pager's fatal callback */

/* Word @w of generation @gen of page @page's pattern (never zero). */
uint64_t pattern(uint64_t page, uint64_t gen, unsigned w);
void fill(uint64_t *words, uint64_t page, uint64_t gen);
/*
 * NPAGES of guest RAM held to @limit pages (overshoot @overshoot), pages
 * [from, to) written before the pager starts (generation 1: the loader's).
 */
void pager_up(uint64_t limit, uint64_t overshoot, uint64_t from, uint64_t to);
/* The checked fixture's teardown. */
void pager_down(void);
uint64_t resident_now(void);
page_state_t state_of(uint64_t p);
/* Pages whose state says resident: what the resident count must be, threads idle. */
uint64_t resident_states(void);
/* Does object page @p hold generation @gen of its pattern (read through the memfd)? */
bool holds(uint64_t p, uint64_t gen);
/* Put generation @gen of page @p's pattern into the memfd, beside the pager. */
void plant(uint64_t p, uint64_t gen);
/* Two clock steps over chunk @c: zap its resident pages, then evict them. */
void swap_out_chunk(uint64_t c);

#endif
