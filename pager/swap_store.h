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
 * What the store writes leaves host memory: the data goes to the file
 * with O_DIRECT (through a second descriptor, io_fd, opened on the same
 * file), so the page cache never holds it and --mem-resident bounds the
 * VMM's host memory, not only its RSS. Where the file system refuses
 * O_DIRECT (tmpfs), each write is written back (sync_file_range) and
 * dropped (POSIX_FADV_DONTNEED), and so is each read. bench/README.md
 * ("Swap store I/O") has the measurement behind the choice. The
 * environment variable VMM_SWAP_IO=direct|dontneed|cached overrides it
 * (cached: plain buffered I/O, for comparison only).
 *
 * The store also lives on a file the user names (swap_store_open_path):
 * a block device, used whole up to its size, or a regular file that is
 * new (created, and removed at close) or empty (truncated back to empty
 * at close); any other file is refused, never overwritten.
 *
 * Fault injection (tests only): the environment variable VMM_SWAP_FAULTS,
 * a comma-separated list of KIND=N, makes the Nth operation of KIND and
 * every later one fail: write (EIO on pwrite), enospc (ENOSPC on slot
 * allocation past N slots), read (EIO on pread), corrupt (the Nth slot
 * written is altered on disk after its checksum is taken).
 */

#define SWAP_NO_SLOT UINT64_MAX

/*
 * Slot metadata, in blocks of SWAP_BLOCK_SLOTS slots allocated on demand:
 * a block exists while one of its slots is allocated, so the store's
 * memory follows the slots in use, never the file's high-water mark, and
 * grows without copying (only the directory of block pointers, 8 bytes per
 * 16 MiB of slots, is reallocated). 4,096 slots: 16 KiB of checksums,
 * 512 bytes of allocation bitmap; 4.1 bytes per slot.
 */
#define SWAP_BLOCK_SHIFT	12
#define SWAP_BLOCK_SLOTS	(1u << SWAP_BLOCK_SHIFT)

struct swap_block {
	uint32_t sums[SWAP_BLOCK_SLOTS];	/* checksum of page + contents (low 32 bits); 0: free */
	uint64_t used[SWAP_BLOCK_SLOTS / 64];	/* bit per slot: allocated */
	uint64_t nr_used;
};

enum swap_io { SWAP_IO_DIRECT, SWAP_IO_DONTNEED, SWAP_IO_CACHED };

struct swap_store {
	int fd;
	char *dir;
	/* Set at open, read-only afterwards. */
	int io_fd;			/* data I/O: fd, or fd reopened O_DIRECT */
	enum swap_io io;
	uint64_t max_slots;		/* block device: its size in slots; 0 = grows */
	uint64_t cap_slots;		/* slots in use at most (a configured cap); 0 = none */
	char *path;			/* --swap-file, or NULL */
	bool created;			/* path is ours: unlink at close */
	/*
	 * ring_lock protects ring (an io_uring, O_DIRECT only): a write of
	 * non-consecutive runs goes out as one batch. Held across that I/O;
	 * only swap_write takes it, and nothing else waits for it.
	 */
	pthread_mutex_t ring_lock;
	void *ring;
	/*
	 * lock protects the allocator and the checksums: blocks, nr_blocks,
	 * nr_live, first_free, in_use and every block's contents. Slot
	 * contents (the file's) are written and read without it: a slot
	 * belongs to one page at a time, whose chunk lock the pager holds.
	 * Allocation takes the lowest free slot (fresh slots of an empty
	 * region of the file are consecutive, so writes batch).
	 */
	pthread_mutex_t lock;
	struct swap_block **blocks;	/* directory: block b holds slots b * 4096 .. */
	uint64_t nr_blocks;		/* entries of the directory (allocated) */
	uint64_t nr_live;		/* blocks allocated */
	uint64_t first_free;		/* every block below it is full */
	uint64_t in_use;
	/* fault injection thresholds, 0 = off */
	uint64_t fail_write_at, fail_read_at, enospc_at, corrupt_at;
	atomic_uint_fast64_t writes, reads;
	atomic_uint_fast64_t bytes_written, bytes_read;
	atomic_uint_fast64_t write_errors, read_errors, checksum_errors;
};

/* Open the store in @dir. Returns 0, or -1 with a message printed. */
int swap_store_open(struct swap_store *st, const char *dir);
/*
 * Open the store on @path: a block device, or a regular file that does
 * not exist yet or is empty. Returns 0, or -1 with a message printed
 * (naming the file and the reason) when @path is anything else.
 */
int swap_store_open_path(struct swap_store *st, const char *path);
void swap_store_close(struct swap_store *st);

/*
 * Allocate up to @n slots into @slots, sorted ascending (fresh slots are
 * consecutive, so writes batch). Returns how many were allocated: fewer
 * than @n when the store is full (ENOSPC injected, or the file cannot grow).
 */
unsigned swap_slots_alloc(struct swap_store *st, uint64_t *slots, unsigned n);
/* Free @slot: its checksum is forgotten (nothing verifies against it again). */
void swap_slot_free(struct swap_store *st, uint64_t slot);

/* Bytes of slot metadata (blocks and directory), exactly; takes the lock. */
uint64_t swap_store_metadata_bytes(struct swap_store *st);

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
