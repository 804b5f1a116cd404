// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk: several requests in flight on queue 0 (mode=depth, mode=bench).
 * Slot i of at most DEPTH_MAX owns descriptors 3i..3i+2 and request header
 * reqs[0][i]; its buffer is the next 4 KiB page of the pool (depth: they
 * cycle through all free RAM, so under a resident limit they were swapped
 * out between uses) or buffer i of `bs` bytes (bench);
 * a used entry names its chain's head, so completions may come in any
 * order and a slot is reused only once its own request completed.
 */
#include "blk.h"

#define DEPTH_MAX	32

static struct {
	bool busy;
	uint64_t block, seq, buf;
} slot[DEPTH_MAX];

static void post(unsigned i, bool rd, uint64_t sector, uint64_t buf, uint64_t len)
{
	struct req *r = &reqs[0][i];

	r->type = rd ? T_IN : T_OUT;
	r->reserved = 0;
	r->sector = sector;
	r->status = NOSTATUS;
	virtio_post_at(&dev, 0, (uint16_t)(3 * i), (struct vq_seg[]){
		{ (uint64_t)r, 16, false }, { buf, len, rd }, { (uint64_t)&r->status, 1, true },
	}, 3);
	slot[i].busy = true;
}

static int free_slot(unsigned qd)
{
	for (unsigned i = 0; i < qd; i++)
		if (!slot[i].busy)
			return (int)i;
	return -1;
}

/* The next completion: its slot, or -1 (with a message). */
static int reap(unsigned qd, uint32_t *len)
{
	uint16_t id;

	if (!virtio_wait_used(&dev, 0, WAIT_MS, &id, len)) {
		printf("blk: no completion within %u ms\n", WAIT_MS);
		return -1;
	}
	if (id % 3 || id / 3 >= qd || !slot[id / 3].busy) {
		printf("blk: a used entry names head %u, no request in flight\n", id);
		return -1;
	}
	slot[id / 3].busy = false;
	return id / 3;
}

/* One pass of `n` 4 KiB requests over distinct random blocks; see blk.c. */
static bool depth_pass(bool rd, unsigned qd, uint64_t n, uint64_t seed, unsigned *ooo)
{
	uint64_t posted = 0, done = 0, oldest = 0;
	struct mismatch bad;
	struct perm perm;

	perm_init(&perm, capacity / 8, seed);
	while (done < n) {
		int i;
		uint32_t len;

		while (posted < n && (i = free_slot(qd)) >= 0) {
			uint64_t buf = pool + posted % pool_pages * PAGE_SIZE;

			slot[i].block = perm_next(&perm);
			slot[i].seq = posted++;
			slot[i].buf = buf;
			if (!rd)
				pattern_fill(buf, pattern_seed(slot[i].block * PAGE_SIZE, 3, seed));
			post((unsigned)i, rd, slot[i].block * 8, buf, PAGE_SIZE);
		}
		if ((i = reap(qd, &len)) < 0)
			return false;
		if (reqs[0][i].status != S_OK) {
			printf("blk: depth: %s of block %lu: status %u\n", rd ? "read" : "write",
			       slot[i].block, reqs[0][i].status);
			return false;
		}
		if (rd && (len != PAGE_SIZE + 1 ||
			   !pattern_check(slot[i].buf,
					  pattern_seed(slot[i].block * PAGE_SIZE, 3, seed), &bad))) {
			printf("blk: depth: block %lu read back wrong (used length %u)\n",
			       slot[i].block, len);
			return false;
		}
		/* Out of order: an older request is still in flight. */
		*ooo += slot[i].seq != oldest;
		done++;
		while (oldest < posted && oldest < done) {
			bool open = false;

			for (unsigned k = 0; k < qd; k++)
				open |= slot[k].busy && slot[k].seq == oldest;
			if (open)
				break;
			oldest++;
		}
	}
	return true;
}

long run_depth(void *arg)
{
	uint64_t qd = arg_u64("qd", 8), n = arg_u64("n", 2048), seed = arg_u64("seed", 5);
	unsigned ooo = 0;

	if (qd < 1 || qd > DEPTH_MAX || qd * 3 > dev.q[0].size || n > capacity / 8 ||
	    qd * PAGE_SIZE > pool_pages * PAGE_SIZE)
		return fail("depth: bad qd or n");
	if (!depth_pass(false, (unsigned)qd, n, seed, &ooo) ||
	    !depth_pass(true, (unsigned)qd, n, seed, &ooo))
		return 0;
	printf("blk: depth %lu: %lu writes, then %lu reads verified as they completed\n", qd, n, n);
	printf("# blk: %u completions out of posting order\n", ooo);
	return 1;
}

long run_bench(void *arg)
{
	const char *rw = arg_str("rw", "randread");
	uint64_t bs = arg_u64("bs", 4096), qd = arg_u64("qd", 1), ms = arg_u64("ms", 5000);
	bool irq = arg_u64("irq", 1);
	bool rnd = rw[0] == 'r' && rw[1] == 'a', wr = !strcmp(rw, "randwrite") ||
		   !strcmp(rw, "write");
	uint64_t blocks = capacity * 512 / bs, x = 88172645463325252ULL, next = 0, done = 0;
	uint64_t t0, t1, end, hz = arg_u64("tsc_khz", 3000000);	/* TSC ticks per ms */
	struct guest_vq *q = &dev.q[0];
	unsigned inflight = 0;

	if (qd < 1 || qd > DEPTH_MAX || qd * 3 > q->size || qd * bs > pool_pages * PAGE_SIZE)
		return fail("bad qd or bs");
	memset((void *)pool, 0x11, qd * bs);
	t0 = tsc();
	end = t0 + ms * hz;
	for (;;) {
		int i;
		uint32_t len;

		while (tsc() < end && (i = free_slot(qd)) >= 0) {
			uint64_t blk;

			if (rnd) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				blk = x % blocks;
			} else {
				blk = next++ % blocks;
			}
			post((unsigned)i, !wr, blk * bs / 512, pool + (uint64_t)i * bs, bs);
			if (!irq && dev.features >> VIRTIO_F_EVENT_IDX & 1)	/* polled: no interrupts */
				((volatile uint16_t *)q->avail)[2 + q->size] = q->last_used + 0x7fff;
			inflight++;
		}
		if (!inflight)
			break;
		if (reap(qd, &len) < 0)
			return fail("bench: no completion");
		inflight--;
		done++;
	}
	t1 = tsc();
	printf("# bench: rw=%s bs=%lu qd=%lu ios=%lu usec=%lu iops=%lu mibs=%lu\n", rw, bs, qd,
	       done, (t1 - t0) * 1000 / hz, done * 1000 * hz / (t1 - t0),
	       done * bs * 1000 * hz / (t1 - t0) >> 20);
	return 1;
}
