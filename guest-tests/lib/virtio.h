/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-side virtio 1.x over PCI (modern interface), polled from ring 3:
 * the capability walk, reset, feature negotiation, split queues with event
 * index, one request at a time. Interrupts stay off in ring 3, so the
 * driver polls the used ring; the ISR byte still shows what INTx would
 * have signalled.
 */
#ifndef GUEST_VIRTIO_H
#define GUEST_VIRTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "pci.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_S_ACK		1
#define VIRTIO_S_DRIVER		2
#define VIRTIO_S_DRIVER_OK	4
#define VIRTIO_S_FEATURES_OK	8
#define VIRTIO_S_NEEDS_RESET	0x40
#define VIRTIO_MAXQ		8
#define VQ_DESC_NEXT		1
#define VQ_DESC_WRITE		2

struct vq_seg {
	uint64_t addr;
	uint32_t len;
	bool write;
};

struct guest_vq {
	uint16_t size;
	uint64_t desc, avail, used, notify;
	uint16_t avail_idx, last_used, desc_next;
};

struct virtio_dev {
	struct pci_func f;
	uint64_t common, isr, device, notify_base;
	uint32_t notify_mult;
	unsigned caps_found;		/* bit per cfg_type 1..5 */
	uint64_t features;		/* negotiated */
	uint64_t mem, mem_end;		/* where rings are allocated */
	struct guest_vq q[VIRTIO_MAXQ];
	uint16_t vector[VIRTIO_MAXQ];	/* MSI-X vector per queue (0xffff: none, the default) */
};

/* Walk the virtio capabilities of f and enable the device's memory space; false if incomplete. */
bool virtio_open(struct virtio_dev *d, const struct pci_func *f, uint64_t mem, uint64_t mem_len);
/* Reset, ACK, DRIVER, offer `wanted` & device features, FEATURES_OK; false if refused. */
bool virtio_negotiate(struct virtio_dev *d, uint64_t wanted);
uint64_t virtio_device_features(struct virtio_dev *d);
/* Set up queue qi with at most `size` entries; false if the device has no such queue. */
bool virtio_queue(struct virtio_dev *d, unsigned qi, uint16_t size);
void virtio_driver_ok(struct virtio_dev *d);
uint8_t virtio_status(struct virtio_dev *d);
void virtio_set_status(struct virtio_dev *d, uint8_t s);
/* Write 0 and wait until the device reads 0; false after a timeout. */
bool virtio_reset(struct virtio_dev *d);
uint8_t virtio_read_isr(struct virtio_dev *d);
uint16_t virtio_num_queues(struct virtio_dev *d);

/* Post one chain and notify; returns its head. */
uint16_t virtio_post(struct virtio_dev *d, unsigned qi, const struct vq_seg *segs, unsigned n);
/* Publish raw descriptors already written by the caller (hostile tests): head, avail step. */
void virtio_post_raw(struct virtio_dev *d, unsigned qi, uint16_t head, uint16_t idx_step);
/* Wait until the device used one more chain; false after ~`ms` milliseconds. */
bool virtio_wait(struct virtio_dev *d, unsigned qi, unsigned ms);
/*
 * The same, and the used entry's chain head and length (chains may complete
 * in any order); virtio_post_at posts a chain at a head the caller owns
 * (descriptors head..head+n-1), so chains in flight never share one.
 */
bool virtio_wait_used(struct virtio_dev *d, unsigned qi, unsigned ms, uint16_t *id,
		      uint32_t *len);
void virtio_post_at(struct virtio_dev *d, unsigned qi, uint16_t head, const struct vq_seg *segs,
		    unsigned n);
/* Spin about `ms` milliseconds (TSC, roughly calibrated). */
void virtio_delay(unsigned ms);

/*
 * Through the VIRTIO_PCI_CAP_PCI_CFG window (virtio 1.x 4.1.4.9): @len
 * (1, 2 or 4) bytes at @off of BAR @bar with configuration cycles alone.
 * virtio_pcicfg_cap: the window's capability offset, or 0.
 */
unsigned virtio_pcicfg_cap(const struct pci_func *f);
uint32_t virtio_pcicfg_read(const struct pci_func *f, unsigned cap, uint8_t bar, uint32_t off,
			    uint32_t len);
void virtio_pcicfg_write(const struct pci_func *f, unsigned cap, uint8_t bar, uint32_t off,
			 uint32_t len, uint32_t v);
/* Where capability @type (1 common, 4 device, ...) points: BAR and offset; false if none. */
bool virtio_cap_location(const struct pci_func *f, unsigned type, uint8_t *bar, uint32_t *off);

#endif
