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
#define BLK_HDR_SIZE		16		/* type, reserved, sector */
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

/* Copy between buf and the chain's readable (write = false) or writable part from byte off. */
bool blk_chain_copy(struct virtq *vq, const struct virtq_chain *c, bool write,
		    uint64_t off, void *buf, uint64_t len, bool to_guest);
/*
 * An IN (!wr) or OUT chain with its header at least (read_len >= 16,
 * write_len >= 1) for @sector: true with the data length in *@len if the
 * data goes the right way, is whole sectors, fits the disk and, for OUT,
 * the disk is writable; else the request gets IOERR.
 */
bool blk_rw_valid(const struct blk_disk *d, const struct virtq_chain *c, bool wr,
		  uint64_t sector, uint64_t *len);
/* One message per disk and flag (err_logged, malformed_logged). */
void blk_log_once(atomic_bool *flag, struct blk_disk *d, const char *what, int err);

/*
 * In flight (blk_aio.c): up to BLK_AIO_DEPTH plain reads and writes of one
 * queue at once, through io_uring, each with a bounce buffer of its own.
 * blk_aio_submit takes a chain (true) or leaves it to blk_request (false:
 * another type, larger than BLK_AIO_BUF, write-through, fault injection,
 * a malformed request, every slot busy); the caller serves what it leaves
 * only after blk_aio_reap drained every request in flight, so that a flush
 * follows the writes before it. blk_aio_reap submits what was taken and
 * completes at least @min (up to all that are done): status byte, counters,
 * then done(ctx, head, used), which pushes the used entry. NULL from
 * blk_aio_create (no io_uring): every request is served synchronously.
 * A queue's engine belongs to its I/O thread.
 */
#define BLK_AIO_DEPTH		16
#define BLK_AIO_BUF		(128u << 10)
struct blk_aio;
typedef void (*blk_aio_done_fn)(void *ctx, uint16_t head, uint32_t used);
struct blk_aio *blk_aio_create(struct blk_disk *d);
void blk_aio_free(struct blk_aio *a);
unsigned blk_aio_inflight(const struct blk_aio *a);
bool blk_aio_full(const struct blk_aio *a);
bool blk_aio_submit(struct blk_aio *a, struct virtq *vq, const struct virtq_chain *c);
int blk_aio_reap(struct blk_aio *a, struct virtq *vq, unsigned min, blk_aio_done_fn done,
		 void *ctx);

struct vm;
/* One device per --disk (devices_init); a message and -1 if a disk is unusable. */
int virtio_blk_init(struct vm *vm);
/* One line per disk at exit: requests, bytes, errors. */
void virtio_blk_summary(void);

#endif
