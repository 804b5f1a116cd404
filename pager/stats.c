// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pager's status: one structure of counters (pager_internal.h), written
 * as JSON with stable field names (README.md documents them) and as a
 * one-line summary at exit. Fault service times go into a log-linear
 * histogram: 4 buckets per power of two of nanoseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pager/internal.h"
#include "pager/util.h"

static unsigned hist_bucket(uint64_t ns)
{
	unsigned log, sub;

	if (ns < 4)
		return ns;
	log = 63 - __builtin_clzll(ns);
	sub = (ns >> (log - 2)) & 3;
	return log * 4 + sub < HIST_BUCKETS ? log * 4 + sub : HIST_BUCKETS - 1;
}

/* The middle of a bucket's range, in ns. */
static uint64_t hist_value(unsigned b)
{
	unsigned log = b / 4, sub = b % 4;
	uint64_t lo;

	if (b < 4)
		return b;
	lo = (1ULL << log) + ((uint64_t)sub << (log - 2));
	return lo + (1ULL << (log - 2)) / 2;
}

void pager_hist_add(struct pager *pg, uint64_t ns)
{
	atomic_fetch_add_explicit(&pg->c.hist[hist_bucket(ns)], 1, memory_order_relaxed);
}

/* Percentile q (0..100) of fault service time, in µs. */
static double hist_percentile(struct pager *pg, double q)
{
	uint64_t total = 0, seen = 0, counts[HIST_BUCKETS];

	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		counts[b] = atomic_load_explicit(&pg->c.hist[b], memory_order_relaxed);
		total += counts[b];
	}
	if (!total)
		return 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += counts[b];
		if (seen * 100.0 >= q * total)
			return hist_value(b) / 1000.0;
	}
	return 0;
}

#define LOAD(x) ((unsigned long long)atomic_load(&(x)))

static uint64_t slots_in_use(struct pager *pg)
{
	struct swap_store *st = &pg->store;
	uint64_t in_use;

	if (!pg->limited)
		return 0;
	pthread_mutex_lock(&st->lock);
	in_use = st->in_use;
	pthread_mutex_unlock(&st->lock);
	return in_use;
}

static const char *pager_state_name(struct pager *pg)
{
	if (atomic_load(&pg->stopping))
		return "stopped";
	if (atomic_load(&pg->paused_full))
		return "paused-store-full";
	if (atomic_load(&pg->swapping_in))
		return "swapping-in";
	if (atomic_load(&pg->throttle_waiters))
		return "throttling";
	if (atomic_load(&pg->reclaiming))
		return "reclaiming";
	return "idle";
}

/* Retries of the VMM consumers' faults and accesses (all handles). */
uint64_t pager_vmm_retries(struct pager *pg)
{
	struct shadow_stats ss = { 0 };

	if (pg->vmm_shadow)
		shadow_get_stats(pg->vmm_shadow, &ss);
	return ss.fault_retries;
}

/* Retries of the vCPUs' (userfaultfd) faults. */
static uint64_t pager_vcpu_retries(struct pager *pg)
{
	struct shadow_stats ss = { 0 };

	if (pg->shadow)
		shadow_get_stats(pg->shadow, &ss);
	return ss.fault_retries;
}

/* Faults that retried because an invalidation overlapped them (--stats). */
uint64_t pager_fault_retries(struct pager *pg)
{
	return pager_vcpu_retries(pg) + pager_vmm_retries(pg);
}

void pager_get_status(struct pager *pg, struct pager_status *st)
{
	struct pager_counters *c = &pg->c;

	*st = (struct pager_status){
		.state = pager_state_name(pg),
		.guest_pages = pg->npages,
		.resident_limit_pages = atomic_load(&pg->limit),
		.resident_pages = atomic_load(&pg->resident),
		.resident_peak_pages = atomic_load(&c->resident_peak),
		.swapped_pages = atomic_load(&pg->swapped),
		.swap_slots_in_use = slots_in_use(pg),
		.faults_missing = atomic_load(&c->faults_missing),
		.faults_minor = atomic_load(&c->faults_minor),
		.fault_retries = pager_fault_retries(pg),
		.vcpu_fault_retries = pager_vcpu_retries(pg),
		.pages_swapped_in = atomic_load(&c->swapped_in),
		.pages_swapped_out = atomic_load(&c->swapped_out),
		.clean_drops = atomic_load(&c->clean_drops),
		.zero_pages = atomic_load(&c->zero_drops),
		.balloon_pages = atomic_load(&c->balloon_pages),
		.pages_reported_free = atomic_load(&c->reported_free),
		.swap_bytes_written = atomic_load(&pg->store.bytes_written),
		.swap_bytes_read = atomic_load(&pg->store.bytes_read),
		.fault_p50_ns = (uint64_t)(hist_percentile(pg, 50) * 1000),
		.fault_p99_ns = (uint64_t)(hist_percentile(pg, 99) * 1000),
		.elapsed_ms = (pager_now_ns() - pg->start_ns) / 1000000,
		.last_transition_pages = atomic_load(&pg->last_transition_pages),
		.last_transition_ms = atomic_load(&pg->last_transition_ms),
	};
}

/*
 * Per-page metadata, everything the pager keeps per guest page or per
 * swap slot, counted where it lives:
 *  state      the state words, 4 bytes per guest page (pager/page_state.h),
 *             counted whole although they are an anonymous mapping whose
 *             untouched pages cost no host memory;
 *  tables     both secondary tables (the vCPUs' and the VMM consumers'):
 *             roots, nodes and the chunks in use (shadow/shadow.h), so
 *             they grow with the memory the vCPUs and handles touched;
 *  checksums  the swap store's blocks of checksums and allocation bits and
 *             their directory (pager/swap_store.h): 4.1 bytes per slot in
 *             use, rounded up to blocks of 4,096 slots;
 *  locks      the chunk locks, one pthread_mutex_t per CHUNK_PAGES pages,
 *             and each chunk's busy mask and its futex word.
 * Not counted: buffers of a fixed size (fault, reclaim and handle
 * buffers), the start-up mincore vector (1 byte per page, freed before the
 * guest runs) and the allocator's own headers.
 */
struct pager_metadata {
	uint64_t state, tables, checksums, locks;
};

static uint64_t metadata_get(struct pager *pg, struct pager_metadata *m)
{
	struct shadow_stats ss = { 0 };

	*m = (struct pager_metadata){
		.state = pg->npages * sizeof(*pg->state),
		.locks = pg->nchunks * (sizeof(*pg->chunk_locks) + sizeof(*pg->busy) +
				 sizeof(*pg->busy_seq)),
	};
	if (pg->shadow) {
		shadow_get_stats(pg->shadow, &ss);
		m->tables += ss.table_bytes;
	}
	if (pg->vmm_shadow) {
		shadow_get_stats(pg->vmm_shadow, &ss);
		m->tables += ss.table_bytes;
	}
	if (pg->limited)
		m->checksums = swap_store_metadata_bytes(&pg->store);
	return m->state + m->tables + m->checksums + m->locks;
}

uint64_t pager_metadata_bytes(struct pager *pg)
{
	struct pager_metadata m;

	return metadata_get(pg, &m);
}

static int stats_format(struct pager *pg, char *buf, size_t len)
{
	struct pager_counters *c = &pg->c;
	struct swap_store *st = &pg->store;
	struct shadow_stats vs = { 0 };	/* the VMM consumers' secondary MMU */
	struct pager_metadata md;
	uint64_t md_total = metadata_get(pg, &md);
	struct pager_status s;

	pager_get_status(pg, &s);
	if (pg->vmm_shadow)
		shadow_get_stats(pg->vmm_shadow, &vs);
	return snprintf(buf, len,
		"{\n"
		"  \"state\": \"%s\",\n"
		"  \"guest_pages\": %llu,\n"
		"  \"resident_limit_pages\": %llu,\n"
		"  \"resident_pages\": %llu,\n"
		"  \"resident_peak_pages\": %llu,\n"
		"  \"resident_bound_pages\": %llu,\n"
		"  \"soft_limit_pages\": %llu,\n"
		"  \"swap_limit_pages\": %llu,\n"
		"  \"swapped_pages\": %llu,\n"
		"  \"faults_missing\": %llu,\n"
		"  \"faults_minor\": %llu,\n"
		"  \"faults_wp\": %llu,\n"
		"  \"fault_retries\": %llu,\n"
		"  \"pages_zero_filled\": %llu,\n"
		"  \"pages_swapped_in\": %llu,\n"
		"  \"pages_continued\": %llu,\n"
		"  \"pages_swapped_out\": %llu,\n"
		"  \"clean_drops\": %llu,\n"
		"  \"zero_pages\": %llu,\n"
		"  \"pages_dirtied\": %llu,\n"
		"  \"pages_zapped\": %llu,\n"
		"  \"pages_discarded\": %llu,\n"
		"  \"balloon_pages\": %llu,\n"
		"  \"pages_reported_free\": %llu,\n"
		"  \"faults_throttled\": %llu,\n"
		"  \"store_full_pauses\": %llu,\n"
		"  \"swap_bytes_written\": %llu,\n"
		"  \"swap_bytes_read\": %llu,\n"
		"  \"swap_pages_read_stale\": %llu,\n"
		"  \"swap_slots_in_use\": %llu,\n"
		"  \"swap_write_failures\": %llu,\n"
		"  \"swap_read_errors\": %llu,\n"
		"  \"swap_checksum_errors\": %llu,\n"
		"  \"vmm_mmu_accesses\": %llu,\n"
		"  \"vmm_mmu_faults\": %llu,\n"
		"  \"vmm_mmu_retries\": %llu,\n"
		"  \"vmm_mmu_zapped\": %llu,\n"
		"  \"metadata_bytes\": %llu,\n"
		"  \"metadata_state_bytes\": %llu,\n"
		"  \"metadata_table_bytes\": %llu,\n"
		"  \"metadata_checksum_bytes\": %llu,\n"
		"  \"metadata_lock_bytes\": %llu,\n"
		"  \"fault_p50_ns\": %llu,\n"
		"  \"fault_p99_ns\": %llu,\n"
		"  \"elapsed_ms\": %llu\n"
		"}\n",
		s.state, (unsigned long long)s.guest_pages,
		(unsigned long long)s.resident_limit_pages, (unsigned long long)s.resident_pages,
		(unsigned long long)s.resident_peak_pages,
		(unsigned long long)pager_resident_bound(pg),
		(unsigned long long)(pg->cfg.soft_limit >> PAGE_SHIFT),
		(unsigned long long)st->cap_slots, (unsigned long long)s.swapped_pages,
		LOAD(c->faults_missing), LOAD(c->faults_minor), LOAD(c->faults_wp),
		(unsigned long long)s.fault_retries,
		LOAD(c->zero_fills), LOAD(c->swapped_in), LOAD(c->continued),
		LOAD(c->swapped_out), LOAD(c->clean_drops), LOAD(c->zero_drops),
		LOAD(c->dirtied), LOAD(c->zaps), LOAD(c->discarded),
		(unsigned long long)s.balloon_pages, (unsigned long long)s.pages_reported_free,
		LOAD(c->throttled), LOAD(c->full_pauses),
		LOAD(st->bytes_written), LOAD(st->bytes_read), LOAD(c->stale_reads),
		(unsigned long long)s.swap_slots_in_use,
		LOAD(c->write_failures), LOAD(st->read_errors), LOAD(st->checksum_errors),
		LOAD(c->vmm_accesses), (unsigned long long)vs.faults,
		(unsigned long long)vs.fault_retries, (unsigned long long)vs.zapped,
		(unsigned long long)md_total, (unsigned long long)md.state,
		(unsigned long long)md.tables, (unsigned long long)md.checksums,
		(unsigned long long)md.locks,
		(unsigned long long)s.fault_p50_ns, (unsigned long long)s.fault_p99_ns,
		(unsigned long long)s.elapsed_ms);
}

/*
 * --stats FILE: may the pager write FILE? A missing path or a regular file
 * is replaced by rename (a reader never sees half a file); a symlink, a
 * character device (/dev/stdout) or a FIFO is written in place, never
 * replaced; anything else (a directory, a socket, a block device) is
 * refused. Returns 0, or -1 with a message.
 */
int pager_stats_check(const char *path)
{
	struct stat sb;

	if (lstat(path, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		pager_err("--stats %s: %s", path, strerror(errno));
		return -1;
	}
	if (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode) || S_ISCHR(sb.st_mode) ||
	    S_ISFIFO(sb.st_mode))
		return 0;
	pager_err("--stats %s: not a regular file, a character device or a FIFO; refusing to "
		  "write statistics there", path);
	return -1;
}

static void stats_report_once(struct pager *pg, const char *why)
{
	if (!atomic_exchange(&pg->reported_stats_error, true))
		pager_err("--stats %s: %s", pg->stats_file, why);
}

/* Write in place, never creating or replacing: FIFOs without a reader are skipped. */
static void stats_write_in_place(struct pager *pg, const char *buf, size_t n)
{
	int fd = open(pg->stats_file, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	struct stat sb;

	if (fd < 0) {
		if (errno != ENXIO)	/* a FIFO with no reader: try next time */
			stats_report_once(pg, strerror(errno));
		return;
	}
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && ftruncate(fd, 0) < 0)
		stats_report_once(pg, strerror(errno));
	if (write(fd, buf, n) != (ssize_t)n && errno != EAGAIN)
		stats_report_once(pg, strerror(errno));
	close(fd);
}

void pager_stats_write(struct pager *pg)
{
	char buf[4096], *tmp = NULL;
	int n = stats_format(pg, buf, sizeof(buf)), fd;
	struct stat sb;

	if (!pg->stats_file || !pg->limited)
		return;
	if (lstat(pg->stats_file, &sb) == 0 && !S_ISREG(sb.st_mode)) {
		stats_write_in_place(pg, buf, n);
		return;
	}
	/* A fresh file beside it, renamed over it: a reader never sees half a file. */
	if (asprintf(&tmp, "%s.XXXXXX", pg->stats_file) < 0)
		return;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		stats_report_once(pg, strerror(errno));
	} else {
		bool ok = write(fd, buf, n) == n;

		fchmod(fd, 0644);
		if (close(fd) == 0 && ok && rename(tmp, pg->stats_file) == 0)
			goto out;
		stats_report_once(pg, strerror(errno));
		unlink(tmp);
	}
out:
	free(tmp);
}

/* The summary at exit: a few labelled lines. */
void pager_stats_summary(struct pager *pg)
{
	struct pager_counters *c = &pg->c;
	struct pager_status s;

	if (!pg->limited)
		return;
	pager_get_status(pg, &s);
	pager_info("pager: resident  peak %llu of %llu pages (limit %llu MiB, guest %llu MiB)",
		   (unsigned long long)s.resident_peak_pages,
		   (unsigned long long)s.resident_limit_pages,
		   (unsigned long long)(s.resident_limit_pages >> 8),
		   (unsigned long long)(pg->npages >> 8));
	pager_info("pager: faults    %llu missing, %llu minor, %llu wp, %llu retried; "
		   "service p50 %.1f us, p99 %.1f us",
		   LOAD(c->faults_missing), LOAD(c->faults_minor), LOAD(c->faults_wp),
		   (unsigned long long)s.fault_retries, hist_percentile(pg, 50),
		   hist_percentile(pg, 99));
	pager_info("pager: pages     %llu swapped out, %llu swapped in, %llu zero-filled, "
		   "%llu zero dropped, %llu clean dropped",
		   LOAD(c->swapped_out), LOAD(c->swapped_in), LOAD(c->zero_fills),
		   LOAD(c->zero_drops), LOAD(c->clean_drops));
	pager_info("pager: swap      %.1f MiB written, %.1f MiB read",
		   LOAD(pg->store.bytes_written) / 1048576.0, LOAD(pg->store.bytes_read) / 1048576.0);
	{
		struct pager_metadata md;
		double total = metadata_get(pg, &md) / 1048576.0;

		pager_info("pager: metadata  %.2f MiB, %.2f MiB per GiB of guest RAM (state words "
			   "%.2f, secondary tables %.2f, checksums %.2f, chunk locks and busy masks %.2f MiB)",
			   total, pg->npages ? total * 262144.0 / pg->npages : 0,
			   md.state / 1048576.0, md.tables / 1048576.0,
			   md.checksums / 1048576.0, md.locks / 1048576.0);
	}
}
