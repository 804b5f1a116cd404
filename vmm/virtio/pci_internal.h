/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_VIRTIO_PCI_INTERNAL_H
#define VMM_VIRTIO_PCI_INTERNAL_H

/*
 * Shared by the virtio PCI transport's files: pci.c (common configuration,
 * BAR 0, the device thread, creation), pci_irq.c (MSI-X and INTx
 * delivery), pci_caps.c (the capabilities and the configuration-space
 * hooks, the VIRTIO_PCI_CAP_PCI_CFG window among them).
 */
#include "vmm/virtio/pci.h"

enum {
	VIRTIO_PCI_CAP_COMMON_CFG = 1,
	VIRTIO_PCI_CAP_NOTIFY_CFG = 2,
	VIRTIO_PCI_CAP_ISR_CFG = 3,
	VIRTIO_PCI_CAP_DEVICE_CFG = 4,
	VIRTIO_PCI_CAP_PCI_CFG = 5,
};

struct virtio_pci_cap {
	uint8_t cap_vndr, cap_next, cap_len, cfg_type, bar, id, padding[2];
	uint32_t offset, length;
} __attribute__((packed));

struct virtio_pci_notify_cap {
	struct virtio_pci_cap cap;
	uint32_t notify_off_multiplier;
} __attribute__((packed));

struct msix_cap {
	uint8_t id, next;
	uint16_t ctrl;
	uint32_t table, pba;
} __attribute__((packed));

#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_MASKALL	0x4000
#define MSIX_ENTRY_MASKED	1

struct virtio_pci_cfg_cap {
	struct virtio_pci_cap cap;
	uint8_t pci_cfg_data[4];
} __attribute__((packed));

static inline unsigned virtio_pci_nr_vectors(const struct virtio_pci *vp)
{
	return vp->ops->nr_queues + 1;
}

/* Whether [off, off + size) overlaps the field [field, field + width). */
static inline bool virtio_pci_touches(unsigned off, unsigned size, unsigned field,
				      unsigned width)
{
	return off < field + width && field < off + size;
}

/* Wake the device thread. */
void virtio_pci_wake(struct virtio_pci *vp);
/* MSI-X state as the guest set it in configuration space; under the bus lock. */
uint16_t virtio_pci_msix_ctrl(struct virtio_pci *vp);
/* Deliver pending vectors that are no longer masked; under the transport lock. */
void virtio_pci_deliver_pending(struct virtio_pci *vp);
/* An MSI-X table access at @off of the table; takes the transport lock. */
void virtio_pci_msix_table_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
			      unsigned size, bool is_write);
/* A BAR access (pci_device.bar_handler); takes the transport lock as needed. */
void virtio_pci_bar_io(struct pci_device *dev, unsigned bar, uint64_t off, uint8_t *data,
		       unsigned size, bool is_write);
/* Add the capabilities and configuration-space hooks; 0 or -1 (space full). */
int virtio_pci_add_caps(struct virtio_pci *vp);

#endif
