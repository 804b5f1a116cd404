/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * shadow/internal.h - the shadow library's private structures, shared by
 * table.c (the radix tree of sptes), rmap.c (objects, regions, the reverse
 * map) and shadow.c (VMs, spte writers, notifier callbacks, faults).
 * Locking is documented in shadow.h and at each structure below.
 */
#ifndef SHADOW_INTERNAL_H
#define SHADOW_INTERNAL_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>

#include "shadow/shadow.h"

#define CHUNK_SHIFT	9			/* gfn bits 8..0 */
#define CHUNK_PAGES	(1ULL << CHUNK_SHIFT)
#define NODE_SHIFT	(CHUNK_SHIFT + 9)	/* gfn bits 17..9 */
#define NODE_ENTRIES	512
#define DIR_SHIFT	(NODE_SHIFT + 9)	/* gfn bits 26..18 */
#define DIR_ENTRIES	512
#define ROOT_SHIFT	(DIR_SHIFT + 9)		/* gfn bits 35..27 */
#define ROOT_ENTRIES	512
#define TOP_ENTRIES	(1ULL << (SHADOW_GFN_BITS - ROOT_SHIFT))	/* gfn bits 39..36 */

static_assert(ROOT_SHIFT + 4 == SHADOW_GFN_BITS, "top has 16 entries");
static_assert(ROOT_ENTRIES == 1 << (ROOT_SHIFT - DIR_SHIFT), "root size");
static_assert(NODE_ENTRIES == 1 << (NODE_SHIFT - CHUNK_SHIFT), "node size");
static_assert(DIR_ENTRIES == 1 << (DIR_SHIFT - NODE_SHIFT), "dir size");
/* During a move a gfn may be counted by its old and new range at once. */
static_assert(2 * CHUNK_PAGES <= UINT16_MAX, "coverage count fits u16");

struct shadow_chunk {
	spte_t spte[CHUNK_PAGES];
};

/*
 * covered[i]: how many gfns of chunk i lie in a region; the node exists
 * while some covered[] is non-zero (nr_covered counts them).  chunk[i] is
 * allocated on first use - the first spte of chunk i that becomes other
 * than none (a fault's install, set_zero, a move) - and freed when
 * covered[i] drops to zero, so a covered chunk that nothing ever mapped
 * costs nothing.  chunk[i] goes from NULL to a chunk under mmu_lock only,
 * published with a release store so that rmap walkers, which read it under
 * their object's rmap_lock alone, see a zeroed chunk or NULL; it goes back
 * to NULL only under both locks (region removal or move).
 */
struct shadow_node {
	struct shadow_chunk *_Atomic chunk[NODE_ENTRIES];
	uint16_t covered[NODE_ENTRIES];
	uint32_t nr_covered;
};

struct shadow_dir {
	struct shadow_node *node[DIR_ENTRIES];
	uint32_t nr_nodes;
};

struct shadow_root {
	struct shadow_dir *dir[ROOT_ENTRIES];
	uint32_t nr_dirs;
};

static_assert(sizeof(struct shadow_chunk) == 512, "chunk is 512 bytes: one byte per gfn");
static_assert(sizeof(struct shadow_node) == 5128, "node size as documented");
static_assert(sizeof(struct shadow_dir) == 4104, "dir size as documented");
static_assert(sizeof(struct shadow_root) == 4104, "root size as documented");

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
	 * mmu_lock protects regions, released, the tree (top and every root,
	 * dir, node and chunk) and every spte.  Tree pointers for gfns inside
	 * a region are also read under that region's obj->rmap_lock (rmap
	 * walks): root, directory and node pointers are written only when a chunk
	 * gains its first or loses its last covering region, which cannot
	 * happen to chunks of a region that the rmap_lock keeps in place; a
	 * chunk pointer may also go from NULL to a new chunk under mmu_lock
	 * alone (first use, struct shadow_node), which is why it is atomic.
	 */
	pthread_mutex_t mmu_lock;
	struct mn_list regions;		/* sorted by gfn, disjoint */
	bool released;			/* the space released us: no faults */
	struct shadow_root *top[TOP_ENTRIES];

	atomic_uint_fast64_t faults;
	atomic_uint_fast64_t fault_retries;
	atomic_uint_fast64_t installed;
	atomic_uint_fast64_t zapped;
	atomic_uint_fast64_t present;
	atomic_uint_fast64_t table_bytes;
};

/*
 * table.c, mmu_lock held (or the covering region's rmap_lock for lookups).
 * sptep: the spte of @gfn, or NULL if its chunk was never used (the spte
 * is none) or no region covers it.  get: the spte's value, none for NULL.
 * populate: mmu_lock held, @gfn inside a region: the spte, allocating its
 * chunk on first use; NULL only on ENOMEM.
 */
spte_t *shadow_table_sptep(const struct shadow *s, uint64_t gfn);
spte_t shadow_table_get(const struct shadow *s, uint64_t gfn);
spte_t *shadow_table_populate(struct shadow *s, uint64_t gfn);
/* Make [gfn, gfn + npages) covered / uncovered by a region: allocate or free nodes (uncover: chunks). */
int shadow_table_cover(struct shadow *s, uint64_t gfn, uint64_t npages);
void shadow_table_uncover(struct shadow *s, uint64_t gfn, uint64_t npages);

/* shadow.c, mmu_lock held: forget an spte, keeping the statistics right. */
void shadow_spte_clear(struct shadow *s, spte_t *sptep);

#endif /* SHADOW_INTERNAL_H */
