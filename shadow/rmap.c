// SPDX-License-Identifier: GPL-2.0-only
/*
 * shadow/rmap.c - memory objects, regions (add, move, remove) and the
 * reverse map by pgoff.  Contracts and locking: shadow.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "shadow/internal.h"

/* --- objects -------------------------------------------------------------- */

struct shadow_object *shadow_object_create(uint64_t npages, void *priv)
{
	struct shadow_object *obj;

	if (!npages)
		return NULL;
	obj = calloc(1, sizeof(*obj));
	if (!obj)
		return NULL;
	obj->npages = npages;
	obj->priv = priv;
	pthread_rwlock_init(&obj->rmap_lock, NULL);
	mn_list_init(&obj->regions);
	return obj;
}

int shadow_object_destroy(struct shadow_object *obj)
{
	bool busy;

	pthread_rwlock_rdlock(&obj->rmap_lock);
	busy = !mn_list_empty(&obj->regions);
	pthread_rwlock_unlock(&obj->rmap_lock);
	if (busy)
		return -EBUSY;
	pthread_rwlock_destroy(&obj->rmap_lock);
	free(obj);
	return 0;
}

uint64_t shadow_object_npages(const struct shadow_object *obj)
{
	return obj->npages;
}

void *shadow_object_priv(const struct shadow_object *obj)
{
	return obj->priv;
}

/* --- regions -------------------------------------------------------------- */

static bool gfn_range_valid(uint64_t gfn, uint64_t npages)
{
	return gfn < SHADOW_GFN_LIMIT && npages <= SHADOW_GFN_LIMIT - gfn;
}

/* mmu_lock held.  Does [gfn, gfn + npages) overlap a region other than @self? */
static bool overlaps_region(struct shadow *s, uint64_t gfn, uint64_t npages,
			    const struct shadow_region *self)
{
	struct shadow_region *r;

	mn_list_for_each_entry(r, &s->regions, vm_node)
		if (r != self && gfn < r->gfn + r->npages && r->gfn < gfn + npages)
			return true;
	return false;
}

/* mmu_lock held.  Keep s->regions sorted by gfn. */
static void link_region_sorted(struct shadow *s, struct shadow_region *region)
{
	struct shadow_region *r;

	mn_list_for_each_entry(r, &s->regions, vm_node)
		if (r->gfn > region->gfn)
			break;
	mn_list_add_tail(&region->vm_node, &r->vm_node);
}

int shadow_region_add(struct shadow *s, struct shadow_object *obj,
		      uint64_t pgoff, uint64_t npages, uint64_t gfn,
		      struct shadow_region **regionp)
{
	struct shadow_region *region;
	int ret = 0;

	if (!npages || pgoff >= obj->npages || npages > obj->npages - pgoff ||
	    !gfn_range_valid(gfn, npages))
		return -EINVAL;
	region = calloc(1, sizeof(*region));
	if (!region)
		return -ENOMEM;
	region->shadow = s;
	region->obj = obj;
	region->gfn = gfn;
	region->pgoff = pgoff;
	region->npages = npages;

	pthread_rwlock_wrlock(&obj->rmap_lock);
	pthread_mutex_lock(&s->mmu_lock);
	if (overlaps_region(s, gfn, npages, NULL))
		ret = -EEXIST;
	else
		ret = shadow_table_cover(s, gfn, npages);
	if (!ret) {
		link_region_sorted(s, region);
		mn_list_add_tail(&region->obj_node, &obj->regions);
	}
	pthread_mutex_unlock(&s->mmu_lock);
	pthread_rwlock_unlock(&obj->rmap_lock);

	if (ret) {
		free(region);
		return ret;
	}
	*regionp = region;
	return 0;
}

/*
 * mmu_lock held, [to, to + npages) covered.  Allocate the chunks at the
 * new gfns that will receive an spte other than none (those of old gfns in
 * used chunks), so that the move itself cannot fail.  -ENOMEM: chunks
 * populated so far stay, all none, until the new range is uncovered.
 */
static int move_populate(struct shadow *s, uint64_t from, uint64_t to,
			 uint64_t npages)
{
	struct shadow_walk w;

	for_each_shadow_spte(s, from, from + npages, &w)
		if (!is_none_spte(*w.sptep) &&
		    !shadow_table_populate(s, to + (w.gfn - from)))
			return -ENOMEM;
	return 0;
}

/*
 * mmu_lock held, move_populate done.  Move @npages sptes from @from to
 * @to, overlap-safe like memmove, then reset the old gfns that the new
 * range does not cover.  Nones into chunks never used are left out.
 */
static void move_sptes(struct shadow *s, uint64_t from, uint64_t to,
		       uint64_t npages)
{
	struct shadow_walk w;

	for (uint64_t i = 0; i < npages; i++) {
		uint64_t k = to > from ? npages - 1 - i : i;
		spte_t spte = shadow_table_get(s, from + k);
		spte_t *dst = shadow_table_sptep(s, to + k);

		assert(dst || is_none_spte(spte));
		if (dst)
			*dst = spte;
	}
	for_each_shadow_spte(s, from, from + npages, &w)
		if (w.gfn < to || w.gfn >= to + npages)
			shadow_spte_clear(s, w.sptep);
}

int shadow_region_move(struct shadow_region *r, uint64_t gfn)
{
	struct shadow *s = r->shadow;
	struct shadow_object *obj = r->obj;
	struct mn_range range;
	int ret;

	if (!gfn_range_valid(gfn, r->npages))
		return -EINVAL;
	mn_invalidate_range_start(s->space, &range, r->gfn, r->gfn + r->npages);
	pthread_rwlock_wrlock(&obj->rmap_lock);
	pthread_mutex_lock(&s->mmu_lock);
	if (overlaps_region(s, gfn, r->npages, r))
		ret = -EEXIST;
	else if (!(ret = shadow_table_cover(s, gfn, r->npages)) &&
		 (ret = move_populate(s, r->gfn, gfn, r->npages))) {
		/* Zapped, so present counts are right; the new range held nones. */
		shadow_table_uncover(s, gfn, r->npages);
	}
	if (!ret) {
		move_sptes(s, r->gfn, gfn, r->npages);
		shadow_table_uncover(s, r->gfn, r->npages);
		r->gfn = gfn;
		mn_list_del(&r->vm_node);
		link_region_sorted(s, r);
	}
	pthread_mutex_unlock(&s->mmu_lock);
	pthread_rwlock_unlock(&obj->rmap_lock);
	mn_invalidate_range_end(&range);
	return ret;
}

void shadow_region_remove(struct shadow_region *r)
{
	struct shadow *s = r->shadow;
	struct shadow_object *obj = r->obj;
	struct mn_range range;
	struct shadow_walk w;

	mn_invalidate_range_start(s->space, &range, r->gfn, r->gfn + r->npages);
	pthread_rwlock_wrlock(&obj->rmap_lock);
	pthread_mutex_lock(&s->mmu_lock);
	for_each_shadow_spte(s, r->gfn, r->gfn + r->npages, &w)
		shadow_spte_clear(s, w.sptep);
	shadow_table_uncover(s, r->gfn, r->npages);
	mn_list_del(&r->vm_node);
	mn_list_del(&r->obj_node);
	pthread_mutex_unlock(&s->mmu_lock);
	pthread_rwlock_unlock(&obj->rmap_lock);
	mn_invalidate_range_end(&range);
	free(r);
}

uint64_t shadow_region_gfn(const struct shadow_region *r)
{
	return r->gfn;
}

uint64_t shadow_region_pgoff(const struct shadow_region *r)
{
	return r->pgoff;
}

uint64_t shadow_region_npages(const struct shadow_region *r)
{
	return r->npages;
}

struct shadow_object *shadow_region_object(const struct shadow_region *r)
{
	return r->obj;
}

struct shadow *shadow_region_shadow(const struct shadow_region *r)
{
	return r->shadow;
}

/* --- reverse map ------------------------------------------------------------ */

void shadow_rmap_lock(struct shadow_object *obj)
{
	pthread_rwlock_rdlock(&obj->rmap_lock);
}

void shadow_rmap_unlock(struct shadow_object *obj)
{
	pthread_rwlock_unlock(&obj->rmap_lock);
}

void shadow_rmap_iter_init(struct shadow_rmap_iter *it,
			   struct shadow_object *obj, uint64_t pgoff,
			   uint64_t npages)
{
	assert(npages > 0);
	it->obj = obj;
	it->first = pgoff;
	it->last = npages - 1 > UINT64_MAX - pgoff ? UINT64_MAX : pgoff + npages - 1;
	it->pos = &obj->regions;
}

/*
 * The pgoff arithmetic of the anon_vma design: a region maps object pages
 * [r->pgoff, r->pgoff + r->npages) at r->gfn, so the overlap of that with
 * the pages asked for is one run of gfns.  sptep is looked up without
 * mmu_lock: see the comment on mmu_lock in struct shadow; NULL while
 * gfn's chunk was never used.
 */
bool shadow_rmap_next(struct shadow_rmap_iter *it)
{
	for (it->pos = it->pos->next; it->pos != &it->obj->regions;
	     it->pos = it->pos->next) {
		struct shadow_region *r = mn_list_entry(it->pos,
						struct shadow_region, obj_node);
		uint64_t lo = it->first > r->pgoff ? it->first : r->pgoff;
		uint64_t r_last = r->pgoff + r->npages - 1;
		uint64_t hi = it->last < r_last ? it->last : r_last;

		if (lo > hi)
			continue;
		it->shadow = r->shadow;
		it->region = r;
		it->pgoff = lo;
		it->gfn = r->gfn + (lo - r->pgoff);
		it->count = hi - lo + 1;
		it->sptep = shadow_table_sptep(r->shadow, it->gfn);	/* may be NULL */
		return true;
	}
	return false;
}
