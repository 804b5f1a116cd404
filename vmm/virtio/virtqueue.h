/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_VIRTQUEUE_H
#define VMM_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Split virtqueues (virtio 1.x, 2.7), device side. The descriptor table,
 * the available ring and the used ring live in guest RAM; every access to
 * them and to the buffers they describe goes through the device's
 * gmem_handle, one bounded copy at a time.
 *
 * The walker trusts nothing the driver wrote: an available index that runs
 * ahead of the device by more than the queue size, a head or next index
 * outside the table, a chain longer than the queue (a loop), an indirect
 * descriptor (not offered), a readable descriptor after a writable one, a
 * buffer whose end overflows 64 bits, or a ring outside RAM make it return
 * VIRTQ_BROKEN with the reason; the transport then sets DEVICE_NEEDS_RESET.
 *
 * A virtq is used by one thread at a time: the device's own thread while
 * the queue is enabled, the transport's reset otherwise.
 */

#define VIRTQ_MAX_SIZE		256	/* largest queue a device offers */

#define VIRTQ_DESC_F_NEXT	1
#define VIRTQ_DESC_F_WRITE	2
#define VIRTQ_DESC_F_INDIRECT	4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct gmem_handle;

struct virtq {
	/* What the driver configured (common configuration), fixed while enabled. */
	uint16_t size;
	uint64_t desc, avail, used;	/* guest-physical */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX negotiated */
	struct gmem_handle *mem;
	/* Device-side state. */
	uint16_t last_avail;		/* next available entry to take */
	uint16_t used_idx;		/* next used entry to fill */
	uint16_t signalled_used;	/* used_idx at the last interrupt decision */
};

struct virtq_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;			/* device-writable */
};

struct virtq_chain {
	uint16_t head;
	unsigned nr;
	uint64_t read_len, write_len;
	struct virtq_seg seg[VIRTQ_MAX_SIZE];
};

enum virtq_result { VIRTQ_EMPTY, VIRTQ_CHAIN, VIRTQ_BROKEN };

/* Reset device-side state for a queue about to run (after enable). */
void virtq_start(struct virtq *vq);
/* Whether size, alignment and ranges of the configured rings are valid. */
bool virtq_config_valid(const struct virtq *vq, const char **why);

/* Take the next available chain; on VIRTQ_BROKEN *why says what is wrong. */
enum virtq_result virtq_pop(struct virtq *vq, struct virtq_chain *c, const char **why);
/* Return a chain to the driver with `len` bytes written; false if the used ring is not RAM. */
bool virtq_push(struct virtq *vq, uint16_t head, uint32_t len, const char **why);
/*
 * After draining: publish avail_event (event index) and tell whether more
 * chains arrived meanwhile (then drain again).
 */
bool virtq_arm(struct virtq *vq, const char **why);
/* Whether more chains are available now (no fence: a hint, virtq_arm decides). */
bool virtq_pending(struct virtq *vq);
/* Whether the driver wants an interrupt for what was pushed since the last call. */
bool virtq_should_interrupt(struct virtq *vq);

/*
 * Copy up to `len` bytes of the chain's readable part from byte `off`;
 * returns the bytes copied, or -1 if a buffer is not RAM.
 */
long virtq_chain_read(struct virtq *vq, const struct virtq_chain *c, uint64_t off,
		      void *buf, uint64_t len);

#endif
