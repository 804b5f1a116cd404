// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the pager's pure parts (pager/page_state.h): state words,
 * runs of a page mask, batch windows and watermarks. No /dev/kvm, no
 * threads, no I/O.
 */
#include <check.h>
#include <stdlib.h>

#include "pager/page_state.h"

START_TEST(test_zeroed_word_is_absent)
{
	page_state_t w = 0;

	ck_assert_uint_eq(ps_state(w), PS_ABSENT);
	ck_assert(ps_slot(w) == PS_NO_SLOT);
	ck_assert(!ps_zapped(w) && !ps_clean(w) && !ps_dirty(w));
	ck_assert_uint_eq(ps_absent(), 0);
}
END_TEST

START_TEST(test_resident_clean_keeps_its_slot_dirty_has_none)
{
	uint64_t slots[] = { 0, 1, 4095, PS_SLOT_MAX };

	for (unsigned i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		page_state_t w = ps_resident(slots[i], false);

		ck_assert_uint_eq(ps_state(w), PS_RESIDENT);
		ck_assert_uint_eq(ps_slot(w), slots[i]);
		ck_assert(ps_clean(w) && !ps_dirty(w) && !ps_zapped(w));
		w = ps_resident(slots[i], true);
		ck_assert(ps_zapped(w) && ps_clean(w));
		ck_assert_uint_eq(ps_slot(w), slots[i]);
	}
	ck_assert(ps_dirty(ps_resident(PS_NO_SLOT, false)));
	ck_assert(ps_dirty(ps_resident(PS_NO_SLOT, true)));
	ck_assert(!ps_clean(ps_resident(PS_NO_SLOT, true)));
}
END_TEST

START_TEST(test_swapped_holds_any_slot_and_is_neither_clean_nor_dirty)
{
	uint64_t slots[] = { 0, 7, 1u << 20, PS_SLOT_MAX };

	for (unsigned i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		page_state_t w = ps_swapped(slots[i]);

		ck_assert_uint_eq(ps_state(w), PS_SWAPPED);
		ck_assert_uint_eq(ps_slot(w), slots[i]);
		ck_assert(!ps_clean(w) && !ps_dirty(w) && !ps_zapped(w));
	}
	/* Slot 0 swapped still differs from absent. */
	ck_assert_uint_ne(ps_swapped(0), ps_absent());
}
END_TEST

static unsigned runs(uint64_t mask, unsigned *starts, unsigned *ends)
{
	unsigned a, b, n = 0;

	for_each_run(mask, a, b) {
		starts[n] = a;
		ends[n++] = b;
	}
	return n;
}

START_TEST(test_runs_of_a_mask)
{
	unsigned s[64], e[64];

	ck_assert_uint_eq(runs(0, s, e), 0);
	ck_assert_uint_eq(runs(~0ULL, s, e), 1);
	ck_assert(s[0] == 0 && e[0] == 64);
	ck_assert_uint_eq(runs(0x0f0ULL | (1ULL << 63), s, e), 2);
	ck_assert(s[0] == 4 && e[0] == 8 && s[1] == 63 && e[1] == 64);
	ck_assert_uint_eq(runs(0x5555555555555555ULL, s, e), 32);
	for (unsigned i = 0; i < 32; i++)
		ck_assert(s[i] == 2 * i && e[i] == 2 * i + 1);
	ck_assert_uint_eq(runs(1ULL, s, e), 1);
	ck_assert(s[0] == 0 && e[0] == 1);
}
END_TEST

START_TEST(test_fault_window_doubles_on_sequential_access_only)
{
	unsigned n, w;

	/* No history: one page. */
	w = ps_fault_window(0, 0, 100, 128, 64, &n);
	ck_assert(w == 1 && n == 1);
	/* Continuing where the last batch ended: doubles up to the maximum. */
	w = ps_fault_window(101, 1, 101, 128, 64, &n);
	ck_assert(w == 2 && n == 2);
	w = ps_fault_window(103, 32, 103, 1024, 64, &n);
	ck_assert(w == 64 && n == 64);
	w = ps_fault_window(167, 64, 167, 1024, 64, &n);
	ck_assert(w == 64 && n == 64);
	/* Clipped at the end of the chunk, the window kept. */
	w = ps_fault_window(120, 8, 120, 128, 64, &n);
	ck_assert(w == 16 && n == 8);
	/* A jump away: back to one page. */
	w = ps_fault_window(120, 8, 500, 512, 64, &n);
	ck_assert(w == 1 && n == 1);
}
END_TEST

START_TEST(test_watermarks_below_the_limit)
{
	uint64_t limits[] = { 256, 4096, 16384, 65536, 1u << 24 };

	for (unsigned i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		uint64_t l = limits[i];

		ck_assert_uint_lt(pager_wm_low(l), pager_wm_high(l));
		ck_assert_uint_lt(pager_wm_high(l), l);
	}
	ck_assert_uint_eq(pager_wm_high(65536), 65536 - 2048);
	ck_assert_uint_eq(pager_wm_low(65536), 65536 - 8192);
	ck_assert_uint_eq(pager_wm_high(256), 256 - 16);
	ck_assert_uint_eq(pager_wm_low(256), 256 - 64);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pager_state");
	TCase *tc = tcase_create("pure");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_zeroed_word_is_absent);
	tcase_add_test(tc, test_resident_clean_keeps_its_slot_dirty_has_none);
	tcase_add_test(tc, test_swapped_holds_any_slot_and_is_neither_clean_nor_dirty);
	tcase_add_test(tc, test_runs_of_a_mask);
	tcase_add_test(tc, test_fault_window_doubles_on_sequential_access_only);
	tcase_add_test(tc, test_watermarks_below_the_limit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
