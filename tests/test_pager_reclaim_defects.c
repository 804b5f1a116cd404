// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests of the reclaim side's defects of issue 10, point 5 (the
 * fixture: tests/pager_fixture.h). 4: a failed MADV_DONTNEED leaves the
 * pages hot, so a later write is kept; 5: dirty detection fails closed, a
 * page is clean only when the scan (PAGEMAP_SCAN, or /proc/self/pagemap's
 * uffd-wp bit) positively says it was not written; 6: a freed slot's
 * checksum is cleared, and a failed write or punch gives its slots back.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/pager_fixture.h"

/* --- 4. a failed MADV_DONTNEED zaps nothing ---------------------------------------- */

START_TEST(test_failed_dontneed_leaves_pages_hot_and_a_later_write_is_kept)
{
	pager_up(NPAGES, 0, 0, 1);
	swap_out_chunk(0);
	/* Page 0 back, write-protected: clean, with its slot (if the kernel tracks clean pages). */
	ck_assert_int_eq(pager_fault_in(pg, 0, 1, false, buf, false), 0);
	if (pg->wp_async)
		ck_assert(ps_clean(state_of(0)));
	else
		fprintf(stderr, "no UFFD_FEATURE_WP_ASYNC here: every page is dirty; "
			"only the zapped flag is checked\n");

	atomic_store(&fail_dontneed, 1);
	pager_clock_step(pg, 0);		/* the zap fails */
	ck_assert_int_eq(atomic_load(&fail_dontneed), 0);
	ck_assert_msg(!ps_zapped(state_of(0)), "a page MADV_DONTNEED did not zap is marked zapped");
	/* Its host pte is still there: this write faults nowhere. */
	fill((uint64_t *)base, 0, 2);

	swap_out_chunk(0);			/* zap for real (written), evict */
	ck_assert_uint_eq(ps_state(state_of(0)), PS_SWAPPED);
	ck_assert_int_eq(pager_fault_in(pg, 0, 1, false, buf, false), 0);
	ck_assert_msg(holds(0, 2), "the write after the failed zap was lost");
}
END_TEST

/* --- 5. dirty detection fails closed ---------------------------------------------- */

/* Clean pages 0..3, pages 1 and 3 written since they came back. */
static void two_of_four_written(void)
{
	pager_up(NPAGES, 0, 0, 4);
	swap_out_chunk(0);
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	fill((uint64_t *)(base + PAGE_SIZE), 1, 2);
	fill((uint64_t *)(base + 3 * PAGE_SIZE), 3, 2);
}

START_TEST(test_pages_a_short_scan_did_not_reach_count_as_written)
{
	pager_up(NPAGES, 0, 0, 4);
	swap_out_chunk(0);
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	for (uint64_t p = 0; p < 4; p++)
		fill((uint64_t *)(base + p * PAGE_SIZE), p, 2);	/* present: no fault */

	/* The zap's scan stops after the first written page (the kernel's max_pages). */
	atomic_store(&scan_max_pages, 1);
	pager_clock_step(pg, 0);
	atomic_store(&scan_max_pages, 0);
	if (pg->wp_async)
		ck_assert_int_ge(atomic_load(&scans_short), 1);
	else
		fprintf(stderr, "no UFFD_FEATURE_WP_ASYNC here: no scan, every page written\n");
	for (uint64_t p = 0; p < 4; p++)
		ck_assert_msg(ps_dirty(state_of(p)) && ps_zapped(state_of(p)),
			      "page %llu, written, is not dirty after a scan cut short",
			      (unsigned long long)p);

	pager_clock_step(pg, 0);		/* evict: every page written out */
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	for (uint64_t p = 0; p < 4; p++)
		ck_assert_msg(holds(p, 2), "page %llu lost its write", (unsigned long long)p);
}
END_TEST

START_TEST(test_written_clean_pages_are_found_written)
{
	/* The scan's own answer, uncut: the written pages found dirty, the others clean. */
	two_of_four_written();
	pager_clock_step(pg, 0);
	ck_assert(ps_dirty(state_of(1)) && ps_dirty(state_of(3)));
	if (pg->wp_async)
		ck_assert(ps_clean(state_of(0)) && ps_clean(state_of(2)));
	pager_clock_step(pg, 0);
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	ck_assert(holds(0, 1) && holds(1, 2) && holds(2, 1) && holds(3, 2));
}
END_TEST

START_TEST(test_scan_error_falls_back_to_pagemap)
{
	two_of_four_written();
	atomic_store(&fail_scan, 1);
	pager_clock_step(pg, 0);
	if (pg->wp_async) {
		ck_assert_int_eq(atomic_load(&fail_scan), 0);
		ck_assert(!pg->pagemap_scan);
		/* /proc/self/pagemap's uffd-wp bit (57) tells them apart. */
		ck_assert(ps_clean(state_of(0)) && ps_clean(state_of(2)));
	}
	ck_assert(ps_dirty(state_of(1)) && ps_dirty(state_of(3)));
	pager_clock_step(pg, 0);
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	ck_assert(holds(0, 1) && holds(1, 2) && holds(2, 1) && holds(3, 2));
}
END_TEST

START_TEST(test_unreadable_pagemap_counts_every_page_written)
{
	int fd;

	two_of_four_written();
	pg->pagemap_scan = false;
	/* A pagemap that reads short: nothing is known, so nothing is clean. */
	fd = pg->pagemap_fd;
	pg->pagemap_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(pg->pagemap_fd, 0);
	pager_clock_step(pg, 0);
	close(pg->pagemap_fd);
	pg->pagemap_fd = fd;
	for (uint64_t p = 0; p < 4; p++)
		ck_assert_msg(ps_dirty(state_of(p)), "page %llu is clean on no evidence",
			      (unsigned long long)p);
	pager_clock_step(pg, 0);
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	ck_assert(holds(0, 1) && holds(1, 2) && holds(2, 1) && holds(3, 2));
}
END_TEST

/* --- 6. slots and reservations go back on every error path ------------------------ */

START_TEST(test_freed_slot_checksum_is_cleared)
{
	struct swap_store st;
	uint64_t slot, page = 7, words[WORDS], back[WORDS];

	ck_assert_int_eq(swap_store_open(&st, getenv("TMPDIR") && *getenv("TMPDIR") ?
					 getenv("TMPDIR") : "/tmp"), 0);
	fill(words, page, 1);
	ck_assert_uint_eq(swap_slots_alloc(&st, &slot, 1), 1);
	ck_assert_int_eq(swap_write(&st, &slot, &page, words, 1), 0);
	ck_assert_int_eq(swap_read(&st, slot, page, back), 0);
	swap_slot_free(&st, slot);
	/* The slot's bytes are still on file: only a forgotten checksum refuses them. */
	ck_assert_int_eq(swap_read(&st, slot, page, back), -EBADMSG);
	swap_store_close(&st);
}
END_TEST

START_TEST(test_punch_failure_after_write_frees_the_new_slots)
{
	pager_up(NPAGES, 0, 0, 8);
	pager_clock_step(pg, 0);		/* zap */
	ck_assert_uint_eq(pg->store.in_use, 0);
	atomic_store(&fail_punch, 1);
	pager_clock_step(pg, 0);		/* written to swap, then the punch fails */
	ck_assert_int_eq(atomic_load(&fail_punch), 0);
	ck_assert_uint_ge(atomic_load(&pg->store.writes), 1);
	ck_assert_uint_eq(pg->store.in_use, 0);
	for (uint64_t p = 0; p < 8; p++) {
		ck_assert_uint_eq(ps_state(state_of(p)), PS_RESIDENT);
		ck_assert(holds(p, 1));
	}
	pager_clock_step(pg, 0);		/* and now they go */
	ck_assert_uint_eq(pg->store.in_use, 8);
	ck_assert_int_eq(pager_fault_in(pg, 0, 8, false, buf, false), 0);
	for (uint64_t p = 0; p < 8; p++)
		ck_assert(holds(p, 1));
}
END_TEST

START_TEST(test_write_failure_frees_the_slots)
{
	pager_up(NPAGES, 0, 0, 8);
	pager_clock_step(pg, 0);
	pg->store.fail_write_at = atomic_load(&pg->store.writes) + 1;
	pager_clock_step(pg, 0);
	ck_assert_uint_eq(pg->store.in_use, 0);
	for (uint64_t p = 0; p < 8; p++)
		ck_assert(ps_state(state_of(p)) == PS_RESIDENT && holds(p, 1));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pager_reclaim_defects");
	TCase *dirty = tcase_create("dirty"), *slots = tcase_create("slots");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(dirty, NULL, pager_down);
	tcase_add_checked_fixture(slots, NULL, pager_down);
	tcase_set_timeout(dirty, 30);
	tcase_set_timeout(slots, 30);
	tcase_add_test(dirty, test_failed_dontneed_leaves_pages_hot_and_a_later_write_is_kept);
	tcase_add_test(dirty, test_pages_a_short_scan_did_not_reach_count_as_written);
	tcase_add_test(dirty, test_written_clean_pages_are_found_written);
	tcase_add_test(dirty, test_scan_error_falls_back_to_pagemap);
	tcase_add_test(dirty, test_unreadable_pagemap_counts_every_page_written);
	tcase_add_test(slots, test_freed_slot_checksum_is_cleared);
	tcase_add_test(slots, test_punch_failure_after_write_frees_the_new_slots);
	tcase_add_test(slots, test_write_failure_frees_the_slots);
	suite_add_tcase(s, dirty);
	suite_add_tcase(s, slots);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
