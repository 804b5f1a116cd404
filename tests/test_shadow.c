// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of shadow/: every spte helper and state transition, regions,
 * the reverse map and the notifier callbacks.  The fault path, walks and
 * the table's memory: test_shadow_fault.c.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/shadow_fixtures.h"

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
	/* Chunks 1 and 3 hold sptes; chunk 2 (1024..1535) was never used. */
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes, TOP_BYTES + DIRS_BYTES + NODE_BYTES + 2 * CHUNK_BYTES);
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
		/* NULL: a chunk never used, whose sptes are none. */
		if (it.sptep)
			ck_assert_ptr_eq(it.sptep, shadow_sptep(it.shadow, it.gfn));
		else
			ck_assert(is_none_spte(*shadow_sptep(it.shadow, it.gfn)));
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
	tcase_add_test(tc, test_remove_forgets_sptes);
	tcase_add_test(tc, test_move_keeps_states_and_pgoff);
	tcase_add_test(tc, test_move_refuses_overlap_and_changes_nothing);
	tcase_add_test(tc, test_rmap_finds_every_mapping_by_pgoff);
	tcase_add_test(tc, test_rmap_range_yields_one_run_per_region);
	tcase_add_test(tc, test_pager_reclaim_through_rmap);
	tcase_add_test(tc, test_pager_writers_refuse_present_sptes);
	tcase_add_test(tc, test_invalidate_zaps_present_and_keeps_pager_state);
	tcase_add_test(tc, test_young_harvest_from_accessed_bits);
	tcase_add_test(tc, test_dirty_harvest_write_protects);
	tcase_add_test(tc, test_release_zaps_all_and_refuses_faults);
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
