// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/boot/e820.h"

#include "vmm/devices/pci.h"
#include "vmm/util.h"

unsigned e820_build(const struct guest_mem *mem, struct e820_entry *map)
{
	uint64_t low = guest_mem_low_size(mem), high = guest_mem_high_size(mem);
	unsigned n = 0;

	map[n++] = (struct e820_entry){ 0, E820_EBDA_START, E820_TYPE_RAM };
	map[n++] = (struct e820_entry){ E820_EBDA_START, E820_BIOS_END - E820_EBDA_START,
					E820_TYPE_RESERVED };
	if (low > E820_BIOS_END)
		map[n++] = (struct e820_entry){ E820_BIOS_END, low - E820_BIOS_END, E820_TYPE_RAM };
	/*
	 * The hole: the PCI window [3 GiB, IOAPIC) is left out of the map, so
	 * that Linux takes it as the gap for PCI memory (e820__setup_pci_gap);
	 * the IOAPIC, the local APICs and KVM's TSS and identity-map pages
	 * above it are reserved.
	 */
	map[n++] = (struct e820_entry){ PCI_MMIO_END, GUEST_MEM_HIGH_START - PCI_MMIO_END,
					E820_TYPE_RESERVED };
	if (high)
		map[n++] = (struct e820_entry){ GUEST_MEM_HIGH_START, high, E820_TYPE_RAM };
	return n;
}

void e820_log(const char *who, const struct e820_entry *map, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		vmm_dbg("%s: e820: [mem 0x%016llx-0x%016llx] %s", who,
			(unsigned long long)map[i].addr,
			(unsigned long long)(map[i].addr + map[i].size - 1),
			map[i].type == E820_TYPE_RAM ? "usable" : "reserved");
}
