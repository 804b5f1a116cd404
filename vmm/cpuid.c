// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest CPUID. The host's KVM may run guest ring-0 code in an instruction
 * emulator that cannot execute some instructions
 * (docs/host-without-vtx.md): a guest kernel
 * that sees them in CPUID uses them and stops with an internal error. By
 * default we hide those features; --cpuid-host passes the host's supported
 * CPUID through unchanged. Ring-3 code is unaffected either way.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/util.h"
#include "vmm/vm.h"

struct cpuid_mask {
	uint32_t function, index;
	enum { R_EAX, R_EBX, R_ECX, R_EDX } reg;
	uint32_t bits;
	const char *names;
};

#define BIT(n) (1U << (n))

static const struct cpuid_mask ring0_filter[] = {
	{ 1, 0, R_ECX, BIT(12) | BIT(13) | BIT(23) | BIT(26) | BIT(27) | BIT(28) | BIT(29),
	  "fma cx16 popcnt xsave osxsave avx f16c" },
	{ 7, 0, R_EBX, BIT(5) | BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) |
			 BIT(28) | BIT(30) | BIT(31),
	  "avx2 avx512*" },
	{ 7, 0, R_ECX, BIT(1) | BIT(6) | BIT(8) | BIT(9) | BIT(10) | BIT(11) |
			 BIT(12) | BIT(14) | BIT(27) | BIT(28),
	  "avx512vbmi* gfni vaes vpclmulqdq movdiri movdir64b" },
	{ 7, 0, R_EDX, BIT(2) | BIT(3) | BIT(8) | BIT(22) | BIT(23) | BIT(24) | BIT(25),
	  "avx512-4* avx512vp2intersect amx* avx512fp16" },
	{ 7, 1, R_EAX, BIT(4) | BIT(5), "avx-vnni avx512bf16" },
	{ 0x80000001, 0, R_EDX, BIT(27), "rdtscp" },
	{ 0x80000001, 0, R_ECX, BIT(5), "abm(lzcnt)" },
};

static uint32_t *cpuid_reg(struct kvm_cpuid_entry2 *e, int reg)
{
	switch (reg) {
	case R_EAX:
		return &e->eax;
	case R_EBX:
		return &e->ebx;
	case R_ECX:
		return &e->ecx;
	default:
		return &e->edx;
	}
}

static void cpuid_filter_ring0(struct kvm_cpuid2 *c)
{
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		/* XSAVE state enumeration goes with XSAVE. */
		if (e->function == 0xd) {
			e->eax = e->ebx = e->ecx = e->edx = 0;
			continue;
		}
		for (size_t m = 0; m < ARRAY_SIZE(ring0_filter); m++) {
			const struct cpuid_mask *mask = &ring0_filter[m];

			if (e->function == mask->function && e->index == mask->index)
				*cpuid_reg(e, mask->reg) &= ~mask->bits;
		}
	}
}

struct kvm_cpuid2 *cpuid_build(int kvm_fd, bool host, unsigned nr_cpus)
{
	unsigned nent = 128;
	struct kvm_cpuid2 *c;

	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return NULL;
		nent *= 2;
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1) {
			/* Logical processor count; the hypervisor bit. */
			e->ebx = (e->ebx & ~0x00ff0000u) | ((nr_cpus & 0xff) << 16);
			e->edx |= BIT(28);	/* HTT: the count above is valid */
			e->ecx |= BIT(31);
		}
	}
	if (!host) {
		cpuid_filter_ring0(c);
		vmm_info("cpuid: hiding features guest ring-0 code cannot run here "
			 "(cx16 xsave avx* popcnt rdtscp gfni movdiri ...); "
			 "--cpuid-host passes the host's CPUID through");
	}
	return c;
}

int cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *tmpl, unsigned apic_id)
{
	size_t sz = sizeof(*tmpl) + tmpl->nent * sizeof(tmpl->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int ret;

	if (!c)
		return -1;
	memcpy(c, tmpl, sz);
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 1)
			e->ebx = (e->ebx & 0x00ffffffu) | (apic_id << 24);
		else if (e->function == 0xb || e->function == 0x1f)
			e->edx = apic_id;
	}
	ret = ioctl(vcpu_fd, KVM_SET_CPUID2, c);
	free(c);
	return ret;
}
