// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of notifier/: subscriptions, callbacks, intervals and the
 * read_begin / read_retry protocol, release.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "notifier/notifier.h"

/* A subscriber that logs every callback it gets. */
#define LOG_MAX 64

struct log_sub {
	struct mn_subscriber sub;
	char name;
	int n;
	struct {
		char what;	/* 's'tart, 'e'nd, 'c'lear_young, 't'est_young, 'r'elease */
		uint64_t start, end;
	} log[LOG_MAX];
	uint64_t young_start, young_end;	/* range reported young */
	bool cleared;				/* clear_young ran once */
};

/* Shared across subscribers, to check the order of callbacks. */
static char order[LOG_MAX];
static int norder;

static struct log_sub *to_log(struct mn_subscriber *sub)
{
	return mn_container_of(sub, struct log_sub, sub);
}

static void log_event(struct mn_subscriber *sub, char what, uint64_t start,
		      uint64_t end)
{
	struct log_sub *l = to_log(sub);

	ck_assert_int_lt(l->n, LOG_MAX);
	l->log[l->n].what = what;
	l->log[l->n].start = start;
	l->log[l->n].end = end;
	l->n++;
	order[norder++] = l->name;
}

static void log_start(struct mn_subscriber *sub, const struct mn_range *r)
{
	log_event(sub, 's', r->start, r->end);
}

static void log_end(struct mn_subscriber *sub, const struct mn_range *r)
{
	log_event(sub, 'e', r->start, r->end);
}

/* Young over [young_start, young_end) until the first clear_young. */
static bool log_young(struct mn_subscriber *sub, uint64_t start, uint64_t end,
		      uint64_t *young, bool clear)
{
	struct log_sub *l = to_log(sub);
	bool ret = false;

	log_event(sub, clear ? 'c' : 't', start, end);
	if (l->cleared)
		return false;
	for (uint64_t g = start; g < end; g++) {
		if (g < l->young_start || g >= l->young_end)
			continue;
		if (young)
			young[(g - start) / 64] |= 1ULL << ((g - start) % 64);
		ret = true;
	}
	if (clear)
		l->cleared = true;
	return ret;
}

static bool log_clear_young(struct mn_subscriber *sub, uint64_t start,
			    uint64_t end, uint64_t *young)
{
	return log_young(sub, start, end, young, true);
}

static bool log_test_young(struct mn_subscriber *sub, uint64_t start,
			   uint64_t end, uint64_t *young)
{
	return log_young(sub, start, end, young, false);
}

static void log_release(struct mn_subscriber *sub)
{
	log_event(sub, 'r', 0, 0);
}

static const struct mn_ops log_ops = {
	.invalidate_range_start	= log_start,
	.invalidate_range_end	= log_end,
	.clear_young		= log_clear_young,
	.test_young		= log_test_young,
	.release		= log_release,
};

static const struct mn_ops empty_ops;

static struct mn_space *space;
static struct log_sub a, b;

static void setup(void)
{
	space = mn_space_create();
	ck_assert_ptr_nonnull(space);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.name = 'a';
	b.name = 'b';
	norder = 0;
}

static void teardown(void)
{
	mn_space_destroy(space);
}

START_TEST(test_start_end_reach_every_subscriber_in_registration_order)
{
	struct mn_range r;

	ck_assert_int_eq(mn_register(space, &a.sub, &log_ops), 0);
	ck_assert_int_eq(mn_register(space, &b.sub, &log_ops), 0);
	mn_invalidate_range_start(space, &r, 10, 20);
	ck_assert_int_eq(a.n, 1);
	ck_assert_int_eq(b.n, 1);
	ck_assert_int_eq(a.log[0].what, 's');
	ck_assert_uint_eq(a.log[0].start, 10);
	ck_assert_uint_eq(a.log[0].end, 20);
	mn_invalidate_range_end(&r);
	ck_assert_int_eq(a.log[1].what, 'e');
	ck_assert_uint_eq(b.log[1].start, 10);
	ck_assert_uint_eq(b.log[1].end, 20);
	ck_assert_int_eq(norder, 4);
	ck_assert(memcmp(order, "abab", 4) == 0);
	mn_unregister(&a.sub);
	mn_unregister(&b.sub);
}
END_TEST

START_TEST(test_null_ops_are_skipped)
{
	struct mn_subscriber quiet;
	struct mn_range r;
	uint64_t young = 0;

	ck_assert_int_eq(mn_register(space, &quiet, &empty_ops), 0);
	mn_invalidate_range_start(space, &r, 0, 1);
	mn_invalidate_range_end(&r);
	ck_assert(!mn_clear_young(space, 0, 64, &young));
	ck_assert(!mn_test_young(space, 0, 64, &young));
	ck_assert_uint_eq(young, 0);
	mn_unregister(&quiet);
}
END_TEST

START_TEST(test_unregistered_subscriber_gets_no_callbacks)
{
	struct mn_range r;

	ck_assert_int_eq(mn_register(space, &a.sub, &log_ops), 0);
	ck_assert_int_eq(mn_register(space, &b.sub, &log_ops), 0);
	mn_unregister(&a.sub);
	ck_assert_ptr_null(a.sub.space);
	mn_invalidate_range_start(space, &r, 0, 1);
	mn_invalidate_range_end(&r);
	mn_test_young(space, 0, 1, NULL);
	ck_assert_int_eq(a.n, 0);
	ck_assert_int_eq(b.n, 3);
	mn_unregister(&a.sub);	/* a second unregister is a no-op */
	mn_unregister(&b.sub);
}
END_TEST

START_TEST(test_subscriber_registered_mid_invalidation_sees_only_end)
{
	struct mn_range r;

	mn_invalidate_range_start(space, &r, 5, 6);
	ck_assert_int_eq(mn_register(space, &a.sub, &log_ops), 0);
	mn_invalidate_range_end(&r);
	ck_assert_int_eq(a.n, 1);
	ck_assert_int_eq(a.log[0].what, 'e');
	mn_unregister(&a.sub);
}
END_TEST

START_TEST(test_young_results_are_the_union_of_subscribers)
{
	uint64_t young[2] = { 0, 0 };

	a.young_start = 3;
	a.young_end = 5;
	b.young_start = 70;
	b.young_end = 71;
	ck_assert_int_eq(mn_register(space, &a.sub, &log_ops), 0);
	ck_assert_int_eq(mn_register(space, &b.sub, &log_ops), 0);

	ck_assert(mn_test_young(space, 0, 128, young));
	ck_assert_uint_eq(young[0], (1ULL << 3) | (1ULL << 4));
	ck_assert_uint_eq(young[1], 1ULL << 6);
	ck_assert_int_eq(a.log[0].what, 't');

	/* test_young left them young; clear_young reports and clears. */
	memset(young, 0, sizeof(young));
	ck_assert(mn_clear_young(space, 0, 128, young));
	ck_assert_uint_eq(young[0], (1ULL << 3) | (1ULL << 4));
	ck_assert_uint_eq(young[1], 1ULL << 6);
	ck_assert_int_eq(a.log[1].what, 'c');

	memset(young, 0, sizeof(young));
	ck_assert(!mn_clear_young(space, 0, 128, young));
	ck_assert(!mn_test_young(space, 0, 128, NULL));
	ck_assert_uint_eq(young[0] | young[1], 0);

	/* Bits are relative to start. */
	a.cleared = b.cleared = false;
	memset(young, 0, sizeof(young));
	ck_assert(mn_test_young(space, 4, 6, young));
	ck_assert_uint_eq(young[0], 1);
	mn_unregister(&a.sub);
	mn_unregister(&b.sub);
}
END_TEST

START_TEST(test_release_calls_release_once_and_then_nothing)
{
	struct mn_range r;

	ck_assert_int_eq(mn_register(space, &a.sub, &log_ops), 0);
	ck_assert_int_eq(mn_register(space, &b.sub, &log_ops), 0);
	mn_invalidate_range_start(space, &r, 0, 8);
	mn_space_release(space);
	ck_assert_int_eq(a.n, 2);
	ck_assert_int_eq(a.log[1].what, 'r');
	ck_assert_int_eq(b.log[1].what, 'r');

	/* The end of the invalidation in progress, and anything else, is
	 * not delivered after release. */
	mn_invalidate_range_end(&r);
	mn_invalidate_range_start(space, &r, 0, 8);
	mn_invalidate_range_end(&r);
	mn_clear_young(space, 0, 8, NULL);
	mn_test_young(space, 0, 8, NULL);
	mn_space_release(space);
	ck_assert_int_eq(a.n, 2);
	ck_assert_int_eq(b.n, 2);

	ck_assert_int_eq(mn_register(space, &a.sub, &log_ops), -ESHUTDOWN);
	mn_unregister(&b.sub);	/* no-op after release */
	mn_unregister(&a.sub);
}
END_TEST

START_TEST(test_destroy_releases_registered_subscribers)
{
	ck_assert_int_eq(mn_register(space, &a.sub, &log_ops), 0);
	mn_space_destroy(space);
	space = mn_space_create();
	ck_assert_int_eq(a.n, 1);
	ck_assert_int_eq(a.log[0].what, 'r');
}
END_TEST

START_TEST(test_interval_read_is_valid_without_invalidation)
{
	struct mn_interval iv;
	uint64_t seq;

	mn_interval_insert(space, &iv, 100, 200);
	seq = mn_interval_read_begin(&iv);
	ck_assert(!mn_interval_read_retry(&iv, seq));
	ck_assert_uint_eq(mn_interval_read_begin(&iv), seq);
	mn_interval_remove(&iv);
}
END_TEST

START_TEST(test_overlapping_invalidation_forces_retry)
{
	struct mn_interval iv;
	struct mn_range r;
	uint64_t seq, seq2;

	mn_interval_insert(space, &iv, 100, 200);
	seq = mn_interval_read_begin(&iv);
	mn_invalidate_range_start(space, &r, 199, 300);
	ck_assert(mn_interval_read_retry(&iv, seq));
	mn_invalidate_range_end(&r);
	/* Still retry: the invalidation happened during the read. */
	ck_assert(mn_interval_read_retry(&iv, seq));
	seq2 = mn_interval_read_begin(&iv);
	ck_assert_uint_ne(seq2, seq);
	ck_assert(!mn_interval_read_retry(&iv, seq2));
	mn_interval_remove(&iv);
}
END_TEST

START_TEST(test_disjoint_invalidation_does_not_disturb_reader)
{
	struct mn_interval iv;
	struct mn_range r1, r2;
	uint64_t seq;

	mn_interval_insert(space, &iv, 100, 200);
	seq = mn_interval_read_begin(&iv);
	mn_invalidate_range_start(space, &r1, 0, 100);	/* ends before */
	mn_invalidate_range_start(space, &r2, 200, 201);	/* starts after */
	ck_assert(!mn_interval_read_retry(&iv, seq));
	ck_assert_uint_eq(mn_interval_read_begin(&iv), seq);
	mn_invalidate_range_end(&r2);
	mn_invalidate_range_end(&r1);
	ck_assert(!mn_interval_read_retry(&iv, seq));
	mn_interval_remove(&iv);
}
END_TEST

struct reader {
	struct mn_interval *iv;
	atomic_bool done;
	uint64_t seq;
	pthread_t thread;
};

static void *reader_thread(void *arg)
{
	struct reader *rd = arg;

	rd->seq = mn_interval_read_begin(rd->iv);
	atomic_store(&rd->done, true);
	return NULL;
}

static void reader_start(struct reader *rd, struct mn_interval *iv)
{
	rd->iv = iv;
	atomic_init(&rd->done, false);
	ck_assert_int_eq(pthread_create(&rd->thread, NULL, reader_thread, rd), 0);
}

/*
 * The reader must not get through read_begin while an overlapping
 * invalidation is in progress.  Giving it time to (wrongly) finish can
 * only make a broken implementation fail; a slow machine makes the test
 * weaker, never flaky.
 */
static void assert_reader_waits(struct reader *rd)
{
	for (int i = 0; i < 20; i++) {
		usleep(1000);
		ck_assert(!atomic_load(&rd->done));
	}
}

START_TEST(test_read_begin_waits_for_every_overlapping_invalidation)
{
	struct mn_interval iv;
	struct mn_range r1, r2;
	struct reader rd;

	mn_interval_insert(space, &iv, 100, 200);
	mn_invalidate_range_start(space, &r1, 90, 110);
	mn_invalidate_range_start(space, &r2, 150, 160);
	reader_start(&rd, &iv);
	assert_reader_waits(&rd);
	mn_invalidate_range_end(&r1);
	assert_reader_waits(&rd);
	mn_invalidate_range_end(&r2);
	pthread_join(rd.thread, NULL);
	ck_assert(atomic_load(&rd.done));
	ck_assert(!mn_interval_read_retry(&iv, rd.seq));
	mn_interval_remove(&iv);
}
END_TEST

START_TEST(test_interval_inserted_mid_invalidation_starts_invalidated)
{
	struct mn_interval iv;
	struct mn_range r;
	struct reader rd;

	mn_invalidate_range_start(space, &r, 0, 1000);
	mn_interval_insert(space, &iv, 10, 11);
	reader_start(&rd, &iv);
	assert_reader_waits(&rd);
	mn_invalidate_range_end(&r);
	pthread_join(rd.thread, NULL);
	ck_assert(!mn_interval_read_retry(&iv, rd.seq));
	mn_interval_remove(&iv);
}
END_TEST

START_TEST(test_removed_interval_is_not_touched)
{
	struct mn_interval iv, other;
	struct mn_range r;
	uint64_t seq;

	mn_interval_insert(space, &iv, 0, 10);
	mn_interval_insert(space, &other, 0, 10);
	seq = mn_interval_read_begin(&iv);
	mn_interval_remove(&iv);
	mn_invalidate_range_start(space, &r, 0, 10);
	ck_assert(!mn_interval_read_retry(&iv, seq));
	ck_assert(mn_interval_read_retry(&other, 0));
	mn_invalidate_range_end(&r);
	mn_interval_remove(&other);
}
END_TEST

static Suite *notifier_suite(void)
{
	Suite *s = suite_create("notifier");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_start_end_reach_every_subscriber_in_registration_order);
	tcase_add_test(tc, test_null_ops_are_skipped);
	tcase_add_test(tc, test_unregistered_subscriber_gets_no_callbacks);
	tcase_add_test(tc, test_subscriber_registered_mid_invalidation_sees_only_end);
	tcase_add_test(tc, test_young_results_are_the_union_of_subscribers);
	tcase_add_test(tc, test_release_calls_release_once_and_then_nothing);
	tcase_add_test(tc, test_destroy_releases_registered_subscribers);
	tcase_add_test(tc, test_interval_read_is_valid_without_invalidation);
	tcase_add_test(tc, test_overlapping_invalidation_forces_retry);
	tcase_add_test(tc, test_disjoint_invalidation_does_not_disturb_reader);
	tcase_add_test(tc, test_read_begin_waits_for_every_overlapping_invalidation);
	tcase_add_test(tc, test_interval_inserted_mid_invalidation_starts_invalidated);
	tcase_add_test(tc, test_removed_interval_is_not_touched);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notifier_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
