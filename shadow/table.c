// SPDX-License-Identifier: GPL-2.0-only
/*
 * shadow/table.c - the per-VM radix tree from gfn to spte: lookup,
 * coverage by regions, range walks.  Contracts and locking: shadow.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "shadow/internal.h"

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
static spte_t *lookup_chunk(const struct shadow *s, uint64_t gfn,
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

spte_t *shadow_table_sptep(const struct shadow *s, uint64_t gfn)
{
	uint64_t skip;
	spte_t *sptes = lookup_chunk(s, gfn, &skip);

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
