// SPDX-License-Identifier: GPL-2.0-only
/* Guest-side virtio 1.x PCI driver core: see virtio.h. */
#include "virtio.h"
#include "runtime.h"

#define CAP_COMMON	1
#define CAP_NOTIFY	2
#define CAP_ISR		3
#define CAP_DEVICE	4
#define CAP_PCI_CFG	5

/* Common configuration (virtio 1.x 4.1.4.3). */
#define CC_DFSEL	0x00
#define CC_DF		0x04
#define CC_GFSEL	0x08
#define CC_GF		0x0c
#define CC_MSIX		0x10
#define CC_NUMQ		0x12
#define CC_STATUS	0x14
#define CC_QSEL		0x16
#define CC_QSIZE	0x18
#define CC_QMSIX	0x1a
#define CC_QENABLE	0x1c
#define CC_QNOFF	0x1e
#define CC_QDESC	0x20
#define CC_QAVAIL	0x28
#define CC_QUSED	0x30

#define TSC_PER_MS	3000000ULL	/* about right for this host's 2-3.5 GHz TSC */

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

static inline void barrier(void)
{
	asm volatile("mfence" ::: "memory");
}

void virtio_delay(unsigned ms)
{
	uint64_t end = rdtsc() + ms * TSC_PER_MS;

	while (rdtsc() < end)
		cpu_relax();
}

static uint64_t cap_addr(const struct pci_func *f, unsigned cap)
{
	uint8_t bar = pci_read8(f, cap + 4);

	return pci_bar(f, bar) + pci_read32(f, cap + 8);
}

bool virtio_open(struct virtio_dev *d, const struct pci_func *f, uint64_t mem, uint64_t mem_len)
{
	memset(d, 0, sizeof(*d));
	d->f = *f;
	d->mem = mem;
	d->mem_end = mem + mem_len;
	for (unsigned i = 0; i < VIRTIO_MAXQ; i++)
		d->vector[i] = 0xffff;
	pci_write16(f, 0x04, pci_read16(f, 0x04) | 0x6);	/* memory space, bus master */
	for (unsigned c = pci_next_cap(f, 0x09, 0); c; c = pci_next_cap(f, 0x09, c)) {
		uint8_t type = pci_read8(f, c + 3);

		if (type < 1 || type > 5 || (d->caps_found & 1u << type))
			continue;	/* the first of each type is the preferred one */
		d->caps_found |= 1u << type;
		switch (type) {
		case CAP_COMMON:
			d->common = cap_addr(f, c);
			break;
		case CAP_NOTIFY:
			d->notify_base = cap_addr(f, c);
			d->notify_mult = pci_read32(f, c + 16);
			break;
		case CAP_ISR:
			d->isr = cap_addr(f, c);
			break;
		case CAP_DEVICE:
			d->device = cap_addr(f, c);
			break;
		}
	}
	return d->common && d->notify_base && d->isr && d->device &&
	       d->common < 4 * GiB && d->device < 4 * GiB;
}

uint8_t virtio_status(struct virtio_dev *d)
{
	return mmio_read8(d->common + CC_STATUS);
}

void virtio_set_status(struct virtio_dev *d, uint8_t s)
{
	mmio_write8(d->common + CC_STATUS, s);
}

uint8_t virtio_read_isr(struct virtio_dev *d)
{
	return mmio_read8(d->isr);
}

uint16_t virtio_num_queues(struct virtio_dev *d)
{
	return mmio_read16(d->common + CC_NUMQ);
}

bool virtio_reset(struct virtio_dev *d)
{
	virtio_set_status(d, 0);
	for (unsigned i = 0; i < 2000; i++) {
		if (!virtio_status(d))
			return true;
		virtio_delay(1);
	}
	return false;
}

uint64_t virtio_device_features(struct virtio_dev *d)
{
	uint64_t f;

	mmio_write32(d->common + CC_DFSEL, 0);
	f = mmio_read32(d->common + CC_DF);
	mmio_write32(d->common + CC_DFSEL, 1);
	return f | (uint64_t)mmio_read32(d->common + CC_DF) << 32;
}

bool virtio_negotiate(struct virtio_dev *d, uint64_t wanted)
{
	if (!virtio_reset(d))
		return false;
	virtio_set_status(d, VIRTIO_S_ACK);
	virtio_set_status(d, VIRTIO_S_ACK | VIRTIO_S_DRIVER);
	d->features = virtio_device_features(d) & wanted;
	mmio_write32(d->common + CC_GFSEL, 0);
	mmio_write32(d->common + CC_GF, d->features);
	mmio_write32(d->common + CC_GFSEL, 1);
	mmio_write32(d->common + CC_GF, d->features >> 32);
	virtio_set_status(d, VIRTIO_S_ACK | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK);
	return virtio_status(d) & VIRTIO_S_FEATURES_OK;
}

static uint64_t ring_alloc(struct virtio_dev *d, uint64_t size, uint64_t align)
{
	uint64_t p = ALIGN_UP(d->mem, align);

	d->mem = p + size;
	memset((void *)p, 0, size);
	return p;
}

bool virtio_queue(struct virtio_dev *d, unsigned qi, uint16_t size)
{
	struct guest_vq *q = &d->q[qi];
	uint16_t max;

	if (qi >= VIRTIO_MAXQ || qi >= virtio_num_queues(d))
		return false;
	mmio_write16(d->common + CC_QSEL, qi);
	max = mmio_read16(d->common + CC_QSIZE);
	if (!max)
		return false;
	q->size = size < max ? size : max;
	q->desc = ring_alloc(d, 16ULL * q->size, 4096);
	q->avail = ring_alloc(d, 6 + 2ULL * q->size, 4096);
	q->used = ring_alloc(d, 6 + 8ULL * q->size, 4096);
	q->notify = d->notify_base + (uint64_t)mmio_read16(d->common + CC_QNOFF) * d->notify_mult;
	q->avail_idx = q->last_used = q->desc_next = 0;
	mmio_write16(d->common + CC_QSIZE, q->size);
	mmio_write16(d->common + CC_QMSIX, d->vector[qi]);
	mmio_write32(d->common + CC_QDESC, q->desc);
	mmio_write32(d->common + CC_QDESC + 4, q->desc >> 32);
	mmio_write32(d->common + CC_QAVAIL, q->avail);
	mmio_write32(d->common + CC_QAVAIL + 4, q->avail >> 32);
	mmio_write32(d->common + CC_QUSED, q->used);
	mmio_write32(d->common + CC_QUSED + 4, q->used >> 32);
	mmio_write16(d->common + CC_QENABLE, 1);
	return mmio_read16(d->common + CC_QENABLE) == 1;
}

void virtio_driver_ok(struct virtio_dev *d)
{
	virtio_set_status(d, virtio_status(d) | VIRTIO_S_DRIVER_OK);
}

static bool event_idx(const struct virtio_dev *d)
{
	return d->features >> VIRTIO_F_EVENT_IDX & 1;
}

void virtio_post_raw(struct virtio_dev *d, unsigned qi, uint16_t head, uint16_t idx_step)
{
	struct guest_vq *q = &d->q[qi];
	volatile uint16_t *avail = (volatile uint16_t *)q->avail;
	volatile uint16_t *used = (volatile uint16_t *)q->used;
	uint16_t old = q->avail_idx, now;

	avail[2 + old % q->size] = head;
	if (event_idx(d))
		avail[2 + q->size] = q->last_used;	/* interrupt on the next use */
	barrier();
	now = old + idx_step;
	avail[1] = now;
	q->avail_idx = now;
	barrier();
	if (event_idx(d)) {
		/* vring_need_event(avail_event, new, old) */
		uint16_t ev = *(volatile uint16_t *)(q->used + 4 + 8ULL * q->size);

		if ((uint16_t)(now - ev - 1) >= (uint16_t)(now - old))
			return;
	} else if (used[0] & 1) {
		return;		/* VIRTQ_USED_F_NO_NOTIFY */
	}
	mmio_write16(q->notify, qi);
}

void virtio_post_at(struct virtio_dev *d, unsigned qi, uint16_t head, const struct vq_seg *segs,
		    unsigned n)
{
	struct guest_vq *q = &d->q[qi];

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (head + i) % q->size;
		volatile uint64_t *desc = (volatile uint64_t *)(q->desc + 16ULL * idx);
		uint16_t flags = (segs[i].write ? VQ_DESC_WRITE : 0) | (i + 1 < n ? VQ_DESC_NEXT : 0);

		desc[0] = segs[i].addr;
		desc[1] = segs[i].len | (uint64_t)flags << 32 | (uint64_t)((idx + 1) % q->size) << 48;
	}
	virtio_post_raw(d, qi, head, 1);
}

uint16_t virtio_post(struct virtio_dev *d, unsigned qi, const struct vq_seg *segs, unsigned n)
{
	struct guest_vq *q = &d->q[qi];
	uint16_t head = q->desc_next % q->size;

	for (unsigned i = 0; i < n; i++) {
		uint16_t idx = (head + i) % q->size;
		volatile uint64_t *desc = (volatile uint64_t *)(q->desc + 16ULL * idx);
		uint16_t flags = (segs[i].write ? VQ_DESC_WRITE : 0) | (i + 1 < n ? VQ_DESC_NEXT : 0);

		desc[0] = segs[i].addr;
		desc[1] = segs[i].len | (uint64_t)flags << 32 | (uint64_t)((idx + 1) % q->size) << 48;
	}
	q->desc_next = (head + n) % q->size;
	virtio_post_raw(d, qi, head, 1);
	return head;
}

bool virtio_wait(struct virtio_dev *d, unsigned qi, unsigned ms)
{
	struct guest_vq *q = &d->q[qi];
	volatile uint16_t *used = (volatile uint16_t *)q->used;
	uint64_t end = rdtsc() + ms * TSC_PER_MS;

	while (used[1] == q->last_used) {
		if (rdtsc() > end)
			return false;
		cpu_relax();
	}
	barrier();
	q->last_used++;
	return true;
}

bool virtio_wait_used(struct virtio_dev *d, unsigned qi, unsigned ms, uint16_t *id,
		      uint32_t *len)
{
	struct guest_vq *q = &d->q[qi];
	volatile uint32_t *e;

	if (!virtio_wait(d, qi, ms))
		return false;
	e = (volatile uint32_t *)(q->used + 4 + 8ULL * ((uint16_t)(q->last_used - 1) % q->size));
	*id = (uint16_t)e[0];
	*len = e[1];
	return true;
}

unsigned virtio_pcicfg_cap(const struct pci_func *f)
{
	for (unsigned c = pci_next_cap(f, 0x09, 0); c; c = pci_next_cap(f, 0x09, c))
		if (pci_read8(f, c + 3) == CAP_PCI_CFG)
			return c;
	return 0;
}

bool virtio_cap_location(const struct pci_func *f, unsigned type, uint8_t *bar, uint32_t *off)
{
	for (unsigned c = pci_next_cap(f, 0x09, 0); c; c = pci_next_cap(f, 0x09, c))
		if (pci_read8(f, c + 3) == type) {
			*bar = pci_read8(f, c + 4);
			*off = pci_read32(f, c + 8);
			return true;
		}
	return false;
}

/* cap.bar (a byte; the id and padding after it are read-only), cap.offset, cap.length. */
static void pcicfg_select(const struct pci_func *f, unsigned cap, uint8_t bar, uint32_t off,
			  uint32_t len)
{
	pci_write32(f, cap + 4, (pci_read32(f, cap + 4) & ~0xffu) | bar);
	pci_write32(f, cap + 8, off);
	pci_write32(f, cap + 12, len);
}

uint32_t virtio_pcicfg_read(const struct pci_func *f, unsigned cap, uint8_t bar, uint32_t off,
			    uint32_t len)
{
	uint32_t v;

	pcicfg_select(f, cap, bar, off, len);
	v = pci_read32(f, cap + 16);
	return len >= 4 ? v : v & ((1u << (8 * len)) - 1);
}

void virtio_pcicfg_write(const struct pci_func *f, unsigned cap, uint8_t bar, uint32_t off,
			 uint32_t len, uint32_t v)
{
	pcicfg_select(f, cap, bar, off, len);
	pci_write32(f, cap + 16, v);
}
