// SPDX-License-Identifier: GPL-2.0-only
/*
 * The pager's status: one structure of counters (pager_internal.h), written
 * as JSON with stable field names (README.md documents them) and as a
 * one-line summary at exit. Fault service times go into a log-linear
 * histogram: 4 buckets per power of two of nanoseconds.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
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

static int stats_format(struct pager *pg, char *buf, size_t len)
{
	struct pager_counters *c = &pg->c;
	struct swap_store *st = &pg->store;
	uint64_t in_use;

	pthread_mutex_lock(&st->lock);
	in_use = st->in_use;
	pthread_mutex_unlock(&st->lock);
	return snprintf(buf, len,
		"{\n"
		"  \"guest_pages\": %llu,\n"
		"  \"resident_limit_pages\": %llu,\n"
		"  \"resident_pages\": %llu,\n"
		"  \"resident_peak_pages\": %llu,\n"
		"  \"faults_missing\": %llu,\n"
		"  \"faults_minor\": %llu,\n"
		"  \"faults_wp\": %llu,\n"
		"  \"pages_zero_filled\": %llu,\n"
		"  \"pages_swapped_in\": %llu,\n"
		"  \"pages_continued\": %llu,\n"
		"  \"pages_swapped_out\": %llu,\n"
		"  \"clean_drops\": %llu,\n"
		"  \"zero_pages\": %llu,\n"
		"  \"pages_dirtied\": %llu,\n"
		"  \"pages_zapped\": %llu,\n"
		"  \"faults_throttled\": %llu,\n"
		"  \"swap_bytes_written\": %llu,\n"
		"  \"swap_bytes_read\": %llu,\n"
		"  \"swap_slots_in_use\": %llu,\n"
		"  \"swap_write_failures\": %llu,\n"
		"  \"swap_read_errors\": %llu,\n"
		"  \"swap_checksum_errors\": %llu,\n"
		"  \"fault_p50_ns\": %llu,\n"
		"  \"fault_p99_ns\": %llu,\n"
		"  \"elapsed_ms\": %llu\n"
		"}\n",
		(unsigned long long)pg->npages, LOAD(pg->limit),
		LOAD(pg->resident), LOAD(c->resident_peak),
		LOAD(c->faults_missing), LOAD(c->faults_minor), LOAD(c->faults_wp),
		LOAD(c->zero_fills), LOAD(c->swapped_in), LOAD(c->continued),
		LOAD(c->swapped_out), LOAD(c->clean_drops), LOAD(c->zero_drops),
		LOAD(c->dirtied), LOAD(c->zaps), LOAD(c->throttled),
		LOAD(st->bytes_written), LOAD(st->bytes_read), (unsigned long long)in_use,
		LOAD(c->write_failures), LOAD(st->read_errors), LOAD(st->checksum_errors),
		(unsigned long long)(hist_percentile(pg, 50) * 1000),
		(unsigned long long)(hist_percentile(pg, 99) * 1000),
		(unsigned long long)((pager_now_ns() - pg->start_ns) / 1000000));
}

void pager_stats_write(struct pager *pg)
{
	char buf[2048], *tmp = NULL;
	int n = stats_format(pg, buf, sizeof(buf));
	FILE *f;

	if (!pg->stats_file || !pg->limited)
		return;
	/* Write beside and rename, so a reader never sees half a file. */
	if (asprintf(&tmp, "%s.tmp", pg->stats_file) < 0)
		return;
	f = fopen(tmp, "w");
	if (f && fwrite(buf, 1, n, f) == (size_t)n && fclose(f) == 0) {
		f = NULL;
		if (rename(tmp, pg->stats_file) == 0)
			goto out;
	}
	if (f)
		fclose(f);
	unlink(tmp);
	/* Not a renameable path (/dev/stdout, a FIFO): write it in place. */
	f = fopen(pg->stats_file, "w");
	if (!f || fwrite(buf, 1, n, f) != (size_t)n) {
		static atomic_bool reported;

		if (!atomic_exchange(&reported, true))
			pager_err("--stats %s: %s", pg->stats_file, strerror(errno));
	}
	if (f)
		fclose(f);
out:
	free(tmp);
}

void pager_stats_summary(struct pager *pg)
{
	struct pager_counters *c = &pg->c;

	if (!pg->limited)
		return;
	pager_info("pager: resident peak %llu of %llu pages (limit %llu MiB, guest %llu MiB); "
		 "faults: %llu missing, %llu minor, %llu wp; pages: %llu swapped out, "
		 "%llu swapped in, %llu zero-filled, %llu zero dropped, %llu clean dropped; "
		 "swap: %.1f MiB written, %.1f MiB read; fault service p50 %.1f us, p99 %.1f us",
		 LOAD(c->resident_peak), LOAD(pg->limit),
		 LOAD(pg->limit) >> 8, (unsigned long long)(pg->npages >> 8),
		 LOAD(c->faults_missing), LOAD(c->faults_minor), LOAD(c->faults_wp),
		 LOAD(c->swapped_out), LOAD(c->swapped_in), LOAD(c->zero_fills),
		 LOAD(c->zero_drops), LOAD(c->clean_drops),
		 LOAD(pg->store.bytes_written) / 1048576.0, LOAD(pg->store.bytes_read) / 1048576.0,
		 hist_percentile(pg, 50), hist_percentile(pg, 99));
}
