// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests of the defects of issue 10, point 5, each against a
 * real pager (memfd, userfaultfd, swap file) with no thread started: the
 * test drives faults (pager_fault_in) and reclaim (pager_clock_step, one
 * step of the reclaim thread's clock) itself, so every step is ordered.
 * The test thread touches the mapping only where a page is present.
 *
 * Where the kernel cannot be made to fail on demand (MADV_DONTNEED, a hole
 * punch) or to stop a PAGEMAP_SCAN walk early, the test binary is linked
 * with ld's --wrap: the pager's madvise, fallocate and ioctl calls reach
 * the wrappers below, which pass every call to the kernel unless a test
 * armed a failure. UFFDIO_COPY and UFFDIO_ZEROPAGE are never faked: a
 * partial copy followed by EEXIST is the kernel's own answer when a page
 * of the range is already in the memfd (it copies up to it, returns
 * EAGAIN with the bytes done, then EEXIST at that page); the wrapper only
 * counts those answers, so the tests can assert the path was taken.
 * Needs userfaultfd (root), not /dev/kvm.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pager/internal.h"
#include "pager/uffd_compat.h"

#define NPAGES	128		/* two chunks */
#define WORDS	(PAGE_SIZE / 8)

/* --- the kernel's answers, as the tests arm them (ld --wrap) --------------------- */

int __real_ioctl(int fd, unsigned long req, ...);
int __real_madvise(void *addr, size_t len, int advice);
int __real_fallocate(int fd, int mode, off_t off, off_t len);
int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_madvise(void *addr, size_t len, int advice);
int __wrap_fallocate(int fd, int mode, off_t off, off_t len);

static atomic_int fail_dontneed;	/* MADV_DONTNEED calls to fail with ENOMEM */
static atomic_int fail_punch;		/* hole punches to fail with EIO */
static atomic_int scan_max_pages;	/* PAGEMAP_SCAN: stop after so many pages (0: off) */
static atomic_int scans_short;		/* PAGEMAP_SCAN walks that ended before the range */
static atomic_int copies_partial;	/* UFFDIO_COPY answers: EAGAIN with bytes done */
static atomic_int copies_eexist;	/* UFFDIO_COPY answers: EEXIST */

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == PAGEMAP_SCAN && atomic_load(&scan_max_pages)) {
		/* The kernel itself stops the walk: a real short scan, walk_end set by it. */
		struct pm_scan_arg *a = arg;

		a->max_pages = atomic_load(&scan_max_pages);
		ret = __real_ioctl(fd, req, arg);
		if (ret >= 0 && a->walk_end < a->end)
			atomic_fetch_add(&scans_short, 1);
		return ret;
	}
	ret = __real_ioctl(fd, req, arg);
	if (req == UFFDIO_COPY && ret < 0) {
		const struct uffdio_copy *c = arg;
		int e = errno;

		if (e == EAGAIN && c->copy > 0)
			atomic_fetch_add(&copies_partial, 1);
		else if (e == EEXIST)
			atomic_fetch_add(&copies_eexist, 1);
		errno = e;
	}
	return ret;
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_DONTNEED && atomic_load(&fail_dontneed) > 0) {
		atomic_fetch_sub(&fail_dontneed, 1);
		errno = ENOMEM;
		return -1;
	}
	return __real_madvise(addr, len, advice);
}

int __wrap_fallocate(int fd, int mode, off_t off, off_t len)
{
	if ((mode & FALLOC_FL_PUNCH_HOLE) && atomic_load(&fail_punch) > 0) {
		atomic_fetch_sub(&fail_punch, 1);
		errno = EIO;
		return -1;
	}
	return __real_fallocate(fd, mode, off, len);
}

/* --- a pager with no threads ------------------------------------------------------ */

static int memfd = -1;
static uint8_t *base;
static struct pager *pg;
static uint8_t *buf;		/* a fault's swap-in buffer */
static atomic_uint fatal_calls;

static uint64_t pattern(uint64_t page, uint64_t gen, unsigned w)
{
	return (page << 40) ^ (gen << 20) ^ (w * 0x9e3779b97f4a7c15ULL) ^ 1;
}

static void fill(uint64_t *words, uint64_t page, uint64_t gen)
{
	for (unsigned w = 0; w < WORDS; w++)
		words[w] = pattern(page, gen, w);
}

static void on_fatal(void *opaque, enum pager_fatal why, const char *msg)
{
	(void)opaque;
	(void)why;
	(void)msg;
	atomic_fetch_add(&fatal_calls, 1);
}

static void quiet_log(void *opaque, enum pager_log_level level, const char *msg)
{
	(void)opaque;
	if (level == PAGER_LOG_ERR)
		fprintf(stderr, "pager: %s\n", msg);
}

/*
 * NPAGES of guest RAM held to @limit pages (overshoot @overshoot), pages
 * [from, to) written before the pager starts (generation 1: the loader's).
 */
static void pager_up(uint64_t limit, uint64_t overshoot, uint64_t from, uint64_t to)
{
	struct pager_config cfg = {
		.size = NPAGES * PAGE_SIZE,
		.regions = { { .gpa = 0, .size = NPAGES * PAGE_SIZE, .pgoff = 0 } },
		.nr_regions = 1,
		.limit = limit * PAGE_SIZE,
		.overshoot = overshoot * PAGE_SIZE,
		.swap_dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		.threads = 0,
		.fatal = on_fatal,
		.log = quiet_log,
	};

	memfd = memfd_create("test-pager-defects", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, cfg.size), 0);
	base = mmap(NULL, cfg.size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	madvise(base, cfg.size, MADV_NOHUGEPAGE);
	for (uint64_t p = from; p < to; p++)
		fill((uint64_t *)(base + p * PAGE_SIZE), p, 1);
	cfg.memfd = memfd;
	cfg.base = base;
	pg = pager_create(&cfg);
	ck_assert_msg(pg, "pager_create failed (userfaultfd needs root here)");
	buf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	ck_assert_ptr_nonnull(buf);
}

static void pager_down(void)
{
	atomic_store(&fail_dontneed, 0);
	atomic_store(&fail_punch, 0);
	atomic_store(&scan_max_pages, 0);
	pager_destroy(pg);
	pg = NULL;
	if (base)
		munmap(base, NPAGES * PAGE_SIZE);
	base = NULL;
	if (memfd >= 0)
		close(memfd);
	memfd = -1;
	free(buf);
	buf = NULL;
}

static uint64_t resident_now(void)
{
	return atomic_load(&pg->resident);
}

static page_state_t state_of(uint64_t p)
{
	page_state_t w;

	pthread_mutex_lock(chunk_lock(pg, p));
	w = pg->state[p];
	pthread_mutex_unlock(chunk_lock(pg, p));
	return w;
}

/* Does object page @p hold generation @gen of its pattern (read through the memfd)? */
static bool holds(uint64_t p, uint64_t gen)
{
	uint64_t words[WORDS];

	if (pread(memfd, words, sizeof(words), p * PAGE_SIZE) != (ssize_t)sizeof(words))
		return false;
	for (unsigned w = 0; w < WORDS; w++)
		if (words[w] != pattern(p, gen, w))
			return false;
	return true;
}

/* Put generation @gen of page @p's pattern into the memfd, beside the pager. */
static void plant(uint64_t p, uint64_t gen)
{
	uint64_t words[WORDS];

	fill(words, p, gen);
	ck_assert_int_eq(pwrite(memfd, words, sizeof(words), p * PAGE_SIZE), sizeof(words));
}

/* Two clock steps over chunk @c: zap its resident pages, then evict them. */
static void swap_out_chunk(uint64_t c)
{
	pager_clock_step(pg, c);
	pager_clock_step(pg, c);
}

/* --- 1. a partial UFFDIO_COPY, then EEXIST ---------------------------------------- */

START_TEST(test_copy_partial_then_eexist_gives_each_page_its_own_contents)
{
	pager_up(NPAGES, 0, 0, 8);
	swap_out_chunk(0);
	for (uint64_t p = 0; p < 8; p++) {
		ck_assert_uint_eq(ps_state(state_of(p)), PS_SWAPPED);
		ck_assert_uint_eq(ps_slot(state_of(p)), ps_slot(state_of(0)) + p);
	}
	/* Page 3 is back in the memfd already, with what its slot holds. */
	plant(3, 1);
	ck_assert_int_eq(pager_fault_in(pg, 0, 8, false, buf, false), 0);
	/* The kernel copied pages 0..2, answered EAGAIN, then EEXIST at page 3. */
	ck_assert_int_ge(atomic_load(&copies_partial), 1);
	ck_assert_int_ge(atomic_load(&copies_eexist), 1);
	for (uint64_t p = 0; p < 8; p++) {
		ck_assert_msg(holds(p, 1), "page %llu does not hold its own contents",
			      (unsigned long long)p);
		ck_assert_uint_eq(ps_state(state_of(p)), PS_RESIDENT);
	}
	ck_assert_uint_eq(atomic_load(&fatal_calls), 0);
}
END_TEST

/* --- 2. EEXIST is a broken invariant: verify or stop -------------------------------- */

START_TEST(test_copy_eexist_with_other_contents_fails)
{
	uint64_t resident;

	pager_up(NPAGES, 0, 0, 1);
	swap_out_chunk(0);
	ck_assert_uint_eq(ps_state(state_of(0)), PS_SWAPPED);
	plant(0, 7);		/* mapped, and not what slot holds */
	resident = resident_now();
	ck_assert_int_eq(pager_fault_in(pg, 0, 1, false, buf, false), -EEXIST);
	/* Never declared resident (let alone clean); the room reserved went back. */
	ck_assert_uint_eq(ps_state(state_of(0)), PS_SWAPPED);
	ck_assert_uint_eq(resident_now(), resident);
	ck_assert(holds(0, 7));
}
END_TEST

START_TEST(test_zeropage_eexist_with_other_contents_fails)
{
	uint64_t resident;

	pager_up(NPAGES, 0, 0, 0);
	plant(5, 7);		/* absent in the state, but not zero in the memfd */
	resident = resident_now();
	ck_assert_int_eq(pager_fault_in(pg, 5, 1, false, buf, false), -EEXIST);
	ck_assert_uint_eq(ps_state(state_of(5)), PS_ABSENT);
	ck_assert_uint_eq(resident_now(), resident);
}
END_TEST

START_TEST(test_zeropage_eexist_with_zeroes_is_accepted)
{
	static const uint8_t zero[PAGE_SIZE];

	pager_up(NPAGES, 0, 0, 0);
	ck_assert_int_eq(pwrite(memfd, zero, PAGE_SIZE, 5 * PAGE_SIZE), PAGE_SIZE);
	ck_assert_int_eq(pager_fault_in(pg, 5, 1, false, buf, false), 0);
	ck_assert_uint_eq(ps_state(state_of(5)), PS_RESIDENT);
}
END_TEST

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
			      "page %llu, not reached by the scan, is not dirty",
			      (unsigned long long)p);

	pager_clock_step(pg, 0);		/* evict: every page written out */
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	for (uint64_t p = 0; p < 4; p++)
		ck_assert_msg(holds(p, 2), "page %llu lost its write", (unsigned long long)p);
}
END_TEST

START_TEST(test_written_clean_pages_are_found_written)
{
	/* The scan's own answer, uncut: the same pages, written, found dirty. */
	pager_up(NPAGES, 0, 0, 4);
	swap_out_chunk(0);
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	fill((uint64_t *)(base + PAGE_SIZE), 1, 2);
	fill((uint64_t *)(base + 3 * PAGE_SIZE), 3, 2);
	pager_clock_step(pg, 0);
	ck_assert(ps_dirty(state_of(1)) && ps_dirty(state_of(3)));
	if (pg->wp_async)
		ck_assert(ps_clean(state_of(0)) && ps_clean(state_of(2)));
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

START_TEST(test_failed_swap_read_gives_the_room_back)
{
	uint64_t resident;

	pager_up(NPAGES, 0, 0, 4);
	swap_out_chunk(0);
	resident = resident_now();
	pg->store.fail_read_at = atomic_load(&pg->store.reads) + 1;
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), -EIO);
	ck_assert_uint_eq(atomic_load(&fatal_calls), 1);
	ck_assert_uint_eq(resident_now(), resident);
	for (uint64_t p = 0; p < 4; p++)
		ck_assert_uint_eq(ps_state(state_of(p)), PS_SWAPPED);
	pg->store.fail_read_at = 0;
	ck_assert_int_eq(pager_fault_in(pg, 0, 4, false, buf, false), 0);
	ck_assert_uint_eq(resident_now(), resident + 4);
	for (uint64_t p = 0; p < 4; p++)
		ck_assert(holds(p, 1));
}
END_TEST

/* --- 7. a throttled fault waits holding no lock, on CLOCK_MONOTONIC --------------- */

static void *fault_thread(void *arg)
{
	uint8_t *b = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	intptr_t ret = b ? pager_fault_in(pg, (uintptr_t)arg, 1, true, b, false) : -ENOMEM;

	free(b);
	return (void *)ret;
}

START_TEST(test_throttled_fault_holds_no_chunk_lock)
{
	struct timespec tick = { 0, 1000 * 1000 };
	pthread_t t;
	void *ret;
	int busy;

	/* Resident at the limit, no overshoot, no reclaim thread: a fault on page 0 waits. */
	pager_up(64, 0, 1, 65);
	ck_assert_uint_eq(resident_now(), 64);
	ck_assert_int_eq(pthread_create(&t, NULL, fault_thread, (void *)0), 0);
	for (int i = 0; i < 5000 && !atomic_load(&pg->throttle_waiters); i++)
		nanosleep(&tick, NULL);
	ck_assert_uint_eq(atomic_load(&pg->throttle_waiters), 1);
	/* Its chunk is free meanwhile ... */
	busy = pthread_mutex_trylock(chunk_lock(pg, 0));
	if (!busy)
		pthread_mutex_unlock(chunk_lock(pg, 0));
	ck_assert_msg(!busy, "a throttled fault holds its chunk lock while it waits");
	/* ... so a discard in that chunk goes on, and the room it frees lets the fault in. */
	ck_assert(pager_discard(pg, PAGE_SIZE, PAGE_SIZE, PAGER_DISCARD_BALLOON));
	ck_assert_int_eq(pthread_join(t, &ret), 0);
	ck_assert_int_eq((intptr_t)ret, 0);
	ck_assert_uint_eq(ps_state(state_of(0)), PS_RESIDENT);
	ck_assert_uint_eq(ps_state(state_of(1)), PS_ABSENT);
	ck_assert_uint_eq(resident_now(), 64);
	ck_assert_uint_eq(atomic_load(&pg->c.throttled), 1);
}
END_TEST

START_TEST(test_pager_condvars_wait_on_the_monotonic_clock)
{
	/*
	 * A deadline from pager_deadline_ns (CLOCK_MONOTONIC) on a condvar of
	 * pager_cond_init: on a CLOCK_REALTIME condvar it would lie decades in
	 * the past (the wait returns at once) or, the other way round, decades
	 * ahead (the test times out).
	 */
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cv;
	struct timespec until;
	uint64_t t0;
	int r;

	pager_cond_init(&cv);
	pthread_mutex_lock(&m);
	t0 = pager_now_ns();
	until = pager_deadline_ns(50 * 1000 * 1000);
	do
		r = pthread_cond_timedwait(&cv, &m, &until);
	while (r == 0);		/* spurious wake-ups */
	pthread_mutex_unlock(&m);
	ck_assert_int_eq(r, ETIMEDOUT);
	ck_assert_uint_ge(pager_now_ns() - t0, 50 * 1000 * 1000);
	pthread_cond_destroy(&cv);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pager_defects");
	TCase *fault = tcase_create("fault"), *reclaim = tcase_create("reclaim"),
	      *room = tcase_create("room");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(fault, NULL, pager_down);
	tcase_add_checked_fixture(reclaim, NULL, pager_down);
	tcase_add_checked_fixture(room, NULL, pager_down);
	tcase_set_timeout(fault, 30);
	tcase_set_timeout(reclaim, 30);
	tcase_set_timeout(room, 30);
	tcase_add_test(fault, test_copy_partial_then_eexist_gives_each_page_its_own_contents);
	tcase_add_test(fault, test_copy_eexist_with_other_contents_fails);
	tcase_add_test(fault, test_zeropage_eexist_with_other_contents_fails);
	tcase_add_test(fault, test_zeropage_eexist_with_zeroes_is_accepted);
	tcase_add_test(reclaim, test_failed_dontneed_leaves_pages_hot_and_a_later_write_is_kept);
	tcase_add_test(reclaim, test_pages_a_short_scan_did_not_reach_count_as_written);
	tcase_add_test(reclaim, test_written_clean_pages_are_found_written);
	tcase_add_test(reclaim, test_freed_slot_checksum_is_cleared);
	tcase_add_test(reclaim, test_punch_failure_after_write_frees_the_new_slots);
	tcase_add_test(reclaim, test_write_failure_frees_the_slots);
	tcase_add_test(room, test_failed_swap_read_gives_the_room_back);
	tcase_add_test(room, test_throttled_fault_holds_no_chunk_lock);
	tcase_add_test(room, test_pager_condvars_wait_on_the_monotonic_clock);
	suite_add_tcase(s, fault);
	suite_add_tcase(s, reclaim);
	suite_add_tcase(s, room);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
