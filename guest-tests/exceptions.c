// SPDX-License-Identifier: GPL-2.0-only
/*
 * exceptions: deliberate faults in ring 0 and ring 3 must reach the
 * runtime's handler with the right vector, error code, RIP and CR2, and
 * execution must resume after them. With the flag `unhandled`, a last
 * ring-3 page fault is not expected: the handler must report it and fail
 * the test (the spec expects status 3 and the report's line).
 */
#include "runtime.h"

#define UNMAPPED	0x8000000000ULL		/* PML4 entry 1: never mapped */
#define NON_CANONICAL	0x8000000000000000ULL
#define BAD_SELECTOR	0x1230			/* GDT index far beyond the limit */

struct fault_case {
	const char *what;
	unsigned int ring;
	uint64_t (*trigger)(void);		/* returns the faulting RIP */
	uint64_t vector, error, cr2;
};

static uint64_t read_unmapped(void)
{
	return try_read64(UNMAPPED);
}

static uint64_t write_unmapped(void)
{
	return try_write64(UNMAPPED, 1);
}

static uint64_t read_non_canonical(void)
{
	return try_read64(NON_CANONICAL);
}

static uint64_t load_bad_selector(void)
{
	uint64_t rip;

	asm volatile("lea 1f(%%rip), %0\n1: movw %w1, %%ds\n2:\n" EX_TABLE_ENTRY
		     : "=&r"(rip) : "r"(BAD_SELECTOR) : "memory");
	return rip;
}

static uint64_t halt(void)
{
	uint64_t rip;

	asm volatile("lea 1f(%%rip), %0\n1: hlt\n2:\n" EX_TABLE_ENTRY : "=r"(rip) : : "memory");
	return rip;
}

static uint64_t undefined_opcode(void)
{
	uint64_t rip;

	asm volatile("lea 1f(%%rip), %0\n1: ud2\n2:\n" EX_TABLE_ENTRY : "=r"(rip) : : "memory");
	return rip;
}

static uint64_t divide_by_zero(void)
{
	uint64_t rip;

	asm volatile("lea 1f(%%rip), %0\n"
		     "xorl %%edx, %%edx\n"
		     "movl $1, %%eax\n"
		     "xorl %%ecx, %%ecx\n"
		     "1: divq %%rcx\n2:\n" EX_TABLE_ENTRY
		     : "=&r"(rip) : : "rax", "rcx", "rdx", "memory");
	return rip;
}

static const struct fault_case cases[] = {
	{ "read of unmapped 0x8000000000", 0, read_unmapped, 14, 0x0, UNMAPPED },
	{ "load of selector 0x1230 into %ds", 0, load_bad_selector, 13, BAD_SELECTOR, 0 },
	{ "read of unmapped 0x8000000000", 3, read_unmapped, 14, 0x4, UNMAPPED },
	{ "write to unmapped 0x8000000000", 3, write_unmapped, 14, 0x6, UNMAPPED },
	{ "read of non-canonical 0x8000000000000000", 3, read_non_canonical, 13, 0x0, 0 },
	{ "hlt", 3, halt, 13, 0x0, 0 },
	{ "ud2", 3, undefined_opcode, 6, 0x0, 0 },
	{ "division by zero", 3, divide_by_zero, 0, 0x0, 0 },
};

static long run_trigger(void *arg)
{
	const struct fault_case *c = arg;

	return c->trigger();
}

static long fault_unexpectedly(void *arg)
{
	*(volatile uint64_t *)UNMAPPED = 2;
	return 0;
}

int main(void)
{
	struct percpu *p = this_cpu();
	bool ok = true;

	for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct fault_case *c = &cases[i];
		uint64_t before = p->caught_count, rip;
		bool good;

		rip = c->ring == 3 ? (uint64_t)user_run(run_trigger, (void *)c) : c->trigger();
		good = p->caught_count == before + 1 && p->caught_vector == c->vector &&
		       p->caught_error == c->error && p->caught_rip == rip &&
		       (c->vector != 14 || p->caught_cr2 == c->cr2);
		printf("exceptions: ring %u %s: ", c->ring, c->what);
		if (p->caught_count == before)
			printf("no exception, expected %s: FAIL\n", trap_name(c->vector));
		else
			printf("%s error 0x%lx%s cr2 0x%lx: %s\n", trap_name(p->caught_vector),
			       p->caught_error, p->caught_rip == rip ? " at its rip," : " ELSEWHERE,",
			       p->caught_cr2, good ? "ok" : "FAIL");
		ok &= good;
	}
	if (!ok)
		return EXIT_FAIL;
	printf("exceptions: all caught\n");
	if (arg_flag("unhandled")) {
		printf("exceptions: now an unexpected #PF in ring 3\n");
		user_run(fault_unexpectedly, NULL);
		printf("exceptions: the unexpected #PF was not reported\n");
		return EXIT_FAIL;
	}
	return EXIT_PASS;
}
