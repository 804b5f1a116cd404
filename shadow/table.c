// SPDX-License-Identifier: GPL-2.0-only
/*
 * shadow/table.c - the per-VM radix tree from gfn to spte: lookup,
 * coverage by regions, range walks.  Contracts and locking: shadow.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "shadow/internal.h"

/* --- the radix tree --------------------------------------------------------- */

static uint64_t top_index(uint64_t gfn)
{
	return gfn >> ROOT_SHIFT;
}

static unsigned int root_index(uint64_t gfn)
{
	return (gfn >> DIR_SHIFT) & (ROOT_ENTRIES - 1);
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

/* The node of @gfn, or NULL; then *skip is the first gfn past the missing level. */
static struct shadow_node *lookup_node(const struct shadow *s, uint64_t gfn,
				       uint64_t *skip)
{
	struct shadow_root *root = s->top[top_index(gfn)];
	struct shadow_dir *dir;

	if (!root) {
		*skip = block_end(gfn, ROOT_SHIFT);
		return NULL;
	}
	dir = root->dir[root_index(gfn)];
	if (!dir) {
		*skip = block_end(gfn, DIR_SHIFT);
		return NULL;
	}
	if (!dir->node[dir_index(gfn)])
		*skip = block_end(gfn, NODE_SHIFT);
	return dir->node[dir_index(gfn)];
}

/*
 * The sptes of @gfn's chunk, or NULL (never used, or not covered); then
 * *skip is the first gfn past the missing level, so walks jump over holes
 * a chunk, a node, a directory or a root at a time.  Acquire: an rmap
 * walker that sees a chunk another thread just populated sees it zeroed.
 */
static spte_t *lookup_chunk(const struct shadow *s, uint64_t gfn,
			      uint64_t *skip)
{
	struct shadow_node *node = lookup_node(s, gfn, skip);
	struct shadow_chunk *chunk;

	if (!node)
		return NULL;
	chunk = atomic_load_explicit(&node->chunk[node_index(gfn)],
				     memory_order_acquire);
	if (!chunk) {
		*skip = block_end(gfn, CHUNK_SHIFT);
		return NULL;
	}
	return chunk->spte;
}

spte_t *shadow_table_sptep(const struct shadow *s, uint64_t gfn)
{
	uint64_t skip;
	spte_t *sptes = lookup_chunk(s, gfn, &skip);

	return sptes ? &sptes[chunk_index(gfn)] : NULL;
}

spte_t shadow_table_get(const struct shadow *s, uint64_t gfn)
{
	spte_t *sptep = shadow_table_sptep(s, gfn);

	return sptep ? *sptep : SPTE_NONE;
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

spte_t *shadow_table_populate(struct shadow *s, uint64_t gfn)
{
	uint64_t skip;
	struct shadow_node *node = lookup_node(s, gfn, &skip);
	unsigned int ni = node_index(gfn);
	struct shadow_chunk *chunk;

	assert(node && node->covered[ni]);
	if (!node || !node->covered[ni])
		return NULL;	/* not covered: nothing to populate */
	chunk = atomic_load_explicit(&node->chunk[ni], memory_order_relaxed);
	if (!chunk) {
		chunk = table_alloc(s, sizeof(*chunk));
		if (!chunk)
			return NULL;
		atomic_store_explicit(&node->chunk[ni], chunk, memory_order_release);
	}
	return &chunk->spte[chunk_index(gfn)];
}

/*
 * mmu_lock held.  Count @n gfns from @gfn (all in one chunk) as covered,
 * allocating the chunk's node, directory and root on first coverage; the
 * chunk itself waits for its first use (shadow_table_populate).
 */
static int cover_chunk(struct shadow *s, uint64_t gfn, unsigned int n)
{
	struct shadow_root **rootp = &s->top[top_index(gfn)];
	struct shadow_dir **dirp;
	struct shadow_node **nodep;
	unsigned int ni = node_index(gfn);

	if (!*rootp && !(*rootp = table_alloc(s, sizeof(**rootp))))
		return -ENOMEM;
	dirp = &(*rootp)->dir[root_index(gfn)];
	if (!*dirp) {
		*dirp = table_alloc(s, sizeof(**dirp));
		if (!*dirp)
			goto free_root;
		(*rootp)->nr_dirs++;
	}
	nodep = &(*dirp)->node[dir_index(gfn)];
	if (!*nodep) {
		*nodep = table_alloc(s, sizeof(**nodep));
		if (!*nodep)
			goto free_dir;
		(*dirp)->nr_nodes++;
	}
	if (!(*nodep)->covered[ni])
		(*nodep)->nr_covered++;
	(*nodep)->covered[ni] += n;
	return 0;

free_dir:
	if (!(*dirp)->nr_nodes) {
		table_free(s, *dirp, sizeof(**dirp));
		*dirp = NULL;
		(*rootp)->nr_dirs--;
	}
free_root:
	if (!(*rootp)->nr_dirs) {
		table_free(s, *rootp, sizeof(**rootp));
		*rootp = NULL;
	}
	return -ENOMEM;
}

/*
 * mmu_lock held, and the object's rmap_lock for write (no rmap walker
 * holds a chunk pointer).  Undo cover_chunk; the last uncover frees the
 * chunk if it was used (its sptes the caller reset to none) and any parent
 * left empty.
 */
static void uncover_chunk(struct shadow *s, uint64_t gfn, unsigned int n)
{
	struct shadow_root **rootp = &s->top[top_index(gfn)];
	struct shadow_dir **dirp = &(*rootp)->dir[root_index(gfn)];
	struct shadow_node **nodep = &(*dirp)->node[dir_index(gfn)];
	struct shadow_node *node = *nodep;
	unsigned int ni = node_index(gfn);
	struct shadow_chunk *chunk;

	assert(node->covered[ni] >= n);
	node->covered[ni] -= n;
	if (node->covered[ni])
		return;
	chunk = atomic_load_explicit(&node->chunk[ni], memory_order_relaxed);
	if (chunk) {
		for (unsigned int i = 0; i < CHUNK_PAGES; i++)
			assert(is_none_spte(chunk->spte[i]));
		atomic_store_explicit(&node->chunk[ni], NULL, memory_order_relaxed);
		table_free(s, chunk, sizeof(*chunk));
	}
	if (--node->nr_covered)
		return;
	table_free(s, node, sizeof(*node));
	*nodep = NULL;
	if (--(*dirp)->nr_nodes)
		return;
	table_free(s, *dirp, sizeof(**dirp));
	*dirp = NULL;
	if (--(*rootp)->nr_dirs)
		return;
	table_free(s, *rootp, sizeof(**rootp));
	*rootp = NULL;
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

void shadow_table_uncover(struct shadow *s, uint64_t gfn, uint64_t npages)
{
	uint64_t g;
	unsigned int n;

	for_each_chunk_piece(gfn, gfn + npages, g, n)
		uncover_chunk(s, g, n);
}

/* mmu_lock held.  All or nothing: on -ENOMEM nothing stays covered. */
int shadow_table_cover(struct shadow *s, uint64_t gfn, uint64_t npages)
{
	uint64_t g;
	unsigned int n;

	for_each_chunk_piece(gfn, gfn + npages, g, n) {
		if (cover_chunk(s, g, n)) {
			shadow_table_uncover(s, gfn, g - gfn);
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
