// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench/store-io: how fast the swap store's I/O is, and what it leaves in
 * host memory, for each way of getting data out of the page cache.
 *
 *   store-io store DIR|PATH MIB   through the swap store itself, in each
 *                                 mode (VMM_SWAP_IO=direct, dontneed,
 *                                 cached): write MIB in batches of 64
 *                                 consecutive slots (the reclaim thread's
 *                                 pattern), read it back in runs of 64
 *                                 and then 4096 random single slots;
 *                                 MiB/s of each and the file's pages left
 *                                 in the page cache (mincore)
 *   store-io uring DIR MIB        raw O_DIRECT I/O of the batched shapes
 *                                 the store issues when slots are not
 *                                 consecutive: 64 pages written as 64
 *                                 scattered single-page runs, and 16
 *                                 scattered single-page reads, with one
 *                                 pwritev/pread per run against one
 *                                 io_uring submission of all of them
 *
 * One line per measurement: `store-io: what=... mode=... mib_s=... ...`,
 * parsed by bench/run. Timing only: nothing is asserted.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "pager/swap_store.h"
#include "pager/util.h"

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#define RUN 64

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Pages of @fd's first @bytes in the page cache. */
static uint64_t cached_pages(int fd, uint64_t bytes)
{
	uint64_t n = 0, pages = bytes / PAGE_SIZE;
	unsigned char *vec;
	void *m;

	if (!bytes)
		return 0;
	m = mmap(NULL, bytes, PROT_READ, MAP_SHARED, fd, 0);
	vec = malloc(pages);
	if (m == MAP_FAILED || !vec || mincore(m, bytes, vec)) {
		free(vec);
		return 0;
	}
	for (uint64_t i = 0; i < pages; i++)
		n += vec[i] & 1;
	munmap(m, bytes);
	free(vec);
	return n;
}

static int bench_store(const char *where, uint64_t mib)
{
	static const char *modes[] = { "direct", "dontneed", "cached" };
	uint64_t pages = mib * 256, nruns = pages / RUN;
	uint8_t *buf = aligned_alloc(PAGE_SIZE, RUN * PAGE_SIZE);
	uint64_t *slots = malloc(pages * sizeof(*slots)), pg[RUN];
	uint64_t *reused = malloc(pages / 2 * sizeof(*reused));
	struct stat s;
	bool dir = !stat(where, &s) && S_ISDIR(s.st_mode);

	if (!buf || !slots || !reused)
		return 1;
	for (unsigned m = 0; m < 3; m++) {
		struct swap_store st;
		double t0, tw, tr, tx;
		unsigned bad;

		setenv("VMM_SWAP_IO", modes[m], 1);
		if (dir ? swap_store_open(&st, where) : swap_store_open_path(&st, where))
			return 1;
		t0 = now_s();
		for (uint64_t r = 0; r < nruns; r++) {
			if (swap_slots_alloc(&st, slots + r * RUN, RUN) != RUN)
				return 1;
			for (unsigned k = 0; k < RUN; k++) {
				pg[k] = r * RUN + k;
				memset(buf + k * PAGE_SIZE, (int)(pg[k] | 1), PAGE_SIZE);
			}
			if (swap_write(&st, slots + r * RUN, pg, buf, RUN))
				return 1;
		}
		tw = now_s() - t0;
		printf("store-io: what=write mode=%s io=%s mib=%lu s=%.3f mib_s=%.0f cached_mib=%.1f\n",
		       modes[m], st.io == SWAP_IO_DIRECT ? "direct" : st.io == SWAP_IO_DONTNEED ?
		       "dontneed" : "cached", mib, tw, mib / tw,
		       cached_pages(st.fd, pages * PAGE_SIZE) / 256.0);
		t0 = now_s();
		for (uint64_t r = 0; r < nruns; r++) {
			for (unsigned k = 0; k < RUN; k++)
				pg[k] = r * RUN + k;
			if (swap_read_run(&st, slots[r * RUN], pg, RUN, buf, &bad))
				return 1;
		}
		tr = now_s() - t0;
		printf("store-io: what=read-runs mode=%s mib=%lu s=%.3f mib_s=%.0f cached_mib=%.1f\n",
		       modes[m], mib, tr, mib / tr, cached_pages(st.fd, pages * PAGE_SIZE) / 256.0);
		t0 = now_s();
		for (unsigned i = 0; i < 4096; i++) {
			uint64_t p = next_rand() % pages;

			if (swap_read(&st, slots[p], p, buf))
				return 1;
		}
		tx = now_s() - t0;
		printf("store-io: what=read-random mode=%s pages=4096 s=%.3f us_per_page=%.1f\n",
		       modes[m], tx, tx * 1e6 / 4096);
		/*
		 * Reused slots: free every other one, then write 64-page batches
		 * into them (64 single-slot runs each), with the store's io_uring
		 * batch and, for O_DIRECT, without it (pwritev run by run).
		 */
		for (unsigned ring = 0; ring < (m == 0 ? 2 : 1); ring++) {
			uint64_t half = pages / 2 / RUN * RUN;

			for (uint64_t p = 0; p < half; p++)
				swap_slot_free(&st, slots[2 * p]);
#ifdef HAVE_LIBURING
			if (ring && st.ring) {
				io_uring_queue_exit(st.ring);
				free(st.ring);
				st.ring = NULL;
			}
#endif
			t0 = now_s();
			for (uint64_t r = 0; r < half / RUN; r++) {
				uint64_t *sl = reused + r * RUN;	/* the freed ones: any RUN slots */

				if (swap_slots_alloc(&st, sl, RUN) != RUN)
					return 1;
				for (unsigned k = 0; k < RUN; k++)
					pg[k] = r * RUN + k;
				if (swap_write(&st, sl, pg, buf, RUN))
					return 1;
			}
			tx = now_s() - t0;
			printf("store-io: what=write-reused mode=%s batch=%s mib=%lu s=%.3f mib_s=%.0f\n",
			       modes[m], st.ring ? "io_uring" : "pwritev", half / 256, tx,
			       half / 256.0 / tx);
			/* Every slot is held once again, for the next round. */
			for (uint64_t p = 0; p < half; p++)
				slots[2 * p] = reused[p];
		}
		swap_store_close(&st);
	}
	free(buf);
	free(slots);
	free(reused);
	return 0;
}

#ifdef HAVE_LIBURING
/* Write (or read) the @n single pages at @offs: one syscall each, or one io_uring batch. */
static int scattered(int fd, struct io_uring *ring, uint8_t *buf, const uint64_t *offs,
		     unsigned n, bool write)
{
	if (!ring) {
		for (unsigned i = 0; i < n; i++) {
			ssize_t r = write ? pwrite(fd, buf + i * PAGE_SIZE, PAGE_SIZE, offs[i]) :
					    pread(fd, buf + i * PAGE_SIZE, PAGE_SIZE, offs[i]);

			if (r != PAGE_SIZE)
				return -1;
		}
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		if (write)
			io_uring_prep_write(sqe, fd, buf + i * PAGE_SIZE, PAGE_SIZE, offs[i]);
		else
			io_uring_prep_read(sqe, fd, buf + i * PAGE_SIZE, PAGE_SIZE, offs[i]);
	}
	if (io_uring_submit_and_wait(ring, n) != (int)n)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		struct io_uring_cqe *cqe;

		if (io_uring_wait_cqe(ring, &cqe) || cqe->res != PAGE_SIZE)
			return -1;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

static int bench_uring(const char *dir, uint64_t mib)
{
	uint64_t pages = mib * 256, offs[RUN];
	uint8_t *buf = aligned_alloc(PAGE_SIZE, RUN * PAGE_SIZE);
	struct io_uring ring;
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/vmm-store-io-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0 || !buf)
		return 1;
	unlink(path);
	close(fd);
	fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_EXCL, 0600);
	if (fd < 0) {
		fprintf(stderr, "store-io: %s: O_DIRECT: %s\n", path, strerror(errno));
		return 1;
	}
	unlink(path);
	memset(buf, 0x5a, RUN * PAGE_SIZE);
	if (fallocate(fd, 0, 0, pages * PAGE_SIZE) || io_uring_queue_init(RUN, &ring, 0))
		return 1;
	for (unsigned how = 0; how < 2; how++) {
		const char *name = how ? "io_uring" : "pwrite";
		unsigned iters = pages / RUN;
		double t0 = now_s(), t;

		for (unsigned it = 0; it < iters; it++) {
			for (unsigned i = 0; i < RUN; i++)
				offs[i] = (next_rand() % pages) * PAGE_SIZE;
			if (scattered(fd, how ? &ring : NULL, buf, offs, RUN, true))
				return 1;
		}
		t = now_s() - t0;
		printf("store-io: what=scattered-write-64 mode=%s pages=%u s=%.3f mib_s=%.0f\n",
		       name, iters * RUN, t, iters * RUN / 256.0 / t);
		t0 = now_s();
		for (unsigned it = 0; it < iters * 4; it++) {
			for (unsigned i = 0; i < 16; i++)
				offs[i] = (next_rand() % pages) * PAGE_SIZE;
			if (scattered(fd, how ? &ring : NULL, buf, offs, 16, false))
				return 1;
		}
		t = now_s() - t0;
		printf("store-io: what=scattered-read-16 mode=%s pages=%u s=%.3f mib_s=%.0f\n",
		       name, iters * 64, t, iters * 64 / 256.0 / t);
	}
	io_uring_queue_exit(&ring);
	close(fd);
	free(buf);
	return 0;
}
#endif

/* The store's notices (its I/O mode) would interleave with the table. */
static void errors_only(void *opaque, enum pager_log_level level, const char *msg)
{
	(void)opaque;
	if (level == PAGER_LOG_ERR)
		fprintf(stderr, "store-io: %s\n", msg);
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;

	pager_log_set(errors_only, NULL);
	if (argc == 4 && !strcmp(argv[1], "store") && mib)
		return bench_store(argv[2], mib);
	if (argc == 4 && !strcmp(argv[1], "uring") && mib) {
#ifdef HAVE_LIBURING
		return bench_uring(argv[2], mib);
#else
		printf("store-io: what=scattered-write-64 mode=io_uring skipped=no-liburing\n");
		return 0;
#endif
	}
	fprintf(stderr, "usage: store-io store DIR|PATH MIB | store-io uring DIR MIB\n");
	return 2;
}
