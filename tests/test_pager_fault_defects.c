// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regression tests of the fault side's defects of issue 10, point 5 (the
 * fixture: tests/pager_fixture.h). 1: after a partial UFFDIO_COPY and
 * EEXIST each page gets its own contents; 2: EEXIST is a broken invariant,
 * the page is verified or the fault fails; 6: a failed fault gives its
 * room back; 7: a throttled fault waits holding no chunk lock, on
 * CLOCK_MONOTONIC, and counts its pages again. A partial copy followed by
 * EEXIST is the kernel's own answer when a page of the range is in the
 * memfd already: it copies up to it, returns EAGAIN with the bytes done,
 * then EEXIST at that page. Built plain and with ThreadSanitizer.
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
	plant(0, 7);		/* in the memfd, and not what its slot holds */
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

/* --- 6. a failed fault gives its room back ---------------------------------------- */

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

/* A fault of pages [@arg / 100, + @arg % 100), from a thread of its own. */
static void *fault_thread(void *arg)
{
	uint8_t *b = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	uintptr_t a = (uintptr_t)arg;
	intptr_t ret = b ? pager_fault_in(pg, a / 100, a % 100, true, b, false) : -ENOMEM;

	free(b);
	return (void *)ret;
}

/* Until a fault waits for room (5 s at most). */
static void wait_for_waiter(void)
{
	struct timespec tick = { 0, 1000 * 1000 };

	for (int i = 0; i < 5000 && !atomic_load(&pg->throttle_waiters); i++)
		nanosleep(&tick, NULL);
	ck_assert_uint_eq(atomic_load(&pg->throttle_waiters), 1);
}

START_TEST(test_throttled_fault_holds_no_chunk_lock)
{
	pthread_t t;
	void *ret;
	int busy;

	/* Resident at the limit, no overshoot, no reclaim thread: a fault on page 0 waits. */
	pager_up(64, 0, 1, 65);
	ck_assert_uint_eq(resident_now(), 64);
	ck_assert_int_eq(pthread_create(&t, NULL, fault_thread, (void *)1), 0);
	wait_for_waiter();
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
	ck_assert_uint_eq(resident_states(), 64);
	ck_assert_uint_eq(atomic_load(&pg->c.throttled), 1);
}
END_TEST

START_TEST(test_throttled_fault_counts_its_pages_again)
{
	pthread_t t;
	void *ret;

	/* A fault of pages 0 (absent) and 1 (resident) needs room for one, and waits. */
	pager_up(64, 0, 1, 65);
	ck_assert_int_eq(pthread_create(&t, NULL, fault_thread, (void *)2), 0);
	wait_for_waiter();
	/* Meanwhile page 1 goes too: the fault must find it needs two, not one. */
	ck_assert(pager_discard(pg, PAGE_SIZE, PAGE_SIZE, PAGER_DISCARD_BALLOON));
	ck_assert(pager_discard(pg, 2 * PAGE_SIZE, PAGE_SIZE, PAGER_DISCARD_BALLOON));
	ck_assert_int_eq(pthread_join(t, &ret), 0);
	ck_assert_int_eq((intptr_t)ret, 0);
	ck_assert_uint_eq(ps_state(state_of(0)), PS_RESIDENT);
	ck_assert_uint_eq(ps_state(state_of(1)), PS_RESIDENT);
	ck_assert_uint_eq(resident_states(), 64);
	ck_assert_uint_eq(resident_now(), 64);
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
	Suite *s = suite_create("pager_fault_defects");
	TCase *eexist = tcase_create("eexist"), *room = tcase_create("room");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(eexist, NULL, pager_down);
	tcase_add_checked_fixture(room, NULL, pager_down);
	tcase_set_timeout(eexist, 30);
	tcase_set_timeout(room, 30);
	tcase_add_test(eexist, test_copy_partial_then_eexist_gives_each_page_its_own_contents);
	tcase_add_test(eexist, test_copy_eexist_with_other_contents_fails);
	tcase_add_test(eexist, test_zeropage_eexist_with_other_contents_fails);
	tcase_add_test(eexist, test_zeropage_eexist_with_zeroes_is_accepted);
	tcase_add_test(room, test_failed_swap_read_gives_the_room_back);
	tcase_add_test(room, test_throttled_fault_holds_no_chunk_lock);
	tcase_add_test(room, test_throttled_fault_counts_its_pages_again);
	tcase_add_test(room, test_pager_condvars_wait_on_the_monotonic_clock);
	suite_add_tcase(s, eexist);
	suite_add_tcase(s, room);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
