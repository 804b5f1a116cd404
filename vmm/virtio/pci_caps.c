// SPDX-License-Identifier: GPL-2.0-only
/*
 * The virtio PCI transport's configuration space: the capabilities that
 * point into BAR 0, MSI-X, the notification ioeventfd that follows BAR 0,
 * and the VIRTIO_PCI_CAP_PCI_CFG window (4.1.4.9), through which a driver
 * reaches BAR 0 with configuration cycles alone. Hooks called by the bus
 * (vmm/devices/pci.h): cfg_written under the bus lock, pcicfg_io without.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmm/util.h"
#include "vmm/virtio/pci_internal.h"
#include "vmm/vm.h"

/* Field offsets of the PCI_CFG capability. */
enum {
	PCICFG_BAR = offsetof(struct virtio_pci_cap, bar),
	PCICFG_OFFSET = offsetof(struct virtio_pci_cap, offset),
	PCICFG_LENGTH = offsetof(struct virtio_pci_cap, length),
	PCICFG_DATA = offsetof(struct virtio_pci_cfg_cap, pci_cfg_data),
};

/* Under the bus lock: copy what the driver set in the PCI_CFG capability. */
static void pcicfg_mirror(struct virtio_pci *vp)
{
	const uint8_t *cap = vp->pci.cfg + vp->pcicfg_cap;

	pthread_mutex_lock(&vp->lock);
	vp->pcicfg_bar = cap[PCICFG_BAR];
	vp->pcicfg_off = pci_get32(cap + PCICFG_OFFSET);
	vp->pcicfg_len = pci_get32(cap + PCICFG_LENGTH);
	pthread_mutex_unlock(&vp->lock);
}

/*
 * An access to pci_cfg_data, without the bus lock: a write stores its
 * bytes, then writes the first cap.length of them at cap.offset of
 * cap.bar; a read first reads cap.length bytes from there. The driver may
 * only address 1, 2 or 4 aligned bytes inside BAR 0 (the only BAR); any
 * other setting reaches nothing: writes are dropped, reads return what
 * pci_cfg_data held.
 */
static void pcicfg_io(struct pci_device *dev, unsigned woff, uint8_t *data, unsigned size,
		      bool is_write)
{
	struct virtio_pci *vp = dev->priv;
	uint32_t off, len;
	uint8_t buf[4], bar;
	bool ok;

	pthread_mutex_lock(&vp->lock);
	bar = vp->pcicfg_bar;
	off = vp->pcicfg_off;
	len = vp->pcicfg_len;
	ok = bar == 0 && (len == 1 || len == 2 || len == 4) && off % len == 0 &&
	     (uint64_t)off + len <= VIRTIO_PCI_BAR_SIZE;
	if (is_write)
		memcpy(vp->pcicfg_data + woff, data, size);
	memcpy(buf, vp->pcicfg_data, sizeof(buf));
	pthread_mutex_unlock(&vp->lock);
	if (!ok) {
		vmm_dbg("%s: PCI_CFG access with bar %u, offset 0x%x, length %u reaches nothing",
			vp->ops->name, bar, off, len);
	} else {
		virtio_pci_bar_io(dev, 0, off, buf, len, is_write);
	}
	if (is_write)
		return;
	pthread_mutex_lock(&vp->lock);
	if (ok)
		memcpy(vp->pcicfg_data, buf, len);
	memcpy(data, vp->pcicfg_data + woff, size);
	pthread_mutex_unlock(&vp->lock);
}

static void update_ioeventfd(struct virtio_pci *vp)
{
	uint64_t bar = pci_bar_address(&vp->pci, 0);
	uint64_t addr = bar ? bar + VIRTIO_PCI_NOTIFY_OFF : 0;
	struct kvm_ioeventfd io = { .len = 2, .fd = vp->notify_fd };

	if (addr == vp->ioeventfd_addr || !vp->vm || vp->vm->fd < 0)
		return;
	if (vp->ioeventfd_addr) {
		io.addr = vp->ioeventfd_addr;
		io.flags = KVM_IOEVENTFD_FLAG_DEASSIGN;
		ioctl(vp->vm->fd, KVM_IOEVENTFD, &io);
		vp->ioeventfd_addr = 0;
	}
	if (addr) {
		io.addr = addr;
		io.flags = 0;
		if (ioctl(vp->vm->fd, KVM_IOEVENTFD, &io) == 0)
			vp->ioeventfd_addr = addr;
		else
			vmm_dbg("%s: KVM_IOEVENTFD: %s; notifications exit to the VMM",
				vp->ops->name, strerror(errno));
	}
}

static void cfg_written(struct pci_device *dev, unsigned off, unsigned size)
{
	struct virtio_pci *vp = dev->priv;

	if (virtio_pci_touches(off, size, PCI_COMMAND, 2) || virtio_pci_touches(off, size, PCI_BASE_ADDRESS_0, 4))
		update_ioeventfd(vp);
	if (virtio_pci_touches(off, size, vp->msix_cap + 2, 2)) {
		uint16_t ctrl = virtio_pci_msix_ctrl(vp);

		pthread_mutex_lock(&vp->lock);
		vp->msix_enabled = ctrl & MSIX_CTRL_ENABLE;
		vp->msix_maskall = ctrl & MSIX_CTRL_MASKALL;
		virtio_pci_deliver_pending(vp);
		pthread_mutex_unlock(&vp->lock);
	}
	if (virtio_pci_touches(off, size, vp->pcicfg_cap, PCICFG_DATA))
		pcicfg_mirror(vp);
}

int virtio_pci_add_caps(struct virtio_pci *vp)
{
	struct msix_cap msix = {
		.id = PCI_CAP_ID_MSIX, .ctrl = virtio_pci_nr_vectors(vp) - 1,
		.table = VIRTIO_PCI_MSIX_TABLE_OFF, .pba = VIRTIO_PCI_MSIX_PBA_OFF,
	};
	struct virtio_pci_notify_cap notify = {
		.cap = { PCI_CAP_ID_VNDR, 0, sizeof(notify), VIRTIO_PCI_CAP_NOTIFY_CFG, 0, 0,
			 { 0 }, VIRTIO_PCI_NOTIFY_OFF, 4 },
		.notify_off_multiplier = 0,
	};
	const struct virtio_pci_cap caps[] = {
		{ PCI_CAP_ID_VNDR, 0, sizeof(caps[0]), VIRTIO_PCI_CAP_COMMON_CFG, 0, 0, { 0 },
		  VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_SIZE },
		{ PCI_CAP_ID_VNDR, 0, sizeof(caps[0]), VIRTIO_PCI_CAP_ISR_CFG, 0, 0, { 0 },
		  VIRTIO_PCI_ISR_OFF, 1 },
		{ PCI_CAP_ID_VNDR, 0, sizeof(caps[0]), VIRTIO_PCI_CAP_DEVICE_CFG, 0, 0, { 0 },
		  VIRTIO_PCI_DEVICE_OFF, vp->ops->config_size },
	};
	/* bar, offset and length are the driver's to set (4.1.4.9). */
	struct virtio_pci_cfg_cap pcicfg = {
		.cap = { PCI_CAP_ID_VNDR, 0, sizeof(pcicfg), VIRTIO_PCI_CAP_PCI_CFG, 0, 0, { 0 },
			 0, 0 },
	};

	vp->msix_cap = pci_add_cap(&vp->pci, &msix, sizeof(msix));
	if (!vp->msix_cap || !pci_add_cap(&vp->pci, &caps[0], sizeof(caps[0])) ||
	    !pci_add_cap(&vp->pci, &notify, sizeof(notify)) ||
	    !pci_add_cap(&vp->pci, &caps[1], sizeof(caps[1])) ||
	    !pci_add_cap(&vp->pci, &caps[2], sizeof(caps[2])) ||
	    !(vp->pcicfg_cap = pci_add_cap(&vp->pci, &pcicfg, sizeof(pcicfg))))
		return -1;
	vp->pci.wmask[vp->msix_cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_MASKALL) >> 8;
	vp->pci.wmask[vp->pcicfg_cap + PCICFG_BAR] = 0xff;
	memset(vp->pci.wmask + vp->pcicfg_cap + PCICFG_OFFSET, 0xff, 8);	/* offset, length */
	vp->pci.cfg_window = vp->pcicfg_cap + PCICFG_DATA;
	vp->pci.cfg_window_io = pcicfg_io;
	vp->pci.cfg_written = cfg_written;
	return 0;
}
