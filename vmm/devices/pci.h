/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_PCI_H
#define VMM_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * One PCI bus (bus 0) behind configuration mechanism #1 (0xcf8 address,
 * 0xcfc-0xcff data), with a host bridge at 00:00.0 and up to 31 devices.
 * Memory BARs are 32-bit, placed by the VMM in the 32-bit hole from
 * PCI_MMIO_BASE, which a stock kernel keeps when it finds them assigned;
 * the guest may move them. The whole window is one range on the MMIO bus,
 * routed here to whichever BAR currently decodes the address.
 *
 * INTx: pin A of slot s is wired to IOAPIC pin pci_intx_gsi(s); the MP
 * table says the same (vmm/boot/mptable.c). MSI and MSI-X messages go to
 * KVM_SIGNAL_MSI.
 *
 * Locking: the bus lock protects the configuration address register and
 * every device's configuration space; it is taken by vCPU threads for
 * configuration and MMIO accesses and never held across a device's BAR
 * handler or any guest-memory access.
 */

#define PCI_MMIO_BASE		0xc0000000u	/* the 32-bit hole starts at 3 GiB */
#define PCI_MMIO_END		0xfec00000u	/* the IOAPIC */
#define PCI_MAX_SLOTS		32
#define PCI_MAX_BARS		6
#define PCI_CFG_SIZE		256
#define PCI_GSI_BASE		16		/* IOAPIC pins past the ISA IRQs */
#define PCI_GSI_COUNT		8

/* Configuration space offsets and bits. */
#define PCI_VENDOR_ID		0x00
#define PCI_DEVICE_ID		0x02
#define PCI_COMMAND		0x04
#define  PCI_COMMAND_IO		0x0001
#define  PCI_COMMAND_MEMORY	0x0002
#define  PCI_COMMAND_MASTER	0x0004
#define  PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS		0x06
#define  PCI_STATUS_INTERRUPT	0x0008
#define  PCI_STATUS_CAP_LIST	0x0010
#define PCI_REVISION_ID		0x08
#define PCI_CLASS_PROG		0x09
#define PCI_CLASS_DEVICE	0x0a
#define PCI_HEADER_TYPE		0x0e
#define PCI_BASE_ADDRESS_0	0x10
#define PCI_SUBSYSTEM_VENDOR_ID	0x2c
#define PCI_SUBSYSTEM_ID	0x2e
#define PCI_CAPABILITY_LIST	0x34
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d
#define PCI_CAP_ID_MSIX		0x11
#define PCI_CAP_ID_VNDR		0x09

struct vm;
struct pci_bus;
struct pci_device;

/* A BAR access: offset into the BAR; data as on the io bus (little endian). */
typedef void (*pci_bar_handler_t)(struct pci_device *dev, unsigned bar, uint64_t off,
				  uint8_t *data, unsigned size, bool is_write);

struct pci_device {
	const char *name;
	uint8_t slot;
	/*
	 * Configuration space and which bits of it the guest may write;
	 * under the bus lock.
	 */
	uint8_t cfg[PCI_CFG_SIZE];
	uint8_t wmask[PCI_CFG_SIZE];
	unsigned cap_last, cap_end;		/* the capability list, at start-up */
	uint32_t bar_size[PCI_MAX_BARS];	/* 0: BAR not implemented */
	pci_bar_handler_t bar_handler;
	/*
	 * Called under the bus lock after the guest wrote configuration
	 * space at [off, off + size), e.g. the MSI-X enable bit or a BAR.
	 */
	void (*cfg_written)(struct pci_device *dev, unsigned off, unsigned size);
	/*
	 * A 4-byte window of configuration space at cfg_window (0: none)
	 * whose accesses the device serves itself, e.g. virtio's
	 * VIRTIO_PCI_CAP_PCI_CFG data: an access that lies inside it goes to
	 * cfg_window_io (off within the window) WITHOUT the bus lock held, so
	 * that the device may take its own locks and raise interrupts.
	 */
	unsigned cfg_window;
	void (*cfg_window_io)(struct pci_device *dev, unsigned off, uint8_t *data,
			      unsigned size, bool is_write);
	/* Called by pci_stop when the VM stops, without the bus lock; may be NULL. */
	void (*stop)(struct pci_device *dev);
	void *priv;
	struct pci_bus *bus;
};

struct pci_bus {
	struct vm *vm;
	pthread_mutex_t lock;
	uint32_t config_address;		/* 0xcf8; under lock */
	struct pci_device *slots[PCI_MAX_SLOTS];
	struct pci_device host_bridge;
	uint32_t next_bar;			/* allocator for BARs, at start-up */
	unsigned unclaimed_logged;		/* --debug rate limit; under lock */
	atomic_uint unclaimed_mmio_logged;	/* the same for the MMIO window */
};

/* Create the bus on vm's port and MMIO tables (vm->pci); 0 or -1 with a message. */
int pci_init(struct vm *vm);
/* The bus alone, with its host bridge, on no table (pci_init, the fuzzer). */
struct pci_bus *pci_bus_create(struct vm *vm);
/* Free the bus once its devices are stopped (vm_destroy); NULL is fine. */
void pci_bus_destroy(struct pci_bus *bus);

/*
 * Fill the header of a type-0 function (ids, class), for a device about to
 * be added; bar sizes (powers of two, at least 4 KiB) are set by the caller
 * in dev->bar_size before pci_add.
 */
void pci_device_init(struct pci_device *dev, const char *name, uint16_t vendor,
		     uint16_t device, uint32_t class_code, uint8_t revision,
		     uint16_t subsys_vendor, uint16_t subsys_id);
/* Stop every device (their threads) before guest memory goes away. */
void pci_stop(struct pci_bus *bus);

/* Put dev in the next free slot and assign its BARs; 0 or -1 with a message. */
int pci_add(struct pci_bus *bus, struct pci_device *dev);

/* Append a capability of `len` bytes (id, next filled in); returns its offset or 0. */
unsigned pci_add_cap(struct pci_device *dev, const void *cap, unsigned len);

/* Current guest-physical address of a BAR (0 when memory decoding is off). */
uint64_t pci_bar_address(struct pci_device *dev, unsigned bar);

/* The IOAPIC pin (GSI) of slot's INTA#. */
static inline unsigned pci_intx_gsi(unsigned slot)
{
	return PCI_GSI_BASE + slot % PCI_GSI_COUNT;
}

/* Raise or lower dev's INTA# (no-op while INTX_DISABLE is set). */
void pci_set_intx(struct pci_device *dev, bool level);
/* Deliver one MSI message through KVM; false on failure. */
bool pci_signal_msi(struct pci_device *dev, uint64_t addr, uint32_t data);

/* Configuration-space accessors used by the port handlers (and the fuzzer). */
void pci_config_read(struct pci_bus *bus, uint32_t addr, unsigned off, uint8_t *data,
		     unsigned size);
void pci_config_write(struct pci_bus *bus, uint32_t addr, unsigned off, const uint8_t *data,
		      unsigned size);

/* Little-endian helpers over configuration space. */
static inline void pci_put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void pci_put32(uint8_t *p, uint32_t v)
{
	pci_put16(p, v);
	pci_put16(p + 2, v >> 16);
}

static inline uint16_t pci_get16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static inline uint32_t pci_get32(const uint8_t *p)
{
	return pci_get16(p) | (uint32_t)pci_get16(p + 2) << 16;
}

#endif
