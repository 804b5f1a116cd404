// SPDX-License-Identifier: GPL-2.0-only
/*
 * Model-based test of shadow/: random sequences of region add / move /
 * remove, faults, invalidations with pager writes, rmap-driven reclaim,
 * young and dirty harvesting on two VMs sharing two objects, checked after
 * every step against a naive reference model: a list of regions, each with
 * a plain array of sptes indexed by page of the region.  The check covers
 * every spte, the gfns around every region, the rmap of every object page,
 * the present count and the table's memory.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shadow/shadow.h"

/*
 * Check reports every passing ck_assert to its parent process through a
 * pipe; the per-page checks below run millions of times, so they call
 * into Check only when they fail.
 */
#define expect_true(c)		do { if (!(c)) ck_assert(c); } while (0)
#define expect_int(a, b)	do { if ((a) != (b)) ck_assert_int_eq(a, b); } while (0)
#define expect_u64(a, b)	do { if ((a) != (b)) ck_assert_uint_eq(a, b); } while (0)

#define NVMS		2
#define NOBJS		2
#define MAX_REGIONS	8
#define MAX_NPAGES	200
#define STEPS		800
#define SEEDS		16

#define GIB_PAGES	(1ULL << 18)
#define DIR_PAGES	(1ULL << 27)
#define ROOT_PAGES	(1ULL << 36)	/* gfns per root of the table: 256 TiB */

static const uint64_t obj_pages[NOBJS] = { 700, 300 };

/* Where regions go: near 0, and across a node and a directory boundary. */
static const uint64_t gfn_bases[] = {
	0, 1500, GIB_PAGES - 300, DIR_PAGES - 200, ROOT_PAGES - 200
};

struct model_region {
	bool used;
	struct shadow_region *r;
	int vm, obj;
	uint64_t gfn, pgoff, npages;
	uint64_t spte[MAX_NPAGES];
};

static struct {
	uint64_t rng;
	struct mn_space *space[NVMS];
	struct shadow *vm[NVMS];
	struct shadow_object *obj[NOBJS];
	struct model_region reg[MAX_REGIONS];
} m;

static uint64_t rnd(uint64_t n)
{
	uint64_t x = m.rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	m.rng = x;
	return x % n;
}

static uint64_t random_gfn(void)
{
	return gfn_bases[rnd(sizeof(gfn_bases) / sizeof(gfn_bases[0]))] + rnd(600);
}

/* The model region of @vm covering @gfn, or NULL. */
static struct model_region *model_region(int vm, uint64_t gfn)
{
	for (int i = 0; i < MAX_REGIONS; i++) {
		struct model_region *mr = &m.reg[i];

		if (mr->used && mr->vm == vm && gfn >= mr->gfn &&
		    gfn < mr->gfn + mr->npages)
			return mr;
	}
	return NULL;
}

/* The model's spte of (vm, gfn), or NULL if no model region covers it. */
static uint64_t *model_spte(int vm, uint64_t gfn)
{
	struct model_region *mr = model_region(vm, gfn);

	return mr ? &mr->spte[gfn - mr->gfn] : NULL;
}

static bool model_overlaps(int vm, uint64_t gfn, uint64_t npages, int self)
{
	for (int i = 0; i < MAX_REGIONS; i++) {
		struct model_region *mr = &m.reg[i];

		if (i != self && mr->used && mr->vm == vm &&
		    gfn < mr->gfn + mr->npages && mr->gfn < gfn + npages)
			return true;
	}
	return false;
}

static int random_region(void)
{
	int start = rnd(MAX_REGIONS);

	for (int k = 0; k < MAX_REGIONS; k++) {
		int i = (start + k) % MAX_REGIONS;

		if (m.reg[i].used)
			return i;
	}
	return -1;
}

/* The model's rules for the states, written out bit by bit. */
static uint64_t model_zap(uint64_t spte)
{
	if (!(spte & SPTE_PRESENT_MASK))
		return spte;
	return SPTE_TYPE_ACC_TRACK | (spte & (SPTE_WRITABLE_MASK | SPTE_DIRTY_MASK));
}

static bool model_resident(uint64_t spte)
{
	return (spte & SPTE_PRESENT_MASK) ||
	       (spte & SPTE_TYPE_MASK) == SPTE_TYPE_ACC_TRACK;
}

static bool model_dirty(uint64_t spte)
{
	return model_resident(spte) && (spte & SPTE_DIRTY_MASK);
}

static uint64_t model_installed(uint64_t old, bool map_writable, bool touched,
				bool write)
{
	bool dirty = write || model_dirty(old);
	bool accessed = touched || ((old & SPTE_PRESENT_MASK) &&
				    (old & SPTE_ACCESSED_MASK));

	return SPTE_PRESENT_MASK |
	       (map_writable || dirty ? SPTE_WRITABLE_MASK : 0) |
	       (accessed ? SPTE_ACCESSED_MASK : 0) |
	       (dirty ? SPTE_DIRTY_MASK : 0);
}

static void model_zap_range(int vm, uint64_t start, uint64_t end)
{
	for (uint64_t g = start; g < end; g++) {
		uint64_t *spte = model_spte(vm, g);

		if (spte)
			*spte = model_zap(*spte);
	}
}

/* --- operations ------------------------------------------------------------ */

static void op_add(void)
{
	int vm = rnd(NVMS), o = rnd(NOBJS), slot = -1, ret, expect;
	uint64_t pgoff = rnd(obj_pages[o] + 20);
	uint64_t npages = 1 + rnd(MAX_NPAGES);
	uint64_t gfn = random_gfn();
	struct shadow_region *r = NULL;

	for (int i = 0; i < MAX_REGIONS; i++)
		if (!m.reg[i].used)
			slot = i;
	if (slot < 0)
		return;
	if (pgoff >= obj_pages[o] || npages > obj_pages[o] - pgoff)
		expect = -EINVAL;
	else if (model_overlaps(vm, gfn, npages, -1))
		expect = -EEXIST;
	else
		expect = 0;

	ret = shadow_region_add(m.vm[vm], m.obj[o], pgoff, npages, gfn, &r);
	ck_assert_int_eq(ret, expect);
	if (ret)
		return;
	m.reg[slot] = (struct model_region){ .used = true, .r = r, .vm = vm,
		.obj = o, .gfn = gfn, .pgoff = pgoff, .npages = npages };
}

static void op_remove(void)
{
	int i = random_region();

	if (i < 0)
		return;
	shadow_region_remove(m.reg[i].r);
	m.reg[i].used = false;
}

static void op_move(void)
{
	int i = random_region();
	struct model_region *mr;
	uint64_t gfn = random_gfn();
	int expect;

	if (i < 0)
		return;
	mr = &m.reg[i];
	expect = model_overlaps(mr->vm, gfn, mr->npages, i) ? -EEXIST : 0;
	ck_assert_int_eq(shadow_region_move(mr->r, gfn), expect);
	/* The move invalidates the old gfns even when they overlap. */
	for (uint64_t k = 0; k < mr->npages; k++)
		mr->spte[k] = model_zap(mr->spte[k]);
	if (!expect)
		mr->gfn = gfn;
}

struct model_resolver {
	int calls;
	int ret;
	bool read_only;
	struct shadow_fault f;
};

static int model_resolve(struct shadow_fault *f, void *ctx)
{
	struct model_resolver *res = ctx;

	res->calls++;
	res->f = *f;
	if (res->read_only)
		f->map_writable = false;
	return res->ret;
}

static void op_fault(void)
{
	int vm = rnd(NVMS), i = random_region();
	unsigned int npages = 1 + rnd(8);
	bool write = rnd(2);
	struct model_resolver res = {
		.ret = rnd(10) == 0 ? -EIO : 0,
		.read_only = rnd(5) == 0,
	};
	struct model_region *mr;
	uint64_t gfn, *s0, n;
	int ret, expect;

	/* Mostly inside a region, sometimes anywhere. */
	if (i >= 0 && rnd(8)) {
		vm = m.reg[i].vm;
		gfn = m.reg[i].gfn + rnd(m.reg[i].npages);
	} else {
		gfn = random_gfn();
	}
	ret = shadow_fault(m.vm[vm], gfn, npages, write ? SHADOW_FAULT_WRITE : 0,
			   model_resolve, &res);

	s0 = model_spte(vm, gfn);
	if (!s0) {
		ck_assert_int_eq(ret, -EFAULT);
		ck_assert_int_eq(res.calls, 0);
		return;
	}
	if ((*s0 & SPTE_PRESENT_MASK) && (!write || (*s0 & SPTE_WRITABLE_MASK))) {
		ck_assert_int_eq(ret, 0);
		ck_assert_int_eq(res.calls, 0);
		*s0 |= SPTE_ACCESSED_MASK | (write ? SPTE_DIRTY_MASK : 0);
		return;
	}

	/* A resolve call, with the batch and the old sptes of the model. */
	mr = model_region(vm, gfn);
	ck_assert_int_eq(res.calls, 1);
	ck_assert_ptr_eq(res.f.shadow, m.vm[vm]);
	ck_assert_ptr_eq(res.f.obj, m.obj[mr->obj]);
	ck_assert_uint_eq(res.f.gfn, gfn);
	ck_assert_uint_eq(res.f.pgoff, mr->pgoff + (gfn - mr->gfn));
	n = 1;
	while (n < npages && gfn + n < mr->gfn + mr->npages &&
	       !(*model_spte(vm, gfn + n) & SPTE_PRESENT_MASK))
		n++;
	ck_assert_uint_eq(res.f.npages, n);
	for (uint64_t k = 0; k < n; k++)
		ck_assert_uint_eq(res.f.old_spte[k], *model_spte(vm, gfn + k));

	if (res.ret)
		expect = res.ret;
	else if (write && res.read_only && !model_dirty(*s0))
		expect = -EACCES;
	else
		expect = n;	/* the whole batch was installed */
	ck_assert_int_eq(ret, expect);
	if (expect < 0)
		return;
	for (uint64_t k = 0; k < n; k++) {
		uint64_t *s = model_spte(vm, gfn + k);

		*s = model_installed(*s, !res.read_only, k == 0, write && k == 0);
	}
}

/* The pager's reclaim of part of a range, inside one invalidation. */
static void op_invalidate(void)
{
	int vm = rnd(NVMS);
	uint64_t start = random_gfn(), end = start + 1 + rnd(300);
	struct shadow *s = m.vm[vm];
	struct shadow_walk w;
	struct mn_range r;

	mn_invalidate_range_start(m.space[vm], &r, start, end);
	model_zap_range(vm, start, end);
	shadow_lock(s);
	for_each_shadow_spte(s, start, end, &w) {
		uint64_t *spte = model_spte(vm, w.gfn);

		expect_true(!is_shadow_present_spte(*w.sptep));
		if (!spte || rnd(3))
			continue;
		if (rnd(2)) {
			/* The page left the object: its translation is forgotten. */
			ck_assert_int_eq(shadow_spte_set_none(s, w.sptep), 0);
			*spte = SPTE_NONE;
		} else {
			ck_assert_int_eq(shadow_spte_set_zero(s, w.sptep), 0);
			*spte = SPTE_TYPE_ZERO;
		}
	}
	shadow_unlock(s);
	mn_invalidate_range_end(&r);
}

/* Reclaim of one object page through the rmap, as the pager does it. */
static void op_reclaim(void)
{
	int o = rnd(NOBJS), n = 0;
	uint64_t p = rnd(obj_pages[o]);
	struct mn_range ranges[MAX_REGIONS];
	struct shadow_rmap_iter it;

	shadow_rmap_lock(m.obj[o]);
	for_each_rmap_spte(m.obj[o], p, &it) {
		ck_assert_int_lt(n, MAX_REGIONS);
		mn_invalidate_range_start(shadow_space(it.shadow), &ranges[n++],
					  it.gfn, it.gfn + 1);
	}
	for_each_rmap_spte(m.obj[o], p, &it) {
		int vm = it.shadow == m.vm[0] ? 0 : 1;

		shadow_lock(it.shadow);
		ck_assert_int_eq(shadow_spte_set_none(it.shadow, it.sptep), 0);
		shadow_unlock(it.shadow);
		*model_spte(vm, it.gfn) = SPTE_NONE;
	}
	while (n)
		mn_invalidate_range_end(&ranges[--n]);
	shadow_rmap_unlock(m.obj[o]);
}

static void op_young(void)
{
	int vm = rnd(NVMS);
	bool clear = rnd(2);
	uint64_t start = random_gfn(), len = 1 + rnd(300);
	uint64_t young[(300 + 63) / 64] = { 0 };
	bool any = false, ret;

	ret = clear ? mn_clear_young(m.space[vm], start, start + len, young)
		    : mn_test_young(m.space[vm], start, start + len, young);
	for (uint64_t k = 0; k < len; k++) {
		uint64_t *spte = model_spte(vm, start + k);
		bool y = spte && (*spte & SPTE_PRESENT_MASK) &&
			 (*spte & SPTE_ACCESSED_MASK);

		expect_int(!!(young[k / 64] & (1ULL << (k % 64))), y);
		any |= y;
		if (y && clear)
			*spte &= ~SPTE_ACCESSED_MASK;
	}
	ck_assert_int_eq(ret, any);
}

static void op_harvest_dirty(void)
{
	int vm = rnd(NVMS);
	uint64_t start = random_gfn(), len = 1 + rnd(300);
	uint64_t dirty[(300 + 63) / 64] = { 0 };
	uint64_t count, expect = 0;

	count = shadow_harvest_dirty(m.vm[vm], start, len, dirty);
	for (uint64_t k = 0; k < len; k++) {
		uint64_t *spte = model_spte(vm, start + k);
		bool d = spte && model_dirty(*spte);

		expect_int(!!(dirty[k / 64] & (1ULL << (k % 64))), d);
		if (d) {
			*spte &= ~(SPTE_DIRTY_MASK | SPTE_WRITABLE_MASK);
			expect++;
		}
	}
	ck_assert_uint_eq(count, expect);
}

/* --- the check after every step ---------------------------------------------- */

static void check_sptes(void)
{
	for (int i = 0; i < MAX_REGIONS; i++) {
		struct model_region *mr = &m.reg[i];
		uint64_t spte;

		if (!mr->used)
			continue;
		for (uint64_t k = 0; k < mr->npages; k++) {
			expect_int(shadow_get_spte(m.vm[mr->vm], mr->gfn + k, &spte), 0);
			expect_u64(spte, mr->spte[k]);
		}
		if (mr->gfn && !model_spte(mr->vm, mr->gfn - 1))
			expect_int(shadow_get_spte(m.vm[mr->vm], mr->gfn - 1, &spte),
					 -EFAULT);
		if (!model_spte(mr->vm, mr->gfn + mr->npages))
			expect_int(shadow_get_spte(m.vm[mr->vm],
					 mr->gfn + mr->npages, &spte), -EFAULT);
	}
}

/* Every mapping of every object page, and nothing else. */
static void check_rmap(void)
{
	for (int o = 0; o < NOBJS; o++) {
		shadow_rmap_lock(m.obj[o]);
		for (uint64_t p = 0; p < obj_pages[o]; p++) {
			struct shadow_rmap_iter it;
			int expected = 0, found = 0;

			for (int i = 0; i < MAX_REGIONS; i++)
				if (m.reg[i].used && m.reg[i].obj == o &&
				    p >= m.reg[i].pgoff &&
				    p < m.reg[i].pgoff + m.reg[i].npages)
					expected++;
			for_each_rmap_spte(m.obj[o], p, &it) {
				int vm = it.shadow == m.vm[0] ? 0 : 1;
				uint64_t *spte = model_spte(vm, it.gfn);
				int i;

				expect_true(spte != NULL);
				for (i = 0; i < MAX_REGIONS; i++)
					if (m.reg[i].used && m.reg[i].r == it.region)
						break;
				expect_true(i < MAX_REGIONS);
				expect_int(m.reg[i].vm, vm);
				expect_int(m.reg[i].obj, o);
				expect_u64(it.gfn, m.reg[i].gfn + (p - m.reg[i].pgoff));
				expect_u64(it.pgoff, p);
				expect_u64(it.count, 1);
				shadow_lock(it.shadow);
				/* NULL: its chunk was never used, so none. */
				expect_u64(it.sptep ? *it.sptep : SPTE_NONE, *spte);
				shadow_unlock(it.shadow);
				found++;
			}
			expect_int(found, expected);
		}
		shadow_rmap_unlock(m.obj[o]);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Distinct values of gfn >> shift over the model regions of @vm (only
 * over gfns whose spte is not none, if @used).
 */
static uint64_t distinct_blocks_of(int vm, unsigned int shift, bool used)
{
	static uint64_t blocks[MAX_REGIONS * MAX_NPAGES];
	uint64_t n = 0, distinct = 0;

	for (int i = 0; i < MAX_REGIONS; i++)
		if (m.reg[i].used && m.reg[i].vm == vm)
			for (uint64_t k = 0; k < m.reg[i].npages; k++)
				if (!used || !is_none_spte(m.reg[i].spte[k]))
					blocks[n++] = (m.reg[i].gfn + k) >> shift;
	qsort(blocks, n, sizeof(blocks[0]), cmp_u64);
	for (uint64_t k = 0; k < n; k++)
		if (!k || blocks[k] != blocks[k - 1])
			distinct++;
	return distinct;
}

static uint64_t distinct_blocks(int vm, unsigned int shift)
{
	return distinct_blocks_of(vm, shift, false);
}

static void check_stats(void)
{
	for (int vm = 0; vm < NVMS; vm++) {
		struct shadow_stats st;
		uint64_t present = 0;

		for (int i = 0; i < MAX_REGIONS; i++)
			if (m.reg[i].used && m.reg[i].vm == vm)
				for (uint64_t k = 0; k < m.reg[i].npages; k++)
					present += !!(m.reg[i].spte[k] & SPTE_PRESENT_MASK);
		shadow_get_stats(m.vm[vm], &st);
		expect_u64(st.present, present);
		uint64_t fixed = 16 * 8 + distinct_blocks(vm, 36) * 4104 +
				 distinct_blocks(vm, 27) * 4104 +
				 distinct_blocks(vm, 18) * 5128;

		/* Chunks: every one holding an spte other than none, at
		 * most every covered one (a used chunk stays until its
		 * region goes). */
		expect_true(st.table_bytes >= fixed + distinct_blocks_of(vm, 9, true) * 512);
		expect_true(st.table_bytes <= fixed + distinct_blocks(vm, 9) * 512);
		expect_u64((st.table_bytes - fixed) % 512, 0);
	}
}

START_TEST(test_random_operations_match_the_model)
{
	static void (*const ops[])(void) = {
		op_add, op_add, op_remove, op_move, op_move,
		op_fault, op_fault, op_fault, op_fault, op_fault,
		op_invalidate, op_invalidate, op_reclaim, op_reclaim,
		op_young, op_young, op_harvest_dirty,
	};

	memset(&m, 0, sizeof(m));
	m.rng = 0x9e3779b97f4a7c15ULL * (_i + 1);
	for (int vm = 0; vm < NVMS; vm++) {
		m.space[vm] = mn_space_create();
		m.vm[vm] = shadow_create(m.space[vm], NULL);
		ck_assert_ptr_nonnull(m.vm[vm]);
	}
	for (int o = 0; o < NOBJS; o++)
		m.obj[o] = shadow_object_create(obj_pages[o], NULL);

	for (int step = 0; step < STEPS; step++) {
		ops[rnd(sizeof(ops) / sizeof(ops[0]))]();
		check_sptes();
		check_rmap();
		check_stats();
	}

	for (int vm = 0; vm < NVMS; vm++) {
		shadow_destroy(m.vm[vm]);
		mn_space_destroy(m.space[vm]);
	}
	for (int o = 0; o < NOBJS; o++)
		ck_assert_int_eq(shadow_object_destroy(m.obj[o]), 0);
}
END_TEST

static Suite *shadow_model_suite(void)
{
	Suite *s = suite_create("shadow model");
	TCase *tc = tcase_create("random");

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_random_operations_match_the_model, 0, SEEDS);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(shadow_model_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
