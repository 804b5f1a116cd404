// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the swap store on a real file: slot allocation and reuse,
 * slot metadata that follows the slots in use,
 * round trips, checksum verification (a slot never comes back wrong), and
 * the fault-injection switches the pager tests rely on.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

START_TEST(a_capped_store_is_full_at_its_cap_and_takes_freed_slots_again)
{
	uint64_t a[8], b[2];

	st.cap_slots = 3;	/* <memtune><swap_hard_limit> of 12 KiB */
	ck_assert_uint_eq(swap_slots_alloc(&st, a, 8), 3);
	ck_assert_uint_eq(swap_slots_alloc(&st, b, 1), 0);
	swap_slot_free(&st, a[1]);
	ck_assert_uint_eq(swap_slots_alloc(&st, b, 2), 1);
	ck_assert_uint_eq(b[0], a[1]);
	ck_assert_uint_eq(st.in_use, 3);
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

START_TEST(freed_slot_checksum_is_forgotten)
{
	uint64_t slot, again, p = 3;

	fill(page, 6);
	ck_assert_uint_eq(swap_slots_alloc(&st, &slot, 1), 1);
	ck_assert_int_eq(swap_write(&st, &slot, &p, page, 1), 0);
	swap_slot_free(&st, slot);
	/* The data is still in the file; its slot, taken again, is not valid. */
	ck_assert_uint_eq(swap_slots_alloc(&st, &again, 1), 1);
	ck_assert_uint_eq(again, slot);
	ck_assert_int_eq(swap_read(&st, again, p, back), -EBADMSG);
}
END_TEST

/* Allocate @n slots into @a, 64 at a time. */
static void alloc_n(uint64_t *a, uint64_t n)
{
	for (uint64_t got = 0; got < n; )
		got += swap_slots_alloc(&st, a + got, n - got < 64 ? n - got : 64);
}

#define BLOCK_BYTES	sizeof(struct swap_block)
#define DIR_BYTES	(16 * sizeof(struct swap_block *))	/* the first directory */

START_TEST(slot_metadata_follows_the_slots_in_use)
{
	static uint64_t a[2 * SWAP_BLOCK_SLOTS + 10];
	uint64_t n = 2 * SWAP_BLOCK_SLOTS + 10, s;

	ck_assert_uint_eq(swap_store_metadata_bytes(&st), 0);
	ck_assert_uint_le(BLOCK_BYTES, SWAP_BLOCK_SLOTS * 4 + SWAP_BLOCK_SLOTS / 8 + 8);
	alloc_n(a, n);
	for (uint64_t i = 0; i < n; i++)
		ck_assert_uint_eq(a[i], i);
	/* Three blocks (the third for 10 slots) and the directory, exactly. */
	ck_assert_uint_eq(swap_store_metadata_bytes(&st), 3 * BLOCK_BYTES + DIR_BYTES);

	/* A block whose slots are all free goes. */
	for (uint64_t i = SWAP_BLOCK_SLOTS; i < 2 * SWAP_BLOCK_SLOTS; i++)
		swap_slot_free(&st, a[i]);
	ck_assert_uint_eq(st.in_use, SWAP_BLOCK_SLOTS + 10);
	ck_assert_uint_eq(swap_store_metadata_bytes(&st), 2 * BLOCK_BYTES + DIR_BYTES);
	/* The lowest free slot comes first, and brings its block back. */
	ck_assert_uint_eq(swap_slots_alloc(&st, &s, 1), 1);
	ck_assert_uint_eq(s, SWAP_BLOCK_SLOTS);
	ck_assert_uint_eq(swap_store_metadata_bytes(&st), 3 * BLOCK_BYTES + DIR_BYTES);
	swap_slot_free(&st, a[5]);
	ck_assert_uint_eq(swap_slots_alloc(&st, &s, 1), 1);
	ck_assert_uint_eq(s, 5);

	/* Everything freed: only the directory is left. */
	swap_slot_free(&st, SWAP_BLOCK_SLOTS);
	for (uint64_t i = 0; i < n; i++)
		if (i < SWAP_BLOCK_SLOTS || i >= 2 * SWAP_BLOCK_SLOTS)
			swap_slot_free(&st, a[i]);
	ck_assert_uint_eq(st.in_use, 0);
	ck_assert_uint_eq(swap_store_metadata_bytes(&st), DIR_BYTES);
}
END_TEST

START_TEST(a_block_device_sized_store_is_full_at_its_last_slot)
{
	uint64_t a[64];

	st.max_slots = SWAP_BLOCK_SLOTS + 3;	/* as set from BLKGETSIZE64 */
	for (uint64_t i = 0; i < SWAP_BLOCK_SLOTS; i += 64)
		ck_assert_uint_eq(swap_slots_alloc(&st, a, 64), 64);
	ck_assert_uint_eq(swap_slots_alloc(&st, a, 8), 3);
	ck_assert_uint_eq(a[2], SWAP_BLOCK_SLOTS + 2);
	ck_assert_uint_eq(swap_slots_alloc(&st, a, 1), 0);
	swap_slot_free(&st, 17);
	ck_assert_uint_eq(swap_slots_alloc(&st, a, 2), 1);
	ck_assert_uint_eq(a[0], 17);
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

/* --- added for the store's I/O and --swap-file (new tests only) --------------------- */

static char named_dir[64];

static void named_setup(void)
{
	unsetenv("VMM_SWAP_FAULTS");
	unsetenv("VMM_SWAP_IO");
	strcpy(named_dir, "/tmp/swap-store-test.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(named_dir));
}

static void named_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", named_dir);
	ck_assert_int_eq(system(cmd), 0);
}

/* Pages of the store's file in the page cache. */
static uint64_t store_cached_pages(struct swap_store *s, uint64_t bytes)
{
	unsigned char vec[256];
	uint64_t n = 0;
	void *m = mmap(NULL, bytes, PROT_READ, MAP_SHARED, s->fd, 0);

	ck_assert_ptr_ne(m, MAP_FAILED);
	ck_assert_uint_le(bytes / PAGE_SIZE, sizeof(vec));
	ck_assert_int_eq(mincore(m, bytes, vec), 0);
	for (uint64_t i = 0; i < bytes / PAGE_SIZE; i++)
		n += vec[i] & 1;
	munmap(m, bytes);
	return n;
}

/* Written and read pages leave the page cache, in both modes that promise it. */
static void check_nothing_cached(const char *mode)
{
	uint8_t *buf = aligned_alloc(PAGE_SIZE, 64 * PAGE_SIZE);
	uint64_t slots[64], pages[64];
	struct swap_store s;
	unsigned bad;

	setenv("VMM_SWAP_IO", mode, 1);
	ck_assert_int_eq(swap_store_open(&s, named_dir), 0);
	ck_assert_int_eq(s.io, !strcmp(mode, "direct") ? SWAP_IO_DIRECT : SWAP_IO_DONTNEED);
	ck_assert_uint_eq(swap_slots_alloc(&s, slots, 64), 64);
	for (unsigned i = 0; i < 64; i++) {
		pages[i] = 100 + i;
		fill(buf + i * PAGE_SIZE, i);
	}
	ck_assert_int_eq(swap_write(&s, slots, pages, buf, 64), 0);
	ck_assert_uint_eq(store_cached_pages(&s, 64 * PAGE_SIZE), 0);
	memset(buf, 0, 64 * PAGE_SIZE);
	ck_assert_int_eq(swap_read_run(&s, slots[0], pages, 64, buf, &bad), 0);
	fill(page, 63);
	ck_assert_mem_eq(buf + 63 * PAGE_SIZE, page, PAGE_SIZE);
	ck_assert_uint_eq(store_cached_pages(&s, 64 * PAGE_SIZE), 0);
	swap_store_close(&s);
	free(buf);
}

START_TEST(direct_store_leaves_nothing_in_the_page_cache)
{
	check_nothing_cached("direct");
}
END_TEST

START_TEST(dontneed_store_leaves_nothing_in_the_page_cache)
{
	check_nothing_cached("dontneed");
}
END_TEST

START_TEST(scattered_reused_slots_round_trip)
{
	uint8_t *buf = aligned_alloc(PAGE_SIZE, 8 * PAGE_SIZE);
	uint64_t slots[16], again[8], pages[8];

	/* 16 slots, every other one freed: 8 reused slots in 8 runs of one. */
	ck_assert_uint_eq(swap_slots_alloc(&st, slots, 16), 16);
	for (unsigned i = 0; i < 16; i += 2)
		swap_slot_free(&st, slots[i]);
	ck_assert_uint_eq(swap_slots_alloc(&st, again, 8), 8);
	for (unsigned i = 0; i < 8; i++) {
		ck_assert_uint_eq(again[i] % 2, slots[0] % 2);
		pages[i] = 7 * i + 1;
		fill(buf + i * PAGE_SIZE, 40 + i);
	}
	ck_assert_int_eq(swap_write(&st, again, pages, buf, 8), 0);
	for (unsigned i = 0; i < 8; i++) {
		fill(page, 40 + i);
		ck_assert_int_eq(swap_read(&st, again[i], pages[i], back), 0);
		ck_assert_mem_eq(back, page, PAGE_SIZE);
	}
	ck_assert_uint_eq(atomic_load(&st.bytes_written), 8 * PAGE_SIZE);
	free(buf);
}
END_TEST

START_TEST(named_new_file_is_used_and_removed_at_close)
{
	char path[128];
	struct swap_store s;
	uint64_t slot, p = 3;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/swap", named_dir);
	ck_assert_int_eq(swap_store_open_path(&s, path), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	fill(page, 9);
	ck_assert_uint_eq(swap_slots_alloc(&s, &slot, 1), 1);
	ck_assert_int_eq(swap_write(&s, &slot, &p, page, 1), 0);
	ck_assert_int_eq(swap_read(&s, slot, p, back), 0);
	ck_assert_mem_eq(back, page, PAGE_SIZE);
	swap_store_close(&s);
	ck_assert_int_eq(stat(path, &sb), -1);
	ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(named_empty_file_is_emptied_at_close)
{
	char path[128];
	struct swap_store s;
	uint64_t slot, p = 3;
	struct stat sb;
	int fd;

	snprintf(path, sizeof(path), "%s/empty", named_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(swap_store_open_path(&s, path), 0);
	fill(page, 2);
	ck_assert_uint_eq(swap_slots_alloc(&s, &slot, 1), 1);
	ck_assert_int_eq(swap_write(&s, &slot, &p, page, 1), 0);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, PAGE_SIZE);
	swap_store_close(&s);
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);
}
END_TEST

START_TEST(named_file_with_data_is_refused_and_kept)
{
	char path[128], data[5] = "keep";
	struct swap_store s;
	int fd;

	snprintf(path, sizeof(path), "%s/data", named_dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_eq(write(fd, data, 4), 4);
	close(fd);
	ck_assert_int_eq(swap_store_open_path(&s, path), -1);
	fd = open(path, O_RDONLY);
	memset(data, 0, sizeof(data));
	ck_assert_int_eq(read(fd, data, 5), 4);
	ck_assert_str_eq(data, "keep");
	close(fd);
	/* Neither a directory nor a character device is a swap file. */
	ck_assert_int_eq(swap_store_open_path(&s, named_dir), -1);
	ck_assert_int_eq(swap_store_open_path(&s, "/dev/null"), -1);
}
END_TEST

static TCase *named_tcase(void)
{
	TCase *tc = tcase_create("io and named files");

	tcase_add_checked_fixture(tc, named_setup, named_teardown);
	tcase_add_test(tc, direct_store_leaves_nothing_in_the_page_cache);
	tcase_add_test(tc, dontneed_store_leaves_nothing_in_the_page_cache);
	tcase_add_test(tc, named_new_file_is_used_and_removed_at_close);
	tcase_add_test(tc, named_empty_file_is_emptied_at_close);
	tcase_add_test(tc, named_file_with_data_is_refused_and_kept);
	return tc;
}

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
	tcase_add_test(tc, a_capped_store_is_full_at_its_cap_and_takes_freed_slots_again);
	tcase_add_test(tc, page_round_trips_through_its_slot);
	tcase_add_test(tc, consecutive_slots_are_read_in_one_run_and_a_bad_one_is_named);
	tcase_add_test(tc, corrupted_slot_fails_its_checksum);
	tcase_add_test(tc, slot_read_back_for_another_page_fails_its_checksum);
	tcase_add_test(tc, never_written_slot_is_not_read_as_valid);
	tcase_add_test(tc, freed_slot_checksum_is_forgotten);
	tcase_add_test(tc, slot_metadata_follows_the_slots_in_use);
	tcase_add_test(tc, a_block_device_sized_store_is_full_at_its_last_slot);
	tcase_add_test(tc, checksum_depends_on_every_byte_and_the_page);
	tcase_add_test(tc, injected_faults_fail_the_requested_operations);
	tcase_add_test(tc, missing_directory_is_an_error);
	tcase_add_test(tc, scattered_reused_slots_round_trip);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, named_tcase());
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
