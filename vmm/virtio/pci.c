// SPDX-License-Identifier: GPL-2.0-only
/* The virtio 1.x PCI transport (see pci.h): common configuration, BAR 0, the device thread. */
#include "vmm/virtio/pci_internal.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vmm/gmem.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define VIRTIO_PCI_VENDOR	0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040
#define VIRTIO_PCI_SUBSYS_ID	0x1100
#define TICK_MS			1000

static uint64_t offered(const struct virtio_pci *vp)
{
	return vp->ops->features | 1ULL << VIRTIO_F_VERSION_1;
}

void virtio_pci_wake(struct virtio_pci *vp)
{
	uint64_t one = 1;

	(void)!write(vp->notify_fd, &one, sizeof(one));
}

uint16_t virtio_pci_msix_ctrl(struct virtio_pci *vp)
{
	return pci_get16(vp->pci.cfg + vp->msix_cap + 2);
}

/* Common configuration field offsets (virtio 1.x, 4.1.4.3). */
enum {
	CC_DFSELECT = 0x00, CC_DF = 0x04, CC_GFSELECT = 0x08, CC_GF = 0x0c,
	CC_MSIX = 0x10, CC_NUMQ = 0x12, CC_STATUS = 0x14, CC_CFGGEN = 0x15,
	CC_Q_SELECT = 0x16, CC_Q_SIZE = 0x18, CC_Q_MSIX = 0x1a, CC_Q_ENABLE = 0x1c,
	CC_Q_NOFF = 0x1e, CC_Q_DESC = 0x20, CC_Q_AVAIL = 0x28, CC_Q_USED = 0x30,
};

/* --- the common configuration ------------------------------------------ */

static void common_image(struct virtio_pci *vp, uint8_t *img)
{
	unsigned sel = vp->queue_select;
	uint64_t df = offered(vp);

	memset(img, 0, VIRTIO_PCI_COMMON_SIZE);
	pci_put32(img + CC_DFSELECT, vp->device_feature_select);
	if (vp->device_feature_select < 2)
		pci_put32(img + CC_DF, df >> (32 * vp->device_feature_select));
	pci_put32(img + CC_GFSELECT, vp->driver_feature_select);
	if (vp->driver_feature_select < 2)
		pci_put32(img + CC_GF, vp->driver_features >> (32 * vp->driver_feature_select));
	pci_put16(img + CC_MSIX, vp->config_vector);
	pci_put16(img + CC_NUMQ, vp->ops->nr_queues);
	img[CC_STATUS] = vp->status;
	img[CC_CFGGEN] = vp->config_generation;
	pci_put16(img + CC_Q_SELECT, sel);
	if (sel < vp->ops->nr_queues) {
		pci_put16(img + CC_Q_SIZE, vp->qcfg[sel].size);
		pci_put16(img + CC_Q_MSIX, vp->qcfg[sel].vector);
		pci_put16(img + CC_Q_ENABLE, vp->qcfg[sel].enabled);
		pci_put16(img + CC_Q_NOFF, 0);
		pci_put32(img + CC_Q_DESC, vp->qcfg[sel].desc);
		pci_put32(img + CC_Q_DESC + 4, vp->qcfg[sel].desc >> 32);
		pci_put32(img + CC_Q_AVAIL, vp->qcfg[sel].avail);
		pci_put32(img + CC_Q_AVAIL + 4, vp->qcfg[sel].avail >> 32);
		pci_put32(img + CC_Q_USED, vp->qcfg[sel].used);
		pci_put32(img + CC_Q_USED + 4, vp->qcfg[sel].used >> 32);
	} else {
		pci_put16(img + CC_Q_MSIX, VIRTIO_NO_VECTOR);
	}
}

static uint16_t valid_vector(const struct virtio_pci *vp, uint16_t v)
{
	return v < virtio_pci_nr_vectors(vp) ? v : VIRTIO_NO_VECTOR;
}

static uint64_t get64(const uint8_t *p)
{
	return pci_get32(p) | (uint64_t)pci_get32(p + 4) << 32;
}

/* The driver wrote device_status; returns whether the device thread must look. */
static bool status_write(struct virtio_pci *vp, uint8_t v)
{
	uint8_t old = vp->status;

	if (!v) {
		/* Status 0 already is the reset state: no queue has run since. */
		if (old)
			vp->reset_pending = true;
		return old;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
		uint64_t f = vp->driver_features;

		if (!(f >> VIRTIO_F_VERSION_1 & 1) || (f & ~offered(vp)) ||
		    (vp->ops->features_ok && !vp->ops->features_ok(vp, f)))
			v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	if (!((v | old) & VIRTIO_STATUS_FEATURES_OK))
		v &= ~VIRTIO_STATUS_DRIVER_OK;
	/* Bits are only ever set; the driver clears them by a reset. */
	vp->status = old | (v & ~VIRTIO_STATUS_NEEDS_RESET);
	return (vp->status & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK);
}

/* Apply a write of `size` bytes at `off`; under the lock. Returns whether to wake the thread. */
static bool common_write(struct virtio_pci *vp, unsigned off, const uint8_t *data,
			 unsigned size, const char **broken)
{
	uint8_t img[VIRTIO_PCI_COMMON_SIZE];
	unsigned sel = vp->queue_select;
	bool qok = sel < vp->ops->nr_queues && !vp->qcfg[sel].enabled;
	bool wakeup = false;

	if (vp->reset_pending)
		return false;
	common_image(vp, img);
	memcpy(img + off, data, size);
	if (virtio_pci_touches(off, size, CC_DFSELECT, 4))
		vp->device_feature_select = pci_get32(img + CC_DFSELECT);
	if (virtio_pci_touches(off, size, CC_GFSELECT, 4))
		vp->driver_feature_select = pci_get32(img + CC_GFSELECT);
	if (virtio_pci_touches(off, size, CC_GF, 4) && vp->driver_feature_select < 2 &&
	    !(vp->status & VIRTIO_STATUS_FEATURES_OK)) {
		unsigned shift = 32 * vp->driver_feature_select;

		vp->driver_features &= ~(0xffffffffULL << shift);
		vp->driver_features |= (uint64_t)pci_get32(img + CC_GF) << shift;
	}
	if (virtio_pci_touches(off, size, CC_MSIX, 2))
		vp->config_vector = valid_vector(vp, pci_get16(img + CC_MSIX));
	if (virtio_pci_touches(off, size, CC_STATUS, 1))
		wakeup |= status_write(vp, img[CC_STATUS]);
	if (virtio_pci_touches(off, size, CC_Q_SELECT, 2))
		vp->queue_select = pci_get16(img + CC_Q_SELECT);
	if (sel < vp->ops->nr_queues && virtio_pci_touches(off, size, CC_Q_MSIX, 2))
		vp->qcfg[sel].vector = valid_vector(vp, pci_get16(img + CC_Q_MSIX));
	if (!qok)
		return wakeup;
	if (virtio_pci_touches(off, size, CC_Q_SIZE, 2))
		vp->qcfg[sel].size = pci_get16(img + CC_Q_SIZE);
	if (virtio_pci_touches(off, size, CC_Q_DESC, 8))
		vp->qcfg[sel].desc = get64(img + CC_Q_DESC);
	if (virtio_pci_touches(off, size, CC_Q_AVAIL, 8))
		vp->qcfg[sel].avail = get64(img + CC_Q_AVAIL);
	if (virtio_pci_touches(off, size, CC_Q_USED, 8))
		vp->qcfg[sel].used = get64(img + CC_Q_USED);
	if (virtio_pci_touches(off, size, CC_Q_ENABLE, 2) && pci_get16(img + CC_Q_ENABLE) == 1) {
		struct virtq t = {
			.size = vp->qcfg[sel].size, .desc = vp->qcfg[sel].desc,
			.avail = vp->qcfg[sel].avail, .used = vp->qcfg[sel].used,
		};

		if (t.size > vp->ops->queue_max)
			*broken = "queue size larger than the device's maximum";
		else if (virtq_config_valid(&t, broken))
			vp->qcfg[sel].enabled = true;
	}
	return wakeup;
}

/* --- BAR 0 --------------------------------------------------------------- */

void virtio_pci_bar_io(struct pci_device *dev, unsigned bar, uint64_t off, uint8_t *data,
		      unsigned size, bool is_write)
{
	struct virtio_pci *vp = dev->priv;
	const char *broken = NULL;
	bool wakeup = false;

	if (off + size <= VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_SIZE) {
		uint8_t img[VIRTIO_PCI_COMMON_SIZE];

		pthread_mutex_lock(&vp->lock);
		if (is_write) {
			wakeup = common_write(vp, off, data, size, &broken);
		} else {
			common_image(vp, img);
			memcpy(data, img + off, size);
		}
		pthread_mutex_unlock(&vp->lock);
		if (broken)
			virtio_pci_broken(vp, broken);
		if (wakeup)
			virtio_pci_wake(vp);
		return;
	}
	if (off == VIRTIO_PCI_ISR_OFF) {
		if (!is_write) {
			memset(data, 0, size);
			data[0] = atomic_exchange(&vp->isr, 0);
			if (data[0])
				pci_set_intx(&vp->pci, false);
		}
		return;
	}
	if (off >= VIRTIO_PCI_DEVICE_OFF && off + size <= VIRTIO_PCI_DEVICE_OFF +
	    vp->ops->config_size) {
		pthread_mutex_lock(&vp->lock);
		if (is_write)
			vp->ops->config_write(vp, off - VIRTIO_PCI_DEVICE_OFF, data, size);
		else
			vp->ops->config_read(vp, off - VIRTIO_PCI_DEVICE_OFF, data, size);
		pthread_mutex_unlock(&vp->lock);
		return;
	}
	if (off >= VIRTIO_PCI_NOTIFY_OFF && off < VIRTIO_PCI_NOTIFY_OFF + 4) {
		if (is_write) {
			atomic_fetch_add(&vp->notifies, 1);
			virtio_pci_wake(vp);
		} else {
			memset(data, 0, size);
		}
		return;
	}
	if (off >= VIRTIO_PCI_MSIX_TABLE_OFF && off < VIRTIO_PCI_MSIX_PBA_OFF) {
		virtio_pci_msix_table_io(vp, off - VIRTIO_PCI_MSIX_TABLE_OFF, data, size, is_write);
		return;
	}
	if (off >= VIRTIO_PCI_MSIX_PBA_OFF && off + size <= VIRTIO_PCI_MSIX_PBA_OFF + 8 &&
	    !is_write) {
		uint8_t pba[8] = { 0 };

		pthread_mutex_lock(&vp->lock);
		pci_put32(pba, vp->msix_pending);
		pthread_mutex_unlock(&vp->lock);
		memcpy(data, pba + (off - VIRTIO_PCI_MSIX_PBA_OFF), size);
		return;
	}
	if (!is_write)
		memset(data, 0, size);
}

/* --- the device thread ---------------------------------------------------- */

/* Back to the state after power-on; under the lock. */
static void transport_reset(struct virtio_pci *vp)
{
	vp->status = 0;
	vp->device_feature_select = vp->driver_feature_select = 0;
	vp->driver_features = 0;
	vp->queue_select = 0;
	vp->config_vector = VIRTIO_NO_VECTOR;
	for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->qcfg[q] = (typeof(vp->qcfg[q])){
			.size = vp->ops->queue_max, .vector = VIRTIO_NO_VECTOR,
		};
	vp->config_generation++;
}

/* Reset if asked, start the queues after DRIVER_OK; whether queues may be walked. */
static bool service_state(struct virtio_pci *vp)
{
	bool reset, ok;

	pthread_mutex_lock(&vp->lock);
	reset = vp->reset_pending;
	if (reset) {
		vp->running = false;
		memset(vp->vq, 0, sizeof(vp->vq));
	}
	pthread_mutex_unlock(&vp->lock);
	if (reset) {
		if (vp->ops->reset)
			vp->ops->reset(vp);
		atomic_store(&vp->isr, 0);
		pci_set_intx(&vp->pci, false);
		pthread_mutex_lock(&vp->lock);
		transport_reset(vp);
		vp->reset_pending = false;
		pthread_mutex_unlock(&vp->lock);
		return false;
	}
	pthread_mutex_lock(&vp->lock);
	if (!vp->running && (vp->status & VIRTIO_STATUS_DRIVER_OK)) {
		bool event_idx = vp->driver_features >> VIRTIO_F_RING_EVENT_IDX & 1;

		for (unsigned q = 0; q < vp->ops->nr_queues; q++) {
			vp->vq[q] = (struct virtq){
				.size = vp->qcfg[q].enabled ? vp->qcfg[q].size : 0,
				.desc = vp->qcfg[q].desc, .avail = vp->qcfg[q].avail,
				.used = vp->qcfg[q].used, .event_idx = event_idx, .mem = vp->mem,
			};
			virtq_start(&vp->vq[q]);
		}
		vp->running = true;
	}
	ok = vp->running && !(vp->status & VIRTIO_STATUS_NEEDS_RESET);
	pthread_mutex_unlock(&vp->lock);
	return ok;
}

static void service_queues(struct virtio_pci *vp)
{
	const char *why = NULL;

	if (!service_state(vp))
		return;
	for (unsigned q = 0; q < vp->ops->nr_queues; q++) {
		if (!vp->vq[q].size)
			continue;
		if (!vp->ops->queue_work(vp, q, &vp->vq[q], &why)) {
			virtio_pci_broken(vp, why);
			return;
		}
	}
}

static void *device_thread(void *arg)
{
	struct virtio_pci *vp = arg;
	uint64_t next_tick = now_ns() + TICK_MS * 1000000ULL;
	char name[16];

	snprintf(name, sizeof(name), "%.15s", vp->ops->name);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = vp->notify_fd, .events = POLLIN },
			{ .fd = vp->stop_fd, .events = POLLIN },
		};
		uint64_t now = now_ns(), v;
		int timeout = now >= next_tick ? 0 : (int)((next_tick - now) / 1000000) + 1;

		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		if (pfd[0].revents)
			(void)!read(vp->notify_fd, &v, sizeof(v));
		service_queues(vp);
		if (now_ns() >= next_tick) {
			next_tick = now_ns() + TICK_MS * 1000000ULL;
			if (vp->ops->tick && service_state(vp))
				vp->ops->tick(vp);
		}
	}
	return NULL;
}

void virtio_pci_stop(struct pci_device *dev)
{
	struct virtio_pci *vp = dev->priv;
	uint64_t one = 1;

	if (vp->stop_fd < 0)
		return;
	(void)!write(vp->stop_fd, &one, sizeof(one));
	pthread_join(vp->thread, NULL);
	close(vp->stop_fd);
	vp->stop_fd = -1;
}

struct virtio_pci *virtio_pci_create(struct vm *vm, const struct virtio_device_ops *ops,
				     void *priv)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));

	if (!vp || !vm->pci) {
		vmm_err("%s: %s", ops->name, vp ? "no PCI bus" : "out of memory");
		free(vp);
		return NULL;
	}
	vp->ops = ops;
	vp->priv = priv;
	vp->vm = vm;
	vp->notify_fd = vp->stop_fd = -1;
	pthread_mutex_init(&vp->lock, NULL);
	transport_reset(vp);
	for (unsigned v = 0; v <= VIRTIO_MAX_QUEUES; v++)
		vp->msix[v].ctrl = MSIX_ENTRY_MASKED;
	pci_device_init(&vp->pci, ops->name, VIRTIO_PCI_VENDOR,
			VIRTIO_PCI_DEVICE_BASE + ops->device_id, ops->class_code, 1,
			VIRTIO_PCI_VENDOR, VIRTIO_PCI_SUBSYS_ID);
	vp->pci.priv = vp;
	vp->pci.bar_size[0] = VIRTIO_PCI_BAR_SIZE;
	vp->pci.bar_handler = virtio_pci_bar_io;
	vp->pci.stop = virtio_pci_stop;
	vp->mem = gmem_open(vm, ops->name);
	vp->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vp->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (!vp->mem || vp->notify_fd < 0 || vp->stop_fd < 0 || virtio_pci_add_caps(vp) ||
	    pci_add(vm->pci, &vp->pci)) {
		vmm_err("%s: cannot create the device: %s", ops->name,
			errno ? strerror(errno) : "configuration space full");
		return NULL;
	}
	if (pthread_create(&vp->thread, NULL, device_thread, vp)) {
		vmm_err("%s: cannot start the device thread", ops->name);
		close(vp->stop_fd);
		vp->stop_fd = -1;
		return NULL;
	}
	return vp;
}
