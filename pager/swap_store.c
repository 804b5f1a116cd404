// SPDX-License-Identifier: GPL-2.0-only
#include "pager/swap_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pager/util.h"

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

int swap_store_open(struct swap_store *st, const char *dir)
{
	const char *faults = getenv("VMM_SWAP_FAULTS");

	memset(st, 0, sizeof(*st));
	pthread_mutex_init(&st->lock, NULL);
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
	if (faults && *faults) {
		st->fail_write_at = env_threshold(faults, "write");
		st->fail_read_at = env_threshold(faults, "read");
		st->enospc_at = env_threshold(faults, "enospc");
		st->corrupt_at = env_threshold(faults, "corrupt");
		pager_info("swap: fault injection armed (VMM_SWAP_FAULTS=%s)", faults);
	}
	return 0;
}

void swap_store_close(struct swap_store *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
	free(st->free);
	free(st->sums);
	free(st->dir);
	st->free = NULL;
	st->sums = NULL;
	st->dir = NULL;
}

/* lock held: make room for checksums up to @slot. */
static bool sums_reserve(struct swap_store *st, uint64_t slot)
{
	uint64_t cap = st->sums_cap ? st->sums_cap : 4096;
	uint32_t *p;

	if (slot < st->sums_cap)
		return true;
	/* Grow by a quarter: at most 25% of the checksums' memory unused. */
	while (cap <= slot)
		cap += cap / 4;
	p = realloc(st->sums, cap * sizeof(*p));
	if (!p)
		return false;
	st->sums = p;
	st->sums_cap = cap;
	return true;
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
		if (st->enospc_at && st->in_use >= st->enospc_at)
			break;
		if (st->nr_free) {
			slots[got++] = st->free[--st->nr_free];
		} else {
			if (!sums_reserve(st, st->next_fresh))
				break;
			slots[got++] = st->next_fresh++;
		}
		st->in_use++;
	}
	pthread_mutex_unlock(&st->lock);
	qsort(slots, got, sizeof(*slots), cmp_u64);
	return got;
}

void swap_slot_free(struct swap_store *st, uint64_t slot)
{
	pthread_mutex_lock(&st->lock);
	/* A freed slot's checksum is forgotten: nothing may verify against it. */
	if (slot < st->sums_cap)
		st->sums[slot] = 0;
	if (st->nr_free == st->free_cap) {
		uint64_t cap = st->free_cap ? st->free_cap * 2 : 1024;
		uint64_t *p = realloc(st->free, cap * sizeof(*p));

		if (!p) {
			/* Leak the slot rather than fail: it is only file space. */
			st->in_use--;
			pthread_mutex_unlock(&st->lock);
			return;
		}
		st->free = p;
		st->free_cap = cap;
	}
	st->free[st->nr_free++] = slot;
	st->in_use--;
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

	while (iov.iov_len) {
		ssize_t w = pwritev(st->fd, &iov, 1, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -ENOSPC;
		iov.iov_base = (uint8_t *)iov.iov_base + w;
		iov.iov_len -= w;
		off += w;
	}
	return 0;
}

int swap_write(struct swap_store *st, const uint64_t *slots, const uint64_t *pages,
	       const void *buf, unsigned n)
{
	const uint8_t *b = buf;
	unsigned i = 0;

	while (i < n) {
		unsigned run = 1;
		uint64_t nth = atomic_fetch_add(&st->writes, 1) + 1;
		int ret;

		while (i + run < n && slots[i + run] == slots[i] + run && run < SWAP_IOV_MAX)
			run++;
		if (st->fail_write_at && nth >= st->fail_write_at)
			ret = -EIO;
		else
			ret = write_run(st, slots[i], b + (uint64_t)i * PAGE_SIZE, run);
		if (ret) {
			atomic_fetch_add(&st->write_errors, 1);
			return ret;
		}
		for (unsigned k = 0; k < run; k++) {
			uint64_t sum = swap_checksum(pages[i + k], b + (uint64_t)(i + k) * PAGE_SIZE);

			pthread_mutex_lock(&st->lock);
			st->sums[slots[i + k]] = (uint32_t)sum;
			pthread_mutex_unlock(&st->lock);
			if (st->corrupt_at && nth >= st->corrupt_at) {
				uint8_t bad = b[(uint64_t)(i + k) * PAGE_SIZE + 100] ^ 0x40;

				(void)!pwrite(st->fd, &bad, 1, slots[i + k] * PAGE_SIZE + 100);
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
	while (done < len) {
		ssize_t r = pread(st->fd, (uint8_t *)buf + done, len - done, slot * PAGE_SIZE + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*bad = done / PAGE_SIZE;
			atomic_fetch_add(&st->read_errors, 1);
			return -EIO;
		}
		done += r;
	}
	atomic_fetch_add(&st->bytes_read, len);
	for (unsigned i = 0; i < n; i++) {
		uint32_t want;

		pthread_mutex_lock(&st->lock);
		want = slot + i < st->sums_cap ? st->sums[slot + i] : 0;
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
