// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pager's set-up and the pieces its fault and reclaim sides share:
 * the reverse map walks around every change of a page. States,
 * transitions and the lock order are in pager.h.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
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

/* Inside an invalidation of page p: update every spte that maps it. */
void pager_spte_update(struct pager *pg, uint64_t p, enum spte_update what, uint64_t slot)
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

	/* One explanation is enough: the guest is stopping. */
	if (atomic_exchange(&pg->reported_memory_error, true))
		return;
	pager_page_gfn(pg, p, &gfn);
	vmm_err("guest page at gpa 0x%llx (swap slot %llu): %s; stopping the guest rather "
		"than give it wrong data", (unsigned long long)(gfn << PAGE_SHIFT),
		(unsigned long long)slot,
		err == -EBADMSG ? "swap checksum mismatch" : "swap read error");
	vm_request_stop(pg->vm, VMM_EXIT_MEMORY);
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
	if (cfg->swap_file ? swap_store_open_path(&pg->store, cfg->swap_file) :
	    swap_store_open(&pg->store, cfg->swap_dir))
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
		if (pthread_create(&pg->fault_threads[i], NULL, pager_fault_thread, pg)) {
			vmm_err("pager: cannot start fault thread %u", i);
			pg->nr_fault_threads = i;
			return -1;
		}
	}
	if (pthread_create(&pg->reclaim_thread, NULL, pager_reclaim_thread, pg)) {
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
