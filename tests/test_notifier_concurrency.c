// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency tests of notifier/: readers following the read_begin /
 * read_retry protocol against concurrent invalidations of random ranges,
 * (un)registration while invalidations run, and no callback after release.
 * Built twice: plain, and with ThreadSanitizer (the _tsan binary), where a
 * data race ends the forked test with TSan's exit code and fails it.
 * Iteration counts are bounded; nothing depends on timing.
 */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "notifier/notifier.h"

#ifdef TEST_TSAN
#define SCALE 4		/* TSan is 5-15x slower: fewer iterations */
#else
#define SCALE 1
#endif

#define NPAGES		256
#define NREADERS	3
#define NINVALIDATORS	2
#define READS		(40000 / SCALE)
#define INVALIDATIONS	(20000 / SCALE)

/* Readable assertion messages for atomic counters. */
static unsigned int uval(atomic_uint *a)
{
	return atomic_load(a);
}

static unsigned long lval(atomic_ulong *a)
{
	return atomic_load(a);
}

static int ival(atomic_int *a)
{
	return atomic_load(a);
}

static uint64_t xorshift(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

static void random_range(uint64_t *rng, uint64_t max_len, uint64_t *start,
			 uint64_t *end)
{
	*start = xorshift(rng) % NPAGES;
	*end = *start + 1 + xorshift(rng) % max_len;
	if (*end > NPAGES)
		*end = NPAGES;
}

/*
 * A model secondary MMU.  lock is its subscriber lock: it protects mapped
 * and invalidating.  mapped[g]: a mapping of page g is installed.
 * invalidating[g]: invalidations of g between our start and end callbacks.
 */
struct model_mmu {
	struct mn_subscriber sub;
	pthread_mutex_t lock;
	bool mapped[NPAGES];
	int invalidating[NPAGES];
	atomic_uint violations;
	atomic_ulong installs, retries;
};

static struct model_mmu *to_mmu(struct mn_subscriber *sub)
{
	return mn_container_of(sub, struct model_mmu, sub);
}

static void mmu_start(struct mn_subscriber *sub, const struct mn_range *r)
{
	struct model_mmu *m = to_mmu(sub);

	pthread_mutex_lock(&m->lock);
	for (uint64_t g = r->start; g < r->end; g++) {
		m->mapped[g] = false;
		m->invalidating[g]++;
	}
	pthread_mutex_unlock(&m->lock);
}

static void mmu_end(struct mn_subscriber *sub, const struct mn_range *r)
{
	struct model_mmu *m = to_mmu(sub);

	pthread_mutex_lock(&m->lock);
	for (uint64_t g = r->start; g < r->end; g++) {
		if (m->invalidating[g]-- <= 0)
			atomic_fetch_add(&m->violations, 1);
	}
	pthread_mutex_unlock(&m->lock);
}

static const struct mn_ops mmu_ops = {
	.invalidate_range_start	= mmu_start,
	.invalidate_range_end	= mmu_end,
};

struct worker {
	pthread_t thread;
	struct mn_space *space;
	struct model_mmu *mmu;
	uint64_t rng;
};

/* The fault path of notifier.h, against the model MMU. */
static void *reader_thread(void *arg)
{
	struct worker *w = arg;
	struct model_mmu *m = w->mmu;

	for (int i = 0; i < READS; i++) {
		struct mn_interval iv;
		uint64_t start, end, seq;

		random_range(&w->rng, 4, &start, &end);
		mn_interval_insert(w->space, &iv, start, end);
		for (;;) {
			seq = mn_interval_read_begin(&iv);
			if (xorshift(&w->rng) % 4 == 0)
				sched_yield();	/* "resolve" may sleep */
			pthread_mutex_lock(&m->lock);
			if (!mn_interval_read_retry(&iv, seq))
				break;
			pthread_mutex_unlock(&m->lock);
			atomic_fetch_add(&m->retries, 1);
		}
		for (uint64_t g = start; g < end; g++) {
			if (m->invalidating[g])
				atomic_fetch_add(&m->violations, 1);
			m->mapped[g] = true;
		}
		atomic_fetch_add(&m->installs, 1);
		pthread_mutex_unlock(&m->lock);
		mn_interval_remove(&iv);
	}
	return NULL;
}

/* After start returns nothing of the range may be mapped until end. */
static void *invalidator_thread(void *arg)
{
	struct worker *w = arg;
	struct model_mmu *m = w->mmu;

	for (int i = 0; i < INVALIDATIONS; i++) {
		struct mn_range r;
		uint64_t start, end;

		random_range(&w->rng, 32, &start, &end);
		mn_invalidate_range_start(w->space, &r, start, end);
		for (int pass = 0; pass < 2; pass++) {
			pthread_mutex_lock(&m->lock);
			for (uint64_t g = start; g < end; g++)
				if (m->mapped[g])
					atomic_fetch_add(&m->violations, 1);
			pthread_mutex_unlock(&m->lock);
			sched_yield();
		}
		mn_invalidate_range_end(&r);
	}
	return NULL;
}

START_TEST(test_readers_never_install_inside_an_invalidation)
{
	struct mn_space *space = mn_space_create();
	struct worker w[NREADERS + NINVALIDATORS];
	static struct model_mmu m;

	pthread_mutex_init(&m.lock, NULL);
	ck_assert_int_eq(mn_register(space, &m.sub, &mmu_ops), 0);
	for (int i = 0; i < NREADERS + NINVALIDATORS; i++) {
		w[i].space = space;
		w[i].mmu = &m;
		w[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		ck_assert_int_eq(pthread_create(&w[i].thread, NULL,
				 i < NREADERS ? reader_thread : invalidator_thread,
				 &w[i]), 0);
	}
	for (int i = 0; i < NREADERS + NINVALIDATORS; i++)
		pthread_join(w[i].thread, NULL);

	ck_assert_uint_eq(uval(&m.violations), 0);
	ck_assert_uint_eq(lval(&m.installs), (unsigned long)NREADERS * READS);
	for (int g = 0; g < NPAGES; g++)
		ck_assert_int_eq(m.invalidating[g], 0);
	mn_unregister(&m.sub);
	mn_space_destroy(space);
}
END_TEST

/*
 * A subscriber that checks it is called only while alive: dead is set by
 * the test once mn_unregister returned, or by the release callback.
 */
struct watched {
	struct mn_subscriber sub;
	atomic_bool dead;
	atomic_int in_callback;
	atomic_uint calls, late_calls, releases, overlapping_release;
};

static struct watched *to_watched(struct mn_subscriber *sub)
{
	return mn_container_of(sub, struct watched, sub);
}

static void watched_call(struct mn_subscriber *sub)
{
	struct watched *w = to_watched(sub);

	atomic_fetch_add(&w->in_callback, 1);
	if (atomic_load(&w->dead))
		atomic_fetch_add(&w->late_calls, 1);
	atomic_fetch_add(&w->calls, 1);
	sched_yield();
	if (atomic_load(&w->dead))
		atomic_fetch_add(&w->late_calls, 1);
	atomic_fetch_sub(&w->in_callback, 1);
}

static void watched_start(struct mn_subscriber *sub, const struct mn_range *r)
{
	watched_call(sub);
}

static void watched_end(struct mn_subscriber *sub, const struct mn_range *r)
{
	watched_call(sub);
}

static bool watched_young(struct mn_subscriber *sub, uint64_t start,
			  uint64_t end, uint64_t *young)
{
	watched_call(sub);
	return false;
}

static void watched_release(struct mn_subscriber *sub)
{
	struct watched *w = to_watched(sub);

	if (atomic_load(&w->in_callback))
		atomic_fetch_add(&w->overlapping_release, 1);
	atomic_fetch_add(&w->releases, 1);
	atomic_store(&w->dead, true);
}

static const struct mn_ops watched_ops = {
	.invalidate_range_start	= watched_start,
	.invalidate_range_end	= watched_end,
	.clear_young		= watched_young,
	.test_young		= watched_young,
	.release		= watched_release,
};

/* Threads that invalidate and harvest random ranges of one space. */
struct hammers {
	atomic_bool stop;
	atomic_ulong ops;
	atomic_int running;
	struct hammer {
		pthread_t thread;
		struct hammers *set;
		struct mn_space *space;
		uint64_t rng;
	} h[3];
	int n;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;

	for (int i = 0; i < INVALIDATIONS && !atomic_load(&h->set->stop); i++) {
		struct mn_range r;
		uint64_t start, end;

		random_range(&h->rng, 16, &start, &end);
		if (i % 3 == 0) {
			mn_clear_young(h->space, start, end, NULL);
		} else {
			mn_invalidate_range_start(h->space, &r, start, end);
			mn_test_young(h->space, start, end, NULL);
			mn_invalidate_range_end(&r);
		}
		atomic_fetch_add(&h->set->ops, 1);
	}
	atomic_fetch_sub(&h->set->running, 1);
	return NULL;
}

static void start_hammers(struct hammers *set, int n, struct mn_space *space)
{
	atomic_init(&set->stop, false);
	atomic_init(&set->ops, 0);
	atomic_init(&set->running, n);
	set->n = n;
	for (int i = 0; i < n; i++) {
		struct hammer *h = &set->h[i];

		h->set = set;
		h->space = space;
		h->rng = 0x2545f4914f6cdd1dULL * (i + 7);
		ck_assert_int_eq(pthread_create(&h->thread, NULL,
						hammer_thread, h), 0);
	}
}

static void stop_hammers(struct hammers *set)
{
	atomic_store(&set->stop, true);
	for (int i = 0; i < set->n; i++)
		pthread_join(set->h[i].thread, NULL);
}

/* Wait until the hammers did @n more operations, or all finished. */
static void wait_ops(struct hammers *set, unsigned long n)
{
	unsigned long target = atomic_load(&set->ops) + n;

	while (atomic_load(&set->ops) < target && atomic_load(&set->running))
		sched_yield();
}

START_TEST(test_no_callback_runs_after_release)
{
	struct mn_space *space = mn_space_create();
	static struct watched w[3];
	static struct hammers set;

	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(mn_register(space, &w[i].sub, &watched_ops), 0);
	start_hammers(&set, 3, space);
	wait_ops(&set, 200 / SCALE);
	mn_space_release(space);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(ival(&w[i].in_callback), 0);
	wait_ops(&set, 200 / SCALE);
	stop_hammers(&set);
	mn_space_release(space);

	for (int i = 0; i < 3; i++) {
		ck_assert_uint_gt(uval(&w[i].calls), 0);
		ck_assert_uint_eq(uval(&w[i].releases), 1);
		ck_assert_uint_eq(uval(&w[i].late_calls), 0);
		ck_assert_uint_eq(uval(&w[i].overlapping_release), 0);
		mn_unregister(&w[i].sub);
	}
	mn_space_destroy(space);
}
END_TEST

START_TEST(test_registration_is_safe_while_invalidations_run)
{
	struct mn_space *space = mn_space_create();
	static struct watched stay, w[2];
	static struct hammers set;

	ck_assert_int_eq(mn_register(space, &stay.sub, &watched_ops), 0);
	start_hammers(&set, 2, space);
	for (int round = 0; round < 300 / SCALE; round++) {
		struct watched *cur = &w[round % 2];

		atomic_store(&cur->dead, false);
		ck_assert_int_eq(mn_register(space, &cur->sub, &watched_ops), 0);
		wait_ops(&set, 2);
		mn_unregister(&cur->sub);
		/* On return no callback of cur runs, nor will. */
		ck_assert_int_eq(ival(&cur->in_callback), 0);
		atomic_store(&cur->dead, true);
	}
	stop_hammers(&set);

	for (int i = 0; i < 2; i++) {
		ck_assert_uint_gt(uval(&w[i].calls), 0);
		ck_assert_uint_eq(uval(&w[i].late_calls), 0);
		ck_assert_uint_eq(uval(&w[i].releases), 0);
	}
	mn_space_destroy(space);
	ck_assert_uint_eq(uval(&stay.releases), 1);
	ck_assert_uint_eq(uval(&w[0].releases), 0);
	ck_assert_uint_eq(uval(&stay.late_calls), 0);
}
END_TEST

static Suite *notifier_concurrency_suite(void)
{
	Suite *s = suite_create("notifier concurrency");
	TCase *tc = tcase_create("threads");

	/* A deadlock fails the test by timeout; no pass depends on speed. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_readers_never_install_inside_an_invalidation);
	tcase_add_test(tc, test_no_callback_runs_after_release);
	tcase_add_test(tc, test_registration_is_safe_while_invalidations_run);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(notifier_concurrency_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
