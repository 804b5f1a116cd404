// SPDX-License-Identifier: GPL-2.0-only
/* Guest-side PCI configuration access and enumeration: see pci.h. */
#include "pci.h"
#include "runtime.h"

#define PCI_ADDR	0xcf8
#define PCI_DATA	0xcfc

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static uint32_t addr_of(const struct pci_func *f, unsigned reg)
{
	return 0x80000000u | (uint32_t)f->bus << 16 | (uint32_t)f->slot << 11 |
	       (uint32_t)f->fn << 8 | (reg & 0xfc);
}

uint32_t pci_read32(const struct pci_func *f, unsigned reg)
{
	outl(PCI_ADDR, addr_of(f, reg));
	return inl(PCI_DATA);
}

uint16_t pci_read16(const struct pci_func *f, unsigned reg)
{
	return pci_read32(f, reg) >> (8 * (reg & 2));
}

uint8_t pci_read8(const struct pci_func *f, unsigned reg)
{
	return pci_read32(f, reg) >> (8 * (reg & 3));
}

void pci_write32(const struct pci_func *f, unsigned reg, uint32_t v)
{
	outl(PCI_ADDR, addr_of(f, reg));
	outl(PCI_DATA, v);
}

void pci_write16(const struct pci_func *f, unsigned reg, uint16_t v)
{
	outl(PCI_ADDR, addr_of(f, reg));
	outw(PCI_DATA + (reg & 2), v);
}

unsigned pci_scan(struct pci_func *out, unsigned max)
{
	unsigned n = 0;

	for (unsigned slot = 0; slot < 32; slot++) {
		for (unsigned fn = 0; fn < 8; fn++) {
			struct pci_func f = { 0, slot, fn, 0, 0, 0 };
			uint32_t id = pci_read32(&f, 0);

			if ((id & 0xffff) == 0xffff) {
				if (!fn)
					break;
				continue;
			}
			f.vendor = id;
			f.device = id >> 16;
			f.class_code = pci_read32(&f, 8) >> 8;
			if (n < max)
				out[n] = f;
			n++;
			if (!fn && !(pci_read8(&f, 0x0e) & 0x80))
				break;		/* not multi-function */
		}
	}
	return n;
}

bool pci_find(uint16_t vendor, uint16_t dev1, uint16_t dev2, struct pci_func *out)
{
	struct pci_func all[64];
	unsigned n = pci_scan(all, 64);

	for (unsigned i = 0; i < n && i < 64; i++)
		if (all[i].vendor == vendor && (all[i].device == dev1 || all[i].device == dev2)) {
			*out = all[i];
			return true;
		}
	return false;
}

uint64_t pci_bar(const struct pci_func *f, unsigned bar)
{
	uint32_t lo = pci_read32(f, 0x10 + 4 * bar);

	if (lo & 1)
		return 0;
	if ((lo & 6) == 4)
		return (lo & ~0xfULL) | (uint64_t)pci_read32(f, 0x14 + 4 * bar) << 32;
	return lo & ~0xfULL;
}

unsigned pci_next_cap(const struct pci_func *f, unsigned id, unsigned after)
{
	unsigned p, guard = 0;

	if (!(pci_read16(f, 0x06) & 0x10))
		return 0;
	p = after ? pci_read8(f, after + 1) : pci_read8(f, 0x34);
	while (p && guard++ < 48) {
		p &= 0xfc;
		if (pci_read8(f, p) == id)
			return p;
		p = pci_read8(f, p + 1);
	}
	return 0;
}
