/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_VIRTIO_BLK_H
#define VMM_VIRTIO_BLK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/virtio/virtqueue.h"

/*
 * virtio-blk (virtio 1.x, 5.2) over a raw image: a regular file or a block
 * device (--disk FILE[,ro][,serial=ID][,cache=none|writeback]).
 *
 * Two layers. blk_io.c parses and serves one request chain against an open
 * disk, copying through the queue's gmem handle in chunks of at most
 * BLK_BOUNCE bytes (the queue's bounce buffer); it knows nothing of PCI, so
 * the unit tests run it over a fake memory handle. blk.c is the device: the
 * configuration space, the features, one virtio-pci device per disk, and an
 * I/O thread per queue.
 *
 * Threads. The transport's device thread takes notifications and wakes the
 * I/O thread of each queue; an I/O thread owns its queue's struct virtq,
 * its chain and bounce buffer while the queue runs (nothing else touches
 * them). struct blk_disk is read-only once opened, apart from the atomic
 * counters and the `err_logged` flag (atomic too).
 */

#define BLK_SECTOR		512
#define BLK_BOUNCE		(1u << 20)	/* bytes copied per pread/pwrite */
#define BLK_ID_BYTES		20		/* GET_ID: the serial, NUL-padded */
#define BLK_SEG_MAX		(VIRTQ_MAX_SIZE - 2)	/* data segments per request */
#define BLK_MAX_DISCARD_SEG	16

/* Request types and statuses (5.2.6). */
enum {
	VIRTIO_BLK_T_IN = 0, VIRTIO_BLK_T_OUT = 1, VIRTIO_BLK_T_FLUSH = 4,
	VIRTIO_BLK_T_GET_ID = 8, VIRTIO_BLK_T_DISCARD = 11, VIRTIO_BLK_T_WRITE_ZEROES = 13,
};
enum { VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2 };

struct blk_disk {
	const char *path;
	int fd;
	bool ro, direct, is_bdev;
	uint64_t sectors;		/* capacity */
	char serial[BLK_ID_BYTES];
	/* Test-only fault injection (VMM_BLK_FAULTS=eio=SECTOR): I/O at or past it fails. */
	uint64_t fault_sector;
	atomic_bool err_logged, malformed_logged;
	/*
	 * Each write is made durable (fdatasync) before it completes: set by
	 * the device when the driver did not negotiate VIRTIO_BLK_F_FLUSH or
	 * cleared the writeback byte (VIRTIO_BLK_F_CONFIG_WCE).
	 */
	atomic_bool writethrough;
	atomic_uint_fast64_t reads, writes, flushes, discards, ioerrs, bytes_read,
		bytes_written, syncs;	/* syncs: write-through fdatasyncs */
};

/* Per queue: the I/O thread's buffer. */
struct blk_queue {
	struct blk_disk *disk;
	uint8_t *bounce;		/* BLK_BOUNCE bytes, 4 KiB aligned (O_DIRECT) */
};

/*
 * Open FILE for the device: read-only or read-write, O_DIRECT with `direct`;
 * checks the size is a multiple of 512. -1 with a message naming the file.
 */
int blk_disk_open(struct blk_disk *d, const char *path, bool ro, bool direct,
		  const char *serial);
int blk_queue_init(struct blk_queue *bq, struct blk_disk *d);
void blk_queue_free(struct blk_queue *bq);

/*
 * Serve one chain: do the request, write the status byte (the last
 * writable byte) and return the used length (bytes written into the
 * chain). A chain with no header or no writable byte for the status gets
 * no status at all (used length 0) and one message per disk.
 */
uint32_t blk_request(struct blk_queue *bq, struct virtq *vq, const struct virtq_chain *c);

struct vm;
/* One device per --disk (devices_init); a message and -1 if a disk is unusable. */
int virtio_blk_init(struct vm *vm);
/* One line per disk at exit: requests, bytes, errors. */
void virtio_blk_summary(void);

#endif
