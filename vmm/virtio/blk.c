// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-blk devices, one per --disk: see blk.h.
 *
 * Queues: one per vCPU, at most one per host CPU and VIRTIO_MAX_QUEUES
 * (VIRTIO_BLK_F_MQ). A single queue is served on the transport's device
 * thread itself (one thread wake-up less per request). With several, each
 * queue has an I/O thread with its own gmem handle
 * (so copies of different queues do not serialise on one handle), its own
 * bounce buffer and its own struct virtq. The transport's device thread
 * calls queue_work() for every queue on every notification: the first call
 * after DRIVER_OK hands the queue's configuration to the I/O thread, every
 * call kicks it (an eventfd). A reset takes the queues back: reset() waits
 * until no I/O thread is inside a walk.
 *
 * Locking: blk_qthread.lock protects `active` and `busy` (and the hand-over
 * of `vq`); it is never held across I/O or a guest-memory access, only
 * around the flag changes; `idle` is signalled when busy drops.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/gmem.h"
#include "vmm/util.h"
#include "vmm/virtio/blk.h"
#include "vmm/virtio/pci.h"
#include "vmm/vm.h"

#define VIRTIO_ID_BLOCK			2
#define VIRTIO_BLK_F_SEG_MAX		2
#define VIRTIO_BLK_F_RO			5
#define VIRTIO_BLK_F_BLK_SIZE		6
#define VIRTIO_BLK_F_FLUSH		9
#define VIRTIO_BLK_F_CONFIG_WCE		11
#define VIRTIO_BLK_F_MQ			12
#define VIRTIO_BLK_F_DISCARD		13
#define VIRTIO_BLK_F_WRITE_ZEROES	14
#define BLK_QUEUE_SIZE			256
#define BLK_CONFIG_SIZE			60
#define BLK_MAX_ZERO_SECTORS		(1u << 22)	/* 2 GiB per discard segment */

struct blk_qthread {
	struct blk_dev *dev;
	unsigned index;
	pthread_t thread;
	bool started;
	int kick_fd;
	pthread_mutex_t lock;		/* see above */
	pthread_cond_t idle;
	bool active, busy, stop;
	/* The I/O thread's while active. */
	struct virtq vq;
	struct virtq_chain chain;
	struct blk_queue bq;
	struct blk_aio *aio;		/* NULL: no io_uring, one request at a time */
	bool aio_dead;			/* the engine failed: given up */
	struct gmem_handle *mem;
};

struct blk_dev {
	struct virtio_pci *vp;
	struct virtio_device_ops ops;
	struct blk_disk disk;
	char name[32];
	unsigned nr_queues;
	uint8_t writeback;		/* config byte 32 (CONFIG_WCE); under the transport lock */
	struct blk_qthread q[VIRTIO_MAX_QUEUES];
};

static struct blk_dev *blk_devs[VMM_MAX_DISKS];
static unsigned nr_blk_devs;

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static void config_read(struct virtio_pci *vp, unsigned off, uint8_t *data, unsigned size)
{
	struct blk_dev *b = vp->priv;
	uint8_t cfg[BLK_CONFIG_SIZE] = { 0 };
	uint16_t nq = b->nr_queues;

	memcpy(cfg, &b->disk.sectors, 8);		/* capacity */
	put32(cfg + 12, BLK_SEG_MAX);			/* seg_max */
	put32(cfg + 20, BLK_SECTOR);			/* blk_size */
	cfg[32] = b->writeback;				/* writeback */
	memcpy(cfg + 34, &nq, 2);			/* num_queues */
	put32(cfg + 36, BLK_MAX_ZERO_SECTORS);		/* max_discard_sectors */
	put32(cfg + 40, BLK_MAX_DISCARD_SEG);		/* max_discard_seg */
	put32(cfg + 44, 8);				/* discard_sector_alignment: 4 KiB */
	put32(cfg + 48, BLK_MAX_ZERO_SECTORS);		/* max_write_zeroes_sectors */
	put32(cfg + 52, BLK_MAX_DISCARD_SEG);		/* max_write_zeroes_seg */
	cfg[56] = 1;					/* write_zeroes_may_unmap */
	memcpy(data, cfg + off, size);
}

/* Only `writeback` is writable, once CONFIG_WCE was negotiated (5.2.6.4). */
static void config_write(struct virtio_pci *vp, unsigned off, const uint8_t *data,
			 unsigned size)
{
	struct blk_dev *b = vp->priv;

	if (off > 32 || off + size <= 32 || !virtio_pci_has(vp, VIRTIO_BLK_F_CONFIG_WCE))
		return;
	b->writeback = data[32 - off] ? 1 : 0;
	atomic_store(&b->disk.writethrough, !b->writeback);
}

/*
 * FEATURES_OK, under the transport lock: without FLUSH the driver cannot
 * ask for durability, so every write is made durable before it completes
 * (5.2.6.2); with it, the cache is write-back until the driver clears
 * `writeback` (CONFIG_WCE).
 */
static bool features_ok(struct virtio_pci *vp, uint64_t f)
{
	struct blk_dev *b = vp->priv;

	b->writeback = f >> VIRTIO_BLK_F_FLUSH & 1;
	atomic_store(&b->disk.writethrough, !b->writeback);
	return true;
}

struct push_ctx {
	struct blk_qthread *qt;
	const char **why;
	bool ok;
};

/* A request in flight completed: return it to the driver. */
static void aio_done(void *arg, uint16_t head, uint32_t used)
{
	struct push_ctx *p = arg;

	if (p->ok && !virtq_push(&p->qt->vq, head, used, p->why))
		p->ok = false;
}

/*
 * Complete at least @min of the requests in flight (all that are done),
 * then interrupt; false (with *why) if the queue broke. An io_uring that
 * fails is given up: the queue goes on synchronously and the requests it
 * held are lost to the driver, which a reset recovers.
 */
static bool aio_reap(struct blk_qthread *qt, unsigned min, const char **why)
{
	struct push_ctx p = { qt, why, true };
	int r = blk_aio_reap(qt->aio, &qt->vq, min, aio_done, &p);

	if (r < 0) {
		vmm_err("%s: queue %u: io_uring: %s; serving requests one at a time",
			qt->dev->name, qt->index, strerror(-r));
		qt->aio_dead = true;
		*why = "io_uring failed with requests in flight";
		return false;
	}
	if (r > 0)
		virtio_pci_notify_vq(qt->dev->vp, qt->index, &qt->vq);
	return p.ok;
}

/*
 * Walk the queue until it stays empty and nothing is in flight; false
 * (with *why) breaks the device. Plain reads and writes go to the queue's
 * io_uring engine (blk_aio.c), up to BLK_AIO_DEPTH at once; anything else
 * is served here once those in flight completed, so a flush or discard
 * never overtakes a write before it.
 */
static bool serve_queue(struct blk_qthread *qt, const char **why)
{
	struct virtio_pci *vp = qt->dev->vp;
	struct blk_aio *aio = qt->aio_dead ? NULL : qt->aio;
	enum virtq_result r = VIRTQ_EMPTY;
	bool ok = true;

	for (;;) {
		while (ok && (r = virtq_pop(&qt->vq, &qt->chain, why)) == VIRTQ_CHAIN) {
			uint32_t used;

			/*
			 * A lone request (nothing in flight, nothing behind it)
			 * costs less with one pread/pwrite than through the ring.
			 */
			if (aio && (blk_aio_inflight(aio) || virtq_pending(&qt->vq)) &&
			    blk_aio_submit(aio, &qt->vq, &qt->chain)) {
				if (blk_aio_full(aio))
					ok = aio_reap(qt, 1, why);
				continue;
			}
			if (aio && blk_aio_inflight(aio) &&
			    !(ok = aio_reap(qt, blk_aio_inflight(aio), why)))
				break;
			used = blk_request(&qt->bq, &qt->vq, &qt->chain);
			if (!(ok = virtq_push(&qt->vq, qt->chain.head, used, why)))
				break;
			virtio_pci_notify_vq(vp, qt->index, &qt->vq);
		}
		if (!ok || r == VIRTQ_BROKEN) {
			ok = false;
			break;
		}
		if (aio && !qt->aio_dead && blk_aio_inflight(aio)) {
			ok = aio_reap(qt, 1, why);
			continue;
		}
		if (!virtq_arm(&qt->vq, why))
			break;
	}
	/* A broken queue still waits for what is in flight: its buffers are ours. */
	while (!qt->aio_dead && blk_aio_inflight(qt->aio))
		if (blk_aio_reap(qt->aio, &qt->vq, blk_aio_inflight(qt->aio), NULL, NULL) < 0)
			qt->aio_dead = true;
	virtio_pci_notify_vq(vp, qt->index, &qt->vq);
	return ok;
}

/* Serve the queue if it is active; false when the thread is to stop. */
static bool run_queue(struct blk_qthread *qt)
{
	const char *why = NULL;
	bool ok;

	pthread_mutex_lock(&qt->lock);
	if (qt->stop || !qt->active) {
		pthread_mutex_unlock(&qt->lock);
		return !qt->stop;
	}
	qt->busy = true;
	pthread_mutex_unlock(&qt->lock);
	ok = serve_queue(qt, &why);
	pthread_mutex_lock(&qt->lock);
	qt->busy = false;
	if (!ok)
		qt->active = false;	/* until the reset */
	pthread_cond_broadcast(&qt->idle);
	pthread_mutex_unlock(&qt->lock);
	if (!ok)
		virtio_pci_broken(qt->dev->vp, why);
	return true;
}

static void *io_thread(void *arg)
{
	struct blk_qthread *qt = arg;
	char name[16];

	snprintf(name, sizeof(name), "blk-io%u", qt->index);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		uint64_t v;

		if (read(qt->kick_fd, &v, sizeof(v)) < 0 && errno != EINTR)
			break;
		if (!run_queue(qt))
			break;
	}
	return NULL;
}

static void kick(struct blk_qthread *qt)
{
	uint64_t one = 1;

	(void)!write(qt->kick_fd, &one, sizeof(one));
}

/* On the device thread: hand queue q over on its first call, then kick. */
static bool queue_work(struct virtio_pci *vp, unsigned q, struct virtq *vq, const char **why)
{
	struct blk_dev *b = vp->priv;
	struct blk_qthread *qt = &b->q[q];

	(void)why;
	if (q >= b->nr_queues)
		return true;
	pthread_mutex_lock(&qt->lock);
	if (!qt->active && !qt->busy && !qt->vq.size) {
		qt->vq = *vq;
		qt->vq.mem = qt->mem;
		qt->active = true;
	}
	pthread_mutex_unlock(&qt->lock);
	if (!qt->started)
		run_queue(qt);		/* one queue: served on the device thread itself */
	else
		kick(qt);
	return true;
}

/* On the device thread, after a reset: take every queue back. */
static void reset(struct virtio_pci *vp)
{
	struct blk_dev *b = vp->priv;

	for (unsigned q = 0; q < b->nr_queues; q++) {
		struct blk_qthread *qt = &b->q[q];

		pthread_mutex_lock(&qt->lock);
		qt->active = false;
		while (qt->busy)
			pthread_cond_wait(&qt->idle, &qt->lock);
		memset(&qt->vq, 0, sizeof(qt->vq));
		pthread_mutex_unlock(&qt->lock);
	}
}

static void blk_stop(struct pci_device *dev)
{
	struct virtio_pci *vp = dev->priv;
	struct blk_dev *b = vp->priv;

	virtio_pci_stop(dev);
	for (unsigned q = 0; q < b->nr_queues; q++) {
		struct blk_qthread *qt = &b->q[q];

		if (!qt->started)
			continue;
		pthread_mutex_lock(&qt->lock);
		qt->stop = true;
		pthread_mutex_unlock(&qt->lock);
		kick(qt);
		pthread_join(qt->thread, NULL);
		qt->started = false;
	}
}

static unsigned queue_count(const struct vm *vm)
{
	long host = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = vm->cfg->cpus;

	if (host > 0 && n > (unsigned long)host)
		n = (unsigned)host;
	if (n > VIRTIO_MAX_QUEUES)
		n = VIRTIO_MAX_QUEUES;
	return n ? n : 1;
}

static int blk_create(struct vm *vm, const struct vm_disk *cfg, unsigned index)
{
	struct blk_dev *b = calloc(1, sizeof(*b));

	if (!b)
		return -1;
	if (blk_disk_open(&b->disk, cfg->path, cfg->ro, cfg->cache_none, cfg->serial)) {
		free(b);
		return -1;
	}
	snprintf(b->name, sizeof(b->name), "virtio-blk%u", index);
	b->nr_queues = queue_count(vm);
	b->ops = (struct virtio_device_ops){
		.name = b->name,
		.device_id = VIRTIO_ID_BLOCK,
		.class_code = 0x010000,		/* mass storage, SCSI: as QEMU's */
		.features = 1ULL << VIRTIO_BLK_F_SEG_MAX | 1ULL << VIRTIO_BLK_F_BLK_SIZE |
			    1ULL << VIRTIO_BLK_F_FLUSH | 1ULL << VIRTIO_BLK_F_MQ |
			    1ULL << VIRTIO_BLK_F_CONFIG_WCE |
			    1ULL << VIRTIO_F_RING_EVENT_IDX |
			    (cfg->ro ? 1ULL << VIRTIO_BLK_F_RO :
			     1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES),
		.nr_queues = b->nr_queues,
		.queue_max = BLK_QUEUE_SIZE,
		.config_size = BLK_CONFIG_SIZE,
		.config_read = config_read,
		.config_write = config_write,
		.features_ok = features_ok,
		.queue_work = queue_work,
		.reset = reset,
	};
	for (unsigned q = 0; q < b->nr_queues; q++) {
		struct blk_qthread *qt = &b->q[q];

		qt->dev = b;
		qt->index = q;
		pthread_mutex_init(&qt->lock, NULL);
		pthread_cond_init(&qt->idle, NULL);
		qt->kick_fd = eventfd(0, EFD_CLOEXEC);
		qt->mem = gmem_open(vm, b->name);
		qt->aio = blk_aio_create(&b->disk);
		if (qt->kick_fd < 0 || !qt->mem || blk_queue_init(&qt->bq, &b->disk) ||
		    (b->nr_queues > 1 && pthread_create(&qt->thread, NULL, io_thread, qt))) {
			vmm_err("%s: cannot set up queue %u: %s", b->name, q, strerror(errno));
			return -1;
		}
		qt->started = b->nr_queues > 1;
	}
	b->vp = virtio_pci_create(vm, &b->ops, b);
	if (!b->vp)
		return -1;
	b->vp->pci.stop = blk_stop;
	blk_devs[nr_blk_devs++] = b;
	vmm_dbg("%s: %s, %llu sectors%s%s, %u queues", b->name, cfg->path,
		(unsigned long long)b->disk.sectors, cfg->ro ? ", read-only" : "",
		cfg->cache_none ? ", cache=none" : "", b->nr_queues);
	return 0;
}

int virtio_blk_init(struct vm *vm)
{
	for (unsigned i = 0; i < vm->cfg->nr_disks; i++)
		if (blk_create(vm, &vm->cfg->disks[i], i))
			return -1;
	return 0;
}

void virtio_blk_summary(void)
{
	for (unsigned i = 0; i < nr_blk_devs; i++) {
		struct blk_disk *d = &blk_devs[i]->disk;

		vmm_info("%s: %s: reads %llu (%llu MiB), writes %llu (%llu MiB), flushes %llu, "
			 "write-through syncs %llu, discards %llu, errors %llu; notifications %llu, "
			 "interrupts %llu",
			 blk_devs[i]->name, d->path, (unsigned long long)atomic_load(&d->reads),
			 (unsigned long long)(atomic_load(&d->bytes_read) >> 20),
			 (unsigned long long)atomic_load(&d->writes),
			 (unsigned long long)(atomic_load(&d->bytes_written) >> 20),
			 (unsigned long long)atomic_load(&d->flushes),
			 (unsigned long long)atomic_load(&d->syncs),
			 (unsigned long long)atomic_load(&d->discards),
			 (unsigned long long)atomic_load(&d->ioerrs),
			 (unsigned long long)atomic_load(&blk_devs[i]->vp->notifies),
			 (unsigned long long)atomic_load(&blk_devs[i]->vp->interrupts));
	}
}
