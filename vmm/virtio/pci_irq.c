// SPDX-License-Identifier: GPL-2.0-only
/* The virtio PCI transport's interrupts: MSI-X (KVM_SIGNAL_MSI, a PBA) and INTx. */
#include <errno.h>
#include <string.h>

#include "vmm/util.h"
#include "vmm/virtio/pci_internal.h"

/*
 * Signal `vector` (MSI-X on) or raise INTA# with `isr_bit` (MSI-X off).
 * Takes the transport lock; called without it.
 */
static void raise_irq(struct virtio_pci *vp, uint16_t vector, uint8_t isr_bit)
{
	struct virtio_msix_entry e;
	bool send = false, intx = false;

	pthread_mutex_lock(&vp->lock);
	if (vp->msix_enabled) {
		if (vector < virtio_pci_nr_vectors(vp)) {
			e = vp->msix[vector];
			if (vp->msix_maskall || (e.ctrl & MSIX_ENTRY_MASKED))
				vp->msix_pending |= 1u << vector;
			else
				send = true;
		}
	} else {
		intx = true;
	}
	pthread_mutex_unlock(&vp->lock);
	atomic_fetch_add(&vp->interrupts, 1);
	if (send && !pci_signal_msi(&vp->pci, (uint64_t)e.addr_hi << 32 | e.addr_lo, e.data))
		vmm_dbg("%s: KVM_SIGNAL_MSI: %s", vp->ops->name, strerror(errno));
	if (intx) {
		atomic_fetch_or(&vp->isr, isr_bit);
		pci_set_intx(&vp->pci, true);
	}
}

/* Under the lock; the sends too (KVM_SIGNAL_MSI does not block). */
void virtio_pci_deliver_pending(struct virtio_pci *vp)
{
	struct virtio_msix_entry send[VIRTIO_MAX_QUEUES + 1];
	unsigned n = 0;

	if (!vp->msix_enabled || vp->msix_maskall)
		return;
	for (unsigned v = 0; v < virtio_pci_nr_vectors(vp); v++)
		if ((vp->msix_pending >> v & 1) && !(vp->msix[v].ctrl & MSIX_ENTRY_MASKED)) {
			vp->msix_pending &= ~(1u << v);
			send[n++] = vp->msix[v];
		}
	for (unsigned i = 0; i < n; i++)
		pci_signal_msi(&vp->pci, (uint64_t)send[i].addr_hi << 32 | send[i].addr_lo,
			       send[i].data);
}

void virtio_pci_config_changed(struct virtio_pci *vp)
{
	uint16_t vector;

	pthread_mutex_lock(&vp->lock);
	vp->config_generation++;
	vector = vp->config_vector;
	pthread_mutex_unlock(&vp->lock);
	atomic_fetch_or(&vp->isr, 2);
	raise_irq(vp, vector, 2);
}

void virtio_pci_notify_queue(struct virtio_pci *vp, unsigned q)
{
	virtio_pci_notify_vq(vp, q, &vp->vq[q]);
}

void virtio_pci_notify_vq(struct virtio_pci *vp, unsigned q, struct virtq *vq)
{
	uint16_t vector;

	if (!virtq_should_interrupt(vq))
		return;
	pthread_mutex_lock(&vp->lock);
	vector = vp->qcfg[q].vector;
	pthread_mutex_unlock(&vp->lock);
	raise_irq(vp, vector, 1);
}

void virtio_pci_broken(struct virtio_pci *vp, const char *why)
{
	bool first;

	pthread_mutex_lock(&vp->lock);
	if (vp->status & VIRTIO_STATUS_NEEDS_RESET) {
		pthread_mutex_unlock(&vp->lock);
		return;
	}
	vp->status |= VIRTIO_STATUS_NEEDS_RESET;
	first = !vp->broken_logged;
	vp->broken_logged = true;
	pthread_mutex_unlock(&vp->lock);
	if (first)
		vmm_err("%s: %s; the device needs a reset (DEVICE_NEEDS_RESET)", vp->ops->name,
			why);
	virtio_pci_config_changed(vp);
}

void virtio_pci_msix_table_io(struct virtio_pci *vp, uint64_t off, uint8_t *data,
			      unsigned size, bool is_write)
{
	uint8_t *table = (uint8_t *)vp->msix;

	if (off + size > virtio_pci_nr_vectors(vp) * sizeof(vp->msix[0])) {
		if (!is_write)
			memset(data, 0, size);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	if (is_write) {
		memcpy(table + off, data, size);
		virtio_pci_deliver_pending(vp);
	} else {
		memcpy(data, table + off, size);
	}
	pthread_mutex_unlock(&vp->lock);
}
