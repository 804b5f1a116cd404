/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-side PCI: configuration mechanism #1 (ports 0xcf8/0xcfc), bus 0
 * enumeration, BARs and the capability list. Works in ring 3 (the TSS I/O
 * bitmap allows every port; the 32-bit hole is identity-mapped).
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdbool.h>
#include <stdint.h>

struct pci_func {
	uint8_t bus, slot, fn;
	uint16_t vendor, device;
	uint32_t class_code;		/* class, subclass, prog-if */
};

uint32_t pci_read32(const struct pci_func *f, unsigned reg);
uint16_t pci_read16(const struct pci_func *f, unsigned reg);
uint8_t pci_read8(const struct pci_func *f, unsigned reg);
void pci_write32(const struct pci_func *f, unsigned reg, uint32_t v);
void pci_write16(const struct pci_func *f, unsigned reg, uint16_t v);

/* Scan bus 0 (every slot, every function of multi-function devices); returns how many found. */
unsigned pci_scan(struct pci_func *out, unsigned max);
/* The first function with vendor and one of two device ids, or false. */
bool pci_find(uint16_t vendor, uint16_t dev1, uint16_t dev2, struct pci_func *out);
/* A memory BAR's address (64-bit BARs included); 0 if it is an I/O or empty BAR. */
uint64_t pci_bar(const struct pci_func *f, unsigned bar);
/* The offset of the next capability with id `id` after `after` (0: from the start), or 0. */
unsigned pci_next_cap(const struct pci_func *f, unsigned id, unsigned after);

static inline uint32_t mmio_read32(uint64_t a)
{
	return *(volatile uint32_t *)a;
}

static inline uint16_t mmio_read16(uint64_t a)
{
	return *(volatile uint16_t *)a;
}

static inline uint8_t mmio_read8(uint64_t a)
{
	return *(volatile uint8_t *)a;
}

static inline void mmio_write32(uint64_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static inline void mmio_write16(uint64_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}

static inline void mmio_write8(uint64_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

#endif
