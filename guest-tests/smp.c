// SPDX-License-Identifier: GPL-2.0-only
/*
 * smp: every CPU runs a ring-3 worker at once. Each fills its own slice of
 * a shared buffer with a pattern of its CPU number and adds to a shared
 * counter with locked instructions; in a second round each verifies its
 * neighbour's slice. The boot CPU checks that every CPU ran in ring 3 with
 * its own number and APIC ID, that each slice was seen intact from another
 * CPU, and that no increment of the counter was lost.
 */
#include "pattern.h"
#include "runtime.h"

#define SMP_SLICE_PAGES	256		/* 1 MiB per CPU */
#define SMP_INCREMENTS	100000

static struct {
	uint64_t counter;
	uint32_t ring[MAX_CPUS];
	uint32_t apic_id[MAX_CPUS];
	struct mismatch bad[MAX_CPUS];
} smp;

static uint64_t smp_slice_addr(unsigned int cpu)
{
	return mem_page_addr((uint64_t)cpu * SMP_SLICE_PAGES);
}

static long smp_fill(void *arg)
{
	unsigned int cpu = cpu_id();
	uint64_t base = smp_slice_addr(cpu);

	smp.ring[cpu] = cpl();
	smp.apic_id[cpu] = this_cpu()->apic_id;
	for (unsigned int i = 0; i < SMP_SLICE_PAGES; i++)
		pattern_fill(base + i * PAGE_SIZE, pattern_seed(base + i * PAGE_SIZE, cpu, 1));
	for (unsigned int i = 0; i < SMP_INCREMENTS; i++)
		__atomic_fetch_add(&smp.counter, 1, __ATOMIC_RELAXED);
	return 1000 + cpu;
}

static long smp_verify(void *arg)
{
	unsigned int cpu = cpu_id(), owner = (cpu + 1) % smp_ncpus;
	uint64_t base = smp_slice_addr(owner);

	for (unsigned int i = 0; i < SMP_SLICE_PAGES; i++) {
		uint64_t a = base + i * PAGE_SIZE;

		if (!pattern_check(a, pattern_seed(a, owner, 1), &smp.bad[cpu]))
			return 1;
	}
	return 0;
}

int main(void)
{
	long res[MAX_CPUS];
	bool ok = true;

	printf("smp: %u cpu(s) up\n", smp_ncpus);
	if (mem_free_pages < (uint64_t)smp_ncpus * SMP_SLICE_PAGES) {
		printf("smp: not enough free memory for %u slices of %u pages\n",
		       smp_ncpus, SMP_SLICE_PAGES);
		return EXIT_FAIL;
	}
	smp_run(smp_fill, NULL, res);
	for (unsigned int i = 0; i < smp_ncpus; i++) {
		printf("# smp: cpu %u has APIC ID %u\n", i, smp.apic_id[i]);
		if (res[i] != 1000 + (long)i || smp.ring[i] != 3) {
			printf("smp: cpu %u: worker returned %ld in ring %u, expected %u in ring 3\n",
			       i, res[i], smp.ring[i], 1000 + i);
			ok = false;
		}
		for (unsigned int j = 0; j < i; j++) {
			if (smp.apic_id[i] == smp.apic_id[j]) {
				printf("smp: cpus %u and %u share APIC ID %u\n", j, i, smp.apic_id[i]);
				ok = false;
			}
		}
	}
	smp_run(smp_verify, NULL, res);
	for (unsigned int i = 0; i < smp_ncpus; i++) {
		unsigned int owner = (i + 1) % smp_ncpus;
		struct mismatch *b = &smp.bad[i];

		if (res[i]) {
			printf("smp: cpu %u: slice of cpu %u differs at 0x%lx: expected 0x%016lx, "
			       "got 0x%016lx\n", i, owner, b->addr, b->expected, b->got);
			ok = false;
		} else {
			printf("smp: cpu %u: ran in ring 3, verified the slice of cpu %u\n", i, owner);
		}
	}
	if (smp.counter != (uint64_t)smp_ncpus * SMP_INCREMENTS) {
		printf("smp: shared counter %lu, expected %lu\n", smp.counter,
		       (uint64_t)smp_ncpus * SMP_INCREMENTS);
		ok = false;
	}
	printf("smp: %s\n", ok ? "pass" : "FAIL");
	return ok ? EXIT_PASS : EXIT_FAIL;
}
