/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Page patterns and per-CPU slices for the memory workloads (ring 3).
 *
 * A page's pattern is derived from its address, a generation and a seed:
 * word i holds seed0 + i * PATTERN_STEP, where seed0 mixes all three. Any
 * page that comes back from somewhere else (another page, another
 * generation, a zero page) differs in every word; filling and checking cost
 * one add per word.
 */
#ifndef GUEST_PATTERN_H
#define GUEST_PATTERN_H

#include "runtime.h"

#define PATTERN_STEP	0x9e3779b97f4a7c15ULL
#define PAGE_WORDS	(PAGE_SIZE / 8)

static inline uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline uint64_t pattern_seed(uint64_t addr, uint64_t gen, uint64_t seed)
{
	return mix64(addr ^ mix64(gen * PATTERN_STEP + seed));
}

static inline void pattern_fill(uint64_t addr, uint64_t s)
{
	uint64_t *p = (uint64_t *)addr;

	for (unsigned int i = 0; i < PAGE_WORDS; i++, s += PATTERN_STEP)
		p[i] = s;
}

struct mismatch {
	uint64_t addr, expected, got;
};

/* Returns false and fills *bad at the first word that differs. */
static inline bool pattern_check(uint64_t addr, uint64_t s, struct mismatch *bad)
{
	const volatile uint64_t *p = (const volatile uint64_t *)addr;

	for (unsigned int i = 0; i < PAGE_WORDS; i++, s += PATTERN_STEP) {
		uint64_t v = p[i];

		if (v != s) {
			*bad = (struct mismatch){ addr + 8 * i, s, v };
			return false;
		}
	}
	return true;
}

static inline bool zero_check(uint64_t addr, struct mismatch *bad)
{
	const volatile uint64_t *p = (const volatile uint64_t *)addr;

	for (unsigned int i = 0; i < PAGE_WORDS; i++) {
		uint64_t v = p[i];

		if (v) {
			*bad = (struct mismatch){ addr + 8 * i, 0, v };
			return false;
		}
	}
	return true;
}

/* CPU `cpu`'s share of `total` pages: [*first, *first + *count). */
static inline void slice_of(unsigned int cpu, unsigned int ncpus, uint64_t total,
			    uint64_t *first, uint64_t *count)
{
	*first = total * cpu / ncpus;
	*count = total * (cpu + 1) / ncpus - *first;
}

/*
 * A permutation of 0 .. n-1: a full-period LCG modulo the next power of
 * two (multiplier 1 mod 4, odd increment), skipping values >= n.
 */
struct perm {
	uint64_t n, mask, c, x;
};

static inline void perm_init(struct perm *p, uint64_t n, uint64_t seed)
{
	p->n = n;
	p->mask = 0;
	while (p->mask < n - 1)
		p->mask = p->mask << 1 | 1;
	p->c = mix64(seed) | 1;
	p->x = mix64(seed ^ PATTERN_STEP) & p->mask;
}

static inline uint64_t perm_next(struct perm *p)
{
	do
		p->x = (p->x * 0x5851f42d4c957f2dULL + p->c) & p->mask;
	while (p->x >= p->n);
	return p->x;
}

#endif /* GUEST_PATTERN_H */
