// SPDX-License-Identifier: GPL-2.0-only
/*
 * cpuid: checks the CPUID this vCPU really receives, and what the CPU then
 * lets ring 0 do with it.
 *
 * expect=hidden (default) forced=NAME,...: every feature vmm's default
 * filter hides must be absent wherever a guest kernel could learn of it
 * (leaves 1, 7.0, 7.1 and 0x80000001), except the ones vmm names as
 * advertised anyway by the host's KVM (its notice), which must then be
 * present: vmm's account of the guest's CPUID must be exact. Unless xsave
 * is among them, leaf 0xD (supported XCR0 bits, save-area sizes, the
 * XSAVEOPT/XSAVEC/XSAVES bits, every component's subleaf) must read as
 * zero and the CPU must refuse CR4.OSXSAVE.
 *
 * expect=host present=NAME,...: with --cpuid-host, each named feature (the
 * ones the filter would hide) must be present.
 *
 * Every bit and the raw leaves are printed as "# " diagnostics.
 */
#include "runtime.h"

#define BIT(n)		(1U << (n))
#define X86_CR4_OSXSAVE	(1UL << 18)

enum reg { EAX, EBX, ECX, EDX };

struct feature {
	const char *name;
	uint32_t leaf, subleaf;
	enum reg reg;
	uint32_t bit;
};

/* Everything the default filter hides (vmm/cpuid.c), by where it shows. */
static const struct feature hidden[] = {
	{ "fma", 1, 0, ECX, 12 },
	{ "cx16", 1, 0, ECX, 13 },
	{ "popcnt", 1, 0, ECX, 23 },
	{ "xsave", 1, 0, ECX, 26 },
	{ "osxsave", 1, 0, ECX, 27 },
	{ "avx", 1, 0, ECX, 28 },
	{ "f16c", 1, 0, ECX, 29 },
	{ "avx2", 7, 0, EBX, 5 },
	{ "avx512f", 7, 0, EBX, 16 },
	{ "avx512dq", 7, 0, EBX, 17 },
	{ "avx512ifma", 7, 0, EBX, 21 },
	{ "avx512pf", 7, 0, EBX, 26 },
	{ "avx512er", 7, 0, EBX, 27 },
	{ "avx512cd", 7, 0, EBX, 28 },
	{ "avx512bw", 7, 0, EBX, 30 },
	{ "avx512vl", 7, 0, EBX, 31 },
	{ "avx512vbmi", 7, 0, ECX, 1 },
	{ "avx512vbmi2", 7, 0, ECX, 6 },
	{ "gfni", 7, 0, ECX, 8 },
	{ "vaes", 7, 0, ECX, 9 },
	{ "vpclmulqdq", 7, 0, ECX, 10 },
	{ "avx512vnni", 7, 0, ECX, 11 },
	{ "avx512bitalg", 7, 0, ECX, 12 },
	{ "avx512vpopcntdq", 7, 0, ECX, 14 },
	{ "movdiri", 7, 0, ECX, 27 },
	{ "movdir64b", 7, 0, ECX, 28 },
	{ "avx512-4vnniw", 7, 0, EDX, 2 },
	{ "avx512-4fmaps", 7, 0, EDX, 3 },
	{ "avx512vp2intersect", 7, 0, EDX, 8 },
	{ "amx-bf16", 7, 0, EDX, 22 },
	{ "avx512fp16", 7, 0, EDX, 23 },
	{ "amx-tile", 7, 0, EDX, 24 },
	{ "amx-int8", 7, 0, EDX, 25 },
	{ "avx-vnni", 7, 1, EAX, 4 },
	{ "avx512bf16", 7, 1, EAX, 5 },
	{ "abm", 0x80000001, 0, ECX, 5 },
	{ "rdtscp", 0x80000001, 0, EDX, 27 },
};

static void cpuid_count(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
	asm volatile("cpuid" : "=a"(r[EAX]), "=b"(r[EBX]), "=c"(r[ECX]), "=d"(r[EDX])
		     : "a"(leaf), "c"(subleaf));
}

static uint32_t max_leaf(uint32_t base)
{
	uint32_t r[4];

	cpuid_count(base, 0, r);
	return r[EAX];
}

/* -1 when the leaf is beyond the maximum the CPU reports (so the bit is absent). */
static int feature_bit(const struct feature *f)
{
	uint32_t r[4];

	if (f->leaf > max_leaf(f->leaf & 0x80000000))
		return 0;
	cpuid_count(f->leaf, f->subleaf, r);
	return !!(r[f->reg] & BIT(f->bit));
}

static uint64_t read_cr4(void)
{
	uint64_t v;

	asm volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

/* Try to set CR4.OSXSAVE; true when the CPU took it (then it is put back). */
static bool cr4_takes_osxsave(uint64_t *vector)
{
	struct percpu *p = this_cpu();
	uint64_t before = p->caught_count, cr4 = read_cr4(), rip;

	asm volatile("lea 1f(%%rip), %0\n1: mov %1, %%cr4\n2:\n" EX_TABLE_ENTRY
		     : "=&r"(rip) : "r"(cr4 | X86_CR4_OSXSAVE) : "memory");
	(void)rip;
	if (p->caught_count != before) {
		*vector = p->caught_vector;
		return false;
	}
	asm volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	return true;
}

/* True when NAME is one of the comma-separated words of list. */
static bool listed(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (*list) {
		if (!strncmp(list, name, n) && (list[n] == ',' || !list[n]))
			return true;
		while (*list && *list != ',')
			list++;
		if (*list)
			list++;
	}
	return false;
}

/* The raw leaves, as diagnostics. */
static void print_leaves(void)
{
	static const uint32_t leaves[][2] = {
		{ 0, 0 }, { 1, 0 }, { 7, 0 }, { 7, 1 }, { 0xd, 0 }, { 0xd, 1 },
		{ 0x80000000, 0 }, { 0x80000001, 0 },
	};
	uint32_t r[4];

	for (unsigned int i = 0; i < ARRAY_SIZE(leaves); i++) {
		cpuid_count(leaves[i][0], leaves[i][1], r);
		printf("# leaf 0x%x.%u: eax 0x%08x ebx 0x%08x ecx 0x%08x edx 0x%08x\n",
		       leaves[i][0], leaves[i][1], r[EAX], r[EBX], r[ECX], r[EDX]);
	}
}

static bool check_hidden(void)
{
	const char *forced = arg_str("forced", "");
	uint64_t vector = 0;
	uint32_t r[4];
	bool ok = true;

	print_leaves();
	for (unsigned int i = 0; i < ARRAY_SIZE(hidden); i++) {
		const struct feature *f = &hidden[i];
		bool want = listed(forced, f->name);
		int on = feature_bit(f);

		printf("# %s=%d%s\n", f->name, on, want ? " (forced)" : "");
		/* OSXSAVE mirrors CR4.OSXSAVE, which is clear here. */
		if (!strcmp(f->name, "osxsave"))
			want = false;
		if (on != want) {
			printf("cpuid: %s is %s (leaf 0x%x.%u), vmm says %s: FAIL\n", f->name,
			       on ? "advertised" : "absent", f->leaf, f->subleaf,
			       want ? "the host's KVM forces it" : "hidden");
			ok = false;
		}
	}
	if (listed(forced, "xsave")) {
		printf("cpuid: xsave is forced by the host's KVM: leaf 0xd and CR4.OSXSAVE not checked\n");
	} else {
		if (max_leaf(0) >= 0xd) {
			for (uint32_t sub = 0; sub < 64; sub++) {
				cpuid_count(0xd, sub, r);
				if (r[EAX] | r[EBX] | r[ECX] | r[EDX]) {
					printf("cpuid: leaf 0xd.%u is 0x%x 0x%x 0x%x 0x%x, not zero: FAIL\n",
					       sub, r[EAX], r[EBX], r[ECX], r[EDX]);
					ok = false;
				}
			}
		}
		if (cr4_takes_osxsave(&vector)) {
			printf("cpuid: CR4.OSXSAVE can be set although XSAVE is hidden: FAIL\n");
			ok = false;
		} else {
			printf("cpuid: CR4.OSXSAVE refused with %s\n", trap_name(vector));
		}
	}
	if (ok)
		printf("cpuid: every filtered feature is hidden, but those vmm names\n");
	return ok;
}

static bool check_host(void)
{
	const char *present = arg_str("present", "");
	bool ok = true;

	print_leaves();
	for (unsigned int i = 0; i < ARRAY_SIZE(hidden); i++) {
		const struct feature *f = &hidden[i];
		int on = feature_bit(f);

		printf("# %s=%d\n", f->name, on);
		if (listed(present, f->name) && !on) {
			printf("cpuid: %s is absent with --cpuid-host: FAIL\n", f->name);
			ok = false;
		}
	}
	if (ok)
		printf("cpuid: the host's features pass through\n");
	return ok;
}

int main(void)
{
	const char *expect = arg_str("expect", "hidden");

	if (!strcmp(expect, "hidden"))
		return check_hidden() ? EXIT_PASS : EXIT_FAIL;
	if (!strcmp(expect, "host"))
		return check_host() ? EXIT_PASS : EXIT_FAIL;
	printf("cpuid: unknown expect=%s (hidden, host)\n", expect);
	return EXIT_FAIL;
}
