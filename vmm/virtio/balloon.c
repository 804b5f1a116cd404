// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-balloon (virtio 1.x, 5.5): the guest gives pages back.
 *
 * Queues, by index as the negotiated features make them (5.5.2): inflate
 * (0), deflate (1), then statsq when VIRTIO_BALLOON_F_STATS_VQ was
 * negotiated, then free_page_vq when VIRTIO_BALLOON_F_FREE_PAGE_HINT was
 * (never offered here), then reporting_vq when VIRTIO_BALLOON_F_REPORTING
 * was. So free page reporting without statistics is queue 2.
 *
 * An inflated page and a reported range go to gmem_discard(): they become
 * absent in the memory object and read as zeroes on their next touch.
 * With VIRTIO_BALLOON_F_PAGE_POISON negotiated and a non-zero poison_val,
 * reported pages hold the guest's poison value and must keep it, so they
 * are acknowledged without being discarded (as QEMU does).
 *
 * Everything here runs on the device's own thread except the configuration
 * accessors (vCPU threads, under the transport lock). The inflated-page
 * bitmap and the counters are the device thread's; the counters are atomic
 * because the exit summary reads them from the main thread.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/devices/devices.h"
#include "vmm/gmem.h"
#include "vmm/util.h"
#include "vmm/virtio/balloon.h"
#include "vmm/virtio/pci.h"
#include "vmm/vm.h"

#define VIRTIO_ID_BALLOON		5
#define VIRTIO_BALLOON_F_STATS_VQ	1
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT	3
#define VIRTIO_BALLOON_F_PAGE_POISON	4
#define VIRTIO_BALLOON_F_REPORTING	5
#define BALLOON_PFN_SHIFT		12	/* inflate/deflate PFNs are 4 KiB frames */
#define BALLOON_QUEUE_SIZE		128
#define BALLOON_STAT_TAGS		16
#define BALLOON_STAT_SIZE		10	/* le16 tag, le64 value */
#define BALLOON_CHUNK			1024	/* PFNs read per copy */

enum balloon_role { ROLE_NONE, ROLE_INFLATE, ROLE_DEFLATE, ROLE_STATS, ROLE_REPORTING };

struct balloon {
	struct virtio_pci *vp;
	struct vm *vm;
	/* Device configuration; under the transport lock. */
	uint32_t num_pages, actual, poison_val;
	/* Fixed at FEATURES_OK; under the transport lock, read by the device thread after. */
	enum balloon_role role[4];
	bool poison;
	/* The device thread's. */
	uint8_t *inflated;		/* one bit per guest page (object pgoff) */
	bool stats_held;
	uint16_t stats_head;
	unsigned stats_queue;
	bool discard_refused_logged, bad_pfn_logged;
	/* Counters for the exit summary. */
	atomic_uint_fast64_t inflated_pages, deflated_pages, reported_pages, reported_ranges,
		kept_pages;
	atomic_uint_fast64_t stats[BALLOON_STAT_TAGS];
	atomic_bool stats_seen;
};

static struct balloon *the_balloon;	/* for the exit summary; one balloon per VM */

static void config_read(struct virtio_pci *vp, unsigned off, uint8_t *data, unsigned size)
{
	struct balloon *b = vp->priv;
	uint8_t cfg[16];

	pci_put32(cfg + 0, b->num_pages);
	pci_put32(cfg + 4, b->actual);
	pci_put32(cfg + 8, 0);		/* free_page_hint_cmd_id: hinting not offered */
	pci_put32(cfg + 12, b->poison_val);
	memcpy(data, cfg + off, size);
}

static void config_write(struct virtio_pci *vp, unsigned off, const uint8_t *data,
			 unsigned size)
{
	struct balloon *b = vp->priv;
	uint8_t cfg[16];

	pci_put32(cfg + 4, b->actual);
	pci_put32(cfg + 12, b->poison_val);
	memcpy(cfg + off, data, size);
	/* num_pages is the device's; the driver writes actual and poison_val. */
	b->actual = pci_get32(cfg + 4);
	b->poison_val = pci_get32(cfg + 12);
}

static bool features_ok(struct virtio_pci *vp, uint64_t f)
{
	struct balloon *b = vp->priv;
	unsigned q = 0;

	memset(b->role, 0, sizeof(b->role));
	b->role[q++] = ROLE_INFLATE;
	b->role[q++] = ROLE_DEFLATE;
	if (f >> VIRTIO_BALLOON_F_STATS_VQ & 1) {
		b->stats_queue = q;
		b->role[q++] = ROLE_STATS;
	}
	if (f >> VIRTIO_BALLOON_F_FREE_PAGE_HINT & 1)
		return false;		/* not offered */
	if (f >> VIRTIO_BALLOON_F_REPORTING & 1)
		b->role[q++] = ROLE_REPORTING;
	b->poison = f >> VIRTIO_BALLOON_F_PAGE_POISON & 1;
	return true;
}

/* Object page number of a guest-physical page, or -1 when it is not RAM. */
static int64_t ram_page(const struct balloon *b, uint64_t gpa)
{
	const struct guest_region *r = guest_mem_region(&b->vm->mem, gpa);

	return r ? (int64_t)(r->pgoff + ((gpa - r->gpa) >> PAGE_SHIFT)) : -1;
}

static bool discard(struct balloon *b, uint64_t gpa, uint64_t len, enum gmem_discard_reason why)
{
	if (gmem_discard(b->vp->mem, gpa, len, why))
		return true;
	if (!b->discard_refused_logged) {
		b->discard_refused_logged = true;
		vmm_info("virtio-balloon: guest memory refused to discard 0x%llx+0x%llx; "
			 "the pages stay resident", (unsigned long long)gpa,
			 (unsigned long long)len);
	}
	return false;
}

/* Inflate or deflate the PFNs of one chain; false (with *why) if one is not RAM. */
static bool balloon_pfns(struct balloon *b, struct virtq *vq, const struct virtq_chain *c,
			 bool inflate, const char **why)
{
	uint32_t pfn[BALLOON_CHUNK];
	uint64_t off = 0;

	if (!b->inflated) {
		b->inflated = calloc(1, (b->vm->mem.size >> PAGE_SHIFT) / 8 + 1);
		if (!b->inflated) {
			*why = "out of memory for the inflated-page map";
			return false;
		}
	}
	for (;;) {
		long n = virtq_chain_read(vq, c, off, pfn, sizeof(pfn));

		if (n < 0) {
			*why = "a page-frame buffer is not in guest RAM";
			return false;
		}
		if (n < 4)
			return true;
		off += n & ~3L;
		for (long i = 0; i < n / 4; i++) {
			uint64_t gpa = (uint64_t)pfn[i] << BALLOON_PFN_SHIFT;
			int64_t pg = ram_page(b, gpa);
			uint8_t bit;

			if (pg < 0) {
				/* Ignored, as QEMU does: a driver bug, not a broken queue. */
				if (!b->bad_pfn_logged)
					vmm_err("virtio-balloon: page frame 0x%x is not guest RAM; "
						"ignored", pfn[i]);
				b->bad_pfn_logged = true;
				continue;
			}
			bit = 1u << (pg & 7);
			if (inflate && !(b->inflated[pg >> 3] & bit)) {
				if (discard(b, gpa, PAGE_SIZE, GMEM_DISCARD_INFLATE)) {
					b->inflated[pg >> 3] |= bit;
					atomic_fetch_add(&b->inflated_pages, 1);
				}
			} else if (!inflate && (b->inflated[pg >> 3] & bit)) {
				b->inflated[pg >> 3] &= ~bit;
				gmem_balloon_deflated(b->vp->mem, 1);
				atomic_fetch_add(&b->deflated_pages, 1);
			}
		}
	}
}

/* Free page reporting: every buffer of the chain is one free range. */
static bool balloon_report(struct balloon *b, const struct virtq_chain *c, const char **why)
{
	bool keep;

	pthread_mutex_lock(&b->vp->lock);
	keep = b->poison && b->poison_val;
	pthread_mutex_unlock(&b->vp->lock);
	for (unsigned i = 0; i < c->nr; i++) {
		const struct virtq_seg *s = &c->seg[i];
		uint64_t start = ALIGN_UP(s->gpa, PAGE_SIZE), end = (s->gpa + s->len) & ~(PAGE_SIZE - 1);

		if (!s->len)
			continue;
		if (ram_page(b, s->gpa) < 0 || ram_page(b, s->gpa + s->len - 1) < 0) {
			*why = "reported range outside guest RAM";
			return false;
		}
		if (end <= start)
			continue;
		if (keep) {
			atomic_fetch_add(&b->kept_pages, (end - start) >> PAGE_SHIFT);
			continue;
		}
		if (discard(b, start, end - start, GMEM_DISCARD_REPORTED)) {
			atomic_fetch_add(&b->reported_pages, (end - start) >> PAGE_SHIFT);
			atomic_fetch_add(&b->reported_ranges, 1);
		}
	}
	return true;
}

static bool balloon_stats(struct balloon *b, struct virtq *vq, const struct virtq_chain *c,
			  const char **why)
{
	uint8_t buf[BALLOON_STAT_TAGS * 2 * BALLOON_STAT_SIZE];
	long n = virtq_chain_read(vq, c, 0, buf, sizeof(buf));

	if (n < 0) {
		*why = "statistics buffer is not in guest RAM";
		return false;
	}
	for (long i = 0; i + BALLOON_STAT_SIZE <= n; i += BALLOON_STAT_SIZE) {
		uint16_t tag = pci_get16(buf + i);

		if (tag < BALLOON_STAT_TAGS)
			atomic_store(&b->stats[tag], pci_get32(buf + i + 2) |
				     (uint64_t)pci_get32(buf + i + 6) << 32);
	}
	atomic_store(&b->stats_seen, true);
	b->stats_head = c->head;
	b->stats_held = true;	/* given back by the next tick, to ask for fresh ones */
	return true;
}

static bool queue_work(struct virtio_pci *vp, unsigned q, struct virtq *vq, const char **why)
{
	struct balloon *b = vp->priv;
	static struct virtq_chain chain;	/* the device thread's; too large for its stack */
	enum balloon_role role;

	pthread_mutex_lock(&vp->lock);
	role = q < 4 ? b->role[q] : ROLE_NONE;
	pthread_mutex_unlock(&vp->lock);
	if (role == ROLE_NONE)
		return true;
	do {
		enum virtq_result r;

		while ((r = virtq_pop(vq, &chain, why)) == VIRTQ_CHAIN) {
			bool ok;

			switch (role) {
			case ROLE_INFLATE:
			case ROLE_DEFLATE:
				ok = balloon_pfns(b, vq, &chain, role == ROLE_INFLATE, why);
				break;
			case ROLE_REPORTING:
				ok = balloon_report(b, &chain, why);
				break;
			default:
				if (b->stats_held) {
					*why = "a second statistics buffer while one is held";
					return false;
				}
				if (!balloon_stats(b, vq, &chain, why))
					return false;
				continue;	/* held, not used yet */
			}
			if (!ok || !virtq_push(vq, chain.head, 0, why))
				return false;
		}
		if (r == VIRTQ_BROKEN)
			return false;
	} while (virtq_arm(vq, why));
	virtio_pci_notify_queue(vp, q);
	return true;
}

static void tick(struct virtio_pci *vp)
{
	struct balloon *b = vp->priv;
	const char *why;

	if (!b->stats_held)
		return;
	b->stats_held = false;
	if (!virtq_push(&vp->vq[b->stats_queue], b->stats_head, 0, &why)) {
		virtio_pci_broken(vp, why);
		return;
	}
	virtio_pci_notify_queue(vp, b->stats_queue);
}

static void reset(struct virtio_pci *vp)
{
	struct balloon *b = vp->priv;

	b->stats_held = false;
	pthread_mutex_lock(&vp->lock);
	b->actual = b->poison_val = 0;
	b->poison = false;
	memset(b->role, 0, sizeof(b->role));
	pthread_mutex_unlock(&vp->lock);
}

static struct virtio_device_ops balloon_ops = {
	.name = "virtio-balloon",
	.device_id = VIRTIO_ID_BALLOON,
	.class_code = 0x00ff00,		/* PCI_CLASS_OTHERS, as QEMU's */
	.features = 1ULL << VIRTIO_BALLOON_F_STATS_VQ | 1ULL << VIRTIO_BALLOON_F_PAGE_POISON |
		    1ULL << VIRTIO_F_RING_EVENT_IDX,
	.nr_queues = 4,
	.queue_max = BALLOON_QUEUE_SIZE,
	.config_size = 16,
	.config_read = config_read,
	.config_write = config_write,
	.features_ok = features_ok,
	.queue_work = queue_work,
	.tick = tick,
	.reset = reset,
};

int virtio_balloon_init(struct vm *vm)
{
	struct balloon *b;

	if (!vm->cfg->balloon)
		return 0;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -1;
	b->vm = vm;
	b->num_pages = vm->cfg->balloon_target >> PAGE_SHIFT;
	if (vm->cfg->balloon_reporting)
		balloon_ops.features |= 1ULL << VIRTIO_BALLOON_F_REPORTING;
	b->vp = virtio_pci_create(vm, &balloon_ops, b);
	if (!b->vp)
		return -1;
	the_balloon = b;
	return 0;
}

void virtio_balloon_set_target(uint64_t bytes)
{
	struct balloon *b = the_balloon;

	if (!b)
		return;
	pthread_mutex_lock(&b->vp->lock);
	b->num_pages = bytes >> PAGE_SHIFT;
	pthread_mutex_unlock(&b->vp->lock);
	virtio_pci_config_changed(b->vp);
}

void virtio_balloon_summary(void)
{
	struct balloon *b = the_balloon;
	uint32_t actual;

	if (!b)
		return;
	pthread_mutex_lock(&b->vp->lock);
	actual = b->actual;
	pthread_mutex_unlock(&b->vp->lock);
	vmm_info("balloon: target %u pages, actual %u; inflated %llu, deflated %llu, "
		 "reported free %llu pages in %llu ranges, kept (poisoned) %llu; "
		 "notifications %llu, interrupts %llu",
		 b->num_pages, actual,
		 (unsigned long long)atomic_load(&b->inflated_pages),
		 (unsigned long long)atomic_load(&b->deflated_pages),
		 (unsigned long long)atomic_load(&b->reported_pages),
		 (unsigned long long)atomic_load(&b->reported_ranges),
		 (unsigned long long)atomic_load(&b->kept_pages),
		 (unsigned long long)atomic_load(&b->vp->notifies),
		 (unsigned long long)atomic_load(&b->vp->interrupts));
	if (atomic_load(&b->stats_seen))
		vmm_info("balloon: guest statistics: free %llu MiB, total %llu MiB, "
			 "available %llu MiB",
			 (unsigned long long)(atomic_load(&b->stats[4]) >> 20),
			 (unsigned long long)(atomic_load(&b->stats[5]) >> 20),
			 (unsigned long long)(atomic_load(&b->stats[6]) >> 20));
}
