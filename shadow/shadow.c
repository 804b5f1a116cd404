// SPDX-License-Identifier: GPL-2.0-only
/*
 * shadow/shadow.c - VMs, the spte writers, the notifier callbacks, the
 * fault path and dirty harvesting.  Contracts and locking: shadow.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "shadow/internal.h"

/* --- spte writers (mmu_lock held) ------------------------------------------ */

/*
 * Zap: present -> access-tracked, so the next touch faults.  Returns true
 * if the spte was present (a real mapping went away).
 */
static bool mmu_spte_zap(struct shadow *s, spte_t *sptep)
{
	uint64_t old = *sptep;

	if (!is_shadow_present_spte(old))
		return false;
	*sptep = mark_spte_for_access_track(old);
	atomic_fetch_sub(&s->present, 1);
	atomic_fetch_add(&s->zapped, 1);
	return true;
}

/* Fault: any -> present (make_fault_spte).  Keeps the present count. */
static void mmu_spte_set(struct shadow *s, spte_t *sptep, uint64_t spte)
{
	assert(is_shadow_present_spte(spte));
	if (!is_shadow_present_spte(*sptep))
		atomic_fetch_add(&s->present, 1);
	*sptep = spte;
	atomic_fetch_add(&s->installed, 1);
}

/* Forget: any -> none, when a region goes away or moves. */
void shadow_spte_clear(struct shadow *s, spte_t *sptep)
{
	if (is_shadow_present_spte(*sptep))
		atomic_fetch_sub(&s->present, 1);
	*sptep = SPTE_NONE;
}

int shadow_spte_set_none(struct shadow *s, spte_t *sptep)
{
	if (!sptep)
		return 0;	/* a chunk never used: none already */
	if (is_shadow_present_spte(*sptep))
		return -EBUSY;
	*sptep = SPTE_NONE;
	return 0;
}

int shadow_spte_set_zero(struct shadow *s, spte_t *sptep)
{
	if (is_shadow_present_spte(*sptep))
		return -EBUSY;
	*sptep = make_zero_spte();
	return 0;
}

/* --- notifier callbacks ------------------------------------------------------ */

static struct shadow *sub_to_shadow(struct mn_subscriber *sub)
{
	return mn_container_of(sub, struct shadow, sub);
}

static void zap_range(struct shadow *s, uint64_t start, uint64_t end)
{
	struct shadow_walk w;

	for_each_shadow_spte(s, start, end, &w)
		mmu_spte_zap(s, w.sptep);
}

/*
 * Zapping under mmu_lock is what makes the retry protocol work: the
 * notifier bumped our fault intervals before calling us, so a fault that
 * takes mmu_lock after this sees the new sequence and retries.
 */
static void shadow_invalidate_range_start(struct mn_subscriber *sub,
					  const struct mn_range *range)
{
	struct shadow *s = sub_to_shadow(sub);

	pthread_mutex_lock(&s->mmu_lock);
	zap_range(s, range->start, range->end);
	pthread_mutex_unlock(&s->mmu_lock);
}

static void set_bit64(uint64_t *bitmap, uint64_t bit)
{
	bitmap[bit / 64] |= 1ULL << (bit % 64);
}

static bool young_range(struct shadow *s, uint64_t start, uint64_t end,
			uint64_t *young, bool clear)
{
	struct shadow_walk w;
	bool ret = false;

	pthread_mutex_lock(&s->mmu_lock);
	for_each_shadow_spte(s, start, end, &w) {
		if (!is_accessed_spte(*w.sptep))
			continue;
		if (clear)
			*w.sptep = spte_mkold(*w.sptep);
		if (young)
			set_bit64(young, w.gfn - start);
		ret = true;
	}
	pthread_mutex_unlock(&s->mmu_lock);
	return ret;
}

static bool shadow_clear_young(struct mn_subscriber *sub, uint64_t start,
			       uint64_t end, uint64_t *young)
{
	return young_range(sub_to_shadow(sub), start, end, young, true);
}

static bool shadow_test_young(struct mn_subscriber *sub, uint64_t start,
			      uint64_t end, uint64_t *young)
{
	return young_range(sub_to_shadow(sub), start, end, young, false);
}

/* The space is gone: drop every mapping and refuse faults from now on. */
static void shadow_release(struct mn_subscriber *sub)
{
	struct shadow *s = sub_to_shadow(sub);

	pthread_mutex_lock(&s->mmu_lock);
	s->released = true;
	zap_range(s, 0, SHADOW_GFN_LIMIT);
	pthread_mutex_unlock(&s->mmu_lock);
}

static const struct mn_ops shadow_mn_ops = {
	.invalidate_range_start	= shadow_invalidate_range_start,
	.clear_young		= shadow_clear_young,
	.test_young		= shadow_test_young,
	.release		= shadow_release,
};

/* --- VMs ------------------------------------------------------------------ */

struct shadow *shadow_create(struct mn_space *space, void *priv)
{
	struct shadow *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->space = space;
	s->priv = priv;
	pthread_mutex_init(&s->mmu_lock, NULL);
	mn_list_init(&s->regions);
	atomic_init(&s->table_bytes, sizeof(s->top));
	if (mn_register(space, &s->sub, &shadow_mn_ops)) {
		pthread_mutex_destroy(&s->mmu_lock);
		free(s);
		return NULL;
	}
	return s;
}

void shadow_destroy(struct shadow *s)
{
	while (!mn_list_empty(&s->regions))
		shadow_region_remove(mn_list_entry(s->regions.next,
						   struct shadow_region,
						   vm_node));
	mn_unregister(&s->sub);
	pthread_mutex_destroy(&s->mmu_lock);
	free(s);
}

struct mn_space *shadow_space(const struct shadow *s)
{
	return s->space;
}

void *shadow_priv(const struct shadow *s)
{
	return s->priv;
}

void shadow_lock(struct shadow *s)
{
	pthread_mutex_lock(&s->mmu_lock);
}

void shadow_unlock(struct shadow *s)
{
	pthread_mutex_unlock(&s->mmu_lock);
}

spte_t *shadow_sptep(struct shadow *s, uint64_t gfn)
{
	return shadow_find_region(s, gfn) ? shadow_table_populate(s, gfn) : NULL;
}

/* Linear in the VM's regions: a VM has a handful (RAM below and above 4G). */
struct shadow_region *shadow_find_region(struct shadow *s, uint64_t gfn)
{
	struct shadow_region *r;

	mn_list_for_each_entry(r, &s->regions, vm_node) {
		if (gfn < r->gfn)
			break;
		if (gfn - r->gfn < r->npages)
			return r;
	}
	return NULL;
}

int shadow_get_spte(struct shadow *s, uint64_t gfn, uint64_t *spte)
{
	bool covered;

	pthread_mutex_lock(&s->mmu_lock);
	covered = shadow_find_region(s, gfn);
	if (covered)
		*spte = shadow_table_get(s, gfn);
	pthread_mutex_unlock(&s->mmu_lock);
	return covered ? 0 : -EFAULT;
}

void shadow_get_stats(const struct shadow *s, struct shadow_stats *st)
{
	st->faults = atomic_load(&s->faults);
	st->fault_retries = atomic_load(&s->fault_retries);
	st->installed = atomic_load(&s->installed);
	st->zapped = atomic_load(&s->zapped);
	st->present = atomic_load(&s->present);
	st->table_bytes = atomic_load(&s->table_bytes);
}

/* --- faults ----------------------------------------------------------------- */

enum fault_sample {
	FAULT_RESOLVE = 1,	/* pages to resolve: call resolve */
	FAULT_DONE,		/* gfn was present enough: nothing to do */
};

/*
 * mmu_lock held.  Fill @f for the batch at @gfn: the region, the batch
 * clipped to it and stopped at the first present neighbour, and the old
 * sptes.  A gfn already present (and writable for a write) only gets its
 * accessed (and dirty) bit: that is a touch, not a new mapping.
 */
static int fault_sample(struct shadow *s, uint64_t gfn, unsigned int npages,
			unsigned int flags, struct shadow_fault *f)
{
	bool write = flags & SHADOW_FAULT_WRITE;
	struct shadow_region *r;
	spte_t *sptep, n;

	if (s->released)
		return -ESHUTDOWN;
	r = shadow_find_region(s, gfn);
	if (!r)
		return -EFAULT;
	sptep = shadow_table_sptep(s, gfn);	/* NULL: chunk never used, none */
	if (sptep && is_shadow_present_spte(*sptep) &&
	    (!write || is_writable_spte(*sptep))) {
		*sptep = spte_mkyoung(*sptep);
		if (write)
			*sptep = spte_mkdirty(*sptep);
		return FAULT_DONE;
	}

	f->shadow = s;
	f->obj = r->obj;
	f->gfn = gfn;
	f->pgoff = r->pgoff + (gfn - r->gfn);
	f->flags = flags;
	f->map_writable = true;
	f->old_spte[0] = sptep ? *sptep : SPTE_NONE;
	n = r->gfn + r->npages - gfn;
	if (n > npages)
		n = npages;
	f->npages = 1;
	while (f->npages < n) {
		uint64_t spte = shadow_table_get(s, gfn + f->npages);

		if (is_shadow_present_spte(spte))
			break;
		f->old_spte[f->npages++] = spte;
	}
	return FAULT_RESOLVE;
}

/*
 * mmu_lock held, read_retry just said the batch is still valid.  A
 * neighbour that a racing fault made present meanwhile is left alone.
 * Returns the number of sptes installed, or -ENOMEM (nothing installed)
 * if a chunk of the batch is used for the first time and cannot be
 * allocated: the batch spans at most two chunks, both populated first.
 */
static int fault_install(struct shadow *s, const struct shadow_fault *f)
{
	bool write = f->flags & SHADOW_FAULT_WRITE;
	int installed = 0;

	static_assert(SHADOW_FAULT_MAX_PAGES <= CHUNK_PAGES, "a batch spans two chunks at most");
	if (!shadow_table_populate(s, f->gfn) ||
	    !shadow_table_populate(s, f->gfn + f->npages - 1))
		return -ENOMEM;
	for (unsigned int i = 0; i < f->npages; i++) {
		spte_t *sptep = shadow_table_sptep(s, f->gfn + i);

		if (i && is_shadow_present_spte(*sptep))
			continue;
		mmu_spte_set(s, sptep, make_fault_spte(*sptep, f->map_writable,
						       i == 0, write && i == 0));
		installed++;
	}
	return installed;
}

/*
 * The read_begin / resolve / lock / read_retry / install loop of
 * shadow.h.  The interval covers the whole batch, so an invalidation of
 * any prefetched neighbour also forces a retry.
 */
int shadow_fault(struct shadow *s, uint64_t gfn, unsigned int npages,
		 unsigned int flags, shadow_resolve_fn resolve, void *ctx)
{
	bool write = flags & SHADOW_FAULT_WRITE;
	struct shadow_fault f;
	struct mn_interval iv;
	uint64_t seq, end;
	int ret;

	if (!npages || npages > SHADOW_FAULT_MAX_PAGES)
		return -EINVAL;
	if (gfn >= SHADOW_GFN_LIMIT)
		return -EFAULT;
	end = gfn + npages < SHADOW_GFN_LIMIT ? gfn + npages : SHADOW_GFN_LIMIT;

	mn_interval_insert(s->space, &iv, gfn, end);
	for (;;) {
		seq = mn_interval_read_begin(&iv);
		pthread_mutex_lock(&s->mmu_lock);
		ret = fault_sample(s, gfn, npages, flags, &f);
		pthread_mutex_unlock(&s->mmu_lock);
		if (ret != FAULT_RESOLVE) {
			if (ret == FAULT_DONE)
				ret = 0;
			break;
		}

		f.iv = &iv;
		f.seq = seq;
		ret = resolve(&f, ctx);
		if (ret == -EAGAIN) {
			atomic_fetch_add(&s->fault_retries, 1);
			continue;
		}
		if (ret)
			break;
		if (write && !f.map_writable && !is_dirty_spte(f.old_spte[0])) {
			ret = -EACCES;
			break;
		}

		pthread_mutex_lock(&s->mmu_lock);
		if (mn_interval_read_retry(&iv, seq)) {
			pthread_mutex_unlock(&s->mmu_lock);
			atomic_fetch_add(&s->fault_retries, 1);
			continue;
		}
		if (s->released) {
			ret = -ESHUTDOWN;
		} else {
			ret = fault_install(s, &f);
			if (ret > 0)
				atomic_fetch_add(&s->faults, 1);
		}
		pthread_mutex_unlock(&s->mmu_lock);
		break;
	}
	mn_interval_remove(&iv);
	return ret;
}

bool shadow_fault_stale(const struct shadow_fault *f)
{
	return mn_interval_read_retry(f->iv, f->seq);
}

/* --- harvesting ----------------------------------------------------------- */

uint64_t shadow_harvest_dirty(struct shadow *s, uint64_t gfn, uint64_t npages,
			      uint64_t *dirty)
{
	struct shadow_walk w;
	uint64_t count = 0;

	pthread_mutex_lock(&s->mmu_lock);
	for_each_shadow_spte(s, gfn, gfn + npages, &w) {
		if (!is_dirty_spte(*w.sptep))
			continue;
		*w.sptep = spte_wrprotect_clean(*w.sptep);
		if (dirty)
			set_bit64(dirty, w.gfn - gfn);
		count++;
	}
	pthread_mutex_unlock(&s->mmu_lock);
	return count;
}

int shadow_access(struct shadow *s, uint64_t gfn, unsigned int flags,
		  shadow_resolve_fn resolve, shadow_access_fn access, void *ctx)
{
	bool write = flags & SHADOW_FAULT_WRITE;

	for (;;) {
		spte_t *sptep;
		int ret = shadow_fault(s, gfn, 1, flags, resolve, ctx);

		if (ret < 0)
			return ret;
		pthread_mutex_lock(&s->mmu_lock);
		sptep = shadow_table_sptep(s, gfn);
		if (sptep && is_shadow_present_spte(*sptep) &&
		    (!write || (*sptep & SPTE_WRITABLE_MASK))) {
			*sptep = spte_mkyoung(*sptep);
			if (write)
				*sptep = spte_mkdirty(*sptep);
			ret = access(ctx);
			pthread_mutex_unlock(&s->mmu_lock);
			return ret;
		}
		/* An invalidation zapped it after the fault installed it. */
		pthread_mutex_unlock(&s->mmu_lock);
		atomic_fetch_add(&s->fault_retries, 1);
	}
}
