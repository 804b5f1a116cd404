// SPDX-License-Identifier: GPL-2.0-only
/*
 * hello: the smallest end-to-end guest. Prints a greeting and what the
 * runtime learned at boot (CPUs and RAM from fw_cfg, the command line from
 * multiboot), once from ring 0 and once from ring 3, and passes.
 */
#include "runtime.h"

static long hello_user(void *arg)
{
	printf("hello from ring %u\n", cpl());
	return 42;
}

int main(void)
{
	long r;

	printf("hello, world\n");
	printf("hello: %u cpu(s), %lu MiB RAM\n", smp_ncpus, mem_ram_size / MiB);
	printf("hello: %u argument(s):", arg_count());
	for (unsigned int i = 0; i < arg_count(); i++)
		printf(" [%s]", arg_word(i));
	printf("\n");
	printf("# hello: free memory 0x%lx-, %lu pages in %u region(s)\n",
	       mem_free_start, mem_free_pages, mem_nr_regions);
	printf("hello from ring %u\n", cpl());
	r = user_run(hello_user, NULL);
	if (r != 42) {
		printf("hello: ring 3 returned %ld, expected 42\n", r);
		return EXIT_FAIL;
	}
	printf("hello: back in ring %u\n", cpl());
	return EXIT_PASS;
}
