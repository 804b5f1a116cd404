// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the swap store on a real file: slot allocation and reuse,
 * round trips, checksum verification (a slot never comes back wrong), and
 * the fault-injection switches the pager tests rely on.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pager/swap_store.h"
#include "vmm/util.h"

static struct swap_store st;
static uint8_t page[PAGE_SIZE], back[PAGE_SIZE];

static void fill(uint8_t *p, unsigned seed)
{
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		p[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
}

static void setup(void)
{
	unsetenv("VMM_SWAP_FAULTS");
	ck_assert_int_eq(swap_store_open(&st, "/tmp"), 0);
}

static void teardown(void)
{
	swap_store_close(&st);
}

START_TEST(store_file_has_no_name)
{
	struct stat s;

	ck_assert_int_eq(fstat(st.fd, &s), 0);
	ck_assert_uint_eq(s.st_nlink, 0);
}
END_TEST

START_TEST(fresh_slots_are_consecutive_and_freed_slots_are_reused)
{
	uint64_t a[4], b[2];

	ck_assert_uint_eq(swap_slots_alloc(&st, a, 4), 4);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(a[i], i);
	swap_slot_free(&st, a[1]);
	swap_slot_free(&st, a[3]);
	ck_assert_uint_eq(st.in_use, 2);
	ck_assert_uint_eq(swap_slots_alloc(&st, b, 2), 2);
	ck_assert_uint_eq(b[0], 1);
	ck_assert_uint_eq(b[1], 3);
	ck_assert_uint_eq(st.in_use, 4);
}
END_TEST

START_TEST(page_round_trips_through_its_slot)
{
	uint64_t slots[3], pages[3] = { 10, 11, 500 };
	uint8_t *buf = malloc(3 * PAGE_SIZE);

	for (int i = 0; i < 3; i++)
		fill(buf + i * PAGE_SIZE, i + 1);
	ck_assert_uint_eq(swap_slots_alloc(&st, slots, 3), 3);
	ck_assert_int_eq(swap_write(&st, slots, pages, buf, 3), 0);
	for (int i = 2; i >= 0; i--) {
		ck_assert_int_eq(swap_read(&st, slots[i], pages[i], back), 0);
		ck_assert_mem_eq(back, buf + i * PAGE_SIZE, PAGE_SIZE);
	}
	ck_assert_uint_eq(atomic_load(&st.bytes_written), 3 * PAGE_SIZE);
	ck_assert_uint_eq(atomic_load(&st.bytes_read), 3 * PAGE_SIZE);
	free(buf);
}
END_TEST

START_TEST(consecutive_slots_are_read_in_one_run_and_a_bad_one_is_named)
{
	uint64_t slots[4], pages[4] = { 40, 41, 42, 43 };
	uint8_t *buf = malloc(4 * PAGE_SIZE), *in = malloc(4 * PAGE_SIZE), bad = 0;
	unsigned which = 99;

	for (int i = 0; i < 4; i++)
		fill(buf + i * PAGE_SIZE, 10 + i);
	ck_assert_uint_eq(swap_slots_alloc(&st, slots, 4), 4);
	ck_assert_uint_eq(slots[3], slots[0] + 3);
	ck_assert_int_eq(swap_write(&st, slots, pages, buf, 4), 0);
	ck_assert_int_eq(swap_read_run(&st, slots[0], pages, 4, in, &which), 0);
	ck_assert_mem_eq(in, buf, 4 * PAGE_SIZE);
	ck_assert_int_eq(pwrite(st.fd, &bad, 1, (slots[2] + 1) * PAGE_SIZE - 1), 1);
	ck_assert_int_eq(swap_read_run(&st, slots[0], pages, 4, in, &which), -EBADMSG);
	ck_assert_uint_eq(which, 2);
	free(buf);
	free(in);
}
END_TEST

START_TEST(corrupted_slot_fails_its_checksum)
{
	uint64_t slot, p = 7;
	uint8_t bad = 0x5a;

	fill(page, 3);
	ck_assert_uint_eq(swap_slots_alloc(&st, &slot, 1), 1);
	ck_assert_int_eq(swap_write(&st, &slot, &p, page, 1), 0);
	ck_assert_int_eq(pwrite(st.fd, &bad, 1, slot * PAGE_SIZE + 4095), 1);
	ck_assert_int_eq(swap_read(&st, slot, p, back), -EBADMSG);
	ck_assert_uint_eq(atomic_load(&st.checksum_errors), 1);
	/* A read thrown away as stale is not counted. */
	ck_assert_int_eq(swap_read(&st, slot, p, back), -EBADMSG);
	swap_read_discarded(&st, -EBADMSG);
	swap_read_discarded(&st, 0);
	ck_assert_uint_eq(atomic_load(&st.checksum_errors), 1);
}
END_TEST

START_TEST(slot_read_back_for_another_page_fails_its_checksum)
{
	uint64_t slot, p = 7;

	fill(page, 4);
	ck_assert_uint_eq(swap_slots_alloc(&st, &slot, 1), 1);
	ck_assert_int_eq(swap_write(&st, &slot, &p, page, 1), 0);
	ck_assert_int_eq(swap_read(&st, slot, 8, back), -EBADMSG);
	ck_assert_int_eq(swap_read(&st, slot, 7, back), 0);
}
END_TEST

START_TEST(never_written_slot_is_not_read_as_valid)
{
	uint64_t slot;

	ck_assert_uint_eq(swap_slots_alloc(&st, &slot, 1), 1);
	ck_assert_int_eq(pwrite(st.fd, page, PAGE_SIZE, slot * PAGE_SIZE), PAGE_SIZE);
	ck_assert_int_eq(swap_read(&st, slot, 0, back), -EBADMSG);
}
END_TEST

START_TEST(checksum_depends_on_every_byte_and_the_page)
{
	uint64_t h;

	fill(page, 9);
	h = swap_checksum(1, page);
	ck_assert_uint_ne(h, swap_checksum(2, page));
	for (unsigned i = 0; i < PAGE_SIZE; i += 97) {
		page[i] ^= 1;
		ck_assert_uint_ne(h, swap_checksum(1, page));
		page[i] ^= 1;
	}
	ck_assert_uint_eq(h, swap_checksum(1, page));
}
END_TEST

START_TEST(injected_faults_fail_the_requested_operations)
{
	uint64_t slots[8], p = 1;

	swap_store_close(&st);
	setenv("VMM_SWAP_FAULTS", "write=2,read=2,enospc=3", 1);
	ck_assert_int_eq(swap_store_open(&st, "/tmp"), 0);
	fill(page, 5);
	ck_assert_uint_eq(swap_slots_alloc(&st, slots, 8), 3);	/* full at 3 */
	ck_assert_int_eq(swap_write(&st, &slots[0], &p, page, 1), 0);
	ck_assert_int_eq(swap_write(&st, &slots[1], &p, page, 1), -EIO);
	ck_assert_uint_eq(atomic_load(&st.write_errors), 1);
	ck_assert_int_eq(swap_read(&st, slots[0], p, back), 0);
	ck_assert_int_eq(swap_read(&st, slots[0], p, back), -EIO);
}
END_TEST

START_TEST(missing_directory_is_an_error)
{
	struct swap_store s2;

	ck_assert_int_eq(swap_store_open(&s2, "/nonexistent/dir"), -1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("swap store");
	TCase *tc = tcase_create("store");
	SRunner *sr;
	int failed;

	vmm_quiet = true;
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, store_file_has_no_name);
	tcase_add_test(tc, fresh_slots_are_consecutive_and_freed_slots_are_reused);
	tcase_add_test(tc, page_round_trips_through_its_slot);
	tcase_add_test(tc, consecutive_slots_are_read_in_one_run_and_a_bad_one_is_named);
	tcase_add_test(tc, corrupted_slot_fails_its_checksum);
	tcase_add_test(tc, slot_read_back_for_another_page_fails_its_checksum);
	tcase_add_test(tc, never_written_slot_is_not_read_as_valid);
	tcase_add_test(tc, checksum_depends_on_every_byte_and_the_page);
	tcase_add_test(tc, injected_faults_fail_the_requested_operations);
	tcase_add_test(tc, missing_directory_is_an_error);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
