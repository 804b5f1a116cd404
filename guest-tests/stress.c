// SPDX-License-Identifier: GPL-2.0-only
/*
 * Memory stress for the pager: writers and verifiers over all free guest
 * RAM, in ring 3 on every CPU, each CPU on its own slice. Built four times
 * (guest-tests/local.mk), one per access pattern:
 *
 * stress-seq     gens generations; each writes every page in address order,
 *                then `passes` rounds verify every page in address order.
 * stress-random  the same, in a pseudo-random page order (an LCG
 *                permutation) that differs for every round.
 * stress-zero    like stress-seq, but only 3 of every 4 pages are ever
 *                written; the others must read as zero in every round.
 * stress-clean   one generation written once, then `passes` rounds that
 *                only read and verify: they must cause no swap writes.
 *
 * Every round runs on all CPUs and ends before the next begins, so between
 * writing a page and verifying it the whole RAM has been written (or read)
 * once: with overcommit the page has certainly left and come back. Verify
 * round p of CPU c checks the slice of CPU (c + p) % ncpus, so pages also
 * move between vCPUs. The first mismatch (address, expected, got) is
 * reported and fails the test.
 *
 * Command line: gens=N passes=N seed=N.
 */
#include "pattern.h"
#include "runtime.h"

#define STRESS_SEQ	1
#define STRESS_RANDOM	2
#define STRESS_ZERO	3
#define STRESS_CLEAN	4

#if STRESS_MODE == STRESS_SEQ
#define STRESS_NAME	"stress-seq"
#elif STRESS_MODE == STRESS_RANDOM
#define STRESS_NAME	"stress-random"
#elif STRESS_MODE == STRESS_ZERO
#define STRESS_NAME	"stress-zero"
#elif STRESS_MODE == STRESS_CLEAN
#define STRESS_NAME	"stress-clean"
#else
#error "STRESS_MODE must be one of STRESS_SEQ, STRESS_RANDOM, STRESS_ZERO, STRESS_CLEAN"
#endif

/*
 * STRESS_SCRUB, stress-zero only, runs once before anything is written: a
 * page that firmware used before the test (QEMU's BIOS does; vmm has no
 * firmware) is not zero although the test never wrote it. Such pages are
 * cleared and counted; fresh RAM from vmm must show none.
 */
enum stress_op { STRESS_WRITE, STRESS_VERIFY, STRESS_SCRUB };

static struct {
	enum stress_op op;
	uint64_t gen, pass, seed;
	struct mismatch bad[MAX_CPUS];
	uint64_t zero_pages[MAX_CPUS];
	uint64_t scrubbed[MAX_CPUS];
} stress;

/* stress-zero leaves every fourth page untouched. */
static inline bool stress_written(uint64_t page)
{
	return STRESS_MODE != STRESS_ZERO || page % 4 != 3;
}

static long stress_worker(void *arg)
{
	unsigned int cpu = cpu_id();
	unsigned int owner = stress.op == STRESS_VERIFY ? (cpu + stress.pass) % smp_ncpus : cpu;
	uint64_t first, count, zeros = 0;
	struct perm perm;

	slice_of(owner, smp_ncpus, mem_free_pages, &first, &count);
	if (!count)
		return 0;
	perm_init(&perm, count, mix64(stress.seed ^ mix64(stress.gen << 32 | stress.pass << 1 |
							   stress.op)) ^ owner);
	for (uint64_t k = 0; k < count; k++) {
		uint64_t page = first + (STRESS_MODE == STRESS_RANDOM ? perm_next(&perm) : k);
		uint64_t addr = mem_page_addr(page);
		uint64_t s = pattern_seed(addr, stress.gen, stress.seed);

		if (stress.op == STRESS_SCRUB) {
			if (!stress_written(page) && !zero_check(addr, &stress.bad[cpu])) {
				for (unsigned int i = 0; i < PAGE_WORDS; i++)
					((volatile uint64_t *)addr)[i] = 0;
				stress.scrubbed[cpu]++;
			}
		} else if (stress.op == STRESS_WRITE) {
			if (stress_written(page))
				pattern_fill(addr, s);
		} else if (stress_written(page)) {
			if (!pattern_check(addr, s, &stress.bad[cpu]))
				return 1;
		} else {
			if (!zero_check(addr, &stress.bad[cpu]))
				return 1;
			zeros++;
		}
	}
	stress.zero_pages[cpu] = zeros;
	return 0;
}

static bool stress_round(enum stress_op op, uint64_t gen, uint64_t pass)
{
	long res[MAX_CPUS];

	stress.op = op;
	stress.gen = gen;
	stress.pass = pass;
	smp_run(stress_worker, NULL, res);
	for (unsigned int i = 0; i < smp_ncpus; i++) {
		struct mismatch *b = &stress.bad[i];

		if (!res[i])
			continue;
		printf(STRESS_NAME ": generation %lu, pass %lu, cpu %u: mismatch at 0x%lx: "
		       "expected 0x%016lx, got 0x%016lx\n", gen, pass, i, b->addr, b->expected,
		       b->got);
		return false;
	}
	if (op == STRESS_SCRUB) {
		uint64_t n = 0;

		for (unsigned int i = 0; i < smp_ncpus; i++)
			n += stress.scrubbed[i];
		printf("# " STRESS_NAME ": %lu untouched pages held data before the test "
		       "(firmware) and were cleared\n", n);
	} else if (op == STRESS_WRITE) {
		printf("# " STRESS_NAME ": generation %lu written\n", gen);
	} else {
		uint64_t zeros = 0;

		for (unsigned int i = 0; i < smp_ncpus; i++)
			zeros += stress.zero_pages[i];
		printf("# " STRESS_NAME ": generation %lu verified, pass %lu", gen, pass);
		if (STRESS_MODE == STRESS_ZERO)
			printf(", %lu untouched pages read as zero", zeros);
		printf("\n");
	}
	return true;
}

int main(void)
{
	uint64_t gens = arg_u64("gens", STRESS_MODE == STRESS_CLEAN ? 1 : 3);
	uint64_t passes = arg_u64("passes", STRESS_MODE == STRESS_CLEAN ? 3 : 2);

	stress.seed = arg_u64("seed", 1);
	printf(STRESS_NAME ": %u cpu(s), %lu MiB RAM, gens=%lu passes=%lu seed=%lu\n",
	       smp_ncpus, mem_ram_size / MiB, gens, passes, stress.seed);
	printf("# " STRESS_NAME ": %lu pages above 0x%lx\n", mem_free_pages, mem_free_start);
	if (STRESS_MODE == STRESS_CLEAN && gens != 1) {
		printf(STRESS_NAME ": writes once: gens must be 1\n");
		return EXIT_FAIL;
	}
	if (STRESS_MODE == STRESS_ZERO && !stress_round(STRESS_SCRUB, 0, 0))
		return EXIT_FAIL;
	for (uint64_t g = 1; g <= gens; g++) {
		if (!stress_round(STRESS_WRITE, g, 0))
			return EXIT_FAIL;
		for (uint64_t p = 0; p < passes; p++)
			if (!stress_round(STRESS_VERIFY, g, p))
				return EXIT_FAIL;
	}
	printf(STRESS_NAME ": pass\n");
	return EXIT_PASS;
}
