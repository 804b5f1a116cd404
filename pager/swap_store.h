/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_SWAP_STORE_H
#define VMM_SWAP_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/*
 * The swap store: one unnamed file (O_TMPFILE) in the swap directory, so
 * nothing is left behind however the process ends, divided into 4 KiB
 * slots. Each slot written records a checksum of its contents and of the
 * object page it holds; every read verifies it, so a page comes back
 * exactly as it went out or not at all.
 *
 * Fault injection (tests only): the environment variable VMM_SWAP_FAULTS,
 * a comma-separated list of KIND=N, makes the Nth operation of KIND and
 * every later one fail: write (EIO on pwrite), enospc (ENOSPC on slot
 * allocation past N slots), read (EIO on pread), corrupt (the Nth slot
 * written is altered on disk after its checksum is taken).
 */

#define SWAP_NO_SLOT UINT64_MAX

struct swap_store {
	int fd;
	char *dir;
	/*
	 * lock protects the allocator (free stack, next_fresh, in_use) and
	 * the checksum array's growth. Slot contents are written and read
	 * without it: a slot belongs to one page at a time, whose chunk lock
	 * the pager holds.
	 */
	pthread_mutex_t lock;
	uint64_t *free;			/* stack of freed slots */
	uint64_t nr_free, free_cap;
	uint64_t next_fresh;		/* slots below it were allocated once */
	uint64_t in_use;
	uint32_t *sums;			/* per slot: checksum of page + contents (low 32 bits) */
	uint64_t sums_cap;
	/* fault injection thresholds, 0 = off */
	uint64_t fail_write_at, fail_read_at, enospc_at, corrupt_at;
	atomic_uint_fast64_t writes, reads;
	atomic_uint_fast64_t bytes_written, bytes_read;
	atomic_uint_fast64_t write_errors, read_errors, checksum_errors;
};

/* Open the store in @dir. Returns 0, or -1 with a message printed. */
int swap_store_open(struct swap_store *st, const char *dir);
void swap_store_close(struct swap_store *st);

/*
 * Allocate up to @n slots into @slots, sorted ascending (fresh slots are
 * consecutive, so writes batch). Returns how many were allocated: fewer
 * than @n when the store is full (ENOSPC injected, or the file cannot grow).
 */
unsigned swap_slots_alloc(struct swap_store *st, uint64_t *slots, unsigned n);
void swap_slot_free(struct swap_store *st, uint64_t slot);

/*
 * Write @n pages from @buf to @slots (ascending, as allocated), tagging
 * each with its object page @pages[i]. Consecutive slots go out in one
 * pwritev. Returns 0, or -errno of the first failure (no slot is then
 * valid: the caller frees them all and keeps the pages resident).
 */
int swap_write(struct swap_store *st, const uint64_t *slots, const uint64_t *pages,
	       const void *buf, unsigned n);

/*
 * Read slot @slot, which must hold object page @page, into @buf (4 KiB)
 * and verify it. Returns 0, -EIO on a read error, -EBADMSG on a checksum
 * mismatch (including a slot holding another page).
 */
int swap_read(struct swap_store *st, uint64_t slot, uint64_t page, void *buf);

/*
 * Read @n consecutive slots from @slot, holding object pages @pages[0..n),
 * into @buf with one pread, and verify each. Returns 0, or the error of
 * swap_read with *@bad set to the index of the first page that failed.
 */
int swap_read_run(struct swap_store *st, uint64_t slot, const uint64_t *pages,
		  unsigned n, void *buf, unsigned *bad);

/*
 * The caller threw away a read that failed with @err (swap_read_run's) as
 * stale: it was made with no lock held and its slot may have been freed
 * and rewritten meanwhile. Its error is not the store's: the error
 * counters go back down. Nothing for @err 0.
 */
void swap_read_discarded(struct swap_store *st, int err);

/* The checksum used for slots: 64-bit hash of @page and the 4 KiB at @buf. */
uint64_t swap_checksum(uint64_t page, const void *buf);

#endif
