// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk: several reads and writes of one queue in flight at once,
 * through io_uring (see blk.h, "In flight").
 *
 * A slot holds one request from submission to completion: a copy of its
 * chain (the descriptors were read once, by virtq_pop), its bounce buffer
 * and what the completion needs. A write's data is copied out of guest
 * memory (through the queue's gmem handle) when it is submitted; a read's
 * into guest memory when it completes, so no pointer into guest RAM is
 * held while the I/O runs. Only plain IN and OUT requests of at most
 * BLK_AIO_BUF bytes are taken, and not while the disk is write-through or
 * a fault is injected: everything else the caller serves synchronously
 * with blk_request, after draining what is in flight. Every slot belongs
 * to the queue's I/O thread: no lock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"
#include "vmm/virtio/blk.h"

#ifdef HAVE_LIBURING
#include <liburing.h>

struct blk_aio_slot {
	struct virtq_chain chain;
	uint8_t *buf;			/* BLK_AIO_BUF bytes, 4 KiB aligned (O_DIRECT) */
	uint64_t len;
	bool write, busy;
};

struct blk_aio {
	struct io_uring ring;
	struct blk_disk *disk;
	unsigned inflight, queued;	/* queued: prepared, not yet submitted */
	struct blk_aio_slot slot[BLK_AIO_DEPTH];
};

struct blk_aio *blk_aio_create(struct blk_disk *d)
{
	struct blk_aio *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->disk = d;
	for (unsigned i = 0; i < BLK_AIO_DEPTH; i++)
		if (posix_memalign((void **)&a->slot[i].buf, 4096, BLK_AIO_BUF))
			goto fail;
	if (io_uring_queue_init(BLK_AIO_DEPTH, &a->ring, 0))
		goto fail;
	return a;
fail:
	for (unsigned i = 0; i < BLK_AIO_DEPTH; i++)
		free(a->slot[i].buf);
	free(a);
	return NULL;
}

void blk_aio_free(struct blk_aio *a)
{
	if (!a)
		return;
	io_uring_queue_exit(&a->ring);
	for (unsigned i = 0; i < BLK_AIO_DEPTH; i++)
		free(a->slot[i].buf);
	free(a);
}

unsigned blk_aio_inflight(const struct blk_aio *a)
{
	return a ? a->inflight : 0;
}

bool blk_aio_full(const struct blk_aio *a)
{
	return a->inflight == BLK_AIO_DEPTH;
}

bool blk_aio_submit(struct blk_aio *a, struct virtq *vq, const struct virtq_chain *c)
{
	struct blk_disk *d = a->disk;
	struct blk_aio_slot *s = NULL;
	struct io_uring_sqe *sqe;
	uint64_t sector, len;
	uint8_t hdr[BLK_HDR_SIZE];
	uint32_t type;
	bool wr;

	if (blk_aio_full(a) || atomic_load(&d->writethrough) || d->fault_sector != UINT64_MAX ||
	    c->read_len < BLK_HDR_SIZE || c->write_len < 1 ||
	    !blk_chain_copy(vq, c, false, 0, hdr, BLK_HDR_SIZE, false))
		return false;
	memcpy(&type, hdr, 4);
	memcpy(&sector, hdr + 8, 8);
	if (type != VIRTIO_BLK_T_IN && type != VIRTIO_BLK_T_OUT)
		return false;
	wr = type == VIRTIO_BLK_T_OUT;
	/* Anything blk_request would refuse, it refuses (and counts) itself. */
	if (!blk_rw_valid(d, c, wr, sector, &len) || !len || len > BLK_AIO_BUF)
		return false;
	for (unsigned i = 0; i < BLK_AIO_DEPTH && !s; i++)
		if (!a->slot[i].busy)
			s = &a->slot[i];
	/* Data not in RAM: blk_request completes the request with IOERR. */
	if (!s || (wr && !blk_chain_copy(vq, c, false, BLK_HDR_SIZE, s->buf, len, false)))
		return false;
	sqe = io_uring_get_sqe(&a->ring);
	if (!sqe)
		return false;
	memcpy(&s->chain, c, sizeof(*c));
	s->len = len;
	s->write = wr;
	s->busy = true;
	if (wr)
		io_uring_prep_write(sqe, d->fd, s->buf, (unsigned)len, sector * BLK_SECTOR);
	else
		io_uring_prep_read(sqe, d->fd, s->buf, (unsigned)len, sector * BLK_SECTOR);
	io_uring_sqe_set_data(sqe, s);
	a->inflight++;
	a->queued++;
	return true;
}

/* One completion: the status byte and the used length; copy a read out. */
static void complete(struct blk_aio *a, struct virtq *vq, struct blk_aio_slot *s, int res,
		     blk_aio_done_fn done, void *ctx)
{
	struct blk_disk *d = a->disk;
	const struct virtq_chain *c = &s->chain;
	uint8_t status = VIRTIO_BLK_S_IOERR;
	uint32_t used = 1;

	if (res >= 0 && (uint64_t)res == s->len) {
		if (s->write || blk_chain_copy(vq, c, true, 0, s->buf, s->len, true)) {
			status = VIRTIO_BLK_S_OK;
			used += s->write ? 0 : (uint32_t)s->len;
			atomic_fetch_add(s->write ? &d->writes : &d->reads, 1);
			atomic_fetch_add(s->write ? &d->bytes_written : &d->bytes_read, s->len);
		}
	} else {
		blk_log_once(&d->err_logged, d, s->write ? "write failed" : "read failed",
			     res < 0 ? -res : EIO);
	}
	if (status != VIRTIO_BLK_S_OK)
		atomic_fetch_add(&d->ioerrs, 1);
	if (!blk_chain_copy(vq, c, true, c->write_len - 1, &status, 1, true))
		used = 0;
	s->busy = false;
	a->inflight--;
	if (done)
		done(ctx, c->head, used);
}

int blk_aio_reap(struct blk_aio *a, struct virtq *vq, unsigned min, blk_aio_done_fn done,
		 void *ctx)
{
	unsigned got = 0;

	if (min > a->inflight)
		min = a->inflight;
	if (a->queued) {
		int r = io_uring_submit(&a->ring);

		if (r < 0)
			return r;
		a->queued = 0;
	}
	while (a->inflight) {
		struct io_uring_cqe *cqe;
		struct blk_aio_slot *s;
		int r = got < min ? io_uring_wait_cqe(&a->ring, &cqe) :
				    io_uring_peek_cqe(&a->ring, &cqe);

		if (r == -EINTR)
			continue;
		if (r == -EAGAIN)
			break;
		if (r < 0)
			return r;
		s = io_uring_cqe_get_data(cqe);
		r = cqe->res;
		io_uring_cqe_seen(&a->ring, cqe);
		complete(a, vq, s, r, done, ctx);
		got++;
	}
	return (int)got;
}

#else /* !HAVE_LIBURING: every request is served synchronously. */

struct blk_aio *blk_aio_create(struct blk_disk *d)
{
	(void)d;
	return NULL;
}

void blk_aio_free(struct blk_aio *a)
{
	(void)a;
}

unsigned blk_aio_inflight(const struct blk_aio *a)
{
	(void)a;
	return 0;
}

bool blk_aio_full(const struct blk_aio *a)
{
	(void)a;
	return true;
}

bool blk_aio_submit(struct blk_aio *a, struct virtq *vq, const struct virtq_chain *c)
{
	(void)a, (void)vq, (void)c;
	return false;
}

int blk_aio_reap(struct blk_aio *a, struct virtq *vq, unsigned min, blk_aio_done_fn done,
		 void *ctx)
{
	(void)a, (void)vq, (void)min, (void)done, (void)ctx;
	return 0;
}
#endif
