// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pager's fault side: fault threads read userfaultfd messages and
 * resolve them (UFFDIO_ZEROPAGE, UFFDIO_COPY, UFFDIO_CONTINUE) through the
 * shadow's fault path, in batches on sequential access, reserving room
 * under the resident limit first; swap reads and installs run with no
 * lock held, the batch's pages busy (fault_resolve). VMM threads use the same path (pager_fault_in).
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pager/internal.h"
#include "pager/uffd_compat.h"
#include "pager/util.h"

enum action { ACT_NONE, ACT_ZERO, ACT_COPY, ACT_CONT, ACT_CONT_WP };

struct fault_ctx {
	struct pager *pg;
	uint8_t *buf;		/* CHUNK_PAGES pages for swap-ins, private to the thread */
	uint64_t p0;		/* page of buf's first page (the batch's first) */
	bool from_uffd;		/* a thread waits on the first page's host pte */
	/*
	 * Install pages write-protected, so that they stay clean until
	 * written. Not when the fault is a write: the first page is about to
	 * be dirtied and, on a sequential stream, so are its neighbours;
	 * mapping them writable spares each a write-protect fault.
	 */
	bool keep_clean;
	bool reserved;		/* some attempt reserved room (note_resident) */
	uint64_t used;		/* pages that became resident */
};

static enum action page_action(const struct fault_ctx *fc, uint64_t w)
{
	switch (ps_state(w)) {
	case PS_ABSENT:
		return ACT_ZERO;
	case PS_SWAPPED:
		return ACT_COPY;
	default:
		if (!ps_zapped(w))
			return ACT_NONE;
		return fc->keep_clean && ps_clean(w) ? ACT_CONT_WP : ACT_CONT;
	}
}

/*
 * No lock held, the pages busy (ours): install object pages [p, p + n)
 * whose state words were @seen, by runs of the same action; swapped pages
 * come from fc->buf, filled by fault_read_swap. *@done: pages installed
 * (a prefix), for fault_commit, also on an error. Returns 0 or -errno.
 */
static int fault_install(struct fault_ctx *fc, uint64_t p, unsigned n, const page_state_t *seen,
			 unsigned *done)
{
	struct pager *pg = fc->pg;
	unsigned i = 0;

	*done = 0;
	while (i < n) {
		uint64_t q = p + i;
		enum action act = page_action(fc, seen[i]);
		unsigned run = 1;
		int ret = 0;

		while (i + run < n && page_action(fc, seen[i + run]) == act)
			run++;
		if (pg->test_hook && act != ACT_NONE)
			pg->test_hook(pg->test_opaque, PAGER_TEST_INSTALL, q, run);
		switch (act) {
		case ACT_NONE:
			/* Mapped as far as we know; a waiter means the host dropped it. */
			if (i == 0 && fc->from_uffd)
				ret = uffd_resolve(pg, UFFDIO_CONTINUE, q, 1, NULL, 0);
			break;
		case ACT_ZERO:
			ret = uffd_resolve(pg, UFFDIO_ZEROPAGE, q, run, NULL, 0);
			break;
		case ACT_COPY:
			ret = uffd_resolve(pg, UFFDIO_COPY, q, run,
					   fc->buf + ((q - fc->p0) << PAGE_SHIFT),
					   fc->keep_clean ? UFFDIO_COPY_MODE_WP : 0);
			break;
		case ACT_CONT:
		case ACT_CONT_WP:
			ret = uffd_resolve(pg, UFFDIO_CONTINUE, q, run, NULL,
					   act == ACT_CONT_WP ? UFFDIO_CONTINUE_MODE_WP : 0);
			break;
		}
		if (ret) {
			pager_err("pager: resolving guest RAM page %llu: %s",
				(unsigned long long)q, strerror(-ret));
			return ret;
		}
		i += run;
		*done = i;
	}
	return 0;
}

/*
 * Chunk lock held, the pages still busy: the transitions of the first
 * @done pages of the batch at @p, which fault_install mapped by their
 * words @seen (unchanged: the pages were ours).
 */
static void fault_commit(struct fault_ctx *fc, uint64_t p, unsigned done, const page_state_t *seen)
{
	struct pager *pg = fc->pg;

	for (unsigned i = 0; i < done; i++) {
		switch (page_action(fc, seen[i])) {
		case ACT_NONE:
			break;
		case ACT_ZERO:
			page_zero_filled(pg, p + i);
			fc->used++;
			break;
		case ACT_COPY:
			page_swapped_in(pg, p + i, fc->keep_clean);
			fc->used++;
			break;
		case ACT_CONT:
			page_continued(pg, p + i, false);
			break;
		case ACT_CONT_WP:
			page_continued(pg, p + i, true);
			break;
		}
	}
}

/*
 * No lock held: read the swapped pages of [p, p + n), whose state words
 * were @seen under the chunk lock, into fc->buf (page p + i at page i).
 * Neighbours evicted together sit in consecutive slots: one read per run.
 * Returns 0, or swap_read_run's error with *@bad the index of the page.
 * *@nread: pages whose bytes the store counted as read (swap_bytes_read),
 * all of them unless a read failed part way. The caller trusts the result
 * only if the words did not change meanwhile.
 */
static int fault_read_swap(struct fault_ctx *fc, uint64_t p, unsigned n,
			   const page_state_t *seen, unsigned *bad, unsigned *nread)
{
	struct pager *pg = fc->pg;

	*nread = 0;
	for (unsigned i = 0, len; i < n; i += len ? len : 1) {
		uint64_t slot = ps_slot(seen[i]), pages[CHUNK_PAGES];
		unsigned k;
		int ret;

		len = 0;
		if (ps_state(seen[i]) != PS_SWAPPED)
			continue;
		while (i + len < n && ps_state(seen[i + len]) == PS_SWAPPED &&
		       ps_slot(seen[i + len]) == slot + len) {
			pages[len] = p + i + len;
			len++;
		}
		ret = swap_read_run(&pg->store, slot, pages, len,
				    fc->buf + ((uint64_t)i << PAGE_SHIFT), &k);
		/* A checksum mismatch comes after the whole run was read and counted. */
		if (!ret || ret == -EBADMSG)
			*nread += len;
		if (ret) {
			*bad = i + k;
			return ret;
		}
	}
	return 0;
}

/* Reserve @need resident pages if they fit under @cap. */
static bool reserve(struct pager *pg, uint64_t need, uint64_t cap)
{
	uint64_t r = atomic_load(&pg->resident);

	do {
		if (r + need > cap)
			return false;
	} while (!atomic_compare_exchange_weak(&pg->resident, &r, r + need));
	return true;
}
/*
 * Reserve @need more resident pages, waiting for reclaim while they do not
 * fit under the limit (the bound of pager.h: resident <= limit while the
 * store takes pages). Reclaim skips chunks it cannot trylock, so it never
 * waits for us. While the store cannot take pages (full, write errors:
 * reclaim backs off) we go on above the limit, up to the overshoot; past
 * it the fault is held (PAGER_EVENT_STORE_FULL: its vCPU is paused) until
 * slots free up (PAGER_EVENT_STORE_OK) or the pager stops. Waits are timed
 * on CLOCK_MONOTONIC. Returns false, reserving nothing, when the pager
 * stops meanwhile: the fault is not resolved (its vCPU is stopping too),
 * so the bound holds to the end.
 */
static bool throttle(struct pager *pg, uint64_t need)
{
	uint64_t waited_ns = 0;
	bool paused = false, stopped = false;

	if (reserve(pg, need, atomic_load(&pg->limit)))
		return true;
	atomic_fetch_add(&pg->c.throttled, 1);
	atomic_fetch_add(&pg->throttle_waiters, 1);
	pthread_mutex_lock(&pg->space_lock);
	while (!reserve(pg, need, atomic_load(&pg->limit))) {
		struct timespec until;
		bool failing = pager_backoff_active(pg) || atomic_load(&pg->store_failing);

		/* Reclaim cannot help for a long while (or at all): the overshoot. */
		if (atomic_load(&pg->stopping)) {
			stopped = true;
			break;
		}
		if ((failing || waited_ns >= PAGER_THROTTLE_MAX_NS) &&
		    reserve(pg, need, pager_resident_bound(pg)))
			break;
		if (failing && !paused && atomic_load(&pg->resident) + need > pager_resident_bound(pg)) {
			paused = true;
			atomic_fetch_add(&pg->c.full_pauses, 1);
			if (!atomic_exchange(&pg->paused_full, true))
				pager_event(pg, PAGER_EVENT_STORE_FULL, 0,
					    "the swap store cannot take pages and guest RAM reached "
					    "--mem-resident plus the overshoot");
		}
		pg->reclaim_kick = true;
		pthread_cond_signal(&pg->reclaim_cv);
		until = pager_deadline_ns(10 * 1000 * 1000);
		pthread_cond_timedwait(&pg->space_cv, &pg->space_lock, &until);
		waited_ns += 10 * 1000 * 1000;
	}
	pthread_mutex_unlock(&pg->space_lock);
	if (paused && atomic_exchange(&pg->paused_full, false))
		pager_event(pg, PAGER_EVENT_STORE_OK, 0, "swap slots are free again");
	atomic_fetch_sub(&pg->throttle_waiters, 1);
	return !stopped;
}

static void note_resident(struct pager *pg)
{
	uint64_t r = atomic_load(&pg->resident), peak = atomic_load(&pg->c.resident_peak);

	while (r > peak && !atomic_compare_exchange_weak(&pg->c.resident_peak, &peak, r))
		;
	if (r >= atomic_load(&pg->wm_high))
		pager_kick_reclaim(pg);
}

/*
 * Chunk lock of @p held: reserve room for the pages of [p, p + n) that are
 * not resident (*@reserved). While there is none, wait holding no lock
 * unit (reclaim, discards and faults on the chunk's other pages go on
 * meanwhile), then count again: the states may have changed. Returns 0,
 * or -ESHUTDOWN (nothing reserved) if the pager stopped meanwhile.
 */
static int fault_reserve(struct pager *pg, uint64_t p, unsigned n, uint64_t *reserved)
{
	for (uint64_t have = 0;;) {
		uint64_t need = 0;
		bool ok;

		for (unsigned i = 0; i < n; i++)
			need += ps_state(pg->state[p + i]) != PS_RESIDENT;
		*reserved = need;
		if (need <= have) {
			atomic_fetch_sub(&pg->resident, have - need);
			return 0;
		}
		if (reserve(pg, need - have, atomic_load(&pg->limit)))
			return 0;
		pthread_mutex_unlock(chunk_lock(pg, p));
		ok = throttle(pg, need - have);
		pthread_mutex_lock(chunk_lock(pg, p));
		if (!ok) {
			atomic_fetch_sub(&pg->resident, have);
			*reserved = 0;
			return -ESHUTDOWN;
		}
		have = need;
	}
}

/*
 * Chunk lock of @p held: make the batch [p, p + *n) ours. Wait (lock
 * dropped) while page p is busy; clip the batch before the first other
 * busy page; reserve room for it (fault_reserve, may drop the lock too),
 * and start again if a page of it became busy meanwhile. Then mark it
 * busy. Returns 0 with *@reserved, or -ESHUTDOWN (nothing reserved).
 */
static int fault_own(struct pager *pg, uint64_t p, unsigned *n, uint64_t *reserved)
{
	uint64_t c = p >> CHUNK_SHIFT;
	unsigned i = p & (CHUNK_PAGES - 1);

	for (;;) {
		uint64_t others;
		int ret;

		busy_wait(pg, c, 1ULL << i);
		others = pg->busy[c] & chunk_mask(i, *n);
		if (others)
			*n = __builtin_ctzll(others) - i;
		ret = fault_reserve(pg, p, *n, reserved);
		if (ret)
			return ret;
		if (!(pg->busy[c] & chunk_mask(i, *n))) {
			busy_mark(pg, c, chunk_mask(i, *n));
			return 0;
		}
		atomic_fetch_sub(&pg->resident, *reserved);
		*reserved = 0;
	}
}

/*
 * One attempt at resolving object pages [p, p + n) (within one chunk) of
 * fault @f (NULL: no shadow fault, the words alone decide), no lock held:
 *
 *   lock chunk; fault_own: wait while page p is busy, clip the batch
 *     before another busy page, reserve room, mark the batch busy; note
 *     the state words; unlock chunk;
 *   no lock held (reclaim, discards and faults on the chunk's other pages
 *     go on; none of them touches a busy page):
 *     fault_read_swap into the thread's buffer, for swapped pages; an
 *       invalidation of the batch began (shadow_fault_stale) or a word
 *       changed? the buffer is stale: -EAGAIN (a defence: the pages were
 *       ours, nobody should have changed them);
 *     fault_install: UFFDIO_ZEROPAGE / COPY / CONTINUE;
 *   lock chunk; fault_commit: the transitions of what was installed;
 *     clear busy, unlock, wake the waiters (busy_clear_unlock);
 *   give back the room not used.
 *
 * A busy page is exclusive to its owner: reclaim skips it, a discard and
 * other faults wait for it; so an EEXIST of the install still means a
 * broken invariant, and every slot read still holds its page. A read
 * error is reported only if the words are unchanged; a stale one is a retry.
 */
static int fault_resolve(struct fault_ctx *fc, struct shadow_fault *f, uint64_t p, unsigned n)
{
	struct pager *pg = fc->pg;
	pthread_mutex_t *lock = chunk_lock(pg, p);
	uint64_t c = p >> CHUNK_SHIFT;
	page_state_t seen[CHUNK_PAGES];
	uint64_t reserved = 0, used0 = fc->used;
	bool swapped = false;
	unsigned bad = 0, nread = 0, done = 0;
	int ret = 0;

	pthread_mutex_lock(lock);
	ret = fault_own(pg, p, &n, &reserved);
	fc->reserved |= reserved > 0;
	if (ret) {
		pthread_mutex_unlock(lock);
		return ret;
	}
	if (f)
		f->npages = n;	/* the shadow installs only the pages resolved */
	for (unsigned i = 0; i < n; i++) {
		seen[i] = pg->state[p + i];
		swapped |= ps_state(seen[i]) == PS_SWAPPED;
	}
	pthread_mutex_unlock(lock);

	if (swapped) {
		ret = fault_read_swap(fc, p, n, seen, &bad, &nread);
		if ((f && shadow_fault_stale(f)) ||
		    memcmp(seen, &pg->state[p], n * sizeof(seen[0]))) {
			/*
			 * Only what was read counts as a stale read: a slot reused
			 * meanwhile fails its checksum and ends the read early.
			 */
			swap_read_discarded(&pg->store, ret);
			atomic_fetch_add(&pg->c.stale_reads, nread);
			ret = -EAGAIN;
		} else if (ret)
			pager_report_memory_error(pg, p + bad, ps_slot(seen[bad]), ret);
	}
	if (!ret) {
		fc->p0 = p;
		ret = fault_install(fc, p, n, seen, &done);
	}
	pthread_mutex_lock(lock);
	fault_commit(fc, p, done, seen);
	busy_clear_unlock(pg, c, chunk_mask(p & (CHUNK_PAGES - 1), n));
	/* Give back what this attempt reserved but did not use (clipped, failed, stale). */
	if (reserved > fc->used - used0)
		atomic_fetch_sub(&pg->resident, reserved - (fc->used - used0));
	return ret;
}

static int resolve_cb(struct shadow_fault *f, void *ctx)
{
	return fault_resolve(ctx, f, f->pgoff, f->npages);
}

/*
 * No lock held: make object pages [p, p + n) present (n within the
 * chunk), through the shadow's fault path and its retry protocol
 * (shadow_fault, resolve_cb -> fault_resolve). @buf: CHUNK_PAGES pages
 * (@n pages at least), private to the caller.
 */
int pager_fault_in(struct pager *pg, uint64_t p, unsigned n, bool write, uint8_t *buf,
		   bool from_uffd)
{
	struct fault_ctx fc = {
		.pg = pg, .buf = buf, .from_uffd = from_uffd, .keep_clean = pg->wp_async && !write,
	};
	uint64_t gfn;
	int ret;

	if (!pager_page_gfn(pg, p, &gfn))
		return -EFAULT;
	/* Returns how many sptes it installed: 0 when gfn was present already. */
	ret = shadow_fault(pg->shadow, gfn, n, write ? SHADOW_FAULT_WRITE : 0, resolve_cb, &fc);
	if (ret > 0)
		ret = 0;
	else if (ret == 0 && from_uffd)
		/* Present in the shadow: the waiter may still need its host pte back. */
		while ((ret = fault_resolve(&fc, NULL, p, 1)) == -EAGAIN)
			;
	if (fc.reserved)
		note_resident(pg);
	return ret;
}

/* --- access pattern -------------------------------------------------------------- */

/*
 * How many pages to resolve for a fault of thread @tid at page @p, at most
 * up to @end (the chunk's end): one for random access; on a sequential run,
 * a window that doubles up to a chunk, as readahead does. The run continues
 * where this batch ends, so a batch clipped at a chunk boundary does not
 * break it.
 */
static unsigned fault_window(struct pager *pg, unsigned tid, uint64_t p, uint64_t end)
{
	struct seq_hint *h = &pg->hints[tid % SEQ_HINTS];
	uint64_t next = 0;
	unsigned window = 0, n;

	if (atomic_load_explicit(&h->tid, memory_order_relaxed) == tid) {
		next = atomic_load_explicit(&h->next, memory_order_relaxed);
		window = atomic_load_explicit(&h->window, memory_order_relaxed);
	}
	window = ps_fault_window(next, window, p, end, CHUNK_PAGES, &n);
	atomic_store_explicit(&h->tid, tid, memory_order_relaxed);
	atomic_store_explicit(&h->window, window, memory_order_relaxed);
	atomic_store_explicit(&h->next, p + n, memory_order_relaxed);
	return n;
}

/* --- fault threads --------------------------------------------------------------- */

static void handle_fault(struct pager *pg, const struct uffd_msg *msg, uint8_t *buf)
{
	uint64_t addr = msg->arg.pagefault.address & ~(PAGE_SIZE - 1);
	uint64_t flags = msg->arg.pagefault.flags, t0 = pager_now_ns(), p, end;
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

	end = ((p >> CHUNK_SHIFT) + 1) << CHUNK_SHIFT;
	if (end > pg->npages)
		end = pg->npages;
	n = fault_window(pg, msg->arg.pagefault.feat.ptid, p, end);

	ret = pager_fault_in(pg, p, n, flags & UFFD_PAGEFAULT_FLAG_WRITE, buf, true);
	if (ret && ret != -EBADMSG && ret != -EIO && !atomic_load(&pg->stopping)) {
		/* The faulting vCPU would wait forever: end the VM instead. */
		char why[128];

		snprintf(why, sizeof(why), "pager: fault at guest RAM page %llu not resolved: %s",
			 (unsigned long long)p, strerror(-ret));
		pager_err("%s", why);
		pg->cfg.fatal(pg->cfg.opaque, PAGER_FATAL_INTERNAL, why);
	}
	pager_hist_add(pg, pager_now_ns() - t0);
}

void *pager_fault_thread(void *arg)
{
	struct pager *pg = arg;
	struct uffd_msg msg;
	uint8_t *buf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);

	if (!buf) {
		pager_err("pager: out of memory for a fault thread");
		return NULL;
	}
	pthread_setname_np(pthread_self(), "pager-fault");
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
		/*
		 * One message at a time: a fault may wait for a busy page, and
		 * the messages behind it go to the other fault threads meanwhile.
		 */
		r = read(pg->uffd, &msg, sizeof(msg));
		if (r < (ssize_t)sizeof(msg))
			continue;	/* EAGAIN: another thread took it */
		if (msg.event == UFFD_EVENT_PAGEFAULT && !atomic_load(&pg->stopping))
			handle_fault(pg, &msg, buf);
	}
	free(buf);
	return NULL;
}
