// SPDX-License-Identifier: GPL-2.0
/*
 * shadow/shadow.c - the spte table, memory objects, regions, the fault
 * path and the notifier callbacks.  Contracts and locking: shadow.h.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "shadow/shadow.h"

#define CHUNK_SHIFT	9			/* gfn bits 8..0 */
#define CHUNK_PAGES	(1ULL << CHUNK_SHIFT)
#define NODE_SHIFT	(CHUNK_SHIFT + 9)	/* gfn bits 17..9 */
#define NODE_ENTRIES	512
#define DIR_SHIFT	(NODE_SHIFT + 9)	/* gfn bits 26..18 */
#define DIR_ENTRIES	512
#define ROOT_ENTRIES	(1ULL << (SHADOW_GFN_BITS - DIR_SHIFT))

static_assert(DIR_SHIFT + 13 == SHADOW_GFN_BITS, "root has 8192 entries");
static_assert(NODE_ENTRIES == 1 << (NODE_SHIFT - CHUNK_SHIFT), "node size");
static_assert(DIR_ENTRIES == 1 << (DIR_SHIFT - NODE_SHIFT), "dir size");
/* During a move a gfn may be counted by its old and new range at once. */
static_assert(2 * CHUNK_PAGES <= UINT16_MAX, "coverage count fits u16");

struct shadow_chunk {
	uint64_t spte[CHUNK_PAGES];
};

/*
 * covered[i]: how many gfns of chunk[i] lie in a region; the chunk exists
 * exactly while it is non-zero.  nr_chunks: non-NULL entries of chunk[].
 */
struct shadow_node {
	struct shadow_chunk *chunk[NODE_ENTRIES];
	uint16_t covered[NODE_ENTRIES];
	uint32_t nr_chunks;
};

struct shadow_dir {
	struct shadow_node *node[DIR_ENTRIES];
	uint32_t nr_nodes;
};

static_assert(sizeof(struct shadow_chunk) == 4096, "chunk is 4 KiB");
static_assert(sizeof(struct shadow_node) == 5128, "node size as documented");
static_assert(sizeof(struct shadow_dir) == 4104, "dir size as documented");

struct shadow_object {
	uint64_t npages;
	void *priv;
	/* rmap_lock protects regions and the fields of each region on it. */
	pthread_rwlock_t rmap_lock;
	struct mn_list regions;		/* struct shadow_region, by obj_node */
};

/*
 * gfn, pgoff, npages: written under obj->rmap_lock (write) and
 * shadow->mmu_lock, so stable under either.
 */
struct shadow_region {
	struct shadow *shadow;
	struct shadow_object *obj;
	uint64_t gfn;
	uint64_t pgoff;
	uint64_t npages;
	struct mn_list vm_node;		/* on shadow->regions, by gfn */
	struct mn_list obj_node;	/* on obj->regions */
};

struct shadow {
	struct mn_subscriber sub;
	struct mn_space *space;
	void *priv;

	/*
	 * mmu_lock protects regions, released, the tree (root and every node,
	 * dir and chunk) and every spte.  Tree pointers for gfns inside a
	 * region are also read under that region's obj->rmap_lock (rmap
	 * walks): they are written only when a chunk gains its first or loses
	 * its last covering region, which cannot happen to chunks of a region
	 * that the rmap_lock keeps in place.
	 */
	pthread_mutex_t mmu_lock;
	struct mn_list regions;		/* sorted by gfn, disjoint */
	bool released;			/* the space released us: no faults */
	struct shadow_dir *root[ROOT_ENTRIES];

	atomic_uint_fast64_t faults;
	atomic_uint_fast64_t fault_retries;
	atomic_uint_fast64_t installed;
	atomic_uint_fast64_t zapped;
	atomic_uint_fast64_t present;
	atomic_uint_fast64_t table_bytes;
};

/* --- the radix tree --------------------------------------------------------- */

static uint64_t root_index(uint64_t gfn)
{
	return gfn >> DIR_SHIFT;
}

static unsigned int dir_index(uint64_t gfn)
{
	return (gfn >> NODE_SHIFT) & (DIR_ENTRIES - 1);
}

static unsigned int node_index(uint64_t gfn)
{
	return (gfn >> CHUNK_SHIFT) & (NODE_ENTRIES - 1);
}

static unsigned int chunk_index(uint64_t gfn)
{
	return gfn & (CHUNK_PAGES - 1);
}

/* First gfn after the block of (1 << shift) gfns that holds @gfn. */
static uint64_t block_end(uint64_t gfn, unsigned int shift)
{
	return ((gfn >> shift) + 1) << shift;
}

/*
 * The sptes of @gfn's chunk, or NULL; then *skip is the first gfn past the
 * missing level, so walks jump over holes a node or a directory at a time.
 */
static uint64_t *lookup_chunk(const struct shadow *s, uint64_t gfn,
			      uint64_t *skip)
{
	struct shadow_dir *dir;
	struct shadow_node *node;
	struct shadow_chunk *chunk;

	dir = s->root[root_index(gfn)];
	if (!dir) {
		*skip = block_end(gfn, DIR_SHIFT);
		return NULL;
	}
	node = dir->node[dir_index(gfn)];
	if (!node) {
		*skip = block_end(gfn, NODE_SHIFT);
		return NULL;
	}
	chunk = node->chunk[node_index(gfn)];
	if (!chunk) {
		*skip = block_end(gfn, CHUNK_SHIFT);
		return NULL;
	}
	return chunk->spte;
}

static uint64_t *lookup_sptep(const struct shadow *s, uint64_t gfn)
{
	uint64_t skip;
	uint64_t *sptes = lookup_chunk(s, gfn, &skip);

	return sptes ? &sptes[chunk_index(gfn)] : NULL;
}

static void *table_alloc(struct shadow *s, size_t size)
{
	void *p = calloc(1, size);

	if (p)
		atomic_fetch_add(&s->table_bytes, size);
	return p;
}

static void table_free(struct shadow *s, void *p, size_t size)
{
	free(p);
	atomic_fetch_sub(&s->table_bytes, size);
}

/*
 * mmu_lock held.  Count @n gfns from @gfn (all in one chunk) as covered,
 * allocating the chunk and its parents on first coverage.
 */
static int cover_chunk(struct shadow *s, uint64_t gfn, unsigned int n)
{
	struct shadow_dir **dirp = &s->root[root_index(gfn)];
	struct shadow_node **nodep;
	unsigned int ni = node_index(gfn);

	if (!*dirp && !(*dirp = table_alloc(s, sizeof(**dirp))))
		return -ENOMEM;
	nodep = &(*dirp)->node[dir_index(gfn)];
	if (!*nodep) {
		*nodep = table_alloc(s, sizeof(**nodep));
		if (!*nodep)
			goto free_dir;
		(*dirp)->nr_nodes++;
	}
	if (!(*nodep)->chunk[ni]) {
		(*nodep)->chunk[ni] = table_alloc(s, sizeof(struct shadow_chunk));
		if (!(*nodep)->chunk[ni])
			goto free_node;
		(*nodep)->nr_chunks++;
	}
	(*nodep)->covered[ni] += n;
	return 0;

free_node:
	if (!(*nodep)->nr_chunks) {
		table_free(s, *nodep, sizeof(**nodep));
		*nodep = NULL;
		(*dirp)->nr_nodes--;
	}
free_dir:
	if (!(*dirp)->nr_nodes) {
		table_free(s, *dirp, sizeof(**dirp));
		*dirp = NULL;
	}
	return -ENOMEM;
}

/*
 * mmu_lock held.  Undo cover_chunk; the last uncover frees the chunk (whose
 * sptes the caller reset to none) and any parent left empty.
 */
static void uncover_chunk(struct shadow *s, uint64_t gfn, unsigned int n)
{
	struct shadow_dir **dirp = &s->root[root_index(gfn)];
	struct shadow_node **nodep = &(*dirp)->node[dir_index(gfn)];
	struct shadow_node *node = *nodep;
	unsigned int ni = node_index(gfn);

	assert(node->covered[ni] >= n);
	node->covered[ni] -= n;
	if (node->covered[ni])
		return;
	for (unsigned int i = 0; i < CHUNK_PAGES; i++)
		assert(is_none_spte(node->chunk[ni]->spte[i]));
	table_free(s, node->chunk[ni], sizeof(struct shadow_chunk));
	node->chunk[ni] = NULL;
	if (--node->nr_chunks)
		return;
	table_free(s, node, sizeof(*node));
	*nodep = NULL;
	if (--(*dirp)->nr_nodes)
		return;
	table_free(s, *dirp, sizeof(**dirp));
	*dirp = NULL;
}

/* Pages from @gfn to @end or to the end of gfn's chunk, whichever is first. */
static unsigned int chunk_piece(uint64_t gfn, uint64_t end)
{
	uint64_t stop = block_end(gfn, CHUNK_SHIFT);

	return (stop < end ? stop : end) - gfn;
}

/* Split [start, end) into runs @n gfns from @g, each inside one chunk. */
#define for_each_chunk_piece(start, end, g, n) \
	for (g = (start); g < (end) && ((n) = chunk_piece(g, end)); g += (n))

static void uncover_range(struct shadow *s, uint64_t gfn, uint64_t npages)
{
	uint64_t g;
	unsigned int n;

	for_each_chunk_piece(gfn, gfn + npages, g, n)
		uncover_chunk(s, g, n);
}

/* mmu_lock held.  All or nothing: on -ENOMEM nothing stays covered. */
static int cover_range(struct shadow *s, uint64_t gfn, uint64_t npages)
{
	uint64_t g;
	unsigned int n;

	for_each_chunk_piece(gfn, gfn + npages, g, n) {
		if (cover_chunk(s, g, n)) {
			uncover_range(s, gfn, g - gfn);
			return -ENOMEM;
		}
	}
	return 0;
}

void shadow_walk_init(struct shadow_walk *w, struct shadow *s,
		      uint64_t start, uint64_t end)
{
	w->shadow = s;
	w->next = start;
	w->end = end < SHADOW_GFN_LIMIT ? end : SHADOW_GFN_LIMIT;
	w->chunk = NULL;
}

bool shadow_walk_next(struct shadow_walk *w)
{
	while (w->next < w->end) {
		uint64_t gfn = w->next, skip;

		if (!w->chunk || !chunk_index(gfn))
			w->chunk = lookup_chunk(w->shadow, gfn, &skip);
		if (!w->chunk) {
			w->next = skip;
			continue;
		}
		w->gfn = gfn;
		w->sptep = &w->chunk[chunk_index(gfn)];
		w->next = gfn + 1;
		return true;
	}
	return false;
}

/* --- spte writers (mmu_lock held) ------------------------------------------ */

/*
 * Zap: present -> access-tracked, so the next touch faults.  Returns true
 * if the spte was present (a real mapping went away).
 */
static bool mmu_spte_zap(struct shadow *s, uint64_t *sptep)
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
static void mmu_spte_set(struct shadow *s, uint64_t *sptep, uint64_t spte)
{
	assert(is_shadow_present_spte(spte));
	if (!is_shadow_present_spte(*sptep))
		atomic_fetch_add(&s->present, 1);
	*sptep = spte;
	atomic_fetch_add(&s->installed, 1);
}

/* Forget: any -> none, when a region goes away or moves. */
static void mmu_spte_clear(struct shadow *s, uint64_t *sptep)
{
	if (is_shadow_present_spte(*sptep))
		atomic_fetch_sub(&s->present, 1);
	*sptep = SPTE_NONE;
}

int shadow_spte_set_swapped(struct shadow *s, uint64_t *sptep, uint64_t slot)
{
	if (is_shadow_present_spte(*sptep))
		return -EBUSY;
	if (slot > SPTE_SWAP_SLOT_MAX)
		return -EINVAL;
	*sptep = make_swapped_spte(slot);
	return 0;
}

int shadow_spte_set_zero(struct shadow *s, uint64_t *sptep)
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
	atomic_init(&s->table_bytes, sizeof(s->root));
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

uint64_t *shadow_sptep(struct shadow *s, uint64_t gfn)
{
	return shadow_find_region(s, gfn) ? lookup_sptep(s, gfn) : NULL;
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
	uint64_t *sptep;

	pthread_mutex_lock(&s->mmu_lock);
	sptep = shadow_sptep(s, gfn);
	if (sptep)
		*spte = *sptep;
	pthread_mutex_unlock(&s->mmu_lock);
	return sptep ? 0 : -EFAULT;
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
		ret = cover_range(s, gfn, npages);
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
 * mmu_lock held.  Move @npages sptes from @from to @to, overlap-safe like
 * memmove, then reset the old gfns that the new range does not cover.
 */
static void move_sptes(struct shadow *s, uint64_t from, uint64_t to,
		       uint64_t npages)
{
	for (uint64_t i = 0; i < npages; i++) {
		uint64_t k = to > from ? npages - 1 - i : i;

		*lookup_sptep(s, to + k) = *lookup_sptep(s, from + k);
	}
	for (uint64_t g = from; g < from + npages; g++)
		if (g < to || g >= to + npages)
			mmu_spte_clear(s, lookup_sptep(s, g));
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
	else
		ret = cover_range(s, gfn, r->npages);
	if (!ret) {
		move_sptes(s, r->gfn, gfn, r->npages);
		uncover_range(s, r->gfn, r->npages);
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
		mmu_spte_clear(s, w.sptep);
	uncover_range(s, r->gfn, r->npages);
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
	uint64_t *sptep, n;

	if (s->released)
		return -ESHUTDOWN;
	r = shadow_find_region(s, gfn);
	if (!r)
		return -EFAULT;
	sptep = lookup_sptep(s, gfn);
	if (is_shadow_present_spte(*sptep) && (!write || is_writable_spte(*sptep))) {
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
	f->old_spte[0] = *sptep;
	n = r->gfn + r->npages - gfn;
	if (n > npages)
		n = npages;
	f->npages = 1;
	while (f->npages < n) {
		uint64_t spte = *lookup_sptep(s, gfn + f->npages);

		if (is_shadow_present_spte(spte))
			break;
		f->old_spte[f->npages++] = spte;
	}
	return FAULT_RESOLVE;
}

/*
 * mmu_lock held, read_retry just said the batch is still valid.  A
 * neighbour that a racing fault made present meanwhile is left alone.
 * Returns the number of sptes installed.
 */
static int fault_install(struct shadow *s, const struct shadow_fault *f)
{
	bool write = f->flags & SHADOW_FAULT_WRITE;
	int installed = 0;

	for (unsigned int i = 0; i < f->npages; i++) {
		uint64_t *sptep = lookup_sptep(s, f->gfn + i);

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

		ret = resolve(&f, ctx);
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
			atomic_fetch_add(&s->faults, 1);
		}
		pthread_mutex_unlock(&s->mmu_lock);
		break;
	}
	mn_interval_remove(&iv);
	return ret;
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
 * mmu_lock: see the comment on mmu_lock in struct shadow.
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
		it->sptep = lookup_sptep(r->shadow, it->gfn);
		return true;
	}
	return false;
}
