// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PCI bus: configuration mechanism #1, a host bridge, BAR placement in
 * the 32-bit hole and the routing of MMIO accesses to BARs, INTx through
 * the in-kernel IOAPIC and MSI through KVM_SIGNAL_MSI. See pci.h.
 *
 * Port 0xcf9 (the reset control register, reset_cf9.c) sits inside the
 * address register's four bytes, as on real chipsets: a 32-bit access at
 * 0xcf8 is the address register, a byte access at 0xcf9 is the reset
 * register. The port bus routes an access by its first port, so the bus
 * claims 0xcf8 alone (any size) and 0xcfa-0xcfb (ignored byte accesses of
 * the type-2 probe), and the data window 0xcfc-0xcff.
 */
#include "vmm/devices/pci.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/util.h"
#include "vmm/vm.h"

#define PCI_CONFIG_ADDRESS	0xcf8
#define PCI_CONFIG_DATA		0xcfc
#define PCI_ADDR_ENABLE		0x80000000u
#define PCI_DEBUG_LOG_LIMIT	16	/* unclaimed accesses logged with --debug */

#define PCI_HOST_VENDOR		0x1b36	/* Red Hat, Inc.: QEMU's host bridge ids */
#define PCI_HOST_DEVICE		0x0008
#define PCI_CLASS_BRIDGE_HOST	0x060000

static unsigned addr_bus(uint32_t a)
{
	return (a >> 16) & 0xff;
}

static unsigned addr_slot(uint32_t a)
{
	return (a >> 11) & 0x1f;
}

static unsigned addr_fn(uint32_t a)
{
	return (a >> 8) & 0x7;
}

void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision,
		     uint16_t subsys_vendor, uint16_t subsys_id)
{
	memset(dev->cfg, 0, sizeof(dev->cfg));
	memset(dev->wmask, 0, sizeof(dev->wmask));
	dev->cap_last = dev->cap_end = 0;
	dev->name = name;
	pci_put16(dev->cfg + PCI_VENDOR_ID, vendor);
	pci_put16(dev->cfg + PCI_DEVICE_ID, device);
	dev->cfg[PCI_REVISION_ID] = revision;
	dev->cfg[PCI_CLASS_PROG] = class_code & 0xff;
	pci_put16(dev->cfg + PCI_CLASS_DEVICE, class_code >> 8);
	pci_put16(dev->cfg + PCI_SUBSYSTEM_VENDOR_ID, subsys_vendor);
	pci_put16(dev->cfg + PCI_SUBSYSTEM_ID, subsys_id);
	pci_put16(dev->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
		  PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE);
	dev->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

unsigned pci_add_cap(struct pci_device *dev, const void *cap, unsigned len)
{
	unsigned off = dev->cap_end ? ALIGN_UP(dev->cap_end, 4) : 0x40;

	if (len < 2 || off + len > PCI_CFG_SIZE)
		return 0;
	memcpy(dev->cfg + off, cap, len);
	dev->cfg[off + 1] = 0;
	if (dev->cap_last)
		dev->cfg[dev->cap_last + 1] = off;
	else
		dev->cfg[PCI_CAPABILITY_LIST] = off;
	dev->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	dev->cap_last = off;
	dev->cap_end = off + len;
	return off;
}

static void host_bridge_init(struct pci_bus *bus)
{
	struct pci_device *hb = &bus->host_bridge;

	pci_device_init(hb, "host bridge", PCI_HOST_VENDOR, PCI_HOST_DEVICE,
			PCI_CLASS_BRIDGE_HOST, 0, PCI_HOST_VENDOR, 0x1100);
	hb->bus = bus;
	hb->slot = 0;
	bus->slots[0] = hb;
}

/* Assign a BAR its address: the next naturally aligned range of the window. */
static int assign_bar(struct pci_bus *bus, struct pci_device *dev, unsigned bar)
{
	uint32_t size = dev->bar_size[bar];
	uint64_t addr = ALIGN_UP((uint64_t)bus->next_bar, size);
	unsigned off = PCI_BASE_ADDRESS_0 + 4 * bar;

	if (size < PAGE_SIZE || (size & (size - 1)) || addr + size > PCI_MMIO_END) {
		vmm_err("pci: %s: BAR %u of %u bytes does not fit the MMIO window", dev->name,
			bar, size);
		return -1;
	}
	bus->next_bar = addr + size;
	pci_put32(dev->cfg + off, addr);
	pci_put32(dev->wmask + off, ~(size - 1));
	return 0;
}

int pci_add(struct pci_bus *bus, struct pci_device *dev)
{
	unsigned slot;

	for (slot = 1; slot < PCI_MAX_SLOTS && bus->slots[slot]; slot++)
		;
	if (slot == PCI_MAX_SLOTS) {
		vmm_err("pci: %s: all %d slots are taken", dev->name, PCI_MAX_SLOTS - 1);
		return -1;
	}
	for (unsigned b = 0; b < PCI_MAX_BARS; b++)
		if (dev->bar_size[b] && assign_bar(bus, dev, b))
			return -1;
	dev->slot = slot;
	dev->bus = bus;
	dev->cfg[PCI_INTERRUPT_PIN] = 1;	/* INTA# */
	dev->cfg[PCI_INTERRUPT_LINE] = pci_intx_gsi(slot);
	pthread_mutex_lock(&bus->lock);
	bus->slots[slot] = dev;
	pthread_mutex_unlock(&bus->lock);
	vmm_dbg("pci: 00:%02x.0 %s, BAR0 at 0x%x, INTA# on IOAPIC pin %u", slot, dev->name,
		pci_get32(dev->cfg + PCI_BASE_ADDRESS_0), pci_intx_gsi(slot));
	return 0;
}

void pci_stop(struct pci_bus *bus)
{
	if (!bus)
		return;
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		if (bus->slots[s] && bus->slots[s]->stop)
			bus->slots[s]->stop(bus->slots[s]);
}

uint64_t pci_bar_address(struct pci_device *dev, unsigned bar)
{
	if (bar >= PCI_MAX_BARS || !dev->bar_size[bar] ||
	    !(pci_get16(dev->cfg + PCI_COMMAND) & PCI_COMMAND_MEMORY))
		return 0;
	return pci_get32(dev->cfg + PCI_BASE_ADDRESS_0 + 4 * bar) & ~(uint32_t)0xf;
}

static void log_unclaimed(struct pci_bus *bus, uint32_t addr, unsigned off, unsigned size,
			  bool is_write, uint32_t v)
{
	if (!vmm_debug || bus->unclaimed_logged > PCI_DEBUG_LOG_LIMIT)
		return;
	if (bus->unclaimed_logged++ == PCI_DEBUG_LOG_LIMIT) {
		vmm_dbg("pci: more unclaimed configuration accesses; not logging them");
		return;
	}
	if (is_write)
		vmm_dbg("pci: unclaimed config write %02x:%02x.%x +0x%02x <- 0x%x (%u bytes)",
			addr_bus(addr), addr_slot(addr), addr_fn(addr), off, v, size);
	else
		vmm_dbg("pci: unclaimed config read %02x:%02x.%x +0x%02x (%u bytes)",
			addr_bus(addr), addr_slot(addr), addr_fn(addr), off, size);
}

/* The function addr selects, or NULL; under the bus lock. */
static struct pci_device *lookup(struct pci_bus *bus, uint32_t addr)
{
	if (!(addr & PCI_ADDR_ENABLE) || addr_bus(addr) || addr_fn(addr))
		return NULL;
	return bus->slots[addr_slot(addr)];
}

void pci_config_read(struct pci_bus *bus, uint32_t addr, unsigned off, uint8_t *data,
		     unsigned size)
{
	unsigned reg = (addr & 0xfc) + off;
	struct pci_device *dev;

	memset(data, 0xff, size);
	if (off + size > 4 || !size)
		return;
	dev = lookup(bus, addr);
	if (!dev) {
		log_unclaimed(bus, addr, reg, size, false, 0);
		return;
	}
	memcpy(data, dev->cfg + reg, size);
}

void pci_config_write(struct pci_bus *bus, uint32_t addr, unsigned off, const uint8_t *data,
		      unsigned size)
{
	unsigned reg = (addr & 0xfc) + off;
	struct pci_device *dev;

	if (off + size > 4 || !size)
		return;
	dev = lookup(bus, addr);
	if (!dev) {
		uint32_t v = 0;

		memcpy(&v, data, size);
		log_unclaimed(bus, addr, reg, size, true, v);
		return;
	}
	for (unsigned i = 0; i < size; i++) {
		uint8_t m = dev->wmask[reg + i];

		dev->cfg[reg + i] = (dev->cfg[reg + i] & ~m) | (data[i] & m);
	}
	if (dev->cfg_written)
		dev->cfg_written(dev, reg, size);
}

static void config_address_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
			      bool is_write)
{
	struct pci_bus *bus = opaque;

	/* Only a 32-bit access at 0xcf8 is the address register. */
	if (off || size != 4) {
		if (!is_write)
			memset(data, 0xff, size);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	if (is_write)
		bus->config_address = pci_get32(data) & ~3u;
	else
		pci_put32(data, bus->config_address);
	pthread_mutex_unlock(&bus->lock);
}

/* The device whose configuration window the access at 0xcfc + off lies in, or NULL. */
static struct pci_device *window_of(struct pci_bus *bus, unsigned off, unsigned size,
				    unsigned *woff)
{
	struct pci_device *dev = lookup(bus, bus->config_address);
	unsigned reg = (bus->config_address & 0xfc) + off;

	if (!dev || !dev->cfg_window || !dev->cfg_window_io || off + size > 4 || !size ||
	    reg < dev->cfg_window || reg + size > dev->cfg_window + 4)
		return NULL;
	*woff = reg - dev->cfg_window;
	return dev;
}

static void config_data_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
			   bool is_write)
{
	struct pci_bus *bus = opaque;
	struct pci_device *win;
	unsigned woff = 0;

	pthread_mutex_lock(&bus->lock);
	win = window_of(bus, off, size, &woff);
	if (win) {
		/* Devices live as long as the bus: no reference needed. */
		pthread_mutex_unlock(&bus->lock);
		win->cfg_window_io(win, woff, data, size, is_write);
		return;
	}
	if (is_write)
		pci_config_write(bus, bus->config_address, off, data, size);
	else
		pci_config_read(bus, bus->config_address, off, data, size);
	pthread_mutex_unlock(&bus->lock);
}

static void probe_bytes_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
			   bool is_write)
{
	if (!is_write)
		memset(data, 0xff, size);
}

static void mmio_io(void *opaque, uint64_t off, uint8_t *data, unsigned size, bool is_write)
{
	struct pci_bus *bus = opaque;
	uint64_t addr = PCI_MMIO_BASE + off;
	struct pci_device *dev = NULL;
	unsigned bar = 0;
	uint64_t base = 0;

	pthread_mutex_lock(&bus->lock);
	for (unsigned s = 1; s < PCI_MAX_SLOTS && !dev; s++) {
		struct pci_device *d = bus->slots[s];

		for (unsigned b = 0; d && b < PCI_MAX_BARS; b++) {
			uint64_t a = pci_bar_address(d, b);

			if (a && addr >= a && addr - a < d->bar_size[b]) {
				dev = d;
				bar = b;
				base = a;
				break;
			}
		}
	}
	pthread_mutex_unlock(&bus->lock);
	if (dev && addr - base + size <= dev->bar_size[bar]) {
		dev->bar_handler(dev, bar, addr - base, data, size, is_write);
		return;
	}
	if (!is_write)
		memset(data, 0xff, size);
	if (vmm_debug) {
		unsigned n = atomic_fetch_add(&bus->unclaimed_mmio_logged, 1);

		if (n < PCI_DEBUG_LOG_LIMIT)
			vmm_dbg("pci: MMIO %s at 0x%llx (%u bytes) hits no BAR",
				is_write ? "write" : "read", (unsigned long long)addr, size);
		else if (n == PCI_DEBUG_LOG_LIMIT)
			vmm_dbg("pci: more MMIO accesses that hit no BAR; not logging them");
	}
}

void pci_set_intx(struct pci_device *dev, bool level)
{
	struct pci_bus *bus = dev->bus;
	struct kvm_irq_level irq = { .irq = pci_intx_gsi(dev->slot) };
	bool disabled;

	pthread_mutex_lock(&bus->lock);
	disabled = pci_get16(dev->cfg + PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	if (level)
		dev->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
	else
		dev->cfg[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
	pthread_mutex_unlock(&bus->lock);
	irq.level = level && !disabled;
	if (bus->vm && bus->vm->fd >= 0 && ioctl(bus->vm->fd, KVM_IRQ_LINE, &irq) < 0)
		vmm_err("pci: %s: KVM_IRQ_LINE %u: %s", dev->name, irq.irq, strerror(errno));
}

bool pci_signal_msi(struct pci_device *dev, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = {
		.address_lo = (uint32_t)addr, .address_hi = addr >> 32, .data = data,
	};
	struct vm *vm = dev->bus->vm;

	if (!vm || vm->fd < 0)
		return false;
	return ioctl(vm->fd, KVM_SIGNAL_MSI, &msi) >= 0;
}

struct pci_bus *pci_bus_create(struct vm *vm)
{
	struct pci_bus *bus = calloc(1, sizeof(*bus));

	if (!bus)
		return NULL;
	bus->vm = vm;
	bus->next_bar = PCI_MMIO_BASE;
	pthread_mutex_init(&bus->lock, NULL);
	host_bridge_init(bus);
	return bus;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus)
		return;
	pthread_mutex_destroy(&bus->lock);
	free(bus);
}

int pci_init(struct vm *vm)
{
	struct pci_bus *bus = pci_bus_create(vm);

	if (!bus) {
		vmm_err("pci: out of memory");
		return -1;
	}
	if (io_register(&vm->pio, PCI_CONFIG_ADDRESS, 1, config_address_io, bus, "pci") ||
	    io_register(&vm->pio, PCI_CONFIG_ADDRESS + 2, 2, probe_bytes_io, bus, "pci") ||
	    io_register(&vm->pio, PCI_CONFIG_DATA, 4, config_data_io, bus, "pci") ||
	    io_register(&vm->mmio, PCI_MMIO_BASE, PCI_MMIO_END - PCI_MMIO_BASE, mmio_io, bus,
			"pci")) {
		vmm_err("internal error: pci ports or MMIO window overlap another device");
		pci_bus_destroy(bus);
		return -1;
	}
	vm->pci = bus;
	return 0;
}
