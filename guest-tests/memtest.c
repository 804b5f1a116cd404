// SPDX-License-Identifier: GPL-2.0-only
/*
 * memtest: every CPU writes an address-derived pattern over its slice of
 * all free RAM above the image, in ring 3; then every CPU verifies every
 * word of its neighbour's slice. Passes when nothing differs and the pages
 * checked account for all of the RAM that fw_cfg reports, less the image,
 * the loader's data, the runtime's stacks and the holes of the memory map.
 */
#include "pattern.h"
#include "runtime.h"

/* Slack for what the memory map may reserve below 1 MiB and at the top. */
#define MEMTEST_SLACK	(4 * MiB)

static struct {
	struct mismatch bad[MAX_CPUS];
	uint64_t pages[MAX_CPUS];
} memtest;

static long memtest_write(void *arg)
{
	unsigned int cpu = cpu_id();
	struct mem_region r[MEM_MAX_REGIONS];
	uint64_t first, count;
	unsigned int n;

	slice_of(cpu, smp_ncpus, mem_free_pages, &first, &count);
	n = mem_ranges(first, count, r);
	for (unsigned int i = 0; i < n; i++)
		for (uint64_t a = r[i].start; a < r[i].end; a += PAGE_SIZE)
			pattern_fill(a, pattern_seed(a, 0, 0));
	return 0;
}

static long memtest_verify(void *arg)
{
	unsigned int cpu = cpu_id(), owner = (cpu + 1) % smp_ncpus;
	struct mem_region r[MEM_MAX_REGIONS];
	uint64_t first, count;
	unsigned int n;

	slice_of(owner, smp_ncpus, mem_free_pages, &first, &count);
	n = mem_ranges(first, count, r);
	for (unsigned int i = 0; i < n; i++) {
		for (uint64_t a = r[i].start; a < r[i].end; a += PAGE_SIZE) {
			if (!pattern_check(a, pattern_seed(a, 0, 0), &memtest.bad[cpu]))
				return 1;
			memtest.pages[cpu]++;
		}
	}
	return 0;
}

int main(void)
{
	long res[MAX_CPUS];
	uint64_t checked = 0;

	printf("memtest: %u cpu(s), %lu MiB RAM\n", smp_ncpus, mem_ram_size / MiB);
	printf("# memtest: %lu pages (%lu KiB) above 0x%lx in %u region(s)\n",
	       mem_free_pages, mem_free_pages * 4, mem_free_start, mem_nr_regions);
	smp_run(memtest_write, NULL, NULL);
	smp_run(memtest_verify, NULL, res);
	for (unsigned int i = 0; i < smp_ncpus; i++) {
		struct mismatch *b = &memtest.bad[i];

		if (res[i]) {
			printf("memtest: cpu %u: mismatch at 0x%lx: expected 0x%016lx, got 0x%016lx\n",
			       i, b->addr, b->expected, b->got);
			return EXIT_FAIL;
		}
		checked += memtest.pages[i];
	}
	printf("# memtest: verified %lu pages (%lu KiB)\n", checked, checked * 4);
	if (checked != mem_free_pages) {
		printf("memtest: verified %lu of %lu pages\n", checked, mem_free_pages);
		return EXIT_FAIL;
	}
	if (checked * PAGE_SIZE + mem_free_start + MEMTEST_SLACK < mem_ram_size) {
		printf("memtest: the memory map leaves RAM untested: %lu KiB above the image "
		       "of %lu KiB\n", checked * 4, mem_ram_size / 1024);
		return EXIT_FAIL;
	}
	printf("memtest: all RAM above the image verified\n");
	return EXIT_PASS;
}
