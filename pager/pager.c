// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pager's set-up and the pieces its fault and reclaim sides share:
 * the reverse map walks around every change of a page. States,
 * transitions and the lock order are in pager.h.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pager/internal.h"
#include "pager/uffd_compat.h"
#include "pager/util.h"

/* --- the shadow: rmap by pgoff ------------------------------------------------ */

void pager_inval_start(struct pager *pg, struct inval *iv, uint64_t p, uint64_t n)
{
	struct shadow_rmap_iter it;

	iv->n = 0;
	shadow_rmap_lock(pg->obj);
	for_each_rmap_range(pg->obj, p, n, &it) {
		/*
		 * A chunk never straddles a region (regions start on chunk
		 * boundaries), so each VM mapping the object yields one run.
		 * Skipping one would leave a secondary MMU stale: refuse.
		 */
		assert(iv->n < ARRAY_SIZE(iv->r));
		mn_invalidate_range_start(shadow_space(it.shadow), &iv->r[iv->n++],
					  it.gfn, it.gfn + it.count);
	}
}

void pager_inval_end(struct pager *pg, struct inval *iv)
{
	for (unsigned i = 0; i < iv->n; i++)
		mn_invalidate_range_end(&iv->r[i]);
	shadow_rmap_unlock(pg->obj);
}

/*
 * Inside an invalidation of page p, on every secondary MMU that maps it.
 * SU_WRITTEN: the page was found written (dirty): set D. SU_GONE: the page
 * left the object (swapped, dropped, discarded): forget the translation.
 * Secondary tables never hold a swap slot: the state word does.
 */
void pager_spte_update(struct pager *pg, uint64_t p, enum spte_update what)
{
	struct shadow_rmap_iter it;

	for_each_rmap_spte(pg->obj, p, &it) {
		if (!it.sptep)
			continue;	/* a table chunk never used: none, and stays so */
		shadow_lock(it.shadow);
		if (what == SU_WRITTEN)
			*it.sptep = spte_mark_written(*it.sptep);
		else
			shadow_spte_set_none(it.shadow, it.sptep);
		shadow_unlock(it.shadow);
	}
}

/*
 * Inside an invalidation of page p: did a VMM consumer write it since its
 * dirty bits were last harvested? Harvests them (clears D and W, so the
 * next write faults through the handle again). The vCPUs' writes are
 * learnt from the host ptes (PAGEMAP_SCAN), a handle's from its D bits.
 */
bool pager_harvest_consumer_dirty(struct pager *pg, uint64_t p)
{
	struct shadow_rmap_iter it;
	bool dirty = false;

	for_each_rmap_spte(pg->obj, p, &it) {
		if (it.shadow != pg->vmm_shadow || !it.sptep)
			continue;
		shadow_lock(it.shadow);
		dirty |= is_dirty_spte(*it.sptep);
		*it.sptep = spte_wrprotect_clean(*it.sptep);
		shadow_unlock(it.shadow);
	}
	return dirty;
}

/* The gfn of object page p in our VM (its first mapping). */
bool pager_page_gfn(struct pager *pg, uint64_t p, uint64_t *gfn)
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

void pager_report_memory_error(struct pager *pg, uint64_t p, uint64_t slot, int err)
{
	uint64_t gfn = 0;
	char msg[256];

	/* One explanation is enough: the guest is stopping. */
	if (atomic_exchange(&pg->reported_memory_error, true))
		return;
	pager_page_gfn(pg, p, &gfn);
	snprintf(msg, sizeof(msg), "guest page at gpa 0x%llx (swap slot %llu): %s; stopping the "
		 "guest rather than give it wrong data", (unsigned long long)(gfn << PAGE_SHIFT),
		 (unsigned long long)slot,
		 err == -EBADMSG ? "swap checksum mismatch" : "swap read error");
	pager_err("%s", msg);
	pager_event(pg, PAGER_EVENT_UNRESTORABLE, gfn << PAGE_SHIFT, msg);
	pg->cfg.fatal(pg->cfg.opaque, PAGER_FATAL_UNRESTORABLE, msg);
}

void pager_event(struct pager *pg, enum pager_event ev, uint64_t gpa, const char *msg)
{
	if (pg->cfg.event)
		pg->cfg.event(pg->cfg.opaque, ev, gpa, msg);
}

/* Object page of @gpa and the bytes of its region from gpa on; false if not RAM. */
bool pager_gpa_page(const struct pager *pg, uint64_t gpa, uint64_t *page, uint64_t *room)
{
	for (unsigned i = 0; i < pg->cfg.nr_regions; i++) {
		const struct pager_region *r = &pg->cfg.regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size) {
			*page = r->pgoff + ((gpa - r->gpa) >> PAGE_SHIFT);
			if (room)
				*room = r->size - (gpa - r->gpa);
			return true;
		}
	}
	return false;
}

bool pager_limited(const struct pager *pg)
{
	return pg->limited;
}

uint64_t pager_default_overshoot(uint64_t limit)
{
	return limit / 4 > (16ULL << 20) ? limit / 4 : 16ULL << 20;
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
		pager_err("pager: userfaultfd: %s%s", strerror(errno),
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
			pager_err("pager: userfaultfd API handshake: %s", strerror(errno));
			return -1;
		}
	}
	if (!(api.features & UFFD_FEATURE_MINOR_SHMEM)) {
		pager_err("pager: this kernel's userfaultfd lacks minor faults on shmem (Linux 5.14+)");
		return -1;
	}
	pg->wp_async = (api.features & UFFD_FEATURE_WP_ASYNC) &&
		       (api.features & UFFD_FEATURE_WP_HUGETLBFS_SHMEM);
	if (!pg->wp_async) {
		reg.mode &= ~UFFDIO_REGISTER_MODE_WP;
		pager_info("pager: no asynchronous write protection here: every reclaimed page "
			 "is written, none dropped clean");
	}
	if (ioctl(pg->uffd, UFFDIO_REGISTER, &reg) < 0) {
		pager_err("pager: registering guest RAM with userfaultfd: %s", strerror(errno));
		return -1;
	}
	pg->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pg->pagemap_fd < 0 && pg->wp_async) {
		pager_err("pager: /proc/self/pagemap: %s", strerror(errno));
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
		pager_err("pager: mincore: %s", strerror(errno));
		return -1;
	}
	for (uint64_t p = 0; p < pg->npages; p++) {
		if (vec[p] & 1)
			page_loaded(pg, p);
	}
	atomic_store(&pg->c.resident_peak, atomic_load(&pg->resident));
	free(vec);
	return 0;
}

/*
 * Two secondary MMUs of the object, each on its own notifier space: the
 * vCPUs' (pg->shadow: what the fault threads installed through
 * userfaultfd) and the VMM consumers' (pg->vmm_shadow: every handle's
 * translations). Both map every region; the rmap finds both.
 */
static struct shadow *shadow_mmu_create(struct pager *pg, struct mn_space **spacep)
{
	struct shadow *s;

	*spacep = mn_space_create();
	s = *spacep ? shadow_create(*spacep, pg) : NULL;
	if (!s)
		return NULL;
	for (unsigned i = 0; i < pg->cfg.nr_regions; i++) {
		const struct pager_region *r = &pg->cfg.regions[i];
		struct shadow_region *sr;

		if (shadow_region_add(s, pg->obj, r->pgoff, r->size >> PAGE_SHIFT,
				      r->gpa >> PAGE_SHIFT, &sr)) {
			shadow_destroy(s);
			return NULL;
		}
	}
	return s;
}

static int shadow_setup(struct pager *pg)
{
	pg->obj = shadow_object_create(pg->npages, pg);
	if (!pg->obj)
		return -1;
	pg->shadow = shadow_mmu_create(pg, &pg->space);
	pg->vmm_shadow = pg->shadow ? shadow_mmu_create(pg, &pg->vmm_space) : NULL;
	return pg->vmm_shadow ? 0 : -1;
}

struct pager *pager_create(const struct pager_config *cfg)
{
	struct pager *pg = calloc(1, sizeof(*pg));

	if (!pg)
		return NULL;
	pg->cfg = *cfg;
	pager_log_set(cfg->log, cfg->opaque);
	if (cfg->stats_file && pager_stats_check(cfg->stats_file)) {
		free(pg);
		return NULL;
	}
	pg->uffd = pg->pagemap_fd = pg->stop_fd = -1;
	pg->base = cfg->base;
	pg->memfd = cfg->memfd;
	pg->npages = cfg->size >> PAGE_SHIFT;
	pg->limited = cfg->limit != 0;
	pg->overshoot = pg->limited ? cfg->overshoot >> PAGE_SHIFT : 0;
	pager_set_watermarks(pg, pg->limited ? cfg->limit >> PAGE_SHIFT : pg->npages);
	pg->nchunks = (pg->npages + CHUNK_PAGES - 1) >> CHUNK_SHIFT;
	pg->stats_file = cfg->stats_file;
	pg->start_ns = pager_now_ns();
	pthread_mutex_init(&pg->space_lock, NULL);
	pager_cond_init(&pg->space_cv);
	pager_cond_init(&pg->reclaim_cv);
	pg->store.fd = -1;

	pg->state = mmap(NULL, pg->npages * sizeof(*pg->state), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	pg->chunk_locks = calloc(pg->nchunks, sizeof(*pg->chunk_locks));
	pg->rbuf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	pg->wbuf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	pg->busy = calloc(pg->nchunks, sizeof(*pg->busy));
	pg->busy_seq = calloc(pg->nchunks, sizeof(*pg->busy_seq));
	if (pg->state == MAP_FAILED || !pg->chunk_locks || !pg->rbuf || !pg->wbuf || !pg->busy ||
	    !pg->busy_seq) {
		if (pg->state == MAP_FAILED)
			pg->state = NULL;
		pager_err("pager: out of memory");
		goto fail;
	}
	for (uint64_t c = 0; c < pg->nchunks; c++)
		pthread_mutex_init(&pg->chunk_locks[c], NULL);
	if (shadow_setup(pg)) {
		pager_err("pager: cannot set up the shadow table");
		goto fail;
	}
	if (!pg->limited)
		return pg;
	if (cfg->swap_file ? swap_store_open_path(&pg->store, cfg->swap_file) :
	    swap_store_open(&pg->store, cfg->swap_dir))
		goto fail;
	pg->store.cap_slots = cfg->swap_limit >> PAGE_SHIFT;
	pg->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (pg->stop_fd < 0 || scan_initial(pg) || uffd_setup(pg))
		goto fail;
	pg->nr_fault_threads = cfg->threads;
	return pg;
fail:
	pager_destroy(pg);
	return NULL;
}

/*
 * Reclaim wakes at wm_high and works down to wm_low, so faults rarely
 * wait for it. A limit that covers all of guest RAM can never be
 * exceeded: then there is nothing to reclaim, ever.
 */
void pager_set_watermarks(struct pager *pg, uint64_t limit)
{
	atomic_store(&pg->limit, limit);
	if (limit >= pg->npages) {
		atomic_store(&pg->wm_high, UINT64_MAX);
		atomic_store(&pg->wm_low, UINT64_MAX);
	} else {
		uint64_t high = pager_wm_high(limit), low = pager_wm_low(limit);
		uint64_t soft = pg->cfg.soft_limit >> PAGE_SHIFT;

		/* A soft limit below the limit's own watermark starts reclaim earlier. */
		if (soft >= PAGER_SOFT_LIMIT_MIN && soft < high) {
			high = soft;
			low = pager_wm_low(soft) < low ? pager_wm_low(soft) : low;
		}
		atomic_store(&pg->wm_high, high);
		atomic_store(&pg->wm_low, low);
	}
}

int pager_start(struct pager *pg)
{
	if (!pg->limited)
		return 0;
	pg->fault_threads = calloc(pg->nr_fault_threads, sizeof(pthread_t));
	if (!pg->fault_threads)
		return -1;
	for (unsigned i = 0; i < pg->nr_fault_threads; i++) {
		if (pthread_create(&pg->fault_threads[i], NULL, pager_fault_thread, pg)) {
			pager_err("pager: cannot start fault thread %u", i);
			pg->nr_fault_threads = i;
			return -1;
		}
	}
	if (pthread_create(&pg->reclaim_thread, NULL, pager_reclaim_thread, pg)) {
		pager_err("pager: cannot start the reclaim thread");
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
	pager_kick_reclaim(pg);
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
	if (pg->vmm_shadow)
		shadow_destroy(pg->vmm_shadow);
	if (pg->shadow)
		shadow_destroy(pg->shadow);
	if (pg->obj)
		shadow_object_destroy(pg->obj);
	if (pg->vmm_space)
		mn_space_destroy(pg->vmm_space);
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
		munmap(pg->state, pg->npages * sizeof(*pg->state));
	free(pg->chunk_locks);
	free(pg->busy);
	free(pg->busy_seq);
	free(pg->fault_threads);
	free(pg->rbuf);
	free(pg->wbuf);
	free(pg);
}

void pager_set_test_hook(struct pager *pg, pager_test_hook_fn fn, void *opaque)
{
	pg->test_hook = fn;
	pg->test_opaque = opaque;
}
