// SPDX-License-Identifier: GPL-2.0-only
#include "pager/swap_store.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "config.h"
#include "pager/util.h"

#ifdef HAVE_LIBURING
#include <liburing.h>
#endif

#define SWAP_IOV_MAX 64

static uint64_t env_threshold(const char *spec, const char *kind)
{
	size_t klen = strlen(kind);

	for (const char *p = spec; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
		if (!strncmp(p, kind, klen) && p[klen] == '=')
			return strtoull(p + klen + 1, NULL, 10);
	}
	return 0;
}

/* --- getting data out of host memory ---------------------------------------------- */

/* O_DIRECT needs a 4 KiB-aligned buffer: callers' unaligned ones bounce. */
static bool needs_bounce(const struct swap_store *st, const void *buf)
{
	return st->io == SWAP_IO_DIRECT && ((uintptr_t)buf & (PAGE_SIZE - 1));
}

/* Data written or read through the page cache leaves it (SWAP_IO_DONTNEED). */
static void drop_cached(struct swap_store *st, off_t off, size_t len, bool written)
{
	if (st->io != SWAP_IO_DONTNEED)
		return;
	if (written)
		sync_file_range(st->io_fd, off, len, SYNC_FILE_RANGE_WAIT_BEFORE |
				SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
	posix_fadvise(st->io_fd, off, len, POSIX_FADV_DONTNEED);
}

/*
 * Choose how data leaves host memory (VMM_SWAP_IO, default O_DIRECT) and
 * open io_fd. O_DIRECT goes through a second open file description of the
 * same file, so st->fd stays a plain descriptor (the tests corrupt slots
 * through it; the kernel writes back and invalidates the page cache
 * around every direct I/O, so both views agree). @name is for messages.
 */
static int store_io_setup(struct swap_store *st, const char *name)
{
	const char *want = getenv("VMM_SWAP_IO");
	char proc[64];
	int bsz;

	st->io_fd = st->fd;
	st->io = SWAP_IO_DIRECT;
	if (want && !strcmp(want, "dontneed"))
		st->io = SWAP_IO_DONTNEED;
	else if (want && !strcmp(want, "cached"))
		st->io = SWAP_IO_CACHED;
	else if (want && *want && strcmp(want, "direct")) {
		pager_err("VMM_SWAP_IO=%s: expected direct, dontneed or cached", want);
		return -1;
	}
	if (st->io == SWAP_IO_DONTNEED)
		/* No readahead: it would fill the cache beyond what is dropped. */
		posix_fadvise(st->fd, 0, 0, POSIX_FADV_RANDOM);
	if (st->io != SWAP_IO_DIRECT)
		return 0;
	/* Slots are 4 KiB at 4 KiB offsets: fine for logical blocks up to 4 KiB. */
	if (ioctl(st->fd, BLKSSZGET, &bsz) == 0 && bsz > (int)PAGE_SIZE) {
		pager_err("%s: logical block size %d is larger than a 4 KiB slot", name, bsz);
		return -1;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", st->fd);
	st->io_fd = open(proc, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (st->io_fd < 0) {
		pager_info("swap: %s: no O_DIRECT here (%s): writing back and dropping "
			 "the page cache instead", name, strerror(errno));
		st->io_fd = st->fd;
		st->io = SWAP_IO_DONTNEED;
		/* No readahead: it would fill the cache beyond what is dropped. */
		posix_fadvise(st->fd, 0, 0, POSIX_FADV_RANDOM);
		return 0;
	}
#ifdef HAVE_LIBURING
	st->ring = malloc(sizeof(struct io_uring));
	if (st->ring && io_uring_queue_init(SWAP_IOV_MAX, st->ring, 0)) {
		free(st->ring);
		st->ring = NULL;	/* no io_uring here: one pwritev per run */
	}
#endif
	return 0;
}

/*
 * Write the @nruns runs (@slot0[r], @len[r] pages at @buf + @at[r] pages)
 * as one io_uring batch: O_DIRECT writes of scattered slots then go to the
 * device together instead of one after another. Returns 0, -errno, or
 * -ENOSYS when there is no ring (the caller writes run by run).
 */
static int write_batch(struct swap_store *st, const uint64_t *slot0, const unsigned *len,
		       const unsigned *at, unsigned nruns, const uint8_t *buf)
{
#ifdef HAVE_LIBURING
	struct io_uring *ring = st->ring;
	int ret = 0, done = 0;

	if (!ring || needs_bounce(st, buf))
		return -ENOSYS;
	pthread_mutex_lock(&st->ring_lock);
	for (unsigned r = 0; r < nruns; r++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		io_uring_prep_write(sqe, st->io_fd, buf + (uint64_t)at[r] * PAGE_SIZE,
				    len[r] * PAGE_SIZE, slot0[r] * PAGE_SIZE);
		io_uring_sqe_set_data64(sqe, r);
	}
	if (io_uring_submit(ring) != (int)nruns)
		ret = -EIO;
	/* Reap what was submitted, whatever happened: the ring is reused. */
	while (done < (int)nruns) {
		struct io_uring_cqe *cqe;
		int w = io_uring_wait_cqe(ring, &cqe);

		if (w == -EINTR)
			continue;
		if (w) {
			ret = w;
			break;
		}
		/* A short O_DIRECT write of whole blocks: the device is full. */
		if (cqe->res < 0 && !ret)
			ret = cqe->res;
		else if ((unsigned)cqe->res != len[cqe->user_data] * PAGE_SIZE && !ret)
			ret = -ENOSPC;
		io_uring_cqe_seen(ring, cqe);
		done++;
	}
	pthread_mutex_unlock(&st->ring_lock);
	return ret;
#else
	return -ENOSYS;
#endif
}

/* --- opening and closing ------------------------------------------------------------ */

static void store_init(struct swap_store *st)
{
	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->ring_lock, NULL);
	st->fd = st->io_fd = -1;
}

static void store_faults_arm(struct swap_store *st)
{
	const char *faults = getenv("VMM_SWAP_FAULTS");

	if (faults && *faults) {
		st->fail_write_at = env_threshold(faults, "write");
		st->fail_read_at = env_threshold(faults, "read");
		st->enospc_at = env_threshold(faults, "enospc");
		st->corrupt_at = env_threshold(faults, "corrupt");
		pager_info("swap: fault injection armed (VMM_SWAP_FAULTS=%s)", faults);
	}
}

int swap_store_open_path(struct swap_store *st, const char *path)
{
	struct stat s;
	uint64_t bytes;

	store_init(st);
	st->fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
	if (st->fd >= 0) {
		st->created = true;
	} else if (errno == EEXIST) {
		/* O_EXCL on a block device: EBUSY if mounted or held by anyone else. */
		st->fd = open(path, O_RDWR | O_CLOEXEC | O_EXCL);
	}
	if (st->fd < 0) {
		pager_err("--swap-file %s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(st->fd, &s) < 0) {
		pager_err("--swap-file %s: %s", path, strerror(errno));
		goto fail;
	}
	if (S_ISBLK(s.st_mode)) {
		if (ioctl(st->fd, BLKGETSIZE64, &bytes) < 0 || bytes < PAGE_SIZE) {
			pager_err("--swap-file %s: cannot use a block device of %llu bytes", path,
				(unsigned long long)bytes);
			goto fail;
		}
		st->max_slots = bytes / PAGE_SIZE;
	} else if (!S_ISREG(s.st_mode)) {
		pager_err("--swap-file %s: neither a block device nor a regular file", path);
		goto fail;
	} else if (!st->created && s.st_size) {
		pager_err("--swap-file %s: the file exists and is not empty (%llu bytes): "
			"refusing to overwrite it; name a new or empty file or a block device",
			path, (unsigned long long)s.st_size);
		goto fail;
	}
	if (store_io_setup(st, path))
		goto fail;
	/* Accepted: from now on close puts the file back (removed or emptied). */
	st->path = strdup(path);
	store_faults_arm(st);
	pager_info("swap: %s (%s%s)", path, S_ISBLK(s.st_mode) ? "block device" :
		 st->created ? "new file, removed at exit" : "empty file, emptied at exit",
		 st->io == SWAP_IO_DIRECT ? ", O_DIRECT" : "");
	return 0;
fail:
	if (st->created)
		unlink(path);
	swap_store_close(st);
	return -1;
}

int swap_store_open(struct swap_store *st, const char *dir)
{
	store_init(st);
	st->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (st->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE here: create a named file and unlink it at once. */
		char *path;

		if (asprintf(&path, "%s/vmm-swap-XXXXXX", dir) < 0)
			return -1;
		st->fd = mkostemp(path, O_CLOEXEC);
		if (st->fd >= 0)
			unlink(path);
		free(path);
	}
	if (st->fd < 0) {
		pager_err("--swap-dir %s: cannot create the swap file: %s", dir, strerror(errno));
		return -1;
	}
	st->dir = strdup(dir);
	if (store_io_setup(st, dir)) {
		swap_store_close(st);
		return -1;
	}
	store_faults_arm(st);
	return 0;
}

void swap_store_close(struct swap_store *st)
{
#ifdef HAVE_LIBURING
	if (st->ring)
		io_uring_queue_exit(st->ring);
#endif
	free(st->ring);
	st->ring = NULL;
	if (st->io_fd >= 0 && st->io_fd != st->fd)
		close(st->io_fd);
	st->io_fd = -1;
	/* A file the user named goes back to how we found it: absent or empty. */
	if (st->path && st->created)
		unlink(st->path);
	else if (st->path && st->fd >= 0 && !st->max_slots)
		(void)!ftruncate(st->fd, 0);
	free(st->path);
	st->path = NULL;
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	for (uint64_t b = 0; b < st->nr_blocks; b++)
		free(st->blocks[b]);
	free(st->blocks);
	free(st->dir);
	st->blocks = NULL;
	st->nr_blocks = st->nr_live = st->first_free = 0;
	st->dir = NULL;
}

/* --- slots and their checksums ------------------------------------------------------ */

/* lock held: the block of @slot, or NULL if none of its slots is allocated. */
static struct swap_block *slot_block(const struct swap_store *st, uint64_t slot)
{
	uint64_t b = slot >> SWAP_BLOCK_SHIFT;

	return b < st->nr_blocks ? st->blocks[b] : NULL;
}

/* lock held: the checksum recorded for @slot; 0 for a free slot. */
static uint32_t slot_sum(const struct swap_store *st, uint64_t slot)
{
	struct swap_block *blk = slot_block(st, slot);

	return blk ? blk->sums[slot & (SWAP_BLOCK_SLOTS - 1)] : 0;
}

/* lock held: room in the directory for block @b (doubling: 8 bytes per block). */
static bool blocks_reserve(struct swap_store *st, uint64_t b)
{
	uint64_t n = st->nr_blocks ? st->nr_blocks : 16;
	struct swap_block **p;

	if (b < st->nr_blocks)
		return true;
	while (n <= b)
		n *= 2;
	p = realloc(st->blocks, n * sizeof(*p));
	if (!p)
		return false;
	memset(p + st->nr_blocks, 0, (n - st->nr_blocks) * sizeof(*p));
	st->blocks = p;
	st->nr_blocks = n;
	return true;
}

/* lock held: the first clear bit of a block that is not full. */
static unsigned block_first_free(const struct swap_block *blk)
{
	for (unsigned w = 0; ; w++)
		if (~blk->used[w])
			return w * 64 + __builtin_ctzll(~blk->used[w]);
}

/*
 * lock held: allocate the lowest free slot, or SWAP_NO_SLOT when a block
 * device is full or memory for a block is lacking.
 */
static uint64_t slot_take(struct swap_store *st)
{
	uint64_t b = st->first_free, slot;
	struct swap_block *blk;
	unsigned i;

	for (;; b++) {
		if (st->max_slots && b << SWAP_BLOCK_SHIFT >= st->max_slots)
			return SWAP_NO_SLOT;
		blk = slot_block(st, b << SWAP_BLOCK_SHIFT);
		if (!blk || blk->nr_used < SWAP_BLOCK_SLOTS)
			break;
		st->first_free = b + 1;
	}
	i = blk ? block_first_free(blk) : 0;
	slot = (b << SWAP_BLOCK_SHIFT) + i;
	if (st->max_slots && slot >= st->max_slots)
		return SWAP_NO_SLOT;	/* the block device is full */
	if (!blk) {
		if (!blocks_reserve(st, b) || !(blk = calloc(1, sizeof(*blk))))
			return SWAP_NO_SLOT;
		st->blocks[b] = blk;
		st->nr_live++;
	}
	blk->used[i / 64] |= 1ULL << (i % 64);
	blk->nr_used++;
	st->first_free = b;
	return slot;
}

uint64_t swap_store_metadata_bytes(struct swap_store *st)
{
	uint64_t bytes;

	pthread_mutex_lock(&st->lock);
	bytes = st->nr_live * sizeof(struct swap_block) + st->nr_blocks * sizeof(*st->blocks);
	pthread_mutex_unlock(&st->lock);
	return bytes;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

unsigned swap_slots_alloc(struct swap_store *st, uint64_t *slots, unsigned n)
{
	unsigned got = 0;

	pthread_mutex_lock(&st->lock);
	while (got < n) {
		uint64_t slot;

		if (st->enospc_at && st->in_use >= st->enospc_at)
			break;
		if (st->cap_slots && st->in_use >= st->cap_slots)
			break;	/* the configured cap is reached: full as well */
		slot = slot_take(st);
		if (slot == SWAP_NO_SLOT)
			break;	/* a full block device, or no memory for a block */
		slots[got++] = slot;
		st->in_use++;
	}
	pthread_mutex_unlock(&st->lock);
	qsort(slots, got, sizeof(*slots), cmp_u64);
	return got;
}

void swap_slot_free(struct swap_store *st, uint64_t slot)
{
	uint64_t b = slot >> SWAP_BLOCK_SHIFT;
	unsigned i = slot & (SWAP_BLOCK_SLOTS - 1);
	struct swap_block *blk;

	pthread_mutex_lock(&st->lock);
	blk = slot_block(st, slot);
	assert(blk && (blk->used[i / 64] >> (i % 64) & 1));
	if (!blk || !(blk->used[i / 64] >> (i % 64) & 1)) {
		pthread_mutex_unlock(&st->lock);	/* not allocated: nothing to free */
		return;
	}
	/* A freed slot's checksum is forgotten: nothing may verify against it. */
	blk->sums[i] = 0;
	blk->used[i / 64] &= ~(1ULL << (i % 64));
	st->in_use--;
	if (b < st->first_free)
		st->first_free = b;
	if (!--blk->nr_used) {
		/* Its last slot: the block goes (all its checksums are 0). */
		free(blk);
		st->blocks[b] = NULL;
		st->nr_live--;
	}
	pthread_mutex_unlock(&st->lock);
}

uint64_t swap_checksum(uint64_t page, const void *buf)
{
	const uint64_t *w = buf;
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ (page * 0xff51afd7ed558ccdULL);

	for (unsigned i = 0; i < PAGE_SIZE / 8; i += 2) {
		h ^= w[i] * 0x87c37b91114253d5ULL;
		h = (h << 31 | h >> 33) * 0x4cf5ad432745937fULL;
		h ^= w[i + 1] + 0x52dce729ULL;
		h = (h << 27 | h >> 37) * 5 + 0x38495ab5ULL;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

static int write_run(struct swap_store *st, uint64_t slot, const uint8_t *buf, unsigned n)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = n * PAGE_SIZE };
	off_t off = slot * PAGE_SIZE;
	void *bounce = NULL;
	int ret = 0;

	if (needs_bounce(st, buf)) {
		bounce = aligned_alloc(PAGE_SIZE, iov.iov_len);
		if (!bounce)
			return -ENOMEM;
		iov.iov_base = memcpy(bounce, buf, iov.iov_len);
	}
	while (iov.iov_len) {
		ssize_t w = pwritev(st->io_fd, &iov, 1, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ret = w < 0 ? -errno : -ENOSPC;
			break;
		}
		iov.iov_base = (uint8_t *)iov.iov_base + w;
		iov.iov_len -= w;
		off += w;
	}
	free(bounce);
	if (!ret)
		drop_cached(st, slot * PAGE_SIZE, (size_t)n * PAGE_SIZE, true);
	return ret;
}

/* Read @len bytes at @off into @buf; 0 or -EIO (bytes read in *@done). */
static int read_run(struct swap_store *st, off_t off, uint8_t *buf, size_t len, size_t *done)
{
	uint8_t *dst = buf, *bounce = NULL;
	int ret = 0;

	*done = 0;
	if (needs_bounce(st, buf)) {
		bounce = aligned_alloc(PAGE_SIZE, len);
		if (!bounce)
			return -EIO;
		dst = bounce;
	}
	while (*done < len) {
		ssize_t r = pread(st->io_fd, dst + *done, len - *done, off + *done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			ret = -EIO;
			break;
		}
		*done += r;
	}
	if (bounce) {
		memcpy(buf, bounce, *done);
		free(bounce);
	}
	drop_cached(st, off, len, false);
	return ret;
}

/*
 * Scattered slots (more than one run) with a ring and no fault injection:
 * write every run in one io_uring batch. Returns 1 when the data is out,
 * 0 to write run by run, -errno on a failure.
 */
static int write_scattered(struct swap_store *st, const uint64_t *slots, const uint8_t *b,
			   unsigned n)
{
	uint64_t slot0[SWAP_IOV_MAX];
	unsigned len[SWAP_IOV_MAX], at[SWAP_IOV_MAX], nruns = 0;
	int ret;

	if (!st->ring || n < 2 || n > SWAP_IOV_MAX || st->fail_write_at || st->corrupt_at)
		return 0;
	for (unsigned i = 0; i < n; nruns++) {
		unsigned run = 1;

		while (i + run < n && slots[i + run] == slots[i] + run)
			run++;
		slot0[nruns] = slots[i];
		len[nruns] = run;
		at[nruns] = i;
		i += run;
	}
	if (nruns < 2)
		return 0;
	ret = write_batch(st, slot0, len, at, nruns, b);
	return ret == -ENOSYS ? 0 : ret ? ret : 1;
}

int swap_write(struct swap_store *st, const uint64_t *slots, const uint64_t *pages,
	       const void *buf, unsigned n)
{
	const uint8_t *b = buf;
	unsigned i = 0;
	int batched = write_scattered(st, slots, b, n);

	if (batched < 0) {
		atomic_fetch_add(&st->write_errors, 1);
		return batched;
	}
	while (i < n) {
		unsigned run = 1;
		uint64_t nth = atomic_fetch_add(&st->writes, 1) + 1;
		int ret;

		while (i + run < n && slots[i + run] == slots[i] + run && run < SWAP_IOV_MAX)
			run++;
		if (st->fail_write_at && nth >= st->fail_write_at)
			ret = -EIO;
		else
			ret = batched ? 0 : write_run(st, slots[i], b + (uint64_t)i * PAGE_SIZE, run);
		if (ret) {
			atomic_fetch_add(&st->write_errors, 1);
			return ret;
		}
		for (unsigned k = 0; k < run; k++) {
			uint64_t sum = swap_checksum(pages[i + k], b + (uint64_t)(i + k) * PAGE_SIZE);
			struct swap_block *blk;

			pthread_mutex_lock(&st->lock);
			blk = slot_block(st, slots[i + k]);
			assert(blk);	/* allocated, so its block exists */
			if (blk)
				blk->sums[slots[i + k] & (SWAP_BLOCK_SLOTS - 1)] = (uint32_t)sum;
			pthread_mutex_unlock(&st->lock);
			if (st->corrupt_at && nth >= st->corrupt_at) {
				/* Whole slot rewritten: O_DIRECT writes whole blocks. */
				uint8_t *bad = aligned_alloc(PAGE_SIZE, PAGE_SIZE);

				if (bad) {
					memcpy(bad, b + (uint64_t)(i + k) * PAGE_SIZE, PAGE_SIZE);
					bad[100] ^= 0x40;
					(void)write_run(st, slots[i + k], bad, 1);
					free(bad);
				}
			}
		}
		atomic_fetch_add(&st->bytes_written, run * PAGE_SIZE);
		i += run;
	}
	return 0;
}

int swap_read_run(struct swap_store *st, uint64_t slot, const uint64_t *pages,
		  unsigned n, void *buf, unsigned *bad)
{
	uint64_t nth = atomic_fetch_add(&st->reads, 1) + 1;
	size_t len = (size_t)n * PAGE_SIZE, done = 0;

	*bad = 0;
	if (st->fail_read_at && nth >= st->fail_read_at) {
		atomic_fetch_add(&st->read_errors, 1);
		return -EIO;
	}
	if (read_run(st, slot * PAGE_SIZE, buf, len, &done)) {
		*bad = done / PAGE_SIZE;
		atomic_fetch_add(&st->read_errors, 1);
		return -EIO;
	}
	atomic_fetch_add(&st->bytes_read, len);
	for (unsigned i = 0; i < n; i++) {
		uint32_t want;

		pthread_mutex_lock(&st->lock);
		want = slot_sum(st, slot + i);
		pthread_mutex_unlock(&st->lock);
		if ((uint32_t)swap_checksum(pages[i], (uint8_t *)buf + (size_t)i * PAGE_SIZE) != want) {
			*bad = i;
			atomic_fetch_add(&st->checksum_errors, 1);
			return -EBADMSG;
		}
	}
	return 0;
}

void swap_read_discarded(struct swap_store *st, int err)
{
	if (err == -EBADMSG)
		atomic_fetch_sub(&st->checksum_errors, 1);
	else if (err == -EIO)
		atomic_fetch_sub(&st->read_errors, 1);
}

int swap_read(struct swap_store *st, uint64_t slot, uint64_t page, void *buf)
{
	unsigned bad;

	return swap_read_run(st, slot, &page, 1, buf, &bad);
}
