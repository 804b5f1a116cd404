// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of shadow/: the table's memory (nodes on coverage, chunks on
 * first use, all freed with the regions), range walks and the fault path.
 * The rest: test_shadow.c.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/shadow_fixtures.h"

/* --- the table's memory ------------------------------------------------------ */

static uint64_t table_bytes(void)
{
	struct shadow_stats st;

	shadow_get_stats(vm, &st);
	return st.table_bytes;
}

/* Fault gfn in read-only, as a vCPU's first touch. */
static void touch(uint64_t gfn)
{
	struct resolver res = { 0 };

	ck_assert_int_ge(fault(vm, gfn, 1, 0, &res), 0);
}

START_TEST(test_table_costs_nodes_at_coverage_and_chunks_on_first_use)
{
	struct shadow_region *lo, *hi;
	struct shadow_walk w;
	uint64_t n = 0;

	ck_assert_uint_eq(table_bytes(), TOP_BYTES);

	/* 1 GiB, aligned: one node, one directory; no chunk until used. */
	shadow_object_destroy(obj);
	obj = shadow_object_create(4 * GIB_PAGES, &obj);
	lo = add(vm, obj, 0, GIB_PAGES, 0);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES);
	/* Reads, walks and invalidations allocate nothing. */
	for (uint64_t g = 0; g < GIB_PAGES; g += 4099)
		ck_assert(is_none_spte(get(vm, g)));
	shadow_lock(vm);
	for_each_shadow_spte(vm, 0, GIB_PAGES, &w)
		n++;
	shadow_unlock(vm);
	ck_assert_uint_eq(n, 0);
	{
		struct mn_range r;

		mn_invalidate_range_start(space, &r, 0, GIB_PAGES);
		mn_invalidate_range_end(&r);
	}
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES);

	/* A fault uses its chunk; a second in the same chunk costs nothing. */
	touch(7);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES + CHUNK_BYTES);
	touch(300);
	touch(1000);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES + 2 * CHUNK_BYTES);
	/* Zapped, it stays: the chunk is freed with its region. */
	pager_set(vm, 1000, SPTE_NONE);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES + 2 * CHUNK_BYTES);
	shadow_region_remove(lo);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES);

	/* The VMM's 4 GiB layout: 3 GiB at 0, 1 GiB at 4 GiB; the hole
	 * costs nothing, and every chunk used makes 267,272 bytes per GiB. */
	lo = add(vm, obj, 0, 3 * GIB_PAGES, 0);
	hi = add(vm, obj, 3 * GIB_PAGES, GIB_PAGES, 4 * GIB_PAGES);
	ck_assert_uint_eq(table_bytes() - TOP_BYTES - DIRS_BYTES, 4 * NODE_BYTES);
	for (uint64_t g = 0; g < 5 * GIB_PAGES; g += 512)
		if (g < 3 * GIB_PAGES || g >= 4 * GIB_PAGES)
			touch(g + 511);
	ck_assert_uint_eq(table_bytes() - TOP_BYTES - DIRS_BYTES, 4 * 267272ULL);

	/* Everything is freed with the regions. */
	shadow_region_remove(hi);
	shadow_region_remove(lo);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES);

	/* The last gfn: its own root, directory and node, freed with it. */
	lo = add(vm, obj, 0, 1, SHADOW_GFN_LIMIT - 1);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES);
	touch(SHADOW_GFN_LIMIT - 1);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES + CHUNK_BYTES);
	shadow_region_remove(lo);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES);
}
END_TEST

START_TEST(test_unused_chunk_still_refuses_uncovered_gfns)
{
	struct resolver res = { 0 };
	uint64_t spte;

	add(vm, obj, 0, 10, 10);		/* gfns 10..19 of chunk 0 */
	ck_assert_int_eq(shadow_get_spte(vm, 5, &spte), -EFAULT);
	ck_assert_int_eq(shadow_get_spte(vm, 20, &spte), -EFAULT);
	ck_assert_int_eq(fault(vm, 5, 1, 0, &res), -EFAULT);
	ck_assert_int_eq(res.calls, 0);
	shadow_lock(vm);
	ck_assert_ptr_null(shadow_sptep(vm, 9));
	shadow_unlock(vm);
	ck_assert(is_none_spte(get(vm, 15)));
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES);
	/* Used now; gfns of the chunk outside the region are still refused. */
	ck_assert_int_eq(fault(vm, 12, 64, 0, &res), 8);	/* clipped at 19 */
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES + CHUNK_BYTES);
	ck_assert_int_eq(shadow_get_spte(vm, 20, &spte), -EFAULT);
	ck_assert_int_eq(fault(vm, 25, 1, 0, &res), -EFAULT);
}
END_TEST

START_TEST(test_rmap_sptep_is_null_until_the_chunk_is_used)
{
	struct shadow_rmap_iter it;
	int found = 0;

	add(vm, obj, 100, 50, 2000);
	shadow_rmap_lock(obj);
	for_each_rmap_spte(obj, 120, &it) {
		ck_assert_uint_eq(it.gfn, 2020);
		ck_assert_ptr_null(it.sptep);
		shadow_lock(vm);
		ck_assert_int_eq(shadow_spte_set_none(vm, it.sptep), 0);
		shadow_unlock(vm);
		found++;
	}
	shadow_rmap_unlock(obj);
	ck_assert_int_eq(found, 1);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES);

	touch(2021);	/* a neighbour uses the chunk */
	shadow_rmap_lock(obj);
	for_each_rmap_spte(obj, 120, &it) {
		shadow_lock(vm);
		ck_assert_ptr_nonnull(it.sptep);
		ck_assert_ptr_eq(it.sptep, shadow_sptep(vm, 2020));
		ck_assert(is_none_spte(*it.sptep));
		shadow_unlock(vm);
	}
	shadow_rmap_unlock(obj);
}
END_TEST

START_TEST(test_move_carries_used_chunks_only)
{
	struct shadow_region *r;

	/* 1024 pages: chunks 0 and 1 at gfn 0; only a page of chunk 1 used. */
	r = add(vm, obj, 0, 1024, 0);
	touch(600);
	pager_set(vm, 700, make_zero_spte());
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES + CHUNK_BYTES);

	/* Far away: chunk 1's sptes land in chunk 9; chunks 0 and 1 go. */
	ck_assert_int_eq(shadow_region_move(r, 4096), 0);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES + DIRS_BYTES + NODE_BYTES + CHUNK_BYTES);
	ck_assert(is_access_track_spte(get(vm, 4096 + 600)));
	ck_assert_uint_eq(get(vm, 4096 + 700), make_zero_spte());
	ck_assert(is_none_spte(get(vm, 4096 + 10)));

	/* Overlapping, by half a chunk: the used pages straddle two chunks. */
	ck_assert_int_eq(shadow_region_move(r, 4096 - 256), 0);
	ck_assert(is_access_track_spte(get(vm, 4096 - 256 + 600)));
	ck_assert_uint_eq(get(vm, 4096 - 256 + 700), make_zero_spte());
	ck_assert(is_none_spte(get(vm, 4096 + 600)));
	ck_assert(is_none_spte(get(vm, 4096 + 700)));
	shadow_region_remove(r);
	ck_assert_uint_eq(table_bytes(), TOP_BYTES);
}
END_TEST

START_TEST(test_regions_sharing_a_chunk_keep_it_until_both_go)
{
	struct shadow_region *a, *b;
	struct shadow_stats st;

	a = add(vm, obj, 0, 10, 100);
	b = add(vm, obj, 10, 10, 110);
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes, TOP_BYTES + DIRS_BYTES + NODE_BYTES);
	pager_set(vm, 105, make_zero_spte());
	shadow_region_remove(b);
	ck_assert_uint_eq(get(vm, 105), make_zero_spte());
	shadow_get_stats(vm, &st);
	ck_assert_uint_eq(st.table_bytes, TOP_BYTES + DIRS_BYTES + NODE_BYTES + CHUNK_BYTES);
	/* A region added where b was starts from none. */
	b = add(vm, obj, 10, 10, 110);
	ck_assert(is_none_spte(get(vm, 110)));
	shadow_region_remove(a);
	shadow_region_remove(b);
}
END_TEST

/* --- faults -------------------------------------------------------------------- */

/* --- range walks ---------------------------------------------------------------- */

START_TEST(test_walk_visits_used_chunks_in_order)
{
	struct shadow_walk w;
	uint64_t n = 0, prev = 0;

	add(vm, obj, 0, 3, 510);		/* 510..512: two chunks */
	add(vm, obj, 0, 1, GIB_PAGES * 700);	/* another directory */
	add(vm, obj, 0, 1, GIB_PAGES * 800);	/* a chunk never used */
	pager_set(vm, 511, make_zero_spte());
	pager_set(vm, 512, make_zero_spte());
	pager_set(vm, GIB_PAGES * 700, make_zero_spte());
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
	/* Two whole chunks around 510..512 and one around the far page;
	 * nothing of the unused chunk. */
	ck_assert_uint_eq(n, 3 * 512);
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


static Suite *shadow_fault_suite(void)
{
	Suite *s = suite_create("shadow_fault");
	TCase *tc = tcase_create("table_and_faults");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_table_costs_nodes_at_coverage_and_chunks_on_first_use);
	tcase_add_test(tc, test_unused_chunk_still_refuses_uncovered_gfns);
	tcase_add_test(tc, test_rmap_sptep_is_null_until_the_chunk_is_used);
	tcase_add_test(tc, test_move_carries_used_chunks_only);
	tcase_add_test(tc, test_regions_sharing_a_chunk_keep_it_until_both_go);
	tcase_add_test(tc, test_fault_resolves_and_installs);
	tcase_add_test(tc, test_fault_batch_prefetches_until_present_or_region_end);
	tcase_add_test(tc, test_fault_outside_regions_fails);
	tcase_add_test(tc, test_fault_returns_resolve_errors_and_installs_nothing);
	tcase_add_test(tc, test_fault_map_writable_controls_write_permission);
	tcase_add_test(tc, test_fault_retries_when_invalidated_while_resolving);
	tcase_add_test(tc, test_fault_resolve_sees_stale_and_restarts);
	tcase_add_test(tc, test_fault_waits_for_invalidation_end);
	tcase_add_test(tc, test_walk_visits_used_chunks_in_order);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(shadow_fault_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
