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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/util.h"
#include "vmm/vm.h"

#define BIT(n) (1U << (n))

enum cpuid_reg { R_EAX, R_EBX, R_ECX, R_EDX };

struct cpuid_feature {
	const char *name;
	uint32_t function, index;
	enum cpuid_reg reg;
	uint32_t bit;
};

/* Hidden by default; leaf 0xD (XSAVE state enumeration) goes with xsave. */
static const struct cpuid_feature ring0_filter[] = {
	{ "fma", 1, 0, R_ECX, 12 }, { "cx16", 1, 0, R_ECX, 13 },
	{ "popcnt", 1, 0, R_ECX, 23 }, { "xsave", 1, 0, R_ECX, 26 },
	{ "osxsave", 1, 0, R_ECX, 27 }, { "avx", 1, 0, R_ECX, 28 },
	{ "f16c", 1, 0, R_ECX, 29 },
	{ "avx2", 7, 0, R_EBX, 5 }, { "avx512f", 7, 0, R_EBX, 16 },
	{ "avx512dq", 7, 0, R_EBX, 17 }, { "avx512ifma", 7, 0, R_EBX, 21 },
	{ "avx512pf", 7, 0, R_EBX, 26 }, { "avx512er", 7, 0, R_EBX, 27 },
	{ "avx512cd", 7, 0, R_EBX, 28 }, { "avx512bw", 7, 0, R_EBX, 30 },
	{ "avx512vl", 7, 0, R_EBX, 31 },
	{ "avx512vbmi", 7, 0, R_ECX, 1 }, { "avx512vbmi2", 7, 0, R_ECX, 6 },
	{ "gfni", 7, 0, R_ECX, 8 }, { "vaes", 7, 0, R_ECX, 9 },
	{ "vpclmulqdq", 7, 0, R_ECX, 10 }, { "avx512vnni", 7, 0, R_ECX, 11 },
	{ "avx512bitalg", 7, 0, R_ECX, 12 }, { "avx512vpopcntdq", 7, 0, R_ECX, 14 },
	{ "movdiri", 7, 0, R_ECX, 27 }, { "movdir64b", 7, 0, R_ECX, 28 },
	{ "avx512-4vnniw", 7, 0, R_EDX, 2 }, { "avx512-4fmaps", 7, 0, R_EDX, 3 },
	{ "avx512vp2intersect", 7, 0, R_EDX, 8 }, { "amx-bf16", 7, 0, R_EDX, 22 },
	{ "avx512fp16", 7, 0, R_EDX, 23 }, { "amx-tile", 7, 0, R_EDX, 24 },
	{ "amx-int8", 7, 0, R_EDX, 25 },
	{ "avx-vnni", 7, 1, R_EAX, 4 }, { "avx512bf16", 7, 1, R_EAX, 5 },
	{ "abm", 0x80000001, 0, R_ECX, 5 }, { "rdtscp", 0x80000001, 0, R_EDX, 27 },
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

static struct kvm_cpuid_entry2 *cpuid_entry(struct kvm_cpuid2 *c, uint32_t function,
					    uint32_t index)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == function && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static bool cpuid_has(struct kvm_cpuid2 *c, const struct cpuid_feature *f)
{
	struct kvm_cpuid_entry2 *e = cpuid_entry(c, f->function, f->index);

	return e && (*cpuid_reg(e, f->reg) & BIT(f->bit));
}

static void cpuid_append(char *buf, size_t len, const char *name)
{
	size_t n = strlen(buf);

	snprintf(buf + n, len - n, "%s%s", n ? " " : "", name);
}

/* Clear the filtered features; *hidden names those KVM offered. */
static void cpuid_filter_ring0(struct kvm_cpuid2 *c, char *hidden, size_t len)
{
	for (size_t m = 0; m < ARRAY_SIZE(ring0_filter); m++) {
		const struct cpuid_feature *f = &ring0_filter[m];
		struct kvm_cpuid_entry2 *e = cpuid_entry(c, f->function, f->index);

		if (e && (*cpuid_reg(e, f->reg) & BIT(f->bit))) {
			cpuid_append(hidden, len, f->name);
			*cpuid_reg(e, f->reg) &= ~BIT(f->bit);
		}
	}
	for (uint32_t i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0xd)
			e->eax = e->ebx = e->ecx = e->edx = 0;
	}
}

/*
 * What a vCPU really gets for the table c: set it on a vCPU of a scratch VM
 * and read it back. A KVM may rewrite parts of it (the PVM backend ORs the
 * host's leaf-1 features back in and fills leaf 0xD itself).
 */
static struct kvm_cpuid2 *cpuid_effective(int kvm_fd, const struct kvm_cpuid2 *c)
{
	size_t sz = sizeof(*c) + c->nent * sizeof(c->entries[0]);
	struct kvm_cpuid2 *got = NULL;
	int vm_fd, vcpu_fd = -1;

	do
		vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	while (vm_fd < 0 && errno == EINTR);
	if (vm_fd < 0)
		return NULL;
	vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0);
	got = malloc(sz);
	if (vcpu_fd < 0 || !got)
		goto fail;
	memcpy(got, c, sz);
	if (ioctl(vcpu_fd, KVM_SET_CPUID2, got) < 0)
		goto fail;
	got->nent = c->nent;
	if (ioctl(vcpu_fd, KVM_GET_CPUID2, got) < 0)
		goto fail;
	close(vcpu_fd);
	close(vm_fd);
	return got;
fail:
	free(got);
	if (vcpu_fd >= 0)
		close(vcpu_fd);
	close(vm_fd);
	return NULL;
}

struct kvm_cpuid2 *cpuid_build(int kvm_fd, bool host, unsigned nr_cpus,
			       struct cpuid_report *rep)
{
	unsigned nent = 128;
	struct kvm_cpuid2 *c, *eff;

	memset(rep, 0, sizeof(*rep));
	rep->host = host;
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
	if (host)
		return c;
	cpuid_filter_ring0(c, rep->hidden, sizeof(rep->hidden));
	eff = cpuid_effective(kvm_fd, c);
	if (!eff)
		return c;
	for (size_t m = 0; m < ARRAY_SIZE(ring0_filter); m++) {
		const struct cpuid_feature *f = &ring0_filter[m];

		/* OSXSAVE follows the guest's CR4; it is not the table's. */
		if (strcmp(f->name, "osxsave") && cpuid_has(eff, f)) {
			cpuid_append(rep->forced, sizeof(rep->forced), f->name);
			if (!strcmp(f->name, "xsave"))
				rep->xsave_forced = true;
			if (!strcmp(f->name, "popcnt"))
				rep->popcnt_forced = true;
		}
	}
	free(eff);
	return c;
}

void cpuid_notice(const struct cpuid_report *rep, bool ring0_kernel)
{
	void (*say)(const char *, ...) = ring0_kernel ? vmm_info : vmm_dbg;

	if (rep->host) {
		vmm_dbg("cpuid: the host's CPUID is passed through (--cpuid-host)");
		return;
	}
	say("cpuid: hiding features guest ring-0 code cannot run here (cx16 xsave avx* "
	    "popcnt rdtscp gfni movdiri ...); --cpuid-host passes the host's CPUID through");
	vmm_dbg("cpuid: hidden from what KVM offers: %s", *rep->hidden ? rep->hidden : "none");
	if (*rep->forced)
		say("cpuid: this host's KVM advertises %s to the guest whatever the VMM asks "
		    "(KVM_SET_CPUID2 puts them back): ring-0 code that uses them stops with "
		    "a KVM internal error", rep->forced);
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
