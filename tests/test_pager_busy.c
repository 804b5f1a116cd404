// SPDX-License-Identifier: GPL-2.0-only
/*
 * Busy pages (pager/busy.c): a fault's UFFDIO_* install and reclaim's swap
 * write run with no chunk lock held, only their own pages busy. A real
 * pager (memfd, userfaultfd, three fault threads, reclaim, swap file) over
 * 8 MiB held to 1 MiB; a test hook (pager_set_test_hook) holds one install,
 * or one swap write, until the test releases it. Meanwhile faults on other
 * pages of the same chunk must complete, and a fault on a busy page must
 * wait for it; afterwards every page holds what was written. Built plain
 * and with ThreadSanitizer. Threads never call Check; the main thread
 * asserts. Needs userfaultfd for kernel faults (root), not /dev/kvm.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pager/internal.h"

#define NPAGES		2048		/* 8 MiB */
#define LIMIT		(1u << 20)	/* 1 MiB: 256 pages */
#define WORDS		(4096 / 8)
#define WAIT_MS		60000		/* for what must happen (TSan is slow) */
#define QUIET_MS	300		/* for what must not happen meanwhile */

static uint8_t *base;
static atomic_uint fatal_calls;

/* The hook: holds the first call at `hk_at` (an install: covering hk_page) until released. */
static pthread_mutex_t hk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hk_cv = PTHREAD_COND_INITIALIZER;
static enum pager_test_point hk_at;
static uint64_t hk_page, hk_p;
static bool hk_armed, hk_released;
static atomic_bool hk_blocked;

static void hook(void *opaque, enum pager_test_point at, uint64_t p, unsigned n)
{
	(void)opaque;
	pthread_mutex_lock(&hk_lock);
	if (hk_armed && at == hk_at &&
	    (at == PAGER_TEST_SWAP_WRITE || (p <= hk_page && hk_page < p + n))) {
		hk_armed = false;
		hk_p = p;
		atomic_store(&hk_blocked, true);
		while (!hk_released)
			pthread_cond_wait(&hk_cv, &hk_lock);
	}
	pthread_mutex_unlock(&hk_lock);
}

static void hook_arm(enum pager_test_point at, uint64_t page)
{
	pthread_mutex_lock(&hk_lock);
	hk_at = at;
	hk_page = page;
	hk_armed = true;
	hk_released = false;
	atomic_store(&hk_blocked, false);
	pthread_mutex_unlock(&hk_lock);
}

static void hook_release(void)
{
	pthread_mutex_lock(&hk_lock);
	hk_released = true;
	hk_armed = false;
	pthread_cond_broadcast(&hk_cv);
	pthread_mutex_unlock(&hk_lock);
}

/* Poll @flag for up to @ms; true if it was set. */
static bool wait_flag(atomic_bool *flag, unsigned ms)
{
	struct timespec ts = { 0, 1000 * 1000 };

	for (unsigned i = 0; i < ms && !atomic_load(flag); i++)
		nanosleep(&ts, NULL);
	return atomic_load(flag);
}

static uint64_t pattern(uint64_t page, unsigned w)
{
	return (page << 40) ^ 0x5a5a0000ULL ^ (w * 0x9e3779b97f4a7c15ULL);
}

static void fill(uint64_t page)
{
	uint64_t *words = (uint64_t *)(base + page * 4096);

	for (unsigned w = 0; w < WORDS; w++)
		words[w] = pattern(page, w);
}

static bool holds(uint64_t page, bool filled)
{
	const uint64_t *words = (const uint64_t *)(base + page * 4096);

	for (unsigned w = 0; w < WORDS; w++)
		if (words[w] != (filled ? pattern(page, w) : 0))
			return false;
	return true;
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

static struct pager *start_pager(int *memfd)
{
	struct pager_config cfg = {
		.size = NPAGES * 4096ULL,
		.regions = { { .gpa = 0, .size = NPAGES * 4096ULL, .pgoff = 0 } },
		.nr_regions = 1,
		.limit = LIMIT,
		.overshoot = LIMIT,
		.swap_dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		.threads = 3,	/* one held by the hook, one waiting for a busy page, one free */
		.fatal = on_fatal,
		.log = quiet_log,
	};
	struct pager *pg;

	*memfd = memfd_create("test-pager-busy", MFD_CLOEXEC);
	ck_assert_int_ge(*memfd, 0);
	ck_assert_int_eq(ftruncate(*memfd, cfg.size), 0);
	base = mmap(NULL, cfg.size, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	madvise(base, cfg.size, MADV_NOHUGEPAGE);
	cfg.memfd = *memfd;
	cfg.base = base;
	pg = pager_create(&cfg);
	ck_assert_msg(pg, "pager_create failed (userfaultfd needs root here)");
	pager_set_test_hook(pg, hook, NULL);
	ck_assert_int_eq(pager_start(pg), 0);
	return pg;
}

static void stop_pager(struct pager *pg, int memfd)
{
	pager_stop(pg);
	pager_destroy(pg);
	munmap(base, NPAGES * 4096ULL);
	close(memfd);
}

/* A thread touching pages [first, first + n) (every @step-th, @skip excluded). */
struct toucher {
	uint64_t first, skip;
	unsigned n, step;
	bool write;		/* fill them; else read the first word */
	bool stop_on_block;	/* stop once the hook holds its call */
	atomic_uint_fast64_t upto;	/* pages before this one are done */
	atomic_bool done;
	pthread_t t;
};

static void *toucher_thread(void *arg)
{
	struct toucher *t = arg;

	for (uint64_t p = t->first; p < t->first + t->n; p += t->step) {
		if (t->stop_on_block && atomic_load(&hk_blocked))
			break;
		if (p != t->skip) {
			if (t->write)
				fill(p);
			else
				(void)*(volatile uint64_t *)(base + p * 4096);
		}
		atomic_store(&t->upto, p + 1);
	}
	atomic_store(&t->done, true);
	return NULL;
}

static void toucher_start(struct toucher *t, uint64_t first, unsigned n, unsigned step,
			  uint64_t skip, bool write)
{
	*t = (struct toucher){ .first = first, .n = n, .step = step, .skip = skip, .write = write };
	ck_assert_int_eq(pthread_create(&t->t, NULL, toucher_thread, t), 0);
}

/*
 * One fault's UFFDIO_ZEROPAGE of page P is held. Writes to every other page
 * of P's chunk (the sequential ones before it grow a batch that must be
 * clipped before P) complete meanwhile; a read of P waits for the install;
 * afterwards P reads zero and the others hold their patterns.
 */
START_TEST(test_faults_go_on_while_a_page_installs)
{
	const uint64_t chunk0 = 8 * CHUNK_PAGES, P = chunk0 + 10;
	struct toucher owner, others, same;
	struct pager *pg;
	int memfd;

	pg = start_pager(&memfd);
	hook_arm(PAGER_TEST_INSTALL, P);
	toucher_start(&owner, P, 1, 1, UINT64_MAX, false);
	ck_assert_msg(wait_flag(&hk_blocked, WAIT_MS), "the install of page P never reached the hook");

	toucher_start(&others, chunk0, CHUNK_PAGES, 1, P, true);
	toucher_start(&same, P, 1, 1, UINT64_MAX, false);
	ck_assert_msg(wait_flag(&others.done, WAIT_MS),
		      "faults on the chunk's other pages did not complete while page P installed");
	ck_assert_msg(!wait_flag(&same.done, QUIET_MS),
		      "a second fault on page P completed while its first install was held");
	ck_assert(!atomic_load(&owner.done));

	hook_release();
	pthread_join(owner.t, NULL);
	pthread_join(others.t, NULL);
	pthread_join(same.t, NULL);
	ck_assert_msg(holds(P, false), "page P does not read zero");
	for (uint64_t p = chunk0; p < chunk0 + CHUNK_PAGES; p++)
		if (p != P)
			ck_assert_msg(holds(p, true), "page %llu lost its contents",
				      (unsigned long long)p);
	stop_pager(pg, memfd);
	ck_assert_uint_eq(atomic_load(&fatal_calls), 0);
}
END_TEST

/*
 * One swap write of reclaim is held (its pages busy). A fault on an absent
 * page of the same chunk completes meanwhile; a read of the first page
 * being written waits for the write-back; afterwards every page written
 * holds its pattern (read back through swap).
 */
START_TEST(test_faults_go_on_while_a_chunk_is_written_back)
{
	struct toucher writer, other, victim;
	struct pager_status st;
	struct pager *pg;
	uint64_t v;
	int memfd;

	pg = start_pager(&memfd);
	hook_arm(PAGER_TEST_SWAP_WRITE, 0);
	/*
	 * Even pages only: every chunk keeps absent (odd) pages. The writer
	 * stops once the write-back is held, before it fills the overshoot too.
	 */
	writer = (struct toucher){ .first = 0, .n = NPAGES, .step = 2, .skip = UINT64_MAX,
				   .write = true, .stop_on_block = true };
	ck_assert_int_eq(pthread_create(&writer.t, NULL, toucher_thread, &writer), 0);
	ck_assert_msg(wait_flag(&hk_blocked, WAIT_MS), "reclaim never wrote to the swap store");
	pthread_mutex_lock(&hk_lock);
	v = hk_p;
	pthread_mutex_unlock(&hk_lock);
	ck_assert_uint_eq(v % 2, 0);
	/* Page v was filled (it is being written back); also for TSan: fill, then read. */
	while (atomic_load(&writer.upto) <= v)
		usleep(1000);

	toucher_start(&other, v + 1, 1, 1, UINT64_MAX, false);
	toucher_start(&victim, v, 1, 1, UINT64_MAX, false);
	ck_assert_msg(wait_flag(&other.done, WAIT_MS),
		      "a fault on page %llu did not complete while its chunk was written back",
		      (unsigned long long)(v + 1));
	ck_assert_msg(!wait_flag(&victim.done, QUIET_MS),
		      "a fault on page %llu completed while it was being written back",
		      (unsigned long long)v);

	hook_release();
	pthread_join(victim.t, NULL);
	pthread_join(other.t, NULL);
	pthread_join(writer.t, NULL);
	ck_assert_msg(holds(v + 1, false), "page %llu does not read zero", (unsigned long long)(v + 1));
	ck_assert_uint_gt(atomic_load(&writer.upto), v);
	for (uint64_t p = 0; p < atomic_load(&writer.upto); p += 2)
		ck_assert_msg(holds(p, true), "page %llu lost its contents", (unsigned long long)p);
	pager_get_status(pg, &st);
	stop_pager(pg, memfd);
	ck_assert_uint_eq(atomic_load(&fatal_calls), 0);
	ck_assert_uint_gt(st.pages_swapped_out, 0);
	ck_assert_uint_gt(st.pages_swapped_in, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pager_busy");
	TCase *tc = tcase_create("busy");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_faults_go_on_while_a_page_installs);
	tcase_add_test(tc, test_faults_go_on_while_a_chunk_is_written_back);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
