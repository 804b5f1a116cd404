/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_VIRTIO_PCI_H
#define VMM_VIRTIO_PCI_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/devices/pci.h"
#include "vmm/virtio/virtqueue.h"

/*
 * The virtio 1.x PCI transport ("modern", virtio 1.x section 4.1). BAR 0
 * (32 KiB) holds, at fixed offsets, the common configuration, the ISR
 * byte, the device configuration, the notification area (one address for
 * every queue: notify_off_multiplier is 0) and the MSI-X table and PBA; the
 * capabilities in configuration space point there.
 *
 * Threads. vCPU threads access configuration and BAR 0; each device has
 * one thread of its own that takes notifications (an eventfd that KVM
 * writes through KVM_IOEVENTFD, or the MMIO handler when the ioeventfd is
 * not registered), walks the queues, does the device's work (which may
 * sleep: guest memory may have to come back from swap, ranges are punched)
 * and raises interrupts. A reset written by the driver is carried out by
 * that thread, between two queue walks: device_status reads non-zero until
 * it is done, as the driver expects (4.1.4.3.2).
 *
 * Locking: `lock` protects the transport registers (status, features,
 * queue configuration, MSI-X table, device configuration); it is held only
 * for register accesses and never across a guest-memory access. The queue
 * walk runs without it, on a copy of a queue's configuration taken once
 * the driver set DRIVER_OK (the driver may not change an enabled queue).
 */

#define VIRTIO_MAX_QUEUES		8
#define VIRTIO_NO_VECTOR		0xffff

#define VIRTIO_STATUS_ACKNOWLEDGE	1
#define VIRTIO_STATUS_DRIVER		2
#define VIRTIO_STATUS_DRIVER_OK		4
#define VIRTIO_STATUS_FEATURES_OK	8
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

#define VIRTIO_F_RING_EVENT_IDX		29
#define VIRTIO_F_VERSION_1		32

/* BAR 0 layout. */
#define VIRTIO_PCI_COMMON_OFF		0x0000
#define VIRTIO_PCI_COMMON_SIZE		0x38
#define VIRTIO_PCI_ISR_OFF		0x1000
#define VIRTIO_PCI_DEVICE_OFF		0x2000
#define VIRTIO_PCI_DEVICE_SIZE		0x1000
#define VIRTIO_PCI_NOTIFY_OFF		0x3000
#define VIRTIO_PCI_MSIX_TABLE_OFF	0x4000
#define VIRTIO_PCI_MSIX_PBA_OFF		0x5000
#define VIRTIO_PCI_BAR_SIZE		0x8000

struct virtio_pci;

/* What a device type supplies to the transport. */
struct virtio_device_ops {
	const char *name;		/* "virtio-balloon" */
	uint16_t device_id;		/* virtio device id (5: balloon) */
	uint32_t class_code;
	uint64_t features;		/* offered; VERSION_1 is added */
	unsigned nr_queues;
	uint16_t queue_max;		/* largest queue size, a power of two <= VIRTQ_MAX_SIZE */
	unsigned config_size;
	/* Device configuration accesses, under the transport lock. */
	void (*config_read)(struct virtio_pci *vp, unsigned off, uint8_t *data, unsigned size);
	void (*config_write)(struct virtio_pci *vp, unsigned off, const uint8_t *data,
			     unsigned size);
	/* FEATURES_OK: the negotiated features are final; false refuses them. Under the lock. */
	bool (*features_ok)(struct virtio_pci *vp, uint64_t features);
	/* On the device thread: queue q may have work; false (with *why) breaks the device. */
	bool (*queue_work)(struct virtio_pci *vp, unsigned q, struct virtq *vq, const char **why);
	/* On the device thread, about once a second while DRIVER_OK. */
	void (*tick)(struct virtio_pci *vp);
	/* On the device thread, after a reset cleared the transport. */
	void (*reset)(struct virtio_pci *vp);
};

struct virtio_msix_entry {
	uint32_t addr_lo, addr_hi, data, ctrl;
};

struct virtio_pci {
	struct pci_device pci;
	const struct virtio_device_ops *ops;
	void *priv;			/* the device type's state */
	struct vm *vm;
	struct gmem_handle *mem;	/* the device's guest-memory handle */

	pthread_mutex_t lock;		/* see above */
	uint8_t status;
	uint8_t config_generation;
	uint32_t device_feature_select, driver_feature_select;
	uint64_t driver_features;
	uint16_t queue_select;
	uint16_t config_vector;
	struct {
		uint16_t size, vector;
		bool enabled;
		uint64_t desc, avail, used;
	} qcfg[VIRTIO_MAX_QUEUES];
	struct virtio_msix_entry msix[VIRTIO_MAX_QUEUES + 1];
	uint32_t msix_pending;
	bool msix_enabled, msix_maskall;	/* mirrored from configuration space */
	unsigned msix_cap;		/* offset of the MSI-X capability */
	unsigned pcicfg_cap;		/* offset of the PCI_CFG capability */
	uint8_t pcicfg_bar;		/* its bar, offset and length, mirrored */
	uint32_t pcicfg_off, pcicfg_len;
	uint8_t pcicfg_data[4];		/* its pci_cfg_data */
	bool reset_pending;
	bool broken_logged;		/* the one DEVICE_NEEDS_RESET message */

	atomic_uint_fast8_t isr;	/* bit 0 queue, bit 1 configuration */

	/* The device thread's own state (no lock). */
	struct virtq vq[VIRTIO_MAX_QUEUES];
	bool running;			/* queues copied from qcfg after DRIVER_OK */
	pthread_t thread;
	int notify_fd, stop_fd;		/* eventfds */
	uint64_t ioeventfd_addr;	/* where KVM_IOEVENTFD is registered, or 0 */
	atomic_uint_fast64_t notifies, interrupts;
};

/* Create the device, put it on the PCI bus and start its thread; NULL with a message. */
struct virtio_pci *virtio_pci_create(struct vm *vm, const struct virtio_device_ops *ops,
				     void *priv);

/* Whether a feature was negotiated (valid once FEATURES_OK was accepted). */
static inline bool virtio_pci_has(const struct virtio_pci *vp, unsigned bit)
{
	return vp->driver_features >> bit & 1;
}

/* The device configuration changed: bump the generation, interrupt. Without the lock. */
void virtio_pci_config_changed(struct virtio_pci *vp);
/* Interrupt the driver for queue q (device thread). */
void virtio_pci_notify_queue(struct virtio_pci *vp, unsigned q);
/* The same for a device that runs queue q on a virtq of its own (an I/O thread's). */
void virtio_pci_notify_vq(struct virtio_pci *vp, unsigned q, struct virtq *vq);
/* Mark the device broken: DEVICE_NEEDS_RESET, a config interrupt, one message. */
void virtio_pci_broken(struct virtio_pci *vp, const char *why);

/* Stop the device thread (at VM stop; pci_device.stop). */
void virtio_pci_stop(struct pci_device *dev);

#endif
