// SPDX-License-Identifier: GPL-2.0-only
/*
 * The benchmark guest: every timed loop runs in ring 3 on every CPU and
 * times itself with rdtsc (native in ring 3 on this host). The host passes
 * the TSC frequency (tsc_khz=, from /proc/cpuinfo) so results come out in
 * nanoseconds; bench/run cross-checks them against its own wall clock.
 *
 * mode=demand  the shape of KVM selftests' demand_paging_test. Pages of
 *              the free RAM are laid out as [other][region] (prep=swap:
 *              [region][other], so that the pager's clock, which starts
 *              at the lowest page, reaches the region first); each CPU
 *              owns a slice of `region` (and of `other`). An untimed preparation (prep=) puts
 *              the region in the state under test, then the timed phase
 *              touches every page of each CPU's slice once (one 8-byte
 *              write, or read with access=read), in address order
 *              (order=seq) or in a random permutation (order=rand),
 *              timing every touch for the latency histogram.
 *                prep=none   region never touched: first touch
 *                prep=swap   region written, then `other` pages read (fresh
 *                            zero pages) so that the pager pushes the
 *                            region out to its swap store; settle
 *                prep=minor  region written, then `other` pages written so
 *                            that the resident count crosses the pager's
 *                            high watermark once: its clock zaps every page
 *                            and evicts only cold `other` pages; settle
 * mode=sweep   all free RAM, each CPU its slice: pass 0 writes one word
 *              of every page, passes 1..passes read that word, check it
 *              and write a new one, in address or random order (new
 *              permutation each pass). Every pass is timed.
 *
 * mode=ws      a working set: free RAM laid out as [hot][cold] (hot= and
 *              cold= pages); every page written once (cold first), then
 *              `warm` untimed and `accesses` timed accesses on CPU 0, each
 *              a read-check-write of one word of a page chosen at random:
 *              from the hot set with probability hot_pct % (default 90),
 *              else from the cold set. Hot and cold accesses are timed
 *              and summed separately.
 *
 * Output (one line each, parsed by bench/run):
 *   bench-demand: cpus=C pages=N ns=T pps=P p50_ns=A p99_ns=B max_ns=M
 *   bench-demand-cpu: cpu=I pages=N ns=T pps=P
 *   bench-sweep: pass=K pages=N ns=T pps=P
 *   bench-ws: accesses=N hot=H cold=C hot_ns=A cold_ns=B ns=T hot_aps=R
 *   bench: pass
 * Arguments: mode, order, access, region, other (pages), prep, settle_ms,
 * passes, linger_ms (spin before exit, so the host can sample the
 * process), seed, tsc_khz.
 */
#include "pattern.h"
#include "runtime.h"

#define HIST_SUB	8	/* buckets per power of two of cycles */
#define HIST_BUCKETS	(64 * HIST_SUB)

static struct {
	bool rand, write, region_first;
	uint64_t region, other, seed, tsc_khz, pass;
	int op;
	uint64_t t0[MAX_CPUS], t1[MAX_CPUS], n[MAX_CPUS];
	uint32_t hist[MAX_CPUS][HIST_BUCKETS];
	uint64_t max[MAX_CPUS];
	uint64_t bad[MAX_CPUS];
} b;

enum { OP_TOUCH_TIMED, OP_WRITE_REGION, OP_READ_OTHER, OP_WRITE_OTHER, OP_SWEEP };

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) :: "memory");
	return (uint64_t)hi << 32 | lo;
}

static uint64_t cycles_to_ns(uint64_t c)
{
	return c * 1000000 / b.tsc_khz;
}

static unsigned int hist_bucket(uint64_t c)
{
	unsigned int log, sub;

	if (c < HIST_SUB)
		return c;
	log = 63 - __builtin_clzll(c);
	sub = (c >> (log - 3)) & (HIST_SUB - 1);
	return log * HIST_SUB + sub;
}

/* The lower bound of a bucket, in cycles (an underestimate by < 1/8). */
static uint64_t hist_value(unsigned int k)
{
	unsigned int log = k / HIST_SUB, sub = k % HIST_SUB;

	if (k < HIST_SUB)
		return k;
	return (1ULL << log) + ((uint64_t)sub << (log - 3));
}

static uint64_t hist_percentile(unsigned int q)
{
	uint64_t total = 0, seen = 0;

	for (unsigned int k = 0; k < HIST_BUCKETS; k++)
		for (unsigned int c = 0; c < smp_ncpus; c++)
			total += b.hist[c][k];
	for (unsigned int k = 0; k < HIST_BUCKETS; k++) {
		for (unsigned int c = 0; c < smp_ncpus; c++)
			seen += b.hist[c][k];
		if (total && seen * 100 >= total * q)
			return hist_value(k);
	}
	return 0;
}

/* Spin in ring 3 for ms milliseconds (the reclaim thread settles meanwhile). */
static long spin_worker(void *arg)
{
	uint64_t end = rdtsc() + (uint64_t)arg * b.tsc_khz;

	while (rdtsc() < end)
		asm volatile("pause");
	return 0;
}

/* Pages [first, first + count) of the free RAM, this CPU's slice. */
static void touch_range(unsigned int cpu, uint64_t first, uint64_t count)
{
	struct perm perm;
	uint64_t maxc = 0, sum = 0;

	if (!count)
		return;
	perm_init(&perm, count, mix64(b.seed ^ mix64(b.pass << 8 | b.op)) ^ cpu);
	b.t0[cpu] = rdtsc();
	for (uint64_t k = 0; k < count; k++) {
		uint64_t page = first + (b.rand ? perm_next(&perm) : k);
		volatile uint64_t *w = (volatile uint64_t *)mem_page_addr(page);
		uint64_t t, dt, v;

		switch (b.op) {
		case OP_TOUCH_TIMED:
			t = rdtsc();
			if (b.write)
				*w = page + 1;
			else
				sum += *w;
			dt = rdtsc() - t;
			b.hist[cpu][hist_bucket(dt)]++;
			if (dt > maxc)
				maxc = dt;
			break;
		case OP_WRITE_REGION:
		case OP_WRITE_OTHER:
			*w = mix64(page) | 1;
			break;
		case OP_READ_OTHER:
			sum += *w;
			break;
		case OP_SWEEP:
			v = *w;
			if (b.pass && v != mix64(page ^ (b.pass - 1)) + 1)
				b.bad[cpu]++;
			*w = mix64(page ^ b.pass) + 1;
			break;
		}
	}
	b.t1[cpu] = rdtsc();
	b.n[cpu] = count;
	b.max[cpu] = maxc;
	if (sum == 1)	/* keeps the reads */
		b.bad[cpu] += 0;
}

static long region_worker(void *arg)
{
	unsigned int cpu = cpu_id();
	uint64_t first, count;

	if (b.op == OP_READ_OTHER || b.op == OP_WRITE_OTHER) {
		slice_of(cpu, smp_ncpus, b.other, &first, &count);
		first += b.region_first ? b.region : 0;
	} else if (b.op == OP_SWEEP) {
		slice_of(cpu, smp_ncpus, mem_free_pages, &first, &count);
	} else {
		slice_of(cpu, smp_ncpus, b.region, &first, &count);
		first += b.region_first ? 0 : b.other;
	}
	touch_range(cpu, first, count);
	return 0;
}

static void run_op(int op)
{
	b.op = op;
	for (unsigned int c = 0; c < smp_ncpus; c++)
		b.n[c] = b.t0[c] = b.t1[c] = 0;
	smp_run(region_worker, NULL, NULL);
}

/* Overall: all pages over the span from the first start to the last end. */
static void report_span(uint64_t *pages, uint64_t *ns)
{
	uint64_t t0 = ~0ULL, t1 = 0;

	*pages = 0;
	for (unsigned int c = 0; c < smp_ncpus; c++) {
		if (!b.n[c])
			continue;
		*pages += b.n[c];
		t0 = MIN(t0, b.t0[c]);
		t1 = MAX(t1, b.t1[c]);
	}
	*ns = t1 > t0 ? cycles_to_ns(t1 - t0) : 1;
}

static int demand(void)
{
	const char *prep = arg_str("prep", "none");
	uint64_t settle = arg_u64("settle_ms", 300), pages, ns, maxc = 0;

	if (b.region + b.other > mem_free_pages) {
		printf("bench: region %lu + other %lu pages do not fit in %lu free pages\n",
		       b.region, b.other, mem_free_pages);
		return EXIT_FAIL;
	}
	if (!strcmp(prep, "swap")) {
		b.region_first = true;
		run_op(OP_WRITE_REGION);
		run_op(OP_READ_OTHER);
	} else if (!strcmp(prep, "minor")) {
		run_op(OP_WRITE_REGION);
		run_op(OP_WRITE_OTHER);
	} else if (strcmp(prep, "none")) {
		printf("bench: prep=%s: expected none, swap or minor\n", prep);
		return EXIT_FAIL;
	}
	if (strcmp(prep, "none"))
		smp_run(spin_worker, (void *)settle, NULL);
	printf("bench-phase: timed\n");
	run_op(OP_TOUCH_TIMED);
	printf("bench-phase: done\n");
	for (unsigned int c = 0; c < smp_ncpus; c++) {
		uint64_t t = cycles_to_ns(b.t1[c] - b.t0[c]);

		maxc = MAX(maxc, b.max[c]);
		printf("bench-demand-cpu: cpu=%u pages=%lu ns=%lu pps=%lu\n", c, b.n[c], t,
		       t ? b.n[c] * 1000000000 / t : 0);
	}
	report_span(&pages, &ns);
	printf("bench-demand: cpus=%u pages=%lu ns=%lu pps=%lu p50_ns=%lu p99_ns=%lu max_ns=%lu\n",
	       smp_ncpus, pages, ns, pages * 1000000000 / ns, cycles_to_ns(hist_percentile(50)),
	       cycles_to_ns(hist_percentile(99)), cycles_to_ns(maxc));
	return EXIT_PASS;
}

static int sweep(void)
{
	uint64_t passes = arg_u64("passes", 2), pages, ns, bad = 0;

	for (b.pass = 0; b.pass <= passes; b.pass++) {
		run_op(OP_SWEEP);
		report_span(&pages, &ns);
		printf("bench-sweep: pass=%lu pages=%lu ns=%lu pps=%lu\n", b.pass, pages, ns,
		       pages * 1000000000 / ns);
	}
	for (unsigned int c = 0; c < smp_ncpus; c++)
		bad += b.bad[c];
	if (bad) {
		printf("bench: %lu pages lost their contents\n", bad);
		return EXIT_FAIL;
	}
	return EXIT_PASS;
}

static struct {
	uint64_t hot, cold, warm, accesses, hot_pct;
	uint64_t n_hot, n_cold, c_hot, c_cold, c_all;
} ws;

static long ws_worker(void *arg)
{
	uint64_t n = (uint64_t)arg, seed = mix64(b.seed ^ 0x5753), bad = 0;
	uint64_t t_all = rdtsc();

	for (uint64_t k = 0; k < n; k++) {
		uint64_t r = mix64(seed + k), page, t, dt;
		bool hot = r % 100 < ws.hot_pct;
		volatile uint64_t *w;

		page = hot ? (r >> 8) % ws.hot : ws.hot + (r >> 8) % ws.cold;
		w = (volatile uint64_t *)mem_page_addr(page);
		t = rdtsc();
		if ((*w & 0xffffffff) != (mix64(page) & 0xffffffff))
			bad++;
		*w = (mix64(page) & 0xffffffff) | (k << 32);
		dt = rdtsc() - t;
		if (hot) {
			ws.n_hot++;
			ws.c_hot += dt;
		} else {
			ws.n_cold++;
			ws.c_cold += dt;
		}
	}
	ws.c_all = rdtsc() - t_all;
	b.bad[0] += bad;
	return 0;
}

static long ws_fill(void *arg)
{
	(void)arg;
	for (uint64_t i = 0; i < ws.hot + ws.cold; i++) {
		/* cold first, so the hot set is the most recently written */
		uint64_t page = i < ws.cold ? ws.hot + i : i - ws.cold;

		*(volatile uint64_t *)mem_page_addr(page) = mix64(page) & 0xffffffff;
	}
	return 0;
}

static int working_set(void)
{
	ws.hot = arg_u64("hot", 1024);
	ws.cold = arg_u64("cold", 4096);
	ws.warm = arg_u64("warm", 100000);
	ws.accesses = arg_u64("accesses", 100000);
	ws.hot_pct = arg_u64("hot_pct", 90);
	if (!ws.hot || !ws.cold || ws.hot + ws.cold > mem_free_pages || ws.hot_pct > 100) {
		printf("bench: hot %lu + cold %lu pages (both > 0) must fit in %lu free pages\n",
		       ws.hot, ws.cold, mem_free_pages);
		return EXIT_FAIL;
	}
	user_run(ws_fill, NULL);
	user_run(ws_worker, (void *)ws.warm);
	ws.n_hot = ws.n_cold = ws.c_hot = ws.c_cold = 0;
	b.seed = mix64(b.seed + 1);	/* the timed accesses are new ones */
	printf("bench-phase: timed\n");
	user_run(ws_worker, (void *)ws.accesses);
	printf("bench-ws: accesses=%lu hot=%lu cold=%lu hot_ns=%lu cold_ns=%lu ns=%lu hot_aps=%lu\n",
	       ws.accesses, ws.n_hot, ws.n_cold,
	       ws.n_hot ? cycles_to_ns(ws.c_hot) / ws.n_hot : 0,
	       ws.n_cold ? cycles_to_ns(ws.c_cold) / ws.n_cold : 0, cycles_to_ns(ws.c_all),
	       ws.c_hot ? ws.n_hot * 1000000000 / cycles_to_ns(ws.c_hot) : 0);
	if (b.bad[0]) {
		printf("bench: %lu pages lost their contents\n", b.bad[0]);
		return EXIT_FAIL;
	}
	return EXIT_PASS;
}

int main(void)
{
	const char *mode = arg_str("mode", "demand");
	uint64_t linger = arg_u64("linger_ms", 0);
	int ret;

	b.rand = !strcmp(arg_str("order", "seq"), "rand");
	b.write = strcmp(arg_str("access", "write"), "read");
	b.region = arg_u64("region", 4096);
	b.other = arg_u64("other", 0);
	b.seed = arg_u64("seed", 1);
	b.tsc_khz = arg_u64("tsc_khz", 0);
	if (!b.tsc_khz) {
		printf("bench: tsc_khz= is required\n");
		return EXIT_FAIL;
	}
	printf("bench: mode=%s cpus=%u ram=%lu MiB free_pages=%lu\n", mode, smp_ncpus,
	       mem_ram_size / MiB, mem_free_pages);
	if (!strcmp(mode, "demand"))
		ret = demand();
	else if (!strcmp(mode, "sweep"))
		ret = sweep();
	else if (!strcmp(mode, "ws"))
		ret = working_set();
	else {
		printf("bench: mode=%s: expected demand, sweep or ws\n", mode);
		return EXIT_FAIL;
	}
	if (linger)
		user_run(spin_worker, (void *)linger);
	if (ret == EXIT_PASS)
		printf("bench: pass\n");
	return ret;
}
