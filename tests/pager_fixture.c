// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fixture of the pager's defect tests (tests/pager_fixture.h): a real
 * pager (memfd, userfaultfd, swap file) with no thread started, and the
 * wrappers (ld --wrap) through which the pager's madvise, fallocate and
 * ioctl calls reach the kernel, or fail where a test armed a failure.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pager/uffd_compat.h"
#include "tests/pager_fixture.h"

/* --- the kernel's answers, as the tests arm them (ld --wrap) --------------------- */

int __real_ioctl(int fd, unsigned long req, ...);
int __real_madvise(void *addr, size_t len, int advice);
int __real_fallocate(int fd, int mode, off_t off, off_t len);
int __wrap_ioctl(int fd, unsigned long req, ...);
int __wrap_madvise(void *addr, size_t len, int advice);
int __wrap_fallocate(int fd, int mode, off_t off, off_t len);

atomic_int fail_dontneed;	/* MADV_DONTNEED calls to fail with ENOMEM */
atomic_int fail_punch;		/* hole punches to fail with EIO */
atomic_int scan_max_pages;	/* PAGEMAP_SCAN: stop after so many pages (0: off) */
atomic_int scans_short;		/* PAGEMAP_SCAN walks that ended before the range */
atomic_int fail_scan;		/* PAGEMAP_SCAN calls to fail with ENOTTY (old kernel) */
atomic_int copies_partial;	/* UFFDIO_COPY answers: EAGAIN with bytes done */
atomic_int copies_eexist;	/* UFFDIO_COPY answers: EEXIST */

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;
	int ret;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (req == PAGEMAP_SCAN && atomic_load(&fail_scan) > 0) {
		atomic_fetch_sub(&fail_scan, 1);
		errno = ENOTTY;
		return -1;
	}
	if (req == PAGEMAP_SCAN && atomic_load(&scan_max_pages)) {
		/* The kernel itself stops the walk: a real short scan, walk_end set by it. */
		struct pm_scan_arg *a = arg;

		a->max_pages = atomic_load(&scan_max_pages);
		ret = __real_ioctl(fd, req, arg);
		if (ret >= 0 && a->walk_end < a->end)
			atomic_fetch_add(&scans_short, 1);
		return ret;
	}
	ret = __real_ioctl(fd, req, arg);
	if (req == UFFDIO_COPY && ret < 0) {
		const struct uffdio_copy *c = arg;
		int e = errno;

		if (e == EAGAIN && c->copy > 0)
			atomic_fetch_add(&copies_partial, 1);
		else if (e == EEXIST)
			atomic_fetch_add(&copies_eexist, 1);
		errno = e;
	}
	return ret;
}

int __wrap_madvise(void *addr, size_t len, int advice)
{
	if (advice == MADV_DONTNEED && atomic_load(&fail_dontneed) > 0) {
		atomic_fetch_sub(&fail_dontneed, 1);
		errno = ENOMEM;
		return -1;
	}
	return __real_madvise(addr, len, advice);
}

int __wrap_fallocate(int fd, int mode, off_t off, off_t len)
{
	if ((mode & FALLOC_FL_PUNCH_HOLE) && atomic_load(&fail_punch) > 0) {
		atomic_fetch_sub(&fail_punch, 1);
		errno = EIO;
		return -1;
	}
	return __real_fallocate(fd, mode, off, len);
}

/* --- a pager with no threads ------------------------------------------------------ */

int memfd = -1;
uint8_t *base;
struct pager *pg;
uint8_t *buf;		/* a fault's swap-in buffer */
atomic_uint fatal_calls;

uint64_t pattern(uint64_t page, uint64_t gen, unsigned w)
{
	return (page << 40) ^ (gen << 20) ^ (w * 0x9e3779b97f4a7c15ULL) ^ 1;
}

void fill(uint64_t *words, uint64_t page, uint64_t gen)
{
	for (unsigned w = 0; w < WORDS; w++)
		words[w] = pattern(page, gen, w);
}

static void on_fatal(void *opaque, enum pager_fatal why, const char *msg)
{
	(void)opaque;
	(void)why;
	(void)msg;
	atomic_fetch_add(&fatal_calls, 1);
}

static void quiet_log(void *opaque, enum pager_log_level level, const char *msg)
{
	(void)opaque;
	if (level == PAGER_LOG_ERR)
		fprintf(stderr, "pager: %s\n", msg);
}

/*
 * NPAGES of guest RAM held to @limit pages (overshoot @overshoot), pages
 * [from, to) written before the pager starts (generation 1: the loader's).
 */
void pager_up(uint64_t limit, uint64_t overshoot, uint64_t from, uint64_t to)
{
	struct pager_config cfg = {
		.size = NPAGES * PAGE_SIZE,
		.regions = { { .gpa = 0, .size = NPAGES * PAGE_SIZE, .pgoff = 0 } },
		.nr_regions = 1,
		.limit = limit * PAGE_SIZE,
		.overshoot = overshoot * PAGE_SIZE,
		.swap_dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		.threads = 0,
		.fatal = on_fatal,
		.log = quiet_log,
	};

	memfd = memfd_create("test-pager-defects", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, cfg.size), 0);
	base = mmap(NULL, cfg.size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	madvise(base, cfg.size, MADV_NOHUGEPAGE);
	for (uint64_t p = from; p < to; p++)
		fill((uint64_t *)(base + p * PAGE_SIZE), p, 1);
	cfg.memfd = memfd;
	cfg.base = base;
	pg = pager_create(&cfg);
	ck_assert_msg(pg, "pager_create failed (userfaultfd needs root here)");
	buf = aligned_alloc(PAGE_SIZE, CHUNK_PAGES * PAGE_SIZE);
	ck_assert_ptr_nonnull(buf);
}

void pager_down(void)
{
	atomic_store(&fail_dontneed, 0);
	atomic_store(&fail_punch, 0);
	atomic_store(&scan_max_pages, 0);
	atomic_store(&fail_scan, 0);
	pager_destroy(pg);
	pg = NULL;
	if (base)
		munmap(base, NPAGES * PAGE_SIZE);
	base = NULL;
	if (memfd >= 0)
		close(memfd);
	memfd = -1;
	free(buf);
	buf = NULL;
}

uint64_t resident_now(void)
{
	return atomic_load(&pg->resident);
}

page_state_t state_of(uint64_t p)
{
	page_state_t w;

	pthread_mutex_lock(chunk_lock(pg, p));
	w = pg->state[p];
	pthread_mutex_unlock(chunk_lock(pg, p));
	return w;
}

/* Pages whose state says resident: what the resident count must be, threads idle. */
uint64_t resident_states(void)
{
	uint64_t n = 0;

	for (uint64_t p = 0; p < NPAGES; p++)
		n += ps_state(state_of(p)) == PS_RESIDENT;
	return n;
}

/* Does object page @p hold generation @gen of its pattern (read through the memfd)? */
bool holds(uint64_t p, uint64_t gen)
{
	uint64_t words[WORDS];

	if (pread(memfd, words, sizeof(words), p * PAGE_SIZE) != (ssize_t)sizeof(words))
		return false;
	for (unsigned w = 0; w < WORDS; w++)
		if (words[w] != pattern(p, gen, w))
			return false;
	return true;
}

/* Put generation @gen of page @p's pattern into the memfd, beside the pager. */
void plant(uint64_t p, uint64_t gen)
{
	uint64_t words[WORDS];

	fill(words, p, gen);
	ck_assert_int_eq(pwrite(memfd, words, sizeof(words), p * PAGE_SIZE), sizeof(words));
}

/* Two clock steps over chunk @c: zap its resident pages, then evict them. */
void swap_out_chunk(uint64_t c)
{
	pager_clock_step(pg, c);
	pager_clock_step(pg, c);
}
