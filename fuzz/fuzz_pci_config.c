// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer entry point for the PCI bus (vmm/devices/pci.c): configuration
 * mechanism #1 on the port bus and BAR routing on the MMIO bus.
 *
 * A bus is built on a VM with no KVM behind it (fd -1: interrupts are not
 * sent), with the host bridge and one device with two memory BARs and a
 * capability. Each 8-byte record of the input is one access: port or
 * MMIO, read or write, size 1/2/4, an address and a value. The harness
 * checks that reads of absent functions return all-ones, that read-only
 * registers (ids, capability pointer) never change, that a BAR reads back
 * size-aligned, and that the device's BAR handler is only ever called
 * inside its BAR (it aborts otherwise).
 *
 * Build and run by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -D_GNU_SOURCE \
 *       fuzz/fuzz_pci_config.c vmm/devices/pci.c vmm/devices/io.c vmm/util.c \
 *       -pthread -o fuzz_pci_config
 *   ./fuzz_pci_config -max_total_time=300
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "vmm/devices/pci.h"
#include "vmm/vm.h"

static struct vm vm;
static struct pci_device dev;
static unsigned long bar_calls;

static void bar_handler(struct pci_device *d, unsigned bar, uint64_t off, uint8_t *data,
			unsigned size, bool is_write)
{
	if (d != &dev || bar > 1 || off + size > d->bar_size[bar])
		abort();
	if (!is_write)
		memset(data, 0x5a, size);
	bar_calls++;
}

static void setup(void)
{
	static const uint8_t cap[12] = { PCI_CAP_ID_MSIX, 0, 7, 0 };

	vm.fd = vm.kvm_fd = -1;
	vm.pio.name = "port";
	vm.mmio.name = "mmio";
	if (pci_init(&vm))
		abort();
	pci_device_init(&dev, "fuzz", 0x1af4, 0x1045, 0x00ff00, 1, 0x1af4, 0x1100);
	dev.bar_size[0] = 0x8000;
	dev.bar_size[1] = 0x1000;
	dev.bar_handler = bar_handler;
	if (!pci_add_cap(&dev, cap, sizeof(cap)) || pci_add(vm.pci, &dev))
		abort();
}

static void check_invariants(void)
{
	if (pci_get16(dev.cfg + PCI_VENDOR_ID) != 0x1af4 ||
	    pci_get16(dev.cfg + PCI_DEVICE_ID) != 0x1045 || dev.cfg[PCI_CAPABILITY_LIST] != 0x40)
		abort();
	for (unsigned b = 0; b < 2; b++)
		if (pci_get32(dev.cfg + PCI_BASE_ADDRESS_0 + 4 * b) & (dev.bar_size[b] - 1))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;

	if (!ready) {
		setup();
		ready = true;
	}
	/* Every input starts from the power-on configuration space. */
	pci_put16(dev.cfg + PCI_COMMAND, 0);
	pci_put32(dev.cfg + PCI_BASE_ADDRESS_0, PCI_MMIO_BASE);
	pci_put32(dev.cfg + PCI_BASE_ADDRESS_0 + 4, PCI_MMIO_BASE + 0x8000);
	for (size_t i = 0; i + 8 <= size; i += 8) {
		const uint8_t *r = data + i;
		unsigned sz = 1u << (r[0] & 3);
		bool is_write = r[0] & 4, mmio = r[0] & 8;
		uint8_t buf[8];

		if (sz == 8)
			sz = 4;
		memcpy(buf, r + 4, 4);
		memset(buf + 4, 0, 4);
		if (mmio) {
			uint64_t addr = PCI_MMIO_BASE + (pci_get32(r) >> 4) % 0x20000;

			io_dispatch(&vm.mmio, addr, buf, sz, is_write);
		} else {
			uint16_t port = 0xcf8 + (r[1] & 7);
			uint32_t addr_reg = pci_get32(r + 4);

			if (r[0] & 0x10) {	/* select a register first */
				addr_reg = 0x80000000u | (r[2] & 1) << 11 | (r[3] & 0xfc) |
					   (r[0] & 0x20 ? 0x10000 : 0) | (r[0] & 0x40 ? 0x100 : 0);
				pci_put32(buf, addr_reg);
				io_dispatch(&vm.pio, 0xcf8, buf, 4, true);
				continue;
			}
			io_dispatch(&vm.pio, port, buf, sz, is_write);
			if (!is_write && port >= 0xcfc && (vm.pci->config_address & 0x80000000u) &&
			    ((vm.pci->config_address >> 11 & 0x1f) > 1 ||
			     (vm.pci->config_address >> 8 & 7) ||
			     (vm.pci->config_address >> 16 & 0xff))) {
				for (unsigned k = 0; k < sz; k++)
					if (buf[k] != 0xff)
						abort();	/* absent function */
			}
		}
		check_invariants();
	}
	return 0;
}
