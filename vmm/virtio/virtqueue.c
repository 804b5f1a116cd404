// SPDX-License-Identifier: GPL-2.0-only
/* Split virtqueues, device side: see virtqueue.h. */
#include "vmm/virtio/virtqueue.h"

#include <stdatomic.h>
#include <string.h>

#include "vmm/gmem.h"

#define DESC_SIZE	16
#define USED_ELEM_SIZE	8
#define RING_LIMIT	(1ULL << 52)	/* no guest-physical address reaches this */

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
} __attribute__((packed));

_Static_assert(sizeof(struct desc) == DESC_SIZE, "a split-ring descriptor is 16 bytes");

/* Byte offsets in the available and used rings (virtio 1.x, 2.7.6 and 2.7.8). */
static uint64_t avail_idx_addr(const struct virtq *vq)
{
	return vq->avail + 2;
}

static uint64_t avail_ring_addr(const struct virtq *vq, uint16_t i)
{
	return vq->avail + 4 + 2ULL * (i % vq->size);
}

static uint64_t used_event_addr(const struct virtq *vq)
{
	return vq->avail + 4 + 2ULL * vq->size;
}

static uint64_t used_idx_addr(const struct virtq *vq)
{
	return vq->used + 2;
}

static uint64_t used_ring_addr(const struct virtq *vq, uint16_t i)
{
	return vq->used + 4 + (uint64_t)USED_ELEM_SIZE * (i % vq->size);
}

static uint64_t avail_event_addr(const struct virtq *vq)
{
	return vq->used + 4 + (uint64_t)USED_ELEM_SIZE * vq->size;
}

static bool read16(const struct virtq *vq, uint64_t gpa, uint16_t *v)
{
	uint8_t b[2];

	if (!gmem_read(vq->mem, gpa, b, 2))
		return false;
	*v = b[0] | b[1] << 8;
	return true;
}

static bool write16(const struct virtq *vq, uint64_t gpa, uint16_t v)
{
	uint8_t b[2] = { v, v >> 8 };

	return gmem_write(vq->mem, gpa, b, 2);
}

void virtq_start(struct virtq *vq)
{
	vq->last_avail = vq->used_idx = vq->signalled_used = 0;
}

bool virtq_config_valid(const struct virtq *vq, const char **why)
{
	if (!vq->size || vq->size > VIRTQ_MAX_SIZE || (vq->size & (vq->size - 1))) {
		*why = "queue size is not a power of two within the maximum";
		return false;
	}
	if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3)) {
		*why = "ring address not aligned (descriptors 16, available 2, used 4 bytes)";
		return false;
	}
	if (vq->desc >= RING_LIMIT || vq->avail >= RING_LIMIT || vq->used >= RING_LIMIT) {
		*why = "ring address beyond any guest-physical address";
		return false;
	}
	return true;
}

static bool read_desc(const struct virtq *vq, uint16_t i, struct desc *d)
{
	uint8_t b[DESC_SIZE];

	if (!gmem_read(vq->mem, vq->desc + (uint64_t)DESC_SIZE * i, b, sizeof(b)))
		return false;
	memcpy(d, b, sizeof(*d));	/* x86 hosts are little endian, as virtio 1.x */
	return true;
}

enum virtq_result virtq_pop(struct virtq *vq, struct virtq_chain *c, const char **why)
{
	uint16_t avail_idx, head, i;
	bool seen_write = false;
	struct desc d;

	if (!read16(vq, avail_idx_addr(vq), &avail_idx)) {
		*why = "available ring is not in guest RAM";
		return VIRTQ_BROKEN;
	}
	if (avail_idx == vq->last_avail)
		return VIRTQ_EMPTY;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->size) {
		*why = "available index runs ahead of the device by more than the queue size";
		return VIRTQ_BROKEN;
	}
	/* Read the ring entry only after the index that published it. */
	atomic_thread_fence(memory_order_acquire);
	if (!read16(vq, avail_ring_addr(vq, vq->last_avail), &head)) {
		*why = "available ring is not in guest RAM";
		return VIRTQ_BROKEN;
	}
	if (head >= vq->size) {
		*why = "descriptor head index outside the table";
		return VIRTQ_BROKEN;
	}
	c->head = head;
	c->nr = 0;
	c->read_len = c->write_len = 0;
	for (i = head;; i = d.next) {
		if (c->nr == vq->size) {
			*why = "descriptor chain longer than the queue (a loop)";
			return VIRTQ_BROKEN;
		}
		if (!read_desc(vq, i, &d)) {
			*why = "descriptor table is not in guest RAM";
			return VIRTQ_BROKEN;
		}
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			*why = "indirect descriptor (VIRTIO_F_INDIRECT_DESC not offered)";
			return VIRTQ_BROKEN;
		}
		if (d.addr + d.len < d.addr || d.addr >= RING_LIMIT) {
			*why = "buffer address plus length overflows";
			return VIRTQ_BROKEN;
		}
		if (d.flags & VIRTQ_DESC_F_WRITE) {
			seen_write = true;
			c->write_len += d.len;
		} else if (seen_write) {
			*why = "readable descriptor after a writable one";
			return VIRTQ_BROKEN;
		} else {
			c->read_len += d.len;
		}
		c->seg[c->nr++] = (struct virtq_seg){
			.gpa = d.addr, .len = d.len, .write = d.flags & VIRTQ_DESC_F_WRITE,
		};
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			break;
		if (d.next >= vq->size) {
			*why = "next descriptor index outside the table";
			return VIRTQ_BROKEN;
		}
	}
	vq->last_avail++;
	return VIRTQ_CHAIN;
}

bool virtq_push(struct virtq *vq, uint16_t head, uint32_t len, const char **why)
{
	uint8_t elem[USED_ELEM_SIZE] = {
		head, head >> 8, 0, 0, len, len >> 8, len >> 16, len >> 24,
	};

	if (!gmem_write(vq->mem, used_ring_addr(vq, vq->used_idx), elem, sizeof(elem))) {
		*why = "used ring is not in guest RAM";
		return false;
	}
	/* The element is visible before the index that publishes it. */
	atomic_thread_fence(memory_order_release);
	if (!write16(vq, used_idx_addr(vq), (uint16_t)(vq->used_idx + 1))) {
		*why = "used ring is not in guest RAM";
		return false;
	}
	vq->used_idx++;
	return true;
}

bool virtq_pending(struct virtq *vq)
{
	uint16_t avail_idx;

	return read16(vq, avail_idx_addr(vq), &avail_idx) && avail_idx != vq->last_avail;
}

bool virtq_arm(struct virtq *vq, const char **why)
{
	uint16_t avail_idx;

	if (vq->event_idx && !write16(vq, avail_event_addr(vq), vq->last_avail)) {
		*why = "used ring is not in guest RAM";
		return false;
	}
	atomic_thread_fence(memory_order_seq_cst);
	return read16(vq, avail_idx_addr(vq), &avail_idx) && avail_idx != vq->last_avail;
}

bool virtq_should_interrupt(struct virtq *vq)
{
	uint16_t old = vq->signalled_used, now = vq->used_idx, v;

	if (old == now)
		return false;
	vq->signalled_used = now;
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->event_idx) {
		if (!read16(vq, used_event_addr(vq), &v))
			return true;
		/* vring_need_event(): did the used index pass used_event? */
		return (uint16_t)(now - v - 1) < (uint16_t)(now - old);
	}
	if (!read16(vq, vq->avail, &v))
		return true;
	return !(v & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

long virtq_chain_read(struct virtq *vq, const struct virtq_chain *c, uint64_t off,
		      void *buf, uint64_t len)
{
	uint8_t *out = buf;
	uint64_t done = 0;

	for (unsigned i = 0; i < c->nr && done < len; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t n;

		if (s->write)
			break;
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		n = s->len - off;
		if (n > len - done)
			n = len - done;
		if (!gmem_read(vq->mem, s->gpa + off, out + done, n))
			return -1;
		done += n;
		off = 0;
	}
	return (long)done;
}
