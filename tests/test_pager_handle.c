// SPDX-License-Identifier: GPL-2.0-only
/*
 * Concurrency tests of the consumer path (pager.h, "consumers") and, below,
 * of the vCPU fault path (test_vcpu_faults_retry_while_reclaim_evicts): a real
 * pager (memfd, userfaultfd, reclaim thread, swap file) over 8 MiB held to
 * 1 MiB. A "vCPU" thread writes and checks the even pages through the
 * mapping (its faults are served by the pager's fault thread); a VMM
 * thread writes and checks the odd pages through a handle and reads the
 * even ones, while reclaim evicts the same pages. Every page is filled with
 * a pattern of (page, generation), and every copy is checked in full: a
 * handle that copied a page while it was being punched or written out
 * would see zeroes or another generation. Built plain and with
 * ThreadSanitizer (a race fails the forked test with exit code 66).
 * Threads never call Check; they count failures and the main thread
 * asserts. Needs userfaultfd for kernel faults (root), not /dev/kvm.
 */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pager/pager.h"

#ifdef TEST_TSAN
#define ROUNDS 3
#else
#define ROUNDS 12
#endif

#define SWEEP_ROUNDS	12		/* of the vCPU fault test, also under TSan */
#define NPAGES		2048		/* 8 MiB */
#define LIMIT		(1u << 20)	/* 1 MiB: 256 pages */
#define WORDS		(4096 / 8)

static uint8_t *base;
static int memfd;
static atomic_uint gens[NPAGES];	/* generation last completed per page */
static atomic_uint bad_vcpu, bad_handle, bad_reads, fatal_calls;
static atomic_bool vcpu_done;

static uint64_t pattern(uint64_t page, uint64_t gen, unsigned w)
{
	return (page << 40) ^ (gen << 20) ^ (w * 0x9e3779b97f4a7c15ULL);
}

static void fill(uint64_t *words, uint64_t page, uint64_t gen)
{
	for (unsigned w = 0; w < WORDS; w++)
		words[w] = pattern(page, gen, w);
}

/* True if @words hold the pattern of @page at some generation (returned). */
static bool check_page(const uint64_t *words, uint64_t page, uint64_t *gen)
{
	uint64_t g = ((words[0] ^ (page << 40)) >> 20) & 0xfffff;

	for (unsigned w = 0; w < WORDS; w++)
		if (words[w] != pattern(page, g, w))
			return false;
	*gen = g;
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

/*
 * A page the other thread may be rewriting meanwhile: every word must be
 * the pattern of @page at a generation of at least @min (a copy may catch
 * the writer half-way through the page, never a word of another page, a
 * zeroed word, or a generation older than one already completed).
 */
static bool check_words(const uint64_t *words, uint64_t page, uint64_t min)
{
	for (unsigned w = 0; w < WORDS; w++) {
		uint64_t x = words[w] ^ (w * 0x9e3779b97f4a7c15ULL);

		if (x >> 40 != page || (x & 0xfffff) || ((x >> 20) & 0xfffff) < min)
			return false;
	}
	return true;
}

/* The vCPU: even pages through the mapping (userfaultfd faults). */
static void *vcpu_thread(void *arg)
{
	(void)arg;
	for (unsigned r = 1; r <= ROUNDS; r++) {
		for (uint64_t p = 0; p < NPAGES; p += 2) {
			uint64_t *words = (uint64_t *)(base + p * 4096), g;

			if (r > 1 && (!check_page(words, p, &g) || g != r - 1))
				atomic_fetch_add(&bad_vcpu, 1);
			fill(words, p, r);
			atomic_store(&gens[p], r);
		}
	}
	atomic_store(&vcpu_done, true);
	return NULL;
}

/* The VMM thread: odd pages through the handle, and reads of even pages. */
/* NPAGES of guest RAM held to LIMIT, with `threads` fault threads; memfd and base set by the caller. */
static struct pager_config test_config(unsigned threads)
{
	return (struct pager_config){
		.size = NPAGES * 4096ULL,
		.regions = { { .gpa = 0, .size = NPAGES * 4096ULL, .pgoff = 0 } },
		.nr_regions = 1,
		.limit = LIMIT,
		.overshoot = LIMIT,
		.swap_dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
		.threads = threads,
		.fatal = on_fatal,
		.log = quiet_log,
	};
}

static void *handle_thread(void *arg)
{
	struct pager_handle *h = arg;
	uint64_t words[WORDS], g;

	for (unsigned r = 1; r <= ROUNDS; r++) {
		for (uint64_t p = 1; p < NPAGES; p += 2) {
			if (r > 1) {
				bool read = pager_handle_read(h, p * 4096, words, sizeof(words));

				if (!read || !check_page(words, p, &g) || g != r - 1) {
					if (!atomic_fetch_add(&bad_handle, 1))
						fprintf(stderr, "page %llu round %u: %s (word 0 %#llx)\n",
							(unsigned long long)p, r,
							read ? "wrong contents" : "read refused",
							(unsigned long long)words[0]);
				}
			}
			fill(words, p, r);
			if (!pager_handle_write(h, p * 4096, words, sizeof(words)) &&
			    !atomic_fetch_add(&bad_handle, 1))
				fprintf(stderr, "page %llu round %u: write refused\n",
					(unsigned long long)p, r);
			/* An even page the vCPU finished: whole, and not older than that. */
			if (atomic_load(&gens[p - 1])) {
				unsigned seen = atomic_load(&gens[p - 1]);

				if (!pager_handle_read(h, (p - 1) * 4096, words, sizeof(words)) ||
				    !check_words(words, p - 1, seen))
					atomic_fetch_add(&bad_reads, 1);
			}
		}
	}
	return NULL;
}

START_TEST(test_handle_copies_while_reclaim_evicts)
{
	struct pager_config cfg = test_config(1);
	struct pager_status st;
	struct pager_handle *h;
	struct pager *pg;
	pthread_t vcpu, vmm;
	uint64_t words[WORDS], g;

	memfd = memfd_create("test-pager-handle", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, cfg.size), 0);
	base = mmap(NULL, cfg.size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	madvise(base, cfg.size, MADV_NOHUGEPAGE);
	cfg.memfd = memfd;
	cfg.base = base;
	pg = pager_create(&cfg);
	ck_assert_msg(pg, "pager_create failed (userfaultfd needs root here)");
	ck_assert_int_eq(pager_start(pg), 0);
	h = pager_handle_open(pg, "test");
	ck_assert_ptr_nonnull(h);

	ck_assert_int_eq(pthread_create(&vcpu, NULL, vcpu_thread, NULL), 0);
	ck_assert_int_eq(pthread_create(&vmm, NULL, handle_thread, h), 0);
	pthread_join(vcpu, NULL);
	pthread_join(vmm, NULL);

	/* After both: every page holds its last generation, read through the handle. */
	for (uint64_t p = 0; p < NPAGES; p++) {
		ck_assert_msg(pager_handle_read(h, p * 4096, words, sizeof(words)) &&
			      check_page(words, p, &g) && g == ROUNDS,
			      "page %llu does not hold generation %u", (unsigned long long)p, ROUNDS);
	}
	pager_get_status(pg, &st);
	pager_handle_close(h);
	pager_stop(pg);
	pager_destroy(pg);
	munmap(base, cfg.size);
	close(memfd);

	ck_assert_uint_eq(atomic_load(&bad_vcpu), 0);
	ck_assert_uint_eq(atomic_load(&bad_handle), 0);
	ck_assert_uint_eq(atomic_load(&bad_reads), 0);
	ck_assert_uint_eq(atomic_load(&fatal_calls), 0);
	/* Reclaim really ran under both, and the limit held. */
	ck_assert_uint_gt(st.pages_swapped_out, NPAGES);
	ck_assert_uint_gt(st.pages_swapped_in, NPAGES);
	ck_assert_uint_le(st.resident_peak_pages, st.resident_limit_pages + (LIMIT >> 12));
	fprintf(stderr, "handle test: %llu out, %llu in, %llu fault retries, peak %llu\n",
		(unsigned long long)st.pages_swapped_out, (unsigned long long)st.pages_swapped_in,
		(unsigned long long)st.fault_retries, (unsigned long long)st.resident_peak_pages);
}
END_TEST

/*
 * The vCPU fault path (pager/fault.c, fault_resolve): two "vCPU" threads
 * sweep the mapping, one the even pages and one the odd, so each fault's
 * batch (a window of up to 64 pages on a sequential run) covers pages the
 * other thread faults at the same time, while two fault threads serve them
 * and reclaim evicts the same pages. Swap reads run with the chunk lock
 * dropped; a batch whose pages changed or were invalidated meanwhile must
 * be retried, never installed from its stale buffer. Every page is checked
 * in full each round (its previous generation), and retries must happen.
 */
static unsigned sweep_from, sweep_to;	/* rounds of this batch of sweeps */

static void *sweep_thread(void *arg)
{
	uint64_t first = (uintptr_t)arg;

	for (unsigned r = sweep_from; r <= sweep_to; r++) {
		for (uint64_t p = first; p < NPAGES; p += 2) {
			uint64_t *words = (uint64_t *)(base + p * 4096), g;

			if (r > 1 && (!check_page(words, p, &g) || g != r - 1) &&
			    !atomic_fetch_add(&bad_vcpu, 1))
				fprintf(stderr, "page %llu round %u: wrong contents (word 0 %#llx)\n",
					(unsigned long long)p, r, (unsigned long long)words[0]);
			fill(words, p, r);
		}
	}
	return NULL;
}

START_TEST(test_vcpu_faults_retry_while_reclaim_evicts)
{
	struct pager_config cfg = test_config(2);
	struct pager_status st;
	struct pager *pg;
	pthread_t even, odd;
	uint64_t g;

	memfd = memfd_create("test-pager-vcpu", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, cfg.size), 0);
	base = mmap(NULL, cfg.size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	madvise(base, cfg.size, MADV_NOHUGEPAGE);
	cfg.memfd = memfd;
	cfg.base = base;
	pg = pager_create(&cfg);
	ck_assert_msg(pg, "pager_create failed (userfaultfd needs root here)");
	ck_assert_int_eq(pager_start(pg), 0);

	/* Batches of SWEEP_ROUNDS rounds, up to 4, until a retry was seen (the first, mostly). */
	for (unsigned b = 0; b < 4; b++) {
		sweep_from = b * SWEEP_ROUNDS + 1;
		sweep_to = (b + 1) * SWEEP_ROUNDS;
		ck_assert_int_eq(pthread_create(&even, NULL, sweep_thread, (void *)0), 0);
		ck_assert_int_eq(pthread_create(&odd, NULL, sweep_thread, (void *)1), 0);
		pthread_join(even, NULL);
		pthread_join(odd, NULL);
		pager_get_status(pg, &st);
		if (st.vcpu_fault_retries)
			break;
	}
	for (uint64_t p = 0; p < NPAGES; p++)
		ck_assert_msg(check_page((uint64_t *)(base + p * 4096), p, &g) && g == sweep_to,
			      "page %llu does not hold generation %u", (unsigned long long)p,
			      sweep_to);
	pager_stop(pg);
	pager_destroy(pg);
	munmap(base, cfg.size);
	close(memfd);

	fprintf(stderr, "vcpu test: %llu out, %llu in, %llu vCPU fault retries, peak %llu\n",
		(unsigned long long)st.pages_swapped_out, (unsigned long long)st.pages_swapped_in,
		(unsigned long long)st.vcpu_fault_retries, (unsigned long long)st.resident_peak_pages);
	ck_assert_uint_eq(atomic_load(&bad_vcpu), 0);
	ck_assert_uint_eq(atomic_load(&fatal_calls), 0);
	ck_assert_uint_gt(st.pages_swapped_out, NPAGES);
	ck_assert_uint_gt(st.pages_swapped_in, NPAGES);
	/* Swap reads ran unlocked and raced: some faults had to start again. */
	ck_assert_uint_gt(st.vcpu_fault_retries, 0);
	ck_assert_uint_le(st.resident_peak_pages, st.resident_limit_pages + (LIMIT >> 12));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pager_handle");
	TCase *tc = tcase_create("consumer");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_handle_copies_while_reclaim_evicts);
	tcase_add_test(tc, test_vcpu_faults_retry_while_reclaim_evicts);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
