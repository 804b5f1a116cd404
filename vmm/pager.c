// SPDX-License-Identifier: MIT
/*
 * The pager's mechanism: userfaultfd registration, fault threads, the
 * reclaim clock, zap-and-scan dirty tracking. States, transitions and the
 * lock order are in pager.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "vmm/exit_status.h"
#include "vmm/pager_internal.h"
#include "vmm/uffd_compat.h"
#include "vmm/util.h"
#include "vmm/vm.h"

/* --- page state words ------------------------------------------------------ */

enum { PS_ABSENT = 0, PS_RESIDENT = 1, PS_SWAPPED = 2 };
#define PS_STATE_MASK	3ULL
#define PF_ZAPPED	(1ULL << 2)
#define PF_DIRTY	(1ULL << 3)
#define PS_SLOT_SHIFT	16

static inline unsigned ps_state(uint64_t w)
{
	return w & PS_STATE_MASK;
}

static inline uint64_t ps_slot(uint64_t w)
{
	return (w >> PS_SLOT_SHIFT) ? (w >> PS_SLOT_SHIFT) - 1 : SWAP_NO_SLOT;
}

static inline uint64_t ps_make(unsigned state, uint64_t flags, uint64_t slot)
{
	uint64_t s = slot == SWAP_NO_SLOT ? 0 : (slot + 1) << PS_SLOT_SHIFT;

	return s | flags | state;
}

/* Clean: the swap slot still holds exactly this page. */
static inline bool ps_clean(uint64_t w)
{
	return ps_slot(w) != SWAP_NO_SLOT && !(w & PF_DIRTY);
}

static inline void *page_hva(const struct pager *pg, uint64_t p)
{
	return pg->base + (p << PAGE_SHIFT);
}

static pthread_mutex_t *chunk_lock(struct pager *pg, uint64_t p)
{
	return &pg->chunk_locks[p >> CHUNK_SHIFT];
}

/* --- the shadow: rmap by pgoff ------------------------------------------------ */

/*
 * Invalidations of object pages [p, p + n): one mn_range per mapping run
 * (every region of every VM mapping those pages, found by pgoff arithmetic).
 */
struct inval {
	struct mn_range r[GUEST_MEM_MAX_REGIONS * 2];
	unsigned n;
};

static void inval_start(struct pager *pg, struct inval *iv, uint64_t p, uint64_t n)
{
	struct shadow_rmap_iter it;

	iv->n = 0;
	shadow_rmap_lock(pg->obj);
	for_each_rmap_range(pg->obj, p, n, &it)
		if (iv->n < ARRAY_SIZE(iv->r))
			mn_invalidate_range_start(shadow_space(it.shadow), &iv->r[iv->n++],
						  it.gfn, it.gfn + it.count);
}

static void inval_end(struct pager *pg, struct inval *iv)
{
	for (unsigned i = 0; i < iv->n; i++)
		mn_invalidate_range_end(&iv->r[i]);
	shadow_rmap_unlock(pg->obj);
}

enum spte_update { SU_DIRTY, SU_SWAPPED, SU_ZERO };

/* Inside an invalidation of page p: update every spte that maps it. */
static void spte_update(struct pager *pg, uint64_t p, enum spte_update what, uint64_t slot)
{
	struct shadow_rmap_iter it;

	for_each_rmap_spte(pg->obj, p, &it) {
		shadow_lock(it.shadow);
		if (what == SU_DIRTY)
			*it.sptep = spte_mark_written(*it.sptep);
		else if (what == SU_SWAPPED)
			shadow_spte_set_swapped(it.shadow, it.sptep, slot);
		else
			shadow_spte_set_zero(it.shadow, it.sptep);
		shadow_unlock(it.shadow);
	}
}

/* The gfn of object page p in our VM (its first mapping). */
static bool page_gfn(struct pager *pg, uint64_t p, uint64_t *gfn)
{
	struct shadow_rmap_iter it;
	bool found = false;

	shadow_rmap_lock(pg->obj);
	for_each_rmap_spte(pg->obj, p, &it) {
		if (it.shadow == pg->shadow) {
			*gfn = it.gfn;
			found = true;
			break;
		}
	}
	shadow_rmap_unlock(pg->obj);
	return found;
}

/* --- userfaultfd resolution ---------------------------------------------------- */

static void report_memory_error(struct pager *pg, uint64_t p, uint64_t slot, int err)
{
	uint64_t gfn = 0;

	/* One explanation is enough: the guest is stopping. */
	if (atomic_exchange(&pg->reported_memory_error, true))
		return;
	page_gfn(pg, p, &gfn);
	vmm_err("guest page at gpa 0x%llx (swap slot %llu): %s; stopping the guest rather "
		"than give it wrong data", (unsigned long long)(gfn << PAGE_SHIFT),
		(unsigned long long)slot,
		err == -EBADMSG ? "swap checksum mismatch" : "swap read error");
	vm_request_stop(pg->vm, VMM_EXIT_MEMORY);
}

/*
 * One UFFDIO_{COPY,ZEROPAGE,CONTINUE} over [p, p + n). EAGAIN (the mapping
 * is changing) is retried; EEXIST (a page already mapped) is resolved
 * page by page, keeping what is mapped. Returns 0 or -errno.
 */
static int uffd_resolve(struct pager *pg, unsigned long cmd, uint64_t p, unsigned n,
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
			uint64_t done = *result;

			start += done;
			len -= done;
			if (src)
				src = (const uint8_t *)src + done;
			continue;
		}
		if (errno == EAGAIN)
			continue;
		if (errno == EEXIST) {
			if (n == 1) {
				struct uffdio_range wake = { start, len };

				ioctl(pg->uffd, UFFDIO_WAKE, &wake);
				return 0;
			}
			for (unsigned i = 0; i < n; i++) {
				int ret = uffd_resolve(pg, cmd, p + i, 1,
						       src ? (const uint8_t *)src + ((uint64_t)i << PAGE_SHIFT) : NULL,
						       mode);
				if (ret)
					return ret;
			}
			return 0;
		}
		return -errno;
	}
	return -EAGAIN;
}

enum action { ACT_NONE, ACT_ZERO, ACT_COPY, ACT_CONT, ACT_CONT_WP };

static enum action page_action(const struct pager *pg, uint64_t w)
{
	switch (ps_state(w)) {
	case PS_ABSENT:
		return ACT_ZERO;
	case PS_SWAPPED:
		return ACT_COPY;
	default:
		if (!(w & PF_ZAPPED))
			return ACT_NONE;
		return pg->wp_async && ps_clean(w) ? ACT_CONT_WP : ACT_CONT;
	}
}

struct fault_ctx {
	struct pager *pg;
	uint8_t *buf;		/* CHUNK_PAGES pages for swap-ins */
	bool from_uffd;		/* a thread waits on the first page's host pte */
	uint64_t used;		/* pages that became resident */
};

/*
 * Bring object pages [p, p + n) in, by runs of the same action. Chunk lock
 * held. Returns 0 or -errno; a swap read failure stops the guest.
 */
static int resolve_pages(struct fault_ctx *fc, uint64_t p, unsigned n)
{
	struct pager *pg = fc->pg;
	unsigned i = 0;

	while (i < n) {
		uint64_t q = p + i;
		enum action act = page_action(pg, pg->state[q]);
		unsigned run = 1;
		uint64_t mode = pg->wp_async ? UFFDIO_COPY_MODE_WP : 0;
		int ret = 0;

		while (i + run < n && page_action(pg, pg->state[q + run]) == act)
			run++;
		switch (act) {
		case ACT_NONE:
			/* Mapped as far as we know; a waiter means the host dropped it. */
			if (i == 0 && fc->from_uffd)
				ret = uffd_resolve(pg, UFFDIO_CONTINUE, q, 1, NULL, 0);
			break;
		case ACT_ZERO:
			ret = uffd_resolve(pg, UFFDIO_ZEROPAGE, q, run, NULL, 0);
			if (ret)
				break;
			for (unsigned k = 0; k < run; k++)
				pg->state[q + k] = ps_make(PS_RESIDENT, PF_DIRTY, SWAP_NO_SLOT);
			atomic_fetch_add(&pg->c.zero_fills, run);
			fc->used += run;
			break;
		case ACT_COPY:
			for (unsigned k = 0; k < run; k++) {
				uint64_t slot = ps_slot(pg->state[q + k]);

				ret = swap_read(&pg->store, slot, q + k, fc->buf + ((uint64_t)k << PAGE_SHIFT));
				if (ret) {
					report_memory_error(pg, q + k, slot, ret);
					return ret;
				}
			}
			ret = uffd_resolve(pg, UFFDIO_COPY, q, run, fc->buf, mode);
			if (ret)
				break;
			/* Clean: the slot stays valid until the page is written. */
			for (unsigned k = 0; k < run; k++)
				pg->state[q + k] = ps_make(PS_RESIDENT, pg->wp_async ? 0 : PF_DIRTY,
							   ps_slot(pg->state[q + k]));
			if (!pg->wp_async)
				for (unsigned k = 0; k < run; k++) {
					swap_slot_free(&pg->store, ps_slot(pg->state[q + k]));
					pg->state[q + k] = ps_make(PS_RESIDENT, PF_DIRTY, SWAP_NO_SLOT);
				}
			atomic_fetch_add(&pg->c.swapped_in, run);
			fc->used += run;
			break;
		case ACT_CONT:
		case ACT_CONT_WP:
			ret = uffd_resolve(pg, UFFDIO_CONTINUE, q, run, NULL,
					   act == ACT_CONT_WP ? UFFDIO_CONTINUE_MODE_WP : 0);
			if (ret)
				break;
			for (unsigned k = 0; k < run; k++)
				pg->state[q + k] &= ~PF_ZAPPED;
			atomic_fetch_add(&pg->c.continued, run);
			break;
		}
		if (ret) {
			vmm_err("pager: resolving guest RAM page %llu: %s",
				(unsigned long long)q, strerror(-ret));
			return ret;
		}
		i += run;
	}
	return 0;
}

static int resolve_cb(struct shadow_fault *f, void *ctx)
{
	return resolve_pages(ctx, f->pgoff, f->npages);
}

static bool backoff_active(struct pager *pg)
{
	return now_ns() < atomic_load(&pg->backoff_until);
}

static void kick_reclaim(struct pager *pg)
{
	pthread_mutex_lock(&pg->space_lock);
	pg->reclaim_kick = true;
	pthread_cond_signal(&pg->reclaim_cv);
	pthread_mutex_unlock(&pg->space_lock);
}

/* Reserve @need resident pages if they fit under the limit (or @force). */
static bool reserve(struct pager *pg, uint64_t need, bool force)
{
	uint64_t r = atomic_load(&pg->resident);

	do {
		if (!force && r + need > pg->limit)
			return false;
	} while (!atomic_compare_exchange_weak(&pg->resident, &r, r + need));
	return true;
}

/*
 * Chunk lock held: reserve @need more resident pages, waiting for reclaim
 * while they do not fit under the limit. Reclaim skips chunks it cannot
 * trylock, so it never waits for us; if it cannot make room (the store is
 * failing, everything else is busy) we go on above the limit after a
 * bounded wait, and the stats show it.
 */
static void throttle(struct pager *pg, uint64_t need)
{
	struct timespec until;
	bool got;

	if (reserve(pg, need, false))
		return;
	atomic_fetch_add(&pg->c.throttled, 1);
	pthread_mutex_lock(&pg->space_lock);
	for (int rounds = 0; !(got = reserve(pg, need, false)) && rounds < 100; rounds++) {
		if (atomic_load(&pg->stopping) || backoff_active(pg))
			break;
		pg->reclaim_kick = true;
		pthread_cond_signal(&pg->reclaim_cv);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pg->space_cv, &pg->space_lock, &until);
	}
	if (!got)
		reserve(pg, need, true);
	pthread_mutex_unlock(&pg->space_lock);
}

static void note_resident(struct pager *pg)
{
	uint64_t r = atomic_load(&pg->resident), peak = atomic_load(&pg->c.resident_peak);

	while (r > peak && !atomic_compare_exchange_weak(&pg->c.resident_peak, &peak, r))
		;
	if (r >= pg->wm_high)
		kick_reclaim(pg);
}

/*
 * Chunk lock held: make object pages [p, p + n) present (n clipped to the
 * chunk), through the shadow's fault path and its retry protocol.
 */
static int fault_in_locked(struct pager *pg, uint64_t p, unsigned n, bool write,
			   uint8_t *buf, bool from_uffd)
{
	struct fault_ctx fc = { .pg = pg, .buf = buf, .from_uffd = from_uffd };
	uint64_t gfn, need = 0;
	int ret;

	for (unsigned i = 0; i < n; i++)
		need += ps_state(pg->state[p + i]) != PS_RESIDENT;
	if (need)
		throttle(pg, need);
	if (!page_gfn(pg, p, &gfn))
		return -EFAULT;
	/* Returns how many sptes it installed: 0 when gfn was present already. */
	ret = shadow_fault(pg->shadow, gfn, n, write ? SHADOW_FAULT_WRITE : 0, resolve_cb, &fc);
	if (ret > 0)
		ret = 0;
	else if (ret == 0 && from_uffd)
		/* Present in the shadow: the waiter may still need its host pte back. */
		ret = resolve_pages(&fc, p, 1);
	/* Give back what the batch reserved but did not use (clipped, failed). */
	if (need > fc.used)
		atomic_fetch_sub(&pg->resident, need - fc.used);
	if (need)
		note_resident(pg);
	return ret;
}

/* --- access pattern -------------------------------------------------------------- */

/*
 * How many pages to resolve for a fault of thread @tid at page @p: one for
 * random access; on a sequential run, a window that doubles up to a chunk,
 * as readahead does.
 */
static unsigned fault_window(struct pager *pg, unsigned tid, uint64_t p)
{
	struct seq_hint *h = &pg->hints[tid % SEQ_HINTS];
	unsigned window = 1;

	if (atomic_load_explicit(&h->tid, memory_order_relaxed) == tid) {
		uint64_t next = atomic_load_explicit(&h->next, memory_order_relaxed);
		unsigned w = atomic_load_explicit(&h->window, memory_order_relaxed);

		if (p >= next && p <= next + w)
			window = w * 2 > CHUNK_PAGES ? CHUNK_PAGES : w * 2;
	}
	atomic_store_explicit(&h->tid, tid, memory_order_relaxed);
	atomic_store_explicit(&h->window, window, memory_order_relaxed);
	atomic_store_explicit(&h->next, p + window, memory_order_relaxed);
	return window;
}

/* --- fault threads --------------------------------------------------------------- */

static void handle_fault(struct pager *pg, const struct uffd_msg *msg, uint8_t *buf)
{
	uint64_t addr = msg->arg.pagefault.address & ~(PAGE_SIZE - 1);
	uint64_t flags = msg->arg.pagefault.flags, t0 = now_ns(), p, end;
	unsigned n;
	int ret;

	if (addr < (uintptr_t)pg->base || addr >= (uintptr_t)pg->base + (pg->npages << PAGE_SHIFT))
		return;
	p = (addr - (uintptr_t)pg->base) >> PAGE_SHIFT;
	if (flags & UFFD_PAGEFAULT_FLAG_MINOR)
		atomic_fetch_add(&pg->c.faults_minor, 1);
	else if (flags & UFFD_PAGEFAULT_FLAG_WP)
		atomic_fetch_add(&pg->c.faults_wp, 1);
	else
		atomic_fetch_add(&pg->c.faults_missing, 1);

	n = fault_window(pg, msg->arg.pagefault.feat.ptid, p);
	end = ((p >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;
	if (end > pg->npages)
		end = pg->npages;
	if (p + n > end)
		n = end - p;

	pthread_mutex_lock(chunk_lock(pg, p));
	ret = fault_in_locked(pg, p, n, flags & UFFD_PAGEFAULT_FLAG_WRITE, buf, true);
	pthread_mutex_unlock(chunk_lock(pg, p));
	if (ret && ret != -EBADMSG && ret != -EIO && !atomic_load(&pg->stopping)) {
		/* The faulting vCPU would wait forever: end the VM instead. */
		vmm_err("pager: fault at guest RAM page %llu not resolved: %s",
			(unsigned long long)p, strerror(-ret));
		vm_request_stop(pg->vm, VMM_EXIT_INTERNAL);
	}
	pager_hist_add(pg, now_ns() - t0);
}

static void *fault_thread(void *arg)
{
	struct pager *pg = arg;
	struct uffd_msg msgs[16];
	uint8_t *buf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);

	if (!buf) {
		vmm_err("pager: out of memory for a fault thread");
		return NULL;
	}
	while (!atomic_load(&pg->stopping)) {
		struct pollfd fds[2] = {
			{ .fd = pg->uffd, .events = POLLIN },
			{ .fd = pg->stop_fd, .events = POLLIN },
		};
		ssize_t r;

		if (poll(fds, 2, -1) < 0 && errno != EINTR)
			break;
		if (fds[1].revents)
			break;
		r = read(pg->uffd, msgs, sizeof(msgs));
		if (r < 0)
			continue;	/* EAGAIN: another thread took it */
		for (size_t i = 0; i < r / sizeof(msgs[0]); i++)
			if (msgs[i].event == UFFD_EVENT_PAGEFAULT && !atomic_load(&pg->stopping))
				handle_fault(pg, &msgs[i], buf);
	}
	free(buf);
	return NULL;
}

/* --- dirty tracking: zap, then scan ---------------------------------------------- */

/*
 * After [p, p + n) was zapped: which of its pages had been written since
 * they were last write-protected? A written pte leaves nothing behind, a
 * protected one leaves a uffd-wp marker; PAGEMAP_SCAN reports the former
 * PAGE_IS_WRITTEN (classic pagemap: bit 57 clear). Sets bit i of *written.
 */
static void scan_written(struct pager *pg, uint64_t p, unsigned n, uint64_t *written)
{
	*written = 0;
	if (!pg->wp_async) {
		*written = n == 64 ? ~0ULL : (1ULL << n) - 1;
		return;
	}
	if (pg->pagemap_scan) {
		struct page_region regs[CHUNK_PAGES];
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.start = (uintptr_t)page_hva(pg, p),
			.end = (uintptr_t)page_hva(pg, p + n),
			.vec = (uintptr_t)regs,
			.vec_len = CHUNK_PAGES,
			.category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};
		int nr = ioctl(pg->pagemap_fd, PAGEMAP_SCAN, &a);

		if (nr >= 0) {
			for (int i = 0; i < nr; i++)
				for (uint64_t a0 = regs[i].start; a0 < regs[i].end; a0 += PAGE_SIZE)
					*written |= 1ULL << ((a0 - (uintptr_t)page_hva(pg, p)) >> PAGE_SHIFT);
			return;
		}
		pg->pagemap_scan = false;
	}
	{
		uint64_t e[CHUNK_PAGES];
		ssize_t r = pread(pg->pagemap_fd, e, n * sizeof(e[0]),
				  ((uintptr_t)page_hva(pg, p) >> PAGE_SHIFT) * sizeof(e[0]));

		for (unsigned i = 0; i < n; i++)
			if (r != (ssize_t)(n * sizeof(e[0])) || !(e[i] & (1ULL << 57)))
				*written |= 1ULL << i;
	}
}

/* Runs of set bits in a chunk mask: for_each_run(mask, a, b) { [a, b) } */
static bool next_run(uint64_t mask, unsigned *a, unsigned *b)
{
	uint64_t m = *b >= 64 ? 0 : mask & (~0ULL << *b);

	if (!m)
		return false;
	*a = __builtin_ctzll(m);
	m = ~mask & (*a == 63 ? 0 : ~0ULL << (*a + 1));
	*b = m ? __builtin_ctzll(m) : 64;
	return true;
}

#define for_each_run(mask, a, b) for (a = 0, b = 0; next_run(mask, &a, &b); )

/*
 * Chunk lock held: zap the host ptes of the pages in @mask (relative to
 * chunk base @p0) so their next touch is seen, recording which were
 * written since last protected.
 */
static void zap_pages(struct pager *pg, uint64_t p0, uint64_t mask)
{
	unsigned a, b;

	for_each_run(mask, a, b) {
		struct inval iv;
		uint64_t written;

		inval_start(pg, &iv, p0 + a, b - a);
		madvise(page_hva(pg, p0 + a), (uint64_t)(b - a) << PAGE_SHIFT, MADV_DONTNEED);
		scan_written(pg, p0 + a, b - a, &written);
		for (unsigned i = a; i < b; i++) {
			uint64_t *w = &pg->state[p0 + i];

			*w |= PF_ZAPPED;
			if (!(written & (1ULL << (i - a))))
				continue;
			if (ps_slot(*w) != SWAP_NO_SLOT) {
				swap_slot_free(&pg->store, ps_slot(*w));
				atomic_fetch_add(&pg->c.dirtied, 1);
			}
			*w = ps_make(PS_RESIDENT, PF_ZAPPED | PF_DIRTY, SWAP_NO_SLOT);
			spte_update(pg, p0 + i, SU_DIRTY, 0);
		}
		inval_end(pg, &iv);
		atomic_fetch_add(&pg->c.zaps, b - a);
	}
}

/* --- reclaim ------------------------------------------------------------------------ */

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *w = (const uint64_t *)p;

	for (unsigned i = 0; i < PAGE_SIZE / 8; i++)
		if (w[i])
			return false;
	return true;
}

static bool read_pages(struct pager *pg, uint64_t p, unsigned n, uint8_t *buf)
{
	size_t len = (size_t)n << PAGE_SHIFT, done = 0;

	while (done < len) {
		ssize_t r = pread(pg->memfd, buf + done, len - done, (p << PAGE_SHIFT) + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		done += r;
	}
	return true;
}

static void start_backoff(struct pager *pg, int err)
{
	atomic_store(&pg->backoff_until, now_ns() + 1000000000ULL);
	atomic_fetch_add(&pg->c.write_failures, 1);
	if (err == -ENOSPC) {
		if (!atomic_exchange(&pg->reported_full, true))
			vmm_err("pager: the swap store is full (%s): pages stay resident and "
				"reclaim backs off; the guest may run above --mem-resident",
				pg->store.dir);
	} else if (!atomic_exchange(&pg->reported_write_error, true)) {
		vmm_err("pager: writing the swap store failed (%s): pages stay resident and "
			"reclaim backs off; the guest may run above --mem-resident",
			strerror(-err));
	}
	/* Throttled faults must not wait for reclaim that cannot happen. */
	pthread_mutex_lock(&pg->space_lock);
	pthread_cond_broadcast(&pg->space_cv);
	pthread_mutex_unlock(&pg->space_lock);
}

/*
 * Chunk lock held: evict the cold (zapped, untouched since) pages in
 * @mask: drop clean ones, store nothing for zero ones, write the rest in
 * one batch, punch them all. Returns how many pages left the page cache.
 */
static unsigned reclaim_pages(struct pager *pg, uint64_t p0, uint64_t mask)
{
	uint64_t drop = 0, zero = 0, write = 0, pages[CHUNK_PAGES], slots[CHUNK_PAGES];
	unsigned a, b, nw = 0, got = 0, evicted = 0;

	for_each_run(mask, a, b) {
		uint64_t dirty = 0;
		unsigned c, d;

		for (unsigned i = a; i < b; i++) {
			if (ps_clean(pg->state[p0 + i]))
				drop |= 1ULL << i;
			else
				dirty |= 1ULL << i;
		}
		for_each_run(dirty, c, d) {
			if (!read_pages(pg, p0 + c, d - c, pg->rbuf + ((uint64_t)c << PAGE_SHIFT)))
				continue;	/* cannot read it: keep it */
			for (unsigned i = c; i < d; i++) {
				const uint8_t *src = pg->rbuf + ((uint64_t)i << PAGE_SHIFT);

				if (page_is_zero(src)) {
					zero |= 1ULL << i;
				} else {
					memcpy(pg->wbuf + ((uint64_t)nw << PAGE_SHIFT), src, PAGE_SIZE);
					pages[nw++] = p0 + i;
				}
			}
		}
	}
	if (nw && !backoff_active(pg)) {
		int ret;

		got = swap_slots_alloc(&pg->store, slots, nw);
		ret = got ? swap_write(&pg->store, slots, pages, pg->wbuf, got) : 0;
		if (ret) {
			for (unsigned i = 0; i < got; i++)
				swap_slot_free(&pg->store, slots[i]);
			got = 0;
			start_backoff(pg, ret);
		} else if (got < nw) {
			start_backoff(pg, -ENOSPC);
		}
		for (unsigned i = 0; i < got; i++)
			write |= 1ULL << (pages[i] - p0);
	}

	for_each_run(drop | zero | write, a, b) {
		struct inval iv;
		unsigned k = 0;

		inval_start(pg, &iv, p0 + a, b - a);
		if (fallocate(pg->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			      (p0 + a) << PAGE_SHIFT, (uint64_t)(b - a) << PAGE_SHIFT) < 0) {
			vmm_err("pager: punching guest RAM pages: %s", strerror(errno));
			inval_end(pg, &iv);
			continue;
		}
		for (unsigned i = a; i < b; i++) {
			uint64_t bit = 1ULL << i, *w = &pg->state[p0 + i], slot;

			if (drop & bit) {
				slot = ps_slot(*w);
				atomic_fetch_add(&pg->c.clean_drops, 1);
			} else if (zero & bit) {
				slot = SWAP_NO_SLOT;
				atomic_fetch_add(&pg->c.zero_drops, 1);
			} else {
				while (pages[k] != p0 + i)
					k++;
				slot = slots[k];
				atomic_fetch_add(&pg->c.swapped_out, 1);
			}
			if (slot == SWAP_NO_SLOT) {
				*w = ps_make(PS_ABSENT, 0, SWAP_NO_SLOT);
				spte_update(pg, p0 + i, SU_ZERO, 0);
			} else {
				*w = ps_make(PS_SWAPPED, 0, slot);
				spte_update(pg, p0 + i, SU_SWAPPED, slot);
			}
			evicted++;
		}
		inval_end(pg, &iv);
	}
	atomic_fetch_sub(&pg->resident, evicted);
	return evicted;
}

/*
 * One step of the clock over chunk @c: pages zapped on the last visit and
 * not touched since are cold and go; pages touched since (present again)
 * get a second chance: they are zapped now, to be judged next time.
 */
static unsigned clock_chunk(struct pager *pg, uint64_t c)
{
	uint64_t p0 = c << CHUNK_SHIFT, hot = 0, cold = 0;
	unsigned n = pg->npages - p0 < CHUNK_PAGES ? pg->npages - p0 : CHUNK_PAGES, evicted;

	if (pthread_mutex_trylock(&pg->chunk_locks[c]))
		return 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t w = pg->state[p0 + i];

		if (ps_state(w) != PS_RESIDENT)
			continue;
		if (w & PF_ZAPPED)
			cold |= 1ULL << i;
		else
			hot |= 1ULL << i;
	}
	evicted = cold ? reclaim_pages(pg, p0, cold) : 0;
	if (hot)
		zap_pages(pg, p0, hot);
	pthread_mutex_unlock(&pg->chunk_locks[c]);
	return evicted;
}

static void *reclaim_thread(void *arg)
{
	struct pager *pg = arg;

	while (!atomic_load(&pg->stopping)) {
		uint64_t scanned = 0, idle = 0;

		pthread_mutex_lock(&pg->space_lock);
		while (!atomic_load(&pg->stopping) && !pg->reclaim_kick &&
		       atomic_load(&pg->resident) < pg->wm_high) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += 100 * 1000 * 1000;
			if (until.tv_nsec >= 1000000000) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&pg->reclaim_cv, &pg->space_lock, &until);
		}
		pg->reclaim_kick = false;
		pthread_mutex_unlock(&pg->space_lock);

		while (!atomic_load(&pg->stopping) && atomic_load(&pg->resident) > pg->wm_low &&
		       scanned < 3 * pg->nchunks) {
			unsigned got = clock_chunk(pg, pg->hand);

			pg->hand = (pg->hand + 1) % pg->nchunks;
			scanned++;
			if (got) {
				idle = 0;
				pthread_mutex_lock(&pg->space_lock);
				pthread_cond_broadcast(&pg->space_cv);
				pthread_mutex_unlock(&pg->space_lock);
			} else if (++idle > pg->nchunks) {
				break;
			}
		}
		if (atomic_load(&pg->resident) > pg->wm_low && idle) {
			/* Nothing to take now (all busy, or the store failing): pause. */
			struct timespec ts = { 0, 5 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

/* --- VMM access ---------------------------------------------------------------------- */

bool pager_access(struct pager *pg, uint64_t gpa, void *buf, uint64_t len, bool write)
{
	uint8_t *b = buf, *tmp = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	bool ok = tmp != NULL;

	while (ok && len) {
		const struct guest_region *r = guest_mem_region(&pg->vm->mem, gpa);
		uint64_t off = gpa & (PAGE_SIZE - 1), n = PAGE_SIZE - off, p;
		ssize_t done;

		if (!r) {
			ok = false;
			break;
		}
		if (n > len)
			n = len;
		p = r->pgoff + ((gpa - r->gpa) >> PAGE_SHIFT);
		pthread_mutex_lock(chunk_lock(pg, p));
		/*
		 * The chunk lock keeps every invalidation of the page out until
		 * the copy is done. Copy through the memfd, not the mapping, so
		 * this thread cannot fault on its own userfaultfd.
		 */
		ok = fault_in_locked(pg, p, 1, write, tmp, false) == 0;
		if (ok && write) {
			done = pwrite(pg->memfd, b, n, (p << PAGE_SHIFT) + off);
			if (ps_slot(pg->state[p]) != SWAP_NO_SLOT)
				swap_slot_free(&pg->store, ps_slot(pg->state[p]));
			pg->state[p] = ps_make(PS_RESIDENT, (pg->state[p] & PF_ZAPPED) | PF_DIRTY,
					       SWAP_NO_SLOT);
		} else if (ok) {
			done = pread(pg->memfd, b, n, (p << PAGE_SHIFT) + off);
		}
		ok = ok && done == (ssize_t)n;
		pthread_mutex_unlock(chunk_lock(pg, p));
		gpa += n;
		b += n;
		len -= n;
	}
	free(tmp);
	return ok;
}

static bool pager_access_cb(void *ctx, uint64_t gpa, void *buf, uint64_t len, bool write)
{
	return pager_access(ctx, gpa, buf, len, write);
}

/* --- set-up ---------------------------------------------------------------------------- */

static int uffd_setup(struct pager *pg)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_MISSING_SHMEM | UFFD_FEATURE_MINOR_SHMEM |
			    UFFD_FEATURE_THREAD_ID | UFFD_FEATURE_WP_HUGETLBFS_SHMEM |
			    UFFD_FEATURE_WP_ASYNC,
	};
	struct uffdio_register reg = {
		.range = { (uintptr_t)pg->base, pg->npages << PAGE_SHIFT },
		.mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_MINOR |
			UFFDIO_REGISTER_MODE_WP,
	};

	/* Not UFFD_USER_MODE_ONLY: KVM's accesses to guest RAM are kernel-mode faults. */
	pg->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (pg->uffd < 0) {
		vmm_err("pager: userfaultfd: %s%s", strerror(errno),
			errno == EPERM ? " (kernel faults need CAP_SYS_PTRACE or "
					 "vm.unprivileged_userfaultfd=1)" : "");
		return -1;
	}
	if (ioctl(pg->uffd, UFFDIO_API, &api) < 0) {
		/* An older kernel: retry without asynchronous write protection. */
		close(pg->uffd);
		pg->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		api.api = UFFD_API;
		api.features &= ~(UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
		if (pg->uffd < 0 || ioctl(pg->uffd, UFFDIO_API, &api) < 0) {
			vmm_err("pager: userfaultfd API handshake: %s", strerror(errno));
			return -1;
		}
	}
	if (!(api.features & UFFD_FEATURE_MINOR_SHMEM)) {
		vmm_err("pager: this kernel's userfaultfd lacks minor faults on shmem (Linux 5.14+)");
		return -1;
	}
	pg->wp_async = (api.features & UFFD_FEATURE_WP_ASYNC) &&
		       (api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	if (!pg->wp_async) {
		reg.mode &= ~UFFDIO_REGISTER_MODE_WP;
		vmm_info("pager: no asynchronous write protection here: every reclaimed page "
			 "is written, none dropped clean");
	}
	if (ioctl(pg->uffd, UFFDIO_REGISTER, &reg) < 0) {
		vmm_err("pager: registering guest RAM with userfaultfd: %s", strerror(errno));
		return -1;
	}
	pg->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pg->pagemap_fd < 0 && pg->wp_async) {
		vmm_err("pager: /proc/self/pagemap: %s", strerror(errno));
		return -1;
	}
	pg->pagemap_scan = true;
	return 0;
}

/* Pages the loader wrote before registration are resident and dirty. */
static int scan_initial(struct pager *pg)
{
	unsigned char *vec = malloc(pg->npages);

	if (!vec || mincore(pg->base, pg->npages << PAGE_SHIFT, vec) < 0) {
		free(vec);
		vmm_err("pager: mincore: %s", strerror(errno));
		return -1;
	}
	for (uint64_t p = 0; p < pg->npages; p++) {
		if (vec[p] & 1) {
			pg->state[p] = ps_make(PS_RESIDENT, PF_DIRTY, SWAP_NO_SLOT);
			atomic_fetch_add(&pg->resident, 1);
		}
	}
	atomic_store(&pg->c.resident_peak, atomic_load(&pg->resident));
	free(vec);
	return 0;
}

static int shadow_setup(struct pager *pg)
{
	const struct guest_mem *mem = &pg->vm->mem;

	pg->space = mn_space_create();
	pg->obj = pg->space ? shadow_object_create(pg->npages, pg) : NULL;
	pg->shadow = pg->obj ? shadow_create(pg->space, pg) : NULL;
	if (!pg->shadow)
		return -1;
	for (unsigned i = 0; i < mem->nr_regions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct shadow_region *sr;

		if (shadow_region_add(pg->shadow, pg->obj, r->pgoff, r->size >> PAGE_SHIFT,
				      r->gpa >> PAGE_SHIFT, &sr))
			return -1;
	}
	return 0;
}

struct pager *pager_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct pager *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return NULL;
	pg->vm = vm;
	pg->uffd = pg->pagemap_fd = pg->stop_fd = -1;
	pg->base = vm->mem.base;
	pg->memfd = vm->mem.fd;
	pg->npages = vm->mem.size >> PAGE_SHIFT;
	pg->limit = cfg->mem_resident >> PAGE_SHIFT;
	/*
	 * Reclaim wakes at wm_high and works down to wm_low, so faults rarely
	 * wait for it. A limit that covers all of guest RAM can never be
	 * exceeded: then there is nothing to reclaim, ever.
	 */
	if (pg->limit >= pg->npages) {
		pg->wm_high = pg->wm_low = UINT64_MAX;
	} else {
		pg->wm_high = pg->limit - (pg->limit / 32 > 16 ? pg->limit / 32 : 16);
		pg->wm_low = pg->limit - (pg->limit / 8 > 64 ? pg->limit / 8 : 64);
	}
	pg->nchunks = (pg->npages + CHUNK_PAGES - 1) >> CHUNK_SHIFT;
	pg->stats_file = cfg->stats_file;
	pg->start_ns = now_ns();
	pthread_mutex_init(&pg->space_lock, NULL);
	pthread_cond_init(&pg->space_cv, NULL);
	pthread_cond_init(&pg->reclaim_cv, NULL);
	pg->store.fd = -1;

	pg->state = mmap(NULL, pg->npages * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pg->chunk_locks = calloc(pg->nchunks, sizeof(*pg->chunk_locks));
	pg->rbuf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	pg->wbuf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	if (pg->state == MAP_FAILED || !pg->chunk_locks || !pg->rbuf || !pg->wbuf) {
		if (pg->state == MAP_FAILED)
			pg->state = NULL;
		vmm_err("pager: out of memory");
		goto fail;
	}
	for (uint64_t c = 0; c < pg->nchunks; c++)
		pthread_mutex_init(&pg->chunk_locks[c], NULL);
	if (shadow_setup(pg)) {
		vmm_err("pager: cannot set up the shadow table");
		goto fail;
	}
	if (swap_store_open(&pg->store, cfg->swap_dir))
		goto fail;
	pg->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (pg->stop_fd < 0 || scan_initial(pg) || uffd_setup(pg))
		goto fail;
	pg->nr_fault_threads = cfg->pager_threads;
	vm->mem.access = pager_access_cb;
	vm->mem.access_ctx = pg;
	return pg;
fail:
	pager_destroy(pg);
	return NULL;
}

int pager_start(struct pager *pg)
{
	pg->fault_threads = calloc(pg->nr_fault_threads, sizeof(pthread_t));
	if (!pg->fault_threads)
		return -1;
	for (unsigned i = 0; i < pg->nr_fault_threads; i++) {
		if (pthread_create(&pg->fault_threads[i], NULL, fault_thread, pg)) {
			vmm_err("pager: cannot start fault thread %u", i);
			pg->nr_fault_threads = i;
			return -1;
		}
	}
	if (pthread_create(&pg->reclaim_thread, NULL, reclaim_thread, pg)) {
		vmm_err("pager: cannot start the reclaim thread");
		return -1;
	}
	pg->threads_started = true;
	return 0;
}

void pager_stop(struct pager *pg)
{
	uint64_t one = 1;

	if (!pg || atomic_exchange(&pg->stopping, true))
		return;
	if (pg->stop_fd >= 0)
		(void)!write(pg->stop_fd, &one, sizeof(one));
	kick_reclaim(pg);
	for (unsigned i = 0; i < pg->nr_fault_threads && pg->fault_threads; i++)
		pthread_join(pg->fault_threads[i], NULL);
	if (pg->threads_started)
		pthread_join(pg->reclaim_thread, NULL);
}

void pager_destroy(struct pager *pg)
{
	if (!pg)
		return;
	pager_stop(pg);
	if (pg->vm->mem.access_ctx == pg) {
		pg->vm->mem.access = NULL;
		pg->vm->mem.access_ctx = NULL;
	}
	if (pg->shadow)
		shadow_destroy(pg->shadow);
	if (pg->obj)
		shadow_object_destroy(pg->obj);
	if (pg->space)
		mn_space_destroy(pg->space);
	if (pg->uffd >= 0)
		close(pg->uffd);
	if (pg->pagemap_fd >= 0)
		close(pg->pagemap_fd);
	if (pg->stop_fd >= 0)
		close(pg->stop_fd);
	swap_store_close(&pg->store);
	if (pg->state)
		munmap(pg->state, pg->npages * sizeof(uint64_t));
	free(pg->chunk_locks);
	free(pg->fault_threads);
	free(pg->rbuf);
	free(pg->wbuf);
	free(pg);
}
