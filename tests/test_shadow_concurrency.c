// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency test of shadow/ + notifier/, shaped like the pager: fault
 * threads run shadow_fault() on two VMs that map one object, while other
 * threads invalidate random gfn ranges (writing swap slots in between),
 * reclaim object pages through the rmap, move a region back and forth and
 * harvest accessed bits.  It checks that
 *  - after mn_invalidate_range_start returns, no spte of the range is
 *    present, and the pager's writers never find one, until the end;
 *  - no fault installs pages whose resolve step overlapped an invalidation
 *    of them (counted per gfn, see fault_resolve);
 * and fails on any violation.  Built plain and with ThreadSanitizer.
 * Threads never call Check (it is not thread-safe); they count violations
 * and the main thread asserts.  Iterations are bounded.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "shadow/shadow.h"

#ifdef TEST_TSAN
#define SCALE 5		/* TSan is 5-15x slower: fewer iterations */
#else
#define SCALE 1
#endif

#define NPAGES		512		/* object pages */
#define NGFNS		8192		/* gfns used by either VM */
#define NFAULTERS	3
#define FAULTS		(60000 / SCALE)
#define INVALIDATIONS	(20000 / SCALE)

/*
 * VM 0 maps pages 0..383 at gfn 0 and pages 384..511 at gfn 1000 or 2000
 * (the mover moves it); VM 1 maps all 512 pages at gfn 5000.
 */
static struct {
	struct mn_space *space[2];
	struct shadow *vm[2];
	struct shadow_object *obj;
	struct shadow_region *moving;
	/*
	 * Per VM and gfn: invalidations by invalidator_thread counted as
	 * started (after mn_invalidate_range_start returned) and as ended
	 * (before mn_invalidate_range_end was called), so the counted window
	 * lies inside the real one.
	 */
	atomic_uint started[2][NGFNS];
	atomic_uint ended[2][NGFNS];
	atomic_uint violations;
	atomic_ulong installs, invalidations;
} t;

/* Readable assertion messages for atomic counters. */
static unsigned int uval(atomic_uint *a)
{
	return atomic_load(a);
}

static unsigned long lval(atomic_ulong *a)
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

static void violation(void)
{
	atomic_fetch_add(&t.violations, 1);
}

static uint64_t random_gfn(uint64_t *rng, int vm)
{
	if (vm)
		return 5000 + xorshift(rng) % NPAGES;
	switch (xorshift(rng) % 3) {
	case 0:
		return xorshift(rng) % 384;
	case 1:
		return 1000 + xorshift(rng) % 128;
	default:
		return 2000 + xorshift(rng) % 128;
	}
}

struct faulter {
	pthread_t thread;
	uint64_t rng;
	int vm;
	unsigned int resolves;
	unsigned int batch;	/* pages of the last resolve */
	/* Counters of the last resolve: ended at its start, started at its end. */
	unsigned int ended_before[SHADOW_FAULT_MAX_PAGES];
	unsigned int started_after[SHADOW_FAULT_MAX_PAGES];
};

/*
 * The pager's resolve step stand-in.  An invalidation of gfn g overlaps
 * this resolve iff it was counted started before the resolve ended and
 * not counted ended before it began: started_after - ended_before.
 */
static int fault_resolve(struct shadow_fault *f, void *ctx)
{
	struct faulter *ft = ctx;

	ft->resolves++;
	ft->batch = f->npages;
	for (unsigned int i = 0; i < f->npages; i++)
		ft->ended_before[i] = atomic_load(&t.ended[ft->vm][f->gfn + i]);
	if (xorshift(&ft->rng) % 4 == 0)
		sched_yield();		/* swap I/O sleeps */
	for (unsigned int i = 0; i < f->npages; i++)
		ft->started_after[i] = atomic_load(&t.started[ft->vm][f->gfn + i]);
	return 0;
}

static void *faulter_thread(void *arg)
{
	struct faulter *ft = arg;

	for (int i = 0; i < FAULTS; i++) {
		unsigned int npages = 1 + xorshift(&ft->rng) % 4;
		unsigned int flags = xorshift(&ft->rng) % 2 ? SHADOW_FAULT_WRITE : 0;
		uint64_t gfn;
		int ret;

		ft->vm = xorshift(&ft->rng) % 2;
		gfn = random_gfn(&ft->rng, ft->vm);
		ft->resolves = 0;
		ret = shadow_fault(t.vm[ft->vm], gfn, npages, flags,
				   fault_resolve, ft);
		if (ret == -EFAULT && !ft->vm && gfn >= 1000)
			continue;	/* the moving region is elsewhere */
		if (ret < 0 || ret > (int)npages) {
			violation();
			continue;
		}
		if (!ret)
			continue;	/* was present: nothing installed */
		/* ret pages were installed from the last resolve. */
		if (!ft->resolves || (unsigned int)ret > ft->batch)
			violation();
		atomic_fetch_add(&t.installs, 1);
		for (unsigned int k = 0; k < ft->batch; k++)
			if (ft->started_after[k] != ft->ended_before[k])
				violation();
	}
	return NULL;
}

/* mmu_lock held.  Count present sptes in [start, end). */
static unsigned int present_in(struct shadow *s, uint64_t start, uint64_t end)
{
	struct shadow_walk w;
	unsigned int n = 0;

	for_each_shadow_spte(s, start, end, &w)
		n += is_shadow_present_spte(*w.sptep);
	return n;
}

/* Range invalidations with pager writes in between, on both VMs. */
static void *invalidator_thread(void *arg)
{
	uint64_t rng = (uintptr_t)arg;

	for (int i = 0; i < INVALIDATIONS; i++) {
		int vm = xorshift(&rng) % 2;
		uint64_t start = random_gfn(&rng, vm);
		uint64_t end = start + 1 + xorshift(&rng) % 16;
		struct shadow *s = t.vm[vm];
		struct mn_range r;

		mn_invalidate_range_start(t.space[vm], &r, start, end);
		for (uint64_t g = start; g < end; g++)
			atomic_fetch_add(&t.started[vm][g], 1);

		shadow_lock(s);
		if (present_in(s, start, end))
			violation();
		for (uint64_t g = start; g < end; g++) {
			spte_t *sptep = shadow_sptep(s, g);

			if (sptep && xorshift(&rng) % 2 &&
			    shadow_spte_set_zero(s, sptep) != 0)
				violation();
		}
		shadow_unlock(s);
		sched_yield();
		shadow_lock(s);
		if (present_in(s, start, end))
			violation();
		shadow_unlock(s);

		for (uint64_t g = start; g < end; g++)
			atomic_fetch_add(&t.ended[vm][g], 1);
		mn_invalidate_range_end(&r);
		atomic_fetch_add(&t.invalidations, 1);
	}
	return NULL;
}

/* Reclaim object pages through the rmap, as the pager does. */
static void *reclaimer_thread(void *arg)
{
	uint64_t rng = (uintptr_t)arg;

	for (int i = 0; i < INVALIDATIONS; i++) {
		uint64_t p = xorshift(&rng) % NPAGES;
		struct shadow_rmap_iter it;
		struct mn_range r[4];
		int n = 0;

		shadow_rmap_lock(t.obj);
		for_each_rmap_spte(t.obj, p, &it)
			mn_invalidate_range_start(shadow_space(it.shadow), &r[n++],
						  it.gfn, it.gfn + 1);
		if (n != 2)
			violation();	/* every page is mapped by both VMs */
		for_each_rmap_spte(t.obj, p, &it) {
			/* NULL until the chunk is used: shadow_sptep() uses it. */
			spte_t *sptep;

			shadow_lock(it.shadow);
			sptep = it.sptep ? it.sptep : shadow_sptep(it.shadow, it.gfn);
			if (!sptep || shadow_spte_set_zero(it.shadow, sptep) != 0)
				violation();
			shadow_unlock(it.shadow);
		}
		while (n)
			mn_invalidate_range_end(&r[--n]);
		shadow_rmap_unlock(t.obj);
	}
	return NULL;
}

/* Move VM 0's upper region back and forth, and harvest accessed bits. */
static void *mover_thread(void *arg)
{
	uint64_t rng = (uintptr_t)arg;

	for (int i = 0; i < INVALIDATIONS / 8; i++) {
		uint64_t to = shadow_region_gfn(t.moving) == 1000 ? 2000 : 1000;

		if (shadow_region_move(t.moving, to) != 0)
			violation();
		for (int k = 0; k < 8; k++) {
			int vm = xorshift(&rng) % 2;
			uint64_t start = random_gfn(&rng, vm);

			mn_clear_young(t.space[vm], start, start + 64, NULL);
		}
	}
	return NULL;
}

START_TEST(test_faults_never_install_over_an_invalidation)
{
	struct faulter ft[NFAULTERS];
	pthread_t inv, rec, mov;
	struct shadow_region *r;
	struct shadow_stats st;

	t.obj = shadow_object_create(NPAGES, NULL);
	for (int vm = 0; vm < 2; vm++) {
		t.space[vm] = mn_space_create();
		t.vm[vm] = shadow_create(t.space[vm], NULL);
		ck_assert_ptr_nonnull(t.vm[vm]);
	}
	ck_assert_int_eq(shadow_region_add(t.vm[0], t.obj, 0, 384, 0, &r), 0);
	ck_assert_int_eq(shadow_region_add(t.vm[0], t.obj, 384, 128, 1000,
					   &t.moving), 0);
	ck_assert_int_eq(shadow_region_add(t.vm[1], t.obj, 0, NPAGES, 5000, &r), 0);

	for (int i = 0; i < NFAULTERS; i++) {
		ft[i].rng = 0x9e3779b97f4a7c15ULL * (i + 1);
		ck_assert_int_eq(pthread_create(&ft[i].thread, NULL,
						faulter_thread, &ft[i]), 0);
	}
	ck_assert_int_eq(pthread_create(&inv, NULL, invalidator_thread,
					(void *)(uintptr_t)0x1234567), 0);
	ck_assert_int_eq(pthread_create(&rec, NULL, reclaimer_thread,
					(void *)(uintptr_t)0x7654321), 0);
	ck_assert_int_eq(pthread_create(&mov, NULL, mover_thread,
					(void *)(uintptr_t)0xabcdef), 0);
	for (int i = 0; i < NFAULTERS; i++)
		pthread_join(ft[i].thread, NULL);
	pthread_join(inv, NULL);
	pthread_join(rec, NULL);
	pthread_join(mov, NULL);

	ck_assert_uint_eq(uval(&t.violations), 0);
	ck_assert_uint_gt(lval(&t.installs), 0);
	ck_assert_uint_eq(lval(&t.invalidations), INVALIDATIONS);

	/* Quiescent: a full invalidation leaves nothing present. */
	for (int vm = 0; vm < 2; vm++) {
		struct mn_range all;

		mn_invalidate_range_start(t.space[vm], &all, 0, NGFNS);
		shadow_get_stats(t.vm[vm], &st);
		ck_assert_uint_eq(st.present, 0);
		mn_invalidate_range_end(&all);
		shadow_destroy(t.vm[vm]);
		mn_space_destroy(t.space[vm]);
	}
	ck_assert_int_eq(shadow_object_destroy(t.obj), 0);
}
END_TEST

static Suite *shadow_concurrency_suite(void)
{
	Suite *s = suite_create("shadow concurrency");
	TCase *tc = tcase_create("threads");

	/* A deadlock fails the test by timeout; no pass depends on speed. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_faults_never_install_over_an_invalidation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(shadow_concurrency_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
