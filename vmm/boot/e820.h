/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_E820_H
#define VMM_E820_H

#include <stdint.h>

#include "vmm/guest_mem.h"

/*
 * The guest's physical memory map, in the BIOS e820 form that multiboot,
 * the Linux zero page and PVH's hvm_start_info all carry. It is derived
 * from the guest_mem regions, the same layout the pager works on: RAM
 * below the 32-bit hole from gpa 0, the rest from 4 GiB. The low BIOS
 * area (EBDA, VGA hole, option ROMs and the system BIOS, where the MP
 * table lives) is one reserved range, already in the sorted, merged form
 * that Linux's e820__update_table() produces, so that the map the kernel
 * prints is entry for entry the map built here. In the 32-bit hole, the PCI
 * MMIO window (vmm/devices/pci.h) is absent and the rest, from the IOAPIC
 * to 4 GiB, reserved.
 */

#define E820_TYPE_RAM		1
#define E820_TYPE_RESERVED	2

#define E820_EBDA_START		0x9fc00ULL	/* top of conventional RAM */
#define E820_BIOS_END		0x100000ULL	/* end of the low BIOS area */
#define E820_MAX_ENTRIES	8

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
};

/* Fill map (at least E820_MAX_ENTRIES) and return the number of entries. */
unsigned e820_build(const struct guest_mem *mem, struct e820_entry *map);

/* The map as Linux prints it ("BIOS-e820: [mem 0x...-0x...] usable"), with --debug. */
void e820_log(const char *who, const struct e820_entry *map, unsigned n);

#endif
