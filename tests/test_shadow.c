// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of shadow/: every spte helper and state transition, the
 * table and its memory use, regions, the reverse map, the fault path and
 * the notifier callbacks.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shadow/shadow.h"

#define GIB_PAGES	(1ULL << 18)
#define ROOT_BYTES	(8192 * 8)
#define DIR_BYTES	4104
#define NODE_BYTES	5128
#define CHUNK_BYTES	512	/* one byte per spte */

/* --- spte helpers --------------------------------------------------------- */

START_TEST(test_none_spte_is_zero_and_nothing_else)
{
	uint64_t spte = SPTE_NONE;

	ck_assert_uint_eq(spte, 0);
	ck_assert(is_none_spte(spte));
	ck_assert(!is_shadow_present_spte(spte));
	ck_assert(!is_access_track_spte(spte));
	ck_assert(!is_zero_spte(spte));
	ck_assert(!is_zero_spte(spte));
	ck_assert(!is_resident_spte(spte));
	ck_assert(!is_writable_spte(spte));
	ck_assert(!is_accessed_spte(spte));
	ck_assert(!is_dirty_spte(spte));
	ck_assert_int_eq(spte_state(spte), SPTE_STATE_NONE);
}
END_TEST

START_TEST(test_present_spte_carries_its_flags)
{
	for (int bits = 0; bits < 8; bits++) {
		bool w = bits & 1, a = bits & 2, d = bits & 4;
		uint64_t spte;

		if (d && !w)
			continue;	/* dirty implies writable */
		spte = make_present_spte(w, a, d);
		ck_assert(is_shadow_present_spte(spte));
		ck_assert(is_resident_spte(spte));
		ck_assert_int_eq(is_writable_spte(spte), w);
		ck_assert_int_eq(is_accessed_spte(spte), a);
		ck_assert_int_eq(is_dirty_spte(spte), d);
		ck_assert(!is_none_spte(spte) && !is_zero_spte(spte));
		ck_assert(!is_zero_spte(spte) && !is_access_track_spte(spte));
		ck_assert_int_eq(spte_state(spte), SPTE_STATE_PRESENT);
	}
}
END_TEST

START_TEST(test_zero_spte_is_its_own_state)
{
	uint64_t spte = make_zero_spte();

	ck_assert(is_zero_spte(spte));
	ck_assert(!is_none_spte(spte));
	ck_assert(!is_shadow_present_spte(spte));
	ck_assert(!is_access_track_spte(spte));
	ck_assert(!is_resident_spte(spte));
	ck_assert_int_eq(spte_state(spte), SPTE_STATE_ZERO);
}
END_TEST

START_TEST(test_access_tracking_keeps_writable_and_dirty)
{
	uint64_t spte = make_present_spte(true, true, true);
	uint64_t at = mark_spte_for_access_track(spte);

	ck_assert(is_access_track_spte(at));
	ck_assert_int_eq(spte_state(at), SPTE_STATE_ACC_TRACK);
	ck_assert(!is_shadow_present_spte(at));
	ck_assert(is_resident_spte(at));
	ck_assert(is_writable_spte(at));
	ck_assert(is_dirty_spte(at));
	ck_assert(!is_accessed_spte(at));

	at = mark_spte_for_access_track(make_present_spte(false, true, false));
	ck_assert(is_access_track_spte(at));
	ck_assert(!is_writable_spte(at) && !is_dirty_spte(at));
}
END_TEST

START_TEST(test_zap_leaves_non_present_states_alone)
{
	uint64_t states[] = { SPTE_NONE, make_zero_spte(), make_zero_spte(),
			      mark_spte_for_access_track(make_present_spte(true, false, true)) };

	for (unsigned int i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		ck_assert_uint_eq(mark_spte_for_access_track(states[i]), states[i]);
}
END_TEST

START_TEST(test_young_old_dirty_transitions)
{
	uint64_t spte = make_present_spte(true, false, false);

	spte = spte_mkyoung(spte);
	ck_assert(is_accessed_spte(spte));
	spte = spte_mkdirty(spte);
	ck_assert(is_dirty_spte(spte));
	spte = spte_mkold(spte);
	ck_assert(!is_accessed_spte(spte));
	ck_assert(is_dirty_spte(spte) && is_writable_spte(spte));
	ck_assert(is_shadow_present_spte(spte));
}
END_TEST

START_TEST(test_mark_written_dirties_resident_sptes_only)
{
	uint64_t clean = make_present_spte(false, true, false);
	uint64_t tracked = mark_spte_for_access_track(clean);
	uint64_t others[] = { SPTE_NONE, make_zero_spte(), make_zero_spte() };

	clean = spte_mark_written(clean);
	ck_assert(is_shadow_present_spte(clean) && is_dirty_spte(clean) &&
		  is_writable_spte(clean) && is_accessed_spte(clean));
	tracked = spte_mark_written(tracked);
	ck_assert(is_access_track_spte(tracked) && is_dirty_spte(tracked) &&
		  is_writable_spte(tracked));
	for (unsigned int i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		ck_assert_uint_eq(spte_mark_written(others[i]), others[i]);
}
END_TEST

START_TEST(test_wrprotect_clean_clears_dirty_and_writable)
{
	uint64_t p = spte_wrprotect_clean(make_present_spte(true, true, true));
	uint64_t at = spte_wrprotect_clean(mark_spte_for_access_track(
					make_present_spte(true, false, true)));

	ck_assert(is_shadow_present_spte(p) && is_accessed_spte(p));
	ck_assert(!is_dirty_spte(p) && !is_writable_spte(p));
	ck_assert(is_access_track_spte(at));
	ck_assert(!is_dirty_spte(at) && !is_writable_spte(at));
	ck_assert_uint_eq(spte_wrprotect_clean(make_zero_spte()),
			  make_zero_spte());
	ck_assert_uint_eq(spte_wrprotect_clean(SPTE_NONE), SPTE_NONE);
}
END_TEST

START_TEST(test_fault_spte_from_every_state)
{
	uint64_t at_dirty = mark_spte_for_access_track(make_present_spte(true, true, true));
	uint64_t at_clean = mark_spte_for_access_track(make_present_spte(true, true, false));
	uint64_t spte;

	/* From swap or zero: clean, accessed if touched. */
	spte = make_fault_spte(make_zero_spte(), true, true, false);
	ck_assert_uint_eq(spte, make_present_spte(true, true, false));
	spte = make_fault_spte(make_zero_spte(), false, false, false);
	ck_assert_uint_eq(spte, make_present_spte(false, false, false));
	spte = make_fault_spte(SPTE_NONE, true, true, true);
	ck_assert_uint_eq(spte, make_present_spte(true, true, true));
	/* Access-tracked keeps its dirty data, and so stays writable. */
	spte = make_fault_spte(at_dirty, false, true, false);
	ck_assert_uint_eq(spte, make_present_spte(true, true, true));
	spte = make_fault_spte(at_clean, false, false, false);
	ck_assert_uint_eq(spte, make_present_spte(false, false, false));
	/* A present spte keeps accessed and dirty. */
	spte = make_fault_spte(make_present_spte(true, true, true), true, false, false);
	ck_assert_uint_eq(spte, make_present_spte(true, true, true));
	/* A write upgrades a read-only spte. */
	spte = make_fault_spte(make_present_spte(false, true, false), true, true, true);
	ck_assert_uint_eq(spte, make_present_spte(true, true, true));
}
END_TEST

/* --- fixtures --------------------------------------------------------------- */

static struct mn_space *space;
static struct shadow *vm;
static struct shadow_object *obj;

static void setup(void)
{
	space = mn_space_create();
	ck_assert_ptr_nonnull(space);
	vm = shadow_create(space, &space);
	ck_assert_ptr_nonnull(vm);
	obj = shadow_object_create(4096, &obj);
	ck_assert_ptr_nonnull(obj);
}

static void teardown(void)
{
	shadow_destroy(vm);
	ck_assert_int_eq(shadow_object_destroy(obj), 0);
	mn_space_destroy(space);
}

static struct shadow_region *add(struct shadow *s, struct shadow_object *o,
				 uint64_t pgoff, uint64_t npages, uint64_t gfn)
{
	struct shadow_region *r = NULL;

	ck_assert_int_eq(shadow_region_add(s, o, pgoff, npages, gfn, &r), 0);
	ck_assert_ptr_nonnull(r);
	return r;
}

static uint64_t get(struct shadow *s, uint64_t gfn)
{
	uint64_t spte = ~0ULL;

	ck_assert_int_eq(shadow_get_spte(s, gfn, &spte), 0);
	return spte;
}

/* Set an spte the way the pager does: inside an invalidation. */
static void pager_set(struct shadow *s, uint64_t gfn, uint64_t spte)
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

static int resolve(struct shadow_fault *f, void *ctx)
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

static int fault(struct shadow *s, uint64_t gfn, unsigned int npages,
		 unsigned int flags, struct resolver *res)
{
	return shadow_fault(s, gfn, npages, flags, resolve, res);
}

/* --- objects, VMs, regions ---------------------------------------------------- */

START_TEST(test_object_and_shadow_accessors)
{
	ck_assert_uint_eq(shadow_object_npages(obj), 4096);
	ck_assert_ptr_eq(shadow_object_priv(obj), &obj);
	ck_assert_ptr_eq(shadow_space(vm), space);
	ck_assert_ptr_eq(shadow_priv(vm), &space);
	ck_assert_ptr_null(shadow_object_create(0, NULL));
}
END_TEST

START_TEST(test_region_add_validates_its_arguments)
{
	struct shadow_region *r = NULL;

	ck_assert_int_eq(shadow_region_add(vm, obj, 0, 0, 0, &r), -EINVAL);
	ck_assert_int_eq(shadow_region_add(vm, obj, 4096, 1, 0, &r), -EINVAL);
	ck_assert_int_eq(shadow_region_add(vm, obj, 4000, 97, 0, &r), -EINVAL);
	ck_assert_int_eq(shadow_region_add(vm, obj, 0, 1, SHADOW_GFN_LIMIT, &r), -EINVAL);
	ck_assert_int_eq(shadow_region_add(vm, obj, 0, 2, SHADOW_GFN_LIMIT - 1, &r), -EINVAL);
	ck_assert_ptr_null(r);

	r = add(vm, obj, 0, 100, 1000);
	ck_assert_uint_eq(shadow_region_gfn(r), 1000);
	ck_assert_uint_eq(shadow_region_pgoff(r), 0);
	ck_assert_uint_eq(shadow_region_npages(r), 100);
	ck_assert_ptr_eq(shadow_region_object(r), obj);
	ck_assert_ptr_eq(shadow_region_shadow(r), vm);

	/* Overlaps at either end, or inside, are refused. */
	ck_assert_int_eq(shadow_region_add(vm, obj, 0, 1, 1099, &r), -EEXIST);
	ck_assert_int_eq(shadow_region_add(vm, obj, 0, 2, 999, &r), -EEXIST);
	ck_assert_int_eq(shadow_region_add(vm, obj, 0, 300, 900, &r), -EEXIST);
	/* Adjacent is fine; the same object pages may be mapped twice. */
	add(vm, obj, 0, 10, 1100);
	add(vm, obj, 0, 1, SHADOW_GFN_LIMIT - 1);
	ck_assert_int_eq(shadow_object_destroy(obj), -EBUSY);
}
END_TEST

START_TEST(test_new_region_reads_none_and_gaps_fault)
{
	uint64_t spte;

	add(vm, obj, 10, 20, 500);
	for (uint64_t g = 500; g < 520; g++)
		ck_assert(is_none_spte(get(vm, g)));
	ck_assert_int_eq(shadow_get_spte(vm, 499, &spte), -EFAULT);
	ck_assert_int_eq(shadow_get_spte(vm, 520, &spte), -EFAULT);
	shadow_lock(vm);
	ck_assert_ptr_null(shadow_sptep(vm, 520));
	ck_assert_ptr_null(shadow_find_region(vm, 499));
	ck_assert_ptr_nonnull(shadow_find_region(vm, 519));
	shadow_unlock(vm);
}
END_TEST

START_TEST(test_table_memory_scales_with_guest_ram)
{
	struct shadow_region *lo, *hi;
	struct shadow_stats st;

	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes, ROOT_BYTES);

	/* 1 GiB, aligned: 512 chunks, one node, one directory. */
	shadow_object_destroy(obj);
	obj = shadow_object_create(4 * GIB_PAGES, &obj);
	lo = add(vm, obj, 0, GIB_PAGES, 0);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes,
			  ROOT_BYTES + DIR_BYTES + NODE_BYTES + 512 * CHUNK_BYTES);
	shadow_region_remove(lo);

	/* The VMM's 4 GiB layout: 3 GiB at 0, 1 GiB at 4 GiB; the hole
	 * costs nothing, the table is 267,272 bytes per GiB. */
	lo = add(vm, obj, 0, 3 * GIB_PAGES, 0);
	hi = add(vm, obj, 3 * GIB_PAGES, GIB_PAGES, 4 * GIB_PAGES);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes - ROOT_BYTES - DIR_BYTES,
			  4 * 267272ULL);

	/* Everything is freed with the regions. */
	shadow_region_remove(hi);
	shadow_region_remove(lo);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes, ROOT_BYTES);
}
END_TEST

START_TEST(test_regions_sharing_a_chunk_keep_it_until_both_go)
{
	struct shadow_region *a, *b;
	struct shadow_stats st;

	a = add(vm, obj, 0, 10, 100);
	b = add(vm, obj, 10, 10, 110);
	pager_set(vm, 105, make_zero_spte());
	shadow_region_remove(b);
	ck_assert_uint_eq(get(vm, 105), make_zero_spte());
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes, ROOT_BYTES + DIR_BYTES + NODE_BYTES + CHUNK_BYTES);
	/* A region added where b was starts from none. */
	b = add(vm, obj, 10, 10, 110);
	ck_assert(is_none_spte(get(vm, 110)));
	shadow_region_remove(a);
	shadow_region_remove(b);
}
END_TEST

START_TEST(test_remove_forgets_sptes)
{
	struct shadow_region *r = add(vm, obj, 0, 8, 64);
	struct resolver res = { 0 };
	struct shadow_stats st;

	ck_assert_int_eq(fault(vm, 65, 7, 0, &res), 7);
	pager_set(vm, 64, make_zero_spte());
	shadow_region_remove(r);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.present, 0);
	r = add(vm, obj, 0, 8, 64);
	for (uint64_t g = 64; g < 72; g++)
		ck_assert(is_none_spte(get(vm, g)));
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.present, 0);
}
END_TEST

START_TEST(test_move_keeps_states_and_pgoff)
{
	struct shadow_region *r = add(vm, obj, 100, 600, 1000);
	struct resolver res = { 0 };
	struct shadow_stats st;
	uint64_t spte;

	ck_assert_int_eq(fault(vm, 1000, 1, SHADOW_FAULT_WRITE, &res), 1);
	ck_assert_int_eq(fault(vm, 1001, 1, 0, &res), 1);
	pager_set(vm, 1002, make_zero_spte());
	pager_set(vm, 1599, make_zero_spte());

	/* Far away, across a node boundary. */
	ck_assert_int_eq(shadow_region_move(r, GIB_PAGES - 3), 0);
	ck_assert_uint_eq(shadow_region_gfn(r), GIB_PAGES - 3);
	ck_assert_uint_eq(shadow_region_pgoff(r), 100);
	ck_assert_int_eq(shadow_get_spte(vm, 1000, &spte), -EFAULT);
	/* Present sptes were zapped by the move's invalidation. */
	spte = get(vm, GIB_PAGES - 3);
	ck_assert(is_access_track_spte(spte) && is_dirty_spte(spte));
	spte = get(vm, GIB_PAGES - 2);
	ck_assert(is_access_track_spte(spte) && !is_dirty_spte(spte));
	ck_assert_uint_eq(get(vm, GIB_PAGES - 1), make_zero_spte());
	ck_assert_uint_eq(get(vm, GIB_PAGES - 3 + 599), make_zero_spte());
	ck_assert(is_none_spte(get(vm, GIB_PAGES)));

	/* Overlapping moves, both directions. */
	ck_assert_int_eq(shadow_region_move(r, GIB_PAGES - 1), 0);
	ck_assert_uint_eq(get(vm, GIB_PAGES + 1), make_zero_spte());
	ck_assert_uint_eq(get(vm, GIB_PAGES - 1 + 599), make_zero_spte());
	ck_assert_int_eq(shadow_region_move(r, GIB_PAGES - 5), 0);
	ck_assert(is_dirty_spte(get(vm, GIB_PAGES - 5)));
	ck_assert(is_access_track_spte(get(vm, GIB_PAGES - 4)));
	ck_assert_uint_eq(get(vm, GIB_PAGES - 3), make_zero_spte());
	ck_assert_uint_eq(get(vm, GIB_PAGES - 5 + 599), make_zero_spte());
	for (uint64_t g = GIB_PAGES + 595; g < GIB_PAGES + 599; g++)
		ck_assert_int_eq(shadow_get_spte(vm, g, &spte), -EFAULT);
	/* Moving it back leaves nothing behind in the old place. */
	ck_assert_int_eq(shadow_region_move(r, 1000), 0);
	ck_assert_uint_eq(get(vm, 1002), make_zero_spte());
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes, ROOT_BYTES + DIR_BYTES + NODE_BYTES + 3 * CHUNK_BYTES);
}
END_TEST

START_TEST(test_move_refuses_overlap_and_changes_nothing)
{
	struct shadow_region *a = add(vm, obj, 0, 100, 0);
	struct shadow_region *b = add(vm, obj, 0, 100, 200);

	pager_set(vm, 250, make_zero_spte());
	ck_assert_int_eq(shadow_region_move(b, 50), -EEXIST);
	ck_assert_int_eq(shadow_region_move(b, SHADOW_GFN_LIMIT - 99), -EINVAL);
	ck_assert_uint_eq(shadow_region_gfn(b), 200);
	ck_assert_uint_eq(get(vm, 250), make_zero_spte());
	/* Moving next to a is fine. */
	ck_assert_int_eq(shadow_region_move(b, 100), 0);
	ck_assert_uint_eq(get(vm, 150), make_zero_spte());
	ck_assert_uint_eq(shadow_region_gfn(a), 0);
}
END_TEST

/* --- reverse map -------------------------------------------------------------- */

START_TEST(test_rmap_finds_every_mapping_by_pgoff)
{
	struct mn_space *space2 = mn_space_create();
	struct shadow *vm2 = shadow_create(space2, NULL);
	struct shadow_region *lo, *hi, *other;
	struct shadow_rmap_iter it;
	int n = 0;

	/* Two regions of one VM (below and above a hole) and one of another
	 * VM mapping the same object. */
	lo = add(vm, obj, 0, 3000, 0);
	hi = add(vm, obj, 3000, 1096, 4000);
	other = add(vm2, obj, 2990, 20, 70);

	shadow_rmap_lock(obj);
	for_each_rmap_spte(obj, 2995, &it) {
		shadow_lock(it.shadow);
		ck_assert_ptr_eq(it.sptep, shadow_sptep(it.shadow, it.gfn));
		shadow_unlock(it.shadow);
		ck_assert_uint_eq(it.count, 1);
		ck_assert_uint_eq(it.pgoff, 2995);
		if (it.region == lo) {
			ck_assert_ptr_eq(it.shadow, vm);
			ck_assert_uint_eq(it.gfn, 2995);
		} else {
			ck_assert_ptr_eq(it.region, other);
			ck_assert_ptr_eq(it.shadow, vm2);
			ck_assert_uint_eq(it.gfn, 75);
		}
		n++;
	}
	ck_assert_int_eq(n, 2);

	n = 0;
	for_each_rmap_spte(obj, 3005, &it) {
		ck_assert_ptr_eq(it.region, it.shadow == vm ? hi : other);
		ck_assert_uint_eq(it.gfn, it.shadow == vm ? 4005 : 85);
		n++;
	}
	ck_assert_int_eq(n, 2);

	n = 0;
	for_each_rmap_spte(obj, 4095, &it)
		n++;
	ck_assert_int_eq(n, 1);
	shadow_rmap_unlock(obj);

	/* After a move, the rmap yields the new gfn. */
	ck_assert_int_eq(shadow_region_move(other, 9000), 0);
	shadow_rmap_lock(obj);
	for_each_rmap_spte(obj, 2995, &it)
		if (it.shadow == vm2)
			ck_assert_uint_eq(it.gfn, 9005);
	shadow_rmap_unlock(obj);

	shadow_destroy(vm2);
	mn_space_destroy(space2);
}
END_TEST

START_TEST(test_rmap_range_yields_one_run_per_region)
{
	struct shadow_region *lo, *hi;
	struct shadow_rmap_iter it;
	int n = 0;

	lo = add(vm, obj, 0, 3000, 0);
	hi = add(vm, obj, 3000, 1096, 4000);
	shadow_rmap_lock(obj);
	for_each_rmap_range(obj, 2990, 20, &it) {
		if (it.region == lo) {
			ck_assert_uint_eq(it.gfn, 2990);
			ck_assert_uint_eq(it.pgoff, 2990);
			ck_assert_uint_eq(it.count, 10);
		} else {
			ck_assert_ptr_eq(it.region, hi);
			ck_assert_uint_eq(it.gfn, 4000);
			ck_assert_uint_eq(it.pgoff, 3000);
			ck_assert_uint_eq(it.count, 10);
		}
		n++;
	}
	ck_assert_int_eq(n, 2);
	n = 0;
	for_each_rmap_range(obj, 0, UINT64_MAX, &it)
		n++;
	ck_assert_int_eq(n, 2);
	shadow_rmap_unlock(obj);
}
END_TEST

START_TEST(test_pager_reclaim_through_rmap)
{
	struct shadow_rmap_iter it;
	struct resolver res = { 0 };
	struct mn_range r[2];
	int n = 0;

	add(vm, obj, 0, 3000, 0);
	add(vm, obj, 2000, 10, 5000);	/* an alias of pages 2000.. */
	ck_assert_int_eq(fault(vm, 2003, 1, SHADOW_FAULT_WRITE, &res), 1);
	ck_assert_int_eq(fault(vm, 5003, 1, 0, &res), 1);

	shadow_rmap_lock(obj);
	for_each_rmap_spte(obj, 2003, &it)
		mn_invalidate_range_start(shadow_space(it.shadow), &r[n++],
					  it.gfn, it.gfn + 1);
	ck_assert_int_eq(n, 2);
	for_each_rmap_spte(obj, 2003, &it) {
		shadow_lock(it.shadow);
		ck_assert(is_access_track_spte(*it.sptep));
		ck_assert_int_eq(shadow_spte_set_zero(it.shadow, it.sptep), 0);
		shadow_unlock(it.shadow);
	}
	while (n)
		mn_invalidate_range_end(&r[--n]);
	shadow_rmap_unlock(obj);

	ck_assert_uint_eq(get(vm, 2003), make_zero_spte());
	ck_assert_uint_eq(get(vm, 5003), make_zero_spte());
}
END_TEST

START_TEST(test_pager_writers_refuse_present_sptes)
{
	struct resolver res = { 0 };
	spte_t *sptep;

	add(vm, obj, 0, 10, 0);
	ck_assert_int_eq(fault(vm, 1, 1, 0, &res), 1);
	shadow_lock(vm);
	sptep = shadow_sptep(vm, 1);
	ck_assert_int_eq(shadow_spte_set_zero(vm, sptep), -EBUSY);
	ck_assert_int_eq(shadow_spte_set_none(vm, sptep), -EBUSY);
	ck_assert(is_shadow_present_spte(*sptep));
	shadow_unlock(vm);
}
END_TEST

/* --- faults -------------------------------------------------------------------- */

START_TEST(test_fault_resolves_and_installs)
{
	struct resolver res = { 0 };
	struct shadow_stats st;

	add(vm, obj, 50, 100, 200);
	pager_set(vm, 210, make_zero_spte());
	ck_assert_int_eq(fault(vm, 210, 1, 0, &res), 1);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_ptr_eq(res.last.shadow, vm);
	ck_assert_ptr_eq(res.last.obj, obj);
	ck_assert_uint_eq(res.last.gfn, 210);
	ck_assert_uint_eq(res.last.pgoff, 60);
	ck_assert_uint_eq(res.last.npages, 1);
	ck_assert_uint_eq(res.last.old_spte[0], make_zero_spte());
	ck_assert_uint_eq(get(vm, 210), make_present_spte(true, true, false));

	/* Touching a present page is not a fault. */
	ck_assert_int_eq(fault(vm, 210, 1, SHADOW_FAULT_WRITE, &res), 0);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_uint_eq(get(vm, 210), make_present_spte(true, true, true));

	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert_uint_eq(st.installed, 1);
	ck_assert_uint_eq(st.present, 1);
}
END_TEST

START_TEST(test_fault_batch_prefetches_until_present_or_region_end)
{
	struct resolver res = { 0 };

	add(vm, obj, 0, 100, 0);
	ck_assert_int_eq(fault(vm, 5, 1, 0, &res), 1);
	ck_assert_int_eq(fault(vm, 0, 16, 0, &res), 5);
	ck_assert_uint_eq(res.last.npages, 5);		/* stops before 5 */
	ck_assert_uint_eq(get(vm, 0), make_present_spte(true, true, false));
	for (uint64_t g = 1; g < 5; g++)
		ck_assert_uint_eq(get(vm, g), make_present_spte(true, false, false));

	ck_assert_int_eq(fault(vm, 90, SHADOW_FAULT_MAX_PAGES, 0, &res), 10);
	ck_assert_uint_eq(res.last.npages, 10);		/* region end */
	ck_assert(is_shadow_present_spte(get(vm, 99)));

	ck_assert_int_eq(fault(vm, 0, 0, 0, &res), -EINVAL);
	ck_assert_int_eq(fault(vm, 0, SHADOW_FAULT_MAX_PAGES + 1, 0, &res), -EINVAL);
}
END_TEST

START_TEST(test_fault_outside_regions_fails)
{
	struct resolver res = { 0 };

	add(vm, obj, 0, 10, 10);
	ck_assert_int_eq(fault(vm, 9, 1, 0, &res), -EFAULT);
	ck_assert_int_eq(fault(vm, 20, 1, 0, &res), -EFAULT);
	ck_assert_int_eq(fault(vm, SHADOW_GFN_LIMIT, 1, 0, &res), -EFAULT);
	ck_assert_int_eq(res.calls, 0);
}
END_TEST

START_TEST(test_fault_returns_resolve_errors_and_installs_nothing)
{
	struct resolver res = { .ret = -EIO };

	add(vm, obj, 0, 10, 0);
	ck_assert_int_eq(fault(vm, 3, 4, 0, &res), -EIO);
	for (uint64_t g = 3; g < 7; g++)
		ck_assert(is_none_spte(get(vm, g)));
}
END_TEST

START_TEST(test_fault_map_writable_controls_write_permission)
{
	struct resolver res = { .read_only = true };
	struct mn_range r;
	uint64_t at;

	add(vm, obj, 0, 10, 0);
	ck_assert_int_eq(fault(vm, 0, 1, 0, &res), 1);
	ck_assert_uint_eq(get(vm, 0), make_present_spte(false, true, false));
	/* A write to it goes to resolve; a read-only answer is refused. */
	ck_assert_int_eq(fault(vm, 0, 1, SHADOW_FAULT_WRITE, &res), -EACCES);
	ck_assert_uint_eq(res.last.old_spte[0], make_present_spte(false, true, false));
	res.read_only = false;
	ck_assert_int_eq(fault(vm, 0, 1, SHADOW_FAULT_WRITE, &res), 1);
	ck_assert_uint_eq(get(vm, 0), make_present_spte(true, true, true));

	/* A dirty access-tracked page stays writable even if resolve says
	 * read-only: its write was already seen. */
	ck_assert_int_eq(fault(vm, 1, 1, SHADOW_FAULT_WRITE, &res), 1);
	mn_invalidate_range_start(space, &r, 1, 2);
	mn_invalidate_range_end(&r);
	at = get(vm, 1);
	ck_assert(is_access_track_spte(at) && is_dirty_spte(at));
	res.read_only = true;
	ck_assert_int_eq(fault(vm, 1, 1, SHADOW_FAULT_WRITE, &res), 1);
	ck_assert_uint_eq(get(vm, 1), make_present_spte(true, true, true));
}
END_TEST

START_TEST(test_fault_resolve_sees_stale_and_restarts)
{
	struct resolver res = { .invalidate_once = true, .invalidate_gfn = 6, .check_stale = true };
	struct shadow_stats st;

	add(vm, obj, 0, 10, 0);
	/* An invalidation of a page of the batch during resolve: stale, -EAGAIN, again. */
	ck_assert_int_eq(fault(vm, 4, 4, 0, &res), 4);
	ck_assert_int_eq(res.calls, 2);
	ck_assert(res.stale[0]);
	ck_assert(!res.stale[1]);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.fault_retries, 1);
	ck_assert_uint_eq(st.faults, 1);
	for (uint64_t g = 4; g < 8; g++)
		ck_assert(is_shadow_present_spte(get(vm, g)));

	/* One outside the batch is not stale. */
	res = (struct resolver){ .invalidate_once = true, .invalidate_gfn = 9, .check_stale = true };
	ck_assert_int_eq(fault(vm, 0, 2, 0, &res), 2);
	ck_assert_int_eq(res.calls, 1);
	ck_assert(!res.stale[0]);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.fault_retries, 1);
}
END_TEST

START_TEST(test_fault_retries_when_invalidated_while_resolving)
{
	struct resolver res = { .invalidate_once = true, .invalidate_gfn = 7 };
	struct shadow_stats st;

	add(vm, obj, 0, 10, 0);
	ck_assert_int_eq(fault(vm, 4, 4, 0, &res), 4);	/* 7 is a neighbour */
	ck_assert_int_eq(res.calls, 2);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.fault_retries, 1);
	ck_assert_uint_eq(st.faults, 1);
	ck_assert(is_shadow_present_spte(get(vm, 7)));

	/* An invalidation elsewhere does not force a retry. */
	res.invalidate_once = true;
	res.invalidate_gfn = 9;
	ck_assert_int_eq(fault(vm, 0, 2, 0, &res), 2);
	ck_assert_int_eq(res.calls, 3);
}
END_TEST

struct waiting_fault {
	pthread_t thread;
	atomic_bool done;
	int ret;
};

static void *waiting_fault_thread(void *arg)
{
	struct waiting_fault *wf = arg;
	struct resolver res = { 0 };

	wf->ret = fault(vm, 3, 1, 0, &res);
	atomic_store(&wf->done, true);
	return NULL;
}

START_TEST(test_fault_waits_for_invalidation_end)
{
	struct waiting_fault wf = { .done = false };
	struct mn_range r;

	add(vm, obj, 0, 10, 0);
	mn_invalidate_range_start(space, &r, 0, 10);
	ck_assert_int_eq(pthread_create(&wf.thread, NULL, waiting_fault_thread, &wf), 0);
	/* More time only gives a broken fault path more chances to fail. */
	for (int i = 0; i < 20; i++) {
		usleep(1000);
		ck_assert(!atomic_load(&wf.done));
		ck_assert(!is_shadow_present_spte(get(vm, 3)));
	}
	mn_invalidate_range_end(&r);
	pthread_join(wf.thread, NULL);
	ck_assert_int_eq(wf.ret, 1);
	ck_assert(is_shadow_present_spte(get(vm, 3)));
}
END_TEST

/* --- notifier callbacks ---------------------------------------------------------- */

START_TEST(test_invalidate_zaps_present_and_keeps_pager_state)
{
	struct resolver res = { 0 };
	struct shadow_stats st;
	struct mn_range r;

	add(vm, obj, 0, 600, 0);
	ck_assert_int_eq(fault(vm, 0, 4, SHADOW_FAULT_WRITE, &res), 4);
	ck_assert_int_eq(fault(vm, 520, 1, 0, &res), 1);
	pager_set(vm, 4, make_zero_spte());
	pager_set(vm, 5, make_zero_spte());

	mn_invalidate_range_start(space, &r, 0, 600);
	ck_assert_uint_eq(get(vm, 0), mark_spte_for_access_track(
				make_present_spte(true, true, true)));
	ck_assert_uint_eq(get(vm, 1), mark_spte_for_access_track(
				make_present_spte(true, false, false)));
	ck_assert_uint_eq(get(vm, 4), make_zero_spte());
	ck_assert_uint_eq(get(vm, 5), make_zero_spte());
	ck_assert(is_none_spte(get(vm, 6)));
	ck_assert(is_access_track_spte(get(vm, 520)));
	mn_invalidate_range_end(&r);

	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.present, 0);
	ck_assert_uint_eq(st.zapped, 5);
	/* After the end, a fault maps again; the dirty bit survived. */
	ck_assert_int_eq(fault(vm, 0, 1, 0, &res), 1);
	ck_assert_uint_eq(get(vm, 0), make_present_spte(true, true, true));
	ck_assert_uint_eq(res.last.old_spte[0], mark_spte_for_access_track(
				make_present_spte(true, true, true)));
}
END_TEST

START_TEST(test_young_harvest_from_accessed_bits)
{
	struct resolver res = { 0 };
	uint64_t young[2] = { 0, 0 };

	add(vm, obj, 0, 128, 1000);
	ck_assert_int_eq(fault(vm, 1000, 4, 0, &res), 4);	/* 1000 A, 1001-3 not */
	ck_assert_int_eq(fault(vm, 1070, 1, 0, &res), 1);
	pager_set(vm, 1100, make_zero_spte());

	ck_assert(mn_test_young(space, 1000, 1128, young));
	ck_assert_uint_eq(young[0], 1);
	ck_assert_uint_eq(young[1], 1ULL << 6);
	memset(young, 0, sizeof(young));
	ck_assert(mn_clear_young(space, 1000, 1128, young));
	ck_assert_uint_eq(young[0], 1);
	ck_assert_uint_eq(young[1], 1ULL << 6);
	/* Cleared, but still present. */
	ck_assert_uint_eq(get(vm, 1000), make_present_spte(true, false, false));
	ck_assert(!mn_test_young(space, 1000, 1128, NULL));
	ck_assert(!mn_clear_young(space, 1000, 1128, NULL));
	/* A touch makes it young again. */
	ck_assert_int_eq(fault(vm, 1002, 1, 0, &res), 0);
	memset(young, 0, sizeof(young));
	ck_assert(mn_clear_young(space, 1001, 1003, young));
	ck_assert_uint_eq(young[0], 2);
}
END_TEST

START_TEST(test_dirty_harvest_write_protects)
{
	struct resolver res = { 0 };
	struct mn_range r;
	uint64_t dirty = 0;

	add(vm, obj, 0, 64, 0);
	ck_assert_int_eq(fault(vm, 3, 1, SHADOW_FAULT_WRITE, &res), 1);
	ck_assert_int_eq(fault(vm, 9, 1, SHADOW_FAULT_WRITE, &res), 1);
	ck_assert_int_eq(fault(vm, 10, 1, 0, &res), 1);
	mn_invalidate_range_start(space, &r, 9, 10);	/* 9: dirty, zapped */
	mn_invalidate_range_end(&r);
	ck_assert_uint_eq(shadow_harvest_dirty(vm, 0, 64, &dirty), 2);
	ck_assert_uint_eq(dirty, (1ULL << 3) | (1ULL << 9));
	ck_assert_uint_eq(get(vm, 3), make_present_spte(false, true, false));
	ck_assert(!is_dirty_spte(get(vm, 9)) && !is_writable_spte(get(vm, 9)));
	ck_assert_uint_eq(shadow_harvest_dirty(vm, 0, 64, NULL), 0);
	/* The next write faults through resolve and dirties it again. */
	ck_assert_int_eq(fault(vm, 3, 1, SHADOW_FAULT_WRITE, &res), 1);
	ck_assert_int_eq(res.calls, 4);
	ck_assert_uint_eq(shadow_harvest_dirty(vm, 3, 1, NULL), 1);
}
END_TEST

START_TEST(test_release_zaps_all_and_refuses_faults)
{
	struct resolver res = { 0 };
	struct shadow_stats st;

	add(vm, obj, 0, 10, 0);
	ck_assert_int_eq(fault(vm, 0, 10, 0, &res), 10);
	mn_space_release(space);
	for (uint64_t g = 0; g < 10; g++)
		ck_assert(is_access_track_spte(get(vm, g)));
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.present, 0);
	ck_assert_int_eq(fault(vm, 0, 1, 0, &res), -ESHUTDOWN);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_ptr_null(shadow_create(space, NULL));
}
END_TEST

START_TEST(test_walk_visits_covered_chunks_in_order)
{
	struct shadow_walk w;
	uint64_t n = 0, prev = 0;

	add(vm, obj, 0, 3, 510);		/* 510..512: two chunks */
	add(vm, obj, 0, 1, GIB_PAGES * 700);	/* another directory */
	pager_set(vm, 511, make_zero_spte());
	shadow_lock(vm);
	for_each_shadow_spte(vm, 0, SHADOW_GFN_LIMIT, &w) {
		spte_t *sptep = shadow_sptep(vm, w.gfn);

		ck_assert(n == 0 || w.gfn > prev);
		if (sptep)
			ck_assert_ptr_eq(w.sptep, sptep);
		else
			ck_assert(is_none_spte(*w.sptep));
		prev = w.gfn;
		n++;
	}
	ck_assert_uint_eq(prev, GIB_PAGES * 700 + 511);
	shadow_unlock(vm);
	/* Two whole chunks around 510..512 and one around the far page. */
	ck_assert_uint_eq(n, 3 * 512);
}
END_TEST

static Suite *shadow_suite(void)
{
	Suite *s = suite_create("shadow");
	TCase *spte = tcase_create("spte");
	TCase *tc = tcase_create("table");

	tcase_add_test(spte, test_none_spte_is_zero_and_nothing_else);
	tcase_add_test(spte, test_present_spte_carries_its_flags);
	tcase_add_test(spte, test_mark_written_dirties_resident_sptes_only);
	tcase_add_test(spte, test_zero_spte_is_its_own_state);
	tcase_add_test(spte, test_access_tracking_keeps_writable_and_dirty);
	tcase_add_test(spte, test_zap_leaves_non_present_states_alone);
	tcase_add_test(spte, test_young_old_dirty_transitions);
	tcase_add_test(spte, test_wrprotect_clean_clears_dirty_and_writable);
	tcase_add_test(spte, test_fault_spte_from_every_state);
	suite_add_tcase(s, spte);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_object_and_shadow_accessors);
	tcase_add_test(tc, test_region_add_validates_its_arguments);
	tcase_add_test(tc, test_new_region_reads_none_and_gaps_fault);
	tcase_add_test(tc, test_table_memory_scales_with_guest_ram);
	tcase_add_test(tc, test_regions_sharing_a_chunk_keep_it_until_both_go);
	tcase_add_test(tc, test_remove_forgets_sptes);
	tcase_add_test(tc, test_move_keeps_states_and_pgoff);
	tcase_add_test(tc, test_move_refuses_overlap_and_changes_nothing);
	tcase_add_test(tc, test_rmap_finds_every_mapping_by_pgoff);
	tcase_add_test(tc, test_rmap_range_yields_one_run_per_region);
	tcase_add_test(tc, test_pager_reclaim_through_rmap);
	tcase_add_test(tc, test_pager_writers_refuse_present_sptes);
	tcase_add_test(tc, test_fault_resolves_and_installs);
	tcase_add_test(tc, test_fault_batch_prefetches_until_present_or_region_end);
	tcase_add_test(tc, test_fault_outside_regions_fails);
	tcase_add_test(tc, test_fault_returns_resolve_errors_and_installs_nothing);
	tcase_add_test(tc, test_fault_map_writable_controls_write_permission);
	tcase_add_test(tc, test_fault_retries_when_invalidated_while_resolving);
	tcase_add_test(tc, test_fault_resolve_sees_stale_and_restarts);
	tcase_add_test(tc, test_fault_waits_for_invalidation_end);
	tcase_add_test(tc, test_invalidate_zaps_present_and_keeps_pager_state);
	tcase_add_test(tc, test_young_harvest_from_accessed_bits);
	tcase_add_test(tc, test_dirty_harvest_write_protects);
	tcase_add_test(tc, test_release_zaps_all_and_refuses_faults);
	tcase_add_test(tc, test_walk_visits_covered_chunks_in_order);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(shadow_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
