/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tests/shadow_fixtures.h - fixtures and helpers shared by the unit tests
 * of shadow/ (test_shadow.c, test_shadow_fault.c): one VM on one space,
 * one object, regions, spte reads, pager-style writes and a recording
 * resolve step.
 */
#ifndef TESTS_SHADOW_FIXTURES_H
#define TESTS_SHADOW_FIXTURES_H

#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "shadow/shadow.h"

#define GIB_PAGES	(1ULL << 18)
#define TOP_BYTES	(16 * 8)	/* an empty table: the top level */
/* A root and a directory (4,104 bytes each): what gfns below 512 GiB need. */
#define DIRS_BYTES	(2 * 4104)
#define NODE_BYTES	5128
#define CHUNK_BYTES	512	/* one byte per spte */

/* --- fixtures --------------------------------------------------------------- */

static struct mn_space *space;
static struct shadow *vm;
static struct shadow_object *obj;

static inline void setup(void)
{
	space = mn_space_create();
	ck_assert_ptr_nonnull(space);
	vm = shadow_create(space, &space);
	ck_assert_ptr_nonnull(vm);
	obj = shadow_object_create(4096, &obj);
	ck_assert_ptr_nonnull(obj);
}

static inline void teardown(void)
{
	shadow_destroy(vm);
	ck_assert_int_eq(shadow_object_destroy(obj), 0);
	mn_space_destroy(space);
}

static inline struct shadow_region *add(struct shadow *s, struct shadow_object *o,
				 uint64_t pgoff, uint64_t npages, uint64_t gfn)
{
	struct shadow_region *r = NULL;

	ck_assert_int_eq(shadow_region_add(s, o, pgoff, npages, gfn, &r), 0);
	ck_assert_ptr_nonnull(r);
	return r;
}

static inline uint64_t get(struct shadow *s, uint64_t gfn)
{
	uint64_t spte = ~0ULL;

	ck_assert_int_eq(shadow_get_spte(s, gfn, &spte), 0);
	return spte;
}

/* Set an spte the way the pager does: inside an invalidation. */
static inline void pager_set(struct shadow *s, uint64_t gfn, uint64_t spte)
{
	struct mn_range r;
	spte_t *sptep;

	mn_invalidate_range_start(shadow_space(s), &r, gfn, gfn + 1);
	shadow_lock(s);
	sptep = shadow_sptep(s, gfn);
	ck_assert_ptr_nonnull(sptep);
	if (is_zero_spte(spte))
		ck_assert_int_eq(shadow_spte_set_zero(s, sptep), 0);
	else
		ck_assert_int_eq(shadow_spte_set_none(s, sptep), 0);
	shadow_unlock(s);
	mn_invalidate_range_end(&r);
}

/* A resolve step that records what it was asked. */
struct resolver {
	int calls;
	struct shadow_fault last;
	int ret;
	bool read_only;
	/* On the first call, invalidate this gfn of the fault's VM. */
	bool invalidate_once;
	uint64_t invalidate_gfn;
	/* Then answer -EAGAIN if shadow_fault_stale says so (and record it). */
	bool check_stale;
	bool stale[4];
};

static inline int resolve(struct shadow_fault *f, void *ctx)
{
	struct resolver *res = ctx;

	res->calls++;
	res->last = *f;
	if (res->read_only)
		f->map_writable = false;
	if (res->invalidate_once) {
		struct mn_range r;

		res->invalidate_once = false;
		mn_invalidate_range_start(shadow_space(f->shadow), &r,
					  res->invalidate_gfn,
					  res->invalidate_gfn + 1);
		mn_invalidate_range_end(&r);
	}
	if (res->check_stale) {
		bool stale = shadow_fault_stale(f);

		if (res->calls <= 4)
			res->stale[res->calls - 1] = stale;
		if (stale)
			return -EAGAIN;
	}
	return res->ret;
}

static inline int fault(struct shadow *s, uint64_t gfn, unsigned int npages,
		 unsigned int flags, struct resolver *res)
{
	return shadow_fault(s, gfn, npages, flags, resolve, res);
}


#endif /* TESTS_SHADOW_FIXTURES_H */
