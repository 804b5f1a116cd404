// SPDX-License-Identifier: GPL-2.0-only
/*
 * blk: a ring-3 virtio-blk driver over the modern PCI transport, polled,
 * one request in flight per queue, each CPU on its own queue (VIRTIO_BLK_F_MQ;
 * CPUs share queue 0 under a lock when the device has fewer queues).
 *
 * mode=pattern   every CPU writes its slice of the disk in a random order of
 *                `chunk`-KiB requests (default 64), whose buffers cycle
 *                through all free RAM (so under --mem-resident they were
 *                swapped out between requests), flushes, then every CPU
 *                reads back and verifies another CPU's slice, in another
 *                random order; `serial=ID` also checks GET_ID.
 * mode=ro        the device offers VIRTIO_BLK_F_RO; a write gets IOERR, a
 *                read still works.
 * mode=discard   write 1 MiB, read it back; discard it and write-zeroes
 *                another 1 MiB: both read as zeroes, neighbours intact.
 * mode=ioerr     reads before sector `fault` succeed, a read of it gets
 *                IOERR (an injected error), and the device keeps working.
 * mode=full      (vmm only; the image's file system is full) write-zeroes of a
 *                hole gets IOERR, discard works, so does a read.
 * mode=wce       VIRTIO_BLK_F_CONFIG_WCE: with FLUSH negotiated the cache
 *                starts write-back (writeback = 1); the driver switches it
 *                to write-through and back, and writes still land.
 * mode=bounds    a read past the end and a partial sector get IOERR and
 *                leave the buffer untouched.
 * mode=malformed (vmm only) chains without a header or a status byte, and
 *                data in the wrong direction: IOERR or no status, never a
 *                byte outside the request written, the device still works.
 * mode=depth     qd=N (default 8) requests in flight on queue 0, completed in
 *                any order: `n` 4 KiB writes of a pattern to distinct random
 *                blocks, then reads of them, each checked as it completes
 *                (the device serves them concurrently: blk_queue.c).
 * mode=bench     qd=N requests in flight on queue 0: `rw=randread|randwrite|
 *                read|write`, `bs` bytes, for `ms` milliseconds; prints IOPS
 *                and MiB/s as "# bench:" lines (bench/disk.sh reads them);
 *                `tsc_khz` is the TSC frequency (the host's, from bench/disk.sh);
 *                irq=0 moves used_event out of reach (a polled driver needs no
 *                interrupts).
 */
#include "blk.h"

struct virtio_dev dev;
uint64_t capacity;			/* sectors */
static unsigned nq;

struct req reqs[MAX_CPUS][QSIZE];
static volatile int qlock;
uint64_t pool, pool_pages;		/* buffers: all free RAM after the rings */
static struct mismatch bad[MAX_CPUS];

bool fail(const char *what)
{
	printf("blk: %s\n", what);
	return false;
}

static uint32_t used_len(unsigned qi)
{
	struct guest_vq *q = &dev.q[qi];

	return *(volatile uint32_t *)(q->used + 4 + 8ULL * ((uint16_t)(q->last_used - 1) % q->size) + 4);
}

static unsigned my_queue(void)
{
	return nq >= smp_ncpus ? cpu_id() : 0;
}

/* One request; returns its status (NOSTATUS if the device wrote none). */
static uint8_t blk_io(uint32_t type, uint64_t sector, uint64_t buf, uint32_t len,
		      uint32_t *used)
{
	unsigned qi = my_queue();
	struct req *r = &reqs[cpu_id()][0];
	struct vq_seg s[3];
	unsigned n = 0;
	bool ok;

	r->type = type;
	r->reserved = 0;
	r->sector = sector;
	r->status = NOSTATUS;
	s[n++] = (struct vq_seg){ (uint64_t)r, 16, false };
	if (len)
		s[n++] = (struct vq_seg){ buf, len, type == T_IN || type == T_GET_ID };
	s[n++] = (struct vq_seg){ (uint64_t)&r->status, 1, true };
	if (qi == 0 && nq < smp_ncpus)
		while (__atomic_exchange_n(&qlock, 1, __ATOMIC_ACQUIRE))
			cpu_relax();
	virtio_post(&dev, qi, s, n);
	ok = virtio_wait(&dev, qi, WAIT_MS);
	if (used)
		*used = ok ? used_len(qi) : 0;
	if (qi == 0 && nq < smp_ncpus)
		__atomic_store_n(&qlock, 0, __ATOMIC_RELEASE);
	if (!ok) {
		printf("blk: request type %u sector %lu: no completion\n", type, sector);
		exit(EXIT_FAIL);
	}
	return *(volatile uint8_t *)&r->status;
}

/* Reset, negotiate, set up the queues, DRIVER_OK. */
static bool bring_up(void)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX | 1ULL << F_RO |
			1ULL << F_FLUSH | 1ULL << F_MQ | 1ULL << F_DISCARD | 1ULL << F_WZ |
			1ULL << F_WCE;

	if (!virtio_negotiate(&dev, want))
		return fail("features refused");
	capacity = *(volatile uint64_t *)dev.device;
	nq = dev.features >> F_MQ & 1 ? *(volatile uint16_t *)(dev.device + 34) : 1;
	if (nq > smp_ncpus)
		nq = smp_ncpus;
	for (unsigned q = 0; q < nq; q++)
		if (!virtio_queue(&dev, q, QSIZE))
			return fail("cannot set up a queue");
	virtio_driver_ok(&dev);
	return true;
}

static bool setup(void)
{
	struct pci_func f;
	struct mem_region *r = &mem_regions[0];

	if (!pci_find(VIRTIO_VENDOR, BLK_DEV_MODERN, BLK_DEV_TRANS, &f))
		return fail("no virtio-blk on bus 0");
	if (!virtio_open(&dev, &f, r->start, 4 * MiB))
		return fail("virtio capabilities incomplete");
	if (!bring_up())
		return false;
	pool = ALIGN_UP(r->start + 4 * MiB, PAGE_SIZE);
	pool_pages = (r->end - pool) / PAGE_SIZE;
	printf("blk: virtio-blk found, %lu MiB\n", capacity >> 11);
	printf("# blk: %u queue(s), features 0x%lx, buffer pool %lu MiB\n", nq, dev.features,
	       pool_pages >> 8);
	return true;
}

/* --- mode=pattern ------------------------------------------------------- */

static struct {
	uint64_t chunk, seed, nreq;
	bool verify;
} pt;

static long pattern_worker(void *arg)
{
	unsigned cpu = cpu_id();
	unsigned owner = pt.verify ? (cpu + 1) % smp_ncpus : cpu;
	uint64_t first, count, pages = pt.chunk / PAGE_SIZE;
	uint64_t slots = pool_pages / smp_ncpus / pages;
	uint64_t base = pool + (pool_pages / smp_ncpus) * PAGE_SIZE * cpu;
	struct perm perm;

	slice_of(owner, smp_ncpus, pt.nreq, &first, &count);
	perm_init(&perm, count, mix64(pt.seed + pt.verify) ^ owner);
	for (uint64_t k = 0; k < count; k++) {
		uint64_t rq = first + perm_next(&perm);
		uint64_t buf = base + (k % slots) * pt.chunk;
		uint64_t off = rq * pt.chunk;
		uint8_t st;

		if (!pt.verify)
			for (uint64_t p = 0; p < pages; p++)
				pattern_fill(buf + p * PAGE_SIZE,
					     pattern_seed(off + p * PAGE_SIZE, 1, pt.seed));
		st = blk_io(pt.verify ? T_IN : T_OUT, off / 512, buf, pt.chunk, NULL);
		if (st != S_OK) {
			bad[cpu] = (struct mismatch){ off, S_OK, st };
			return 2;
		}
		if (pt.verify)
			for (uint64_t p = 0; p < pages; p++)
				if (!pattern_check(buf + p * PAGE_SIZE,
						   pattern_seed(off + p * PAGE_SIZE, 1, pt.seed),
						   &bad[cpu])) {
					bad[cpu].addr = off + p * PAGE_SIZE;
					return 1;
				}
	}
	return 0;
}

static bool pattern_pass(bool verify)
{
	long res[MAX_CPUS];

	pt.verify = verify;
	smp_run(pattern_worker, NULL, res);
	for (unsigned c = 0; c < smp_ncpus; c++) {
		if (res[c] == 2) {
			printf("blk: %s at disk offset 0x%lx: status %lu\n",
			       verify ? "read" : "write", bad[c].addr, bad[c].got);
			return false;
		}
		if (res[c]) {
			printf("blk: mismatch at disk offset 0x%lx: expected 0x%016lx, got 0x%016lx\n",
			       bad[c].addr, bad[c].expected, bad[c].got);
			return false;
		}
	}
	return true;
}

static long run_getid(void *arg)
{
	const char *want = arg;
	char id[21] = { 0 };
	uint32_t used;

	if (blk_io(T_GET_ID, 0, (uint64_t)id, 20, &used) != S_OK)
		return fail("GET_ID failed");
	printf("blk: serial '%s'\n", id);
	return strcmp(id, want) ? fail("serial differs") : 1;
}

static long run_flush(void *arg)
{
	if (!(dev.features >> F_FLUSH & 1))
		return fail("no VIRTIO_BLK_F_FLUSH");
	return blk_io(T_FLUSH, 0, 0, 0, NULL) == S_OK ? 1 : fail("flush failed");
}

static bool mode_pattern(void)
{
	const char *serial = arg_str("serial", NULL);

	pt.chunk = arg_u64("chunk", 64) * 1024;
	pt.seed = arg_u64("seed", 1);
	pt.nreq = capacity * 512 / pt.chunk;
	if (!pt.chunk || pt.chunk % PAGE_SIZE || pool_pages / smp_ncpus < 2 * pt.chunk / PAGE_SIZE)
		return fail("bad chunk size");
	if (serial && !user_run(run_getid, (void *)serial))
		return false;
	if (!pattern_pass(false))
		return false;
	printf("blk: wrote %lu MiB in %lu requests from %u cpu(s) in random order\n",
	       pt.nreq * pt.chunk >> 20, pt.nreq, smp_ncpus);
	if (!user_run(run_flush, NULL))
		return false;
	printf("blk: flushed\n");
	if (!pattern_pass(true))
		return false;
	printf("blk: read back and verified %lu MiB\n", pt.nreq * pt.chunk >> 20);
	return true;
}

/* --- the small modes (ring 3, boot CPU) ---------------------------------- */

static bool all_bytes(uint64_t buf, uint64_t len, uint8_t v)
{
	for (uint64_t i = 0; i < len; i++)
		if (((volatile uint8_t *)buf)[i] != v)
			return false;
	return true;
}

static bool expect(const char *what, uint8_t got, uint8_t want)
{
	printf("blk: %s: status %u%s\n", what, got, got == want ? "" : " (wrong)");
	return got == want;
}

static long run_ro(void *arg)
{
	uint64_t buf = pool;

	printf("blk: VIRTIO_BLK_F_RO %s\n", dev.features >> F_RO & 1 ? "offered" : "absent");
	memset((void *)buf, 0x5a, PAGE_SIZE);
	return (dev.features >> F_RO & 1) &&
	       expect("read", blk_io(T_IN, 0, buf, PAGE_SIZE, NULL), S_OK) &&
	       expect("write refused", blk_io(T_OUT, 0, buf, PAGE_SIZE, NULL), S_IOERR);
}

static long run_wce(void *arg)
{
	volatile uint8_t *wb = (volatile uint8_t *)(dev.device + 32);
	uint64_t buf = pool;
	uint8_t v;

	if (!(dev.features >> F_WCE & 1) || !(dev.features >> F_FLUSH & 1))
		return fail("CONFIG_WCE and FLUSH not both negotiated");
	if ((v = *wb) != 1) {
		printf("blk: writeback %u with FLUSH negotiated, expected 1\n", v);
		return 0;
	}
	*wb = 0;
	if ((v = *wb) != 0) {
		printf("blk: writeback reads %u after the driver wrote 0\n", v);
		return 0;
	}
	printf("blk: write-back cache, then write-through at the driver's request\n");
	memset((void *)buf, 0xc3, PAGE_SIZE);
	if (!expect("write-through write", blk_io(T_OUT, 8, buf, PAGE_SIZE, NULL), S_OK))
		return 0;
	memset((void *)buf, 0, PAGE_SIZE);
	if (!expect("read back", blk_io(T_IN, 8, buf, PAGE_SIZE, NULL), S_OK) ||
	    !all_bytes(buf, PAGE_SIZE, 0xc3))
		return fail("the write-through write did not land");
	*wb = 1;
	if ((v = *wb) != 1) {
		printf("blk: writeback reads %u after the driver wrote 1\n", v);
		return 0;
	}
	printf("blk: back to write-back\n");
	return 1;
}

static bool zero_seg(uint32_t type, uint64_t sector, uint32_t n)
{
	uint64_t seg[2] = { sector, n };	/* le64 sector, le32 num_sectors, le32 flags 0 */

	return blk_io(type, 0, (uint64_t)seg, 16, NULL) == S_OK;
}

static long run_discard(void *arg)
{
	uint64_t buf = pool, len = 3 * MiB, s0 = 2048;	/* 1 MiB in */
	bool ok = true;

	if (!(dev.features >> F_DISCARD & 1) || !(dev.features >> F_WZ & 1))
		return fail("discard or write-zeroes not offered");
	for (uint64_t p = 0; p < len / PAGE_SIZE; p++)
		pattern_fill(buf + p * PAGE_SIZE, pattern_seed(p, 2, 7));
	ok = expect("write 3 MiB", blk_io(T_OUT, s0, buf, len, NULL), S_OK);
	memset((void *)buf, 0, len);
	ok = ok && expect("read back", blk_io(T_IN, s0, buf, len, NULL), S_OK);
	for (uint64_t p = 0; ok && p < len / PAGE_SIZE; p++)
		ok = pattern_check(buf + p * PAGE_SIZE, pattern_seed(p, 2, 7), &bad[0]);
	printf("blk: pattern %s\n", ok ? "verified" : "wrong");
	ok = ok && expect("discard the first MiB", zero_seg(T_DISCARD, s0, 2048) ? 0 : 1, 0);
	ok = ok && expect("write-zeroes the last MiB",
			  zero_seg(T_WZ, s0 + 4096, 2048) ? 0 : 1, 0);
	memset((void *)buf, 0xff, len);
	ok = ok && expect("read back", blk_io(T_IN, s0, buf, len, NULL), S_OK);
	if (!ok)
		return 0;
	printf("blk: discarded MiB reads as zeroes: %s\n", all_bytes(buf, MiB, 0) ? "yes" : "no");
	printf("blk: write-zeroes MiB reads as zeroes: %s\n",
	       all_bytes(buf + 2 * MiB, MiB, 0) ? "yes" : "no");
	for (uint64_t p = 256; p < 512; p++)
		if (!pattern_check(buf + p * PAGE_SIZE, pattern_seed(p, 2, 7), &bad[0]))
			return fail("the middle MiB changed");
	printf("blk: the middle MiB is intact\n");
	return all_bytes(buf, MiB, 0) && all_bytes(buf + 2 * MiB, MiB, 0);
}

static long run_ioerr(void *arg)
{
	uint64_t fault = arg_u64("fault", 4096), buf = pool;

	return expect("read before the bad sector", blk_io(T_IN, fault - 8, buf, 4096, NULL),
		      S_OK) &&
	       expect("read of the bad sector", blk_io(T_IN, fault, buf, 4096, NULL), S_IOERR) &&
	       expect("read after the error", blk_io(T_IN, 0, buf, 4096, NULL), S_OK);
}

/* The image's file system is full: write-zeroes of a hole fails, discard still works. */
static long run_full(void *arg)
{
	uint64_t buf = pool;

	return expect("write-zeroes on a full disk", zero_seg(T_WZ, 0, 2048) ? 0 : 1, 1) &&
	       expect("discard on a full disk", zero_seg(T_DISCARD, 0, 2048) ? 0 : 1, 0) &&
	       expect("read after", blk_io(T_IN, 0, buf, 4096, NULL), S_OK);
}

static long run_bounds(void *arg)
{
	uint64_t buf = pool;
	uint32_t used;
	bool ok;

	memset((void *)buf, 0xab, 2 * PAGE_SIZE);
	ok = expect("read of the last sector", blk_io(T_IN, capacity - 1, buf, 512, NULL), S_OK);
	memset((void *)buf, 0xab, 2 * PAGE_SIZE);
	ok = expect("read past the end", blk_io(T_IN, capacity - 1, buf, 1024, &used), S_IOERR) &&
	     ok;
	ok = expect("read of sector 2^63", blk_io(T_IN, 1ULL << 63, buf, 512, NULL), S_IOERR) &&
	     ok;
	ok = expect("partial sector", blk_io(T_IN, 0, buf, 100, NULL), S_IOERR) && ok;
	printf("blk: buffer untouched: %s\n", all_bytes(buf, 2 * PAGE_SIZE, 0xab) ? "yes" : "no");
	return ok && all_bytes(buf, 2 * PAGE_SIZE, 0xab);
}

/* Chains the driver core cannot build: raw descriptors on queue 0. */
static uint8_t raw_chain(const struct vq_seg *s, unsigned n, uint32_t *used)
{
	virtio_post(&dev, 0, s, n);
	if (!virtio_wait(&dev, 0, WAIT_MS))
		return fail("no completion"), 0xff;
	*used = used_len(0);
	return 0;
}

static long run_malformed(void *arg)
{
	struct req *r = &reqs[0][0];
	uint64_t buf = pool;
	uint32_t used;
	bool ok = true;

	/* No header: only a status byte. */
	r->status = NOSTATUS;
	raw_chain((struct vq_seg[]){ { (uint64_t)&r->status, 1, true } }, 1, &used);
	ok = expect("no header", r->status, S_IOERR) && ok;
	/* No status byte: header only (readable); nothing may be written. */
	r->type = T_IN;
	r->sector = 0;
	r->status = NOSTATUS;
	raw_chain((struct vq_seg[]){ { (uint64_t)r, 16, false } }, 1, &used);
	printf("blk: no status byte: used length %u, status byte %s\n", used,
	       r->status == NOSTATUS ? "untouched" : "written");
	ok = ok && used == 0 && r->status == NOSTATUS;
	/* IN with a device-readable data buffer: wrong direction. */
	memset((void *)buf, 0xab, PAGE_SIZE);
	r->type = T_IN;
	raw_chain((struct vq_seg[]){ { (uint64_t)r, 16, false }, { buf, 4096, false },
				     { (uint64_t)&r->status, 1, true } }, 3, &used);
	ok = expect("read into a device-readable buffer", r->status, S_IOERR) && ok;
	/* OUT with a device-writable data buffer: wrong direction. */
	r->type = T_OUT;
	raw_chain((struct vq_seg[]){ { (uint64_t)r, 16, false }, { buf, 4096, true },
				     { (uint64_t)&r->status, 1, true } }, 3, &used);
	ok = expect("write from a device-writable buffer", r->status, S_IOERR) && ok;
	printf("blk: buffer untouched: %s\n", all_bytes(buf, PAGE_SIZE, 0xab) ? "yes" : "no");
	ok = ok && all_bytes(buf, PAGE_SIZE, 0xab);
	/* Unknown type. */
	r->type = 99;
	raw_chain((struct vq_seg[]){ { (uint64_t)r, 16, false },
				     { (uint64_t)&r->status, 1, true } }, 2, &used);
	ok = expect("unknown request type", r->status, 2) && ok;
	printf("blk: device status after: 0x%x\n", virtio_status(&dev));
	ok = ok && expect("a good read after", blk_io(T_IN, 0, buf, 4096, NULL), S_OK) &&
	     !(virtio_status(&dev) & VIRTIO_S_NEEDS_RESET);
	/* A descriptor that chains to itself: the queue is broken, the device needs a reset. */
	{
		struct guest_vq *q = &dev.q[0];
		volatile uint64_t *desc = (volatile uint64_t *)(q->desc + 16ULL * q->desc_next);

		desc[0] = (uint64_t)r;
		desc[1] = 16 | (uint64_t)VQ_DESC_NEXT << 32 | (uint64_t)q->desc_next << 48;
		virtio_post_raw(&dev, 0, q->desc_next, 1);
	}
	for (unsigned i = 0; i < 2000 && !(virtio_status(&dev) & VIRTIO_S_NEEDS_RESET); i++)
		virtio_delay(1);
	printf("blk: descriptor loop: DEVICE_NEEDS_RESET %s\n",
	       virtio_status(&dev) & VIRTIO_S_NEEDS_RESET ? "set" : "not set");
	ok = ok && (virtio_status(&dev) & VIRTIO_S_NEEDS_RESET);
	/* After a reset the device works again. */
	ok = ok && bring_up();
	return ok && expect("a read after the reset", blk_io(T_IN, 0, buf, 4096, NULL), S_OK);
}

int main(void)
{
	const char *mode = arg_str("mode", "pattern");
	bool ok;

	if (!setup())
		return EXIT_FAIL;
	if (!strcmp(mode, "pattern"))
		ok = mode_pattern();
	else if (!strcmp(mode, "ro"))
		ok = user_run(run_ro, NULL);
	else if (!strcmp(mode, "discard"))
		ok = user_run(run_discard, NULL);
	else if (!strcmp(mode, "ioerr"))
		ok = user_run(run_ioerr, NULL);
	else if (!strcmp(mode, "full"))
		ok = user_run(run_full, NULL);
	else if (!strcmp(mode, "wce"))
		ok = user_run(run_wce, NULL);
	else if (!strcmp(mode, "bounds"))
		ok = user_run(run_bounds, NULL);
	else if (!strcmp(mode, "malformed"))
		ok = user_run(run_malformed, NULL);
	else if (!strcmp(mode, "bench"))
		ok = user_run(run_bench, NULL);
	else if (!strcmp(mode, "depth"))
		ok = user_run(run_depth, NULL);
	else
		ok = fail("unknown mode");
	printf("blk: %s\n", ok ? "pass" : "FAIL");
	return ok ? EXIT_PASS : EXIT_FAIL;
}
