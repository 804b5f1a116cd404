// SPDX-License-Identifier: GPL-2.0-only
/*
 * balloon: a ring-3 virtio-balloon driver over the modern PCI transport.
 *
 * It finds the device by a plain scan of bus 0, walks the virtio
 * capabilities, negotiates VERSION_1, EVENT_IDX and (unless told not to)
 * STATS_VQ, REPORTING and PAGE_POISON, computes the queue indices from
 * what was negotiated, then:
 *   - reports `mib` MiB of written memory free (2 MiB ranges, one chain)
 *     and checks that the device took their contents (they read as zero,
 *     or keep the poison value when one is set), reuses and verifies them;
 *   - inflates `inflate` written pages, checks their contents are gone,
 *     deflates them, reuses and verifies them;
 *   - optionally writes `keep` MiB on every CPU first and verifies them at
 *     the end (pages not given back never lose a byte);
 *   - with `hostile=CASE`, posts one malformed chain instead (loop, oob,
 *     overflow, index, head) and expects DEVICE_NEEDS_RESET, the other
 *     devices still answering, and the device working again after a reset.
 * Options: mib=N inflate=N keep=N stats=0|1 report=0|1 poison=V
 * target=PAGES (expected num_pages) pause_ms=N (hold after writing and
 * after reporting: tests/balloon-resident.sh measures then) scan, msix
 * (enable MSI-X with the inflate queue on vector 0, left masked: its
 * interrupts must show as pending in the PBA), pcicfg (read and write the
 * common and device configuration through the VIRTIO_PCI_CAP_PCI_CFG
 * window as well and compare with what MMIO reads; settings that reach
 * nothing change nothing), irq=intx|msix (take a real interrupt: INTx
 * through the IOAPIC pin the interrupt line register names, or MSI-X
 * vector 0, pending while masked and sent when unmasked; see irq_test).
 */
#include "lib/irq.h"
#include "lib/pattern.h"
#include "lib/virtio.h"
#include "runtime.h"

#define BALLOON_DEV_MODERN	0x1045
#define BALLOON_DEV_TRANS	0x1002
#define F_STATS_VQ		1
#define F_PAGE_POISON		4
#define F_REPORTING		5
#define QSIZE			64
#define REPORT_CHUNK		(2 * MiB)
#define WAIT_MS			5000

static struct virtio_dev dev;
static struct {
	uint64_t drv, rep, infl, keep, end;
	uint64_t mib, inflate, keep_mib, poison, target, pause_ms;
	bool stats, report, msix;
	uint64_t pba;
	const char *hostile, *irq;
	bool intx;
	unsigned irq_pin;
	unsigned q_inflate, q_deflate, q_stats, q_report;
} t;

static uint64_t buf_alloc(uint64_t size)
{
	uint64_t p = ALIGN_UP(dev.mem, 64);

	dev.mem = p + size;
	return p;
}

static bool fail(const char *what)
{
	printf("balloon: %s\n", what);
	return false;
}

static bool find_device(struct pci_func *f)
{
	struct pci_func all[64];
	unsigned n = pci_scan(all, 64);
	bool bridge = false;

	for (unsigned i = 0; i < n && i < 64; i++) {
		printf("# pci: %02x:%02x.%x %04x:%04x class %06x\n", all[i].bus, all[i].slot,
		       all[i].fn, all[i].vendor, all[i].device, all[i].class_code);
		if (all[i].slot == 0 && all[i].fn == 0 && all[i].class_code >> 8 == 0x0600)
			bridge = true;
	}
	printf("pci: host bridge at 00:00.0: %s\n", bridge ? "yes" : "no");
	if (!pci_find(VIRTIO_VENDOR, BALLOON_DEV_MODERN, BALLOON_DEV_TRANS, f))
		return fail("no virtio-balloon on bus 0");
	printf("pci: virtio-balloon found\n");
	printf("# pci: balloon BAR0 0x%lx BAR4 0x%lx, INTx line %u pin %u\n", pci_bar(f, 0),
	       pci_bar(f, 4), pci_read8(f, 0x3c), pci_read8(f, 0x3d));
	return true;
}

static bool setup(bool quiet)
{
	uint64_t want = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX;
	unsigned q = 0;

	if (t.stats)
		want |= 1ULL << F_STATS_VQ;
	if (t.report)
		want |= 1ULL << F_REPORTING;
	if (t.poison)
		want |= 1ULL << F_PAGE_POISON;
	dev.mem = t.drv;
	if (!virtio_negotiate(&dev, want))
		return fail("the device refused the features");
	if (!quiet)
		printf("virtio: negotiated version_1 %s%s%s%s\n",
		       dev.features >> VIRTIO_F_EVENT_IDX & 1 ? "event_idx " : "",
		       dev.features >> F_STATS_VQ & 1 ? "stats " : "",
		       dev.features >> F_REPORTING & 1 ? "reporting " : "",
		       dev.features >> F_PAGE_POISON & 1 ? "poison" : "");
	t.q_inflate = q++;
	t.q_deflate = q++;
	t.q_stats = dev.features >> F_STATS_VQ & 1 ? q++ : ~0u;
	t.q_report = dev.features >> F_REPORTING & 1 ? q++ : ~0u;
	for (unsigned i = 0; i < q; i++)
		if (!virtio_queue(&dev, i, QSIZE))
			return fail("a queue could not be set up");
	if (!quiet)
		printf("virtio: queues inflate %u deflate %u stats %d reporting %d\n", t.q_inflate,
		       t.q_deflate, (int)t.q_stats, (int)t.q_report);
	if (t.poison && (dev.features >> F_PAGE_POISON & 1))
		mmio_write32(dev.device + 12, (uint32_t)t.poison);
	virtio_driver_ok(&dev);
	if (!(virtio_status(&dev) & VIRTIO_S_DRIVER_OK))
		return fail("DRIVER_OK did not stick");
	if (t.q_stats != ~0u) {
		/* One statistics buffer, as Linux posts at probe: free and total memory. */
		uint8_t *s = (uint8_t *)buf_alloc(20);
		uint64_t v[2] = { mem_free_pages * PAGE_SIZE, mem_ram_size };
		struct vq_seg seg = { (uint64_t)s, 20, false };

		for (unsigned i = 0; i < 2; i++) {
			s[10 * i] = 4 + i;	/* VIRTIO_BALLOON_S_MEMFREE, S_MEMTOT */
			s[10 * i + 1] = 0;
			memcpy(s + 10 * i + 2, &v[i], 8);
		}
		virtio_post(&dev, t.q_stats, &seg, 1);
	}
	return true;
}

static bool write_pages(uint64_t addr, uint64_t pages, uint64_t gen)
{
	for (uint64_t p = 0; p < pages; p++)
		pattern_fill(addr + p * PAGE_SIZE, pattern_seed(addr + p * PAGE_SIZE, gen, 7));
	return true;
}

static bool check_pages(uint64_t addr, uint64_t pages, uint64_t gen, const char *what)
{
	struct mismatch bad;

	for (uint64_t p = 0; p < pages; p++) {
		uint64_t a = addr + p * PAGE_SIZE;
		bool ok = gen == ~0ULL ? zero_check(a, &bad) :
			  pattern_check(a, pattern_seed(a, gen, 7), &bad);

		if (!ok) {
			printf("balloon: %s: word at 0x%lx is 0x%lx, expected 0x%lx\n", what,
			       bad.addr, bad.got, bad.expected);
			return false;
		}
	}
	return true;
}

static bool check_byte(uint64_t addr, uint64_t len, uint8_t v)
{
	for (uint64_t i = 0; i < len; i += 61)
		if (((volatile uint8_t *)addr)[i] != v) {
			printf("balloon: byte at 0x%lx is 0x%x, expected the poison 0x%x\n", addr + i,
			       ((volatile uint8_t *)addr)[i], v);
			return false;
		}
	return true;
}

static void pause_for_measurement(const char *what)
{
	if (!t.pause_ms)
		return;
	printf("# balloon: %s; holding %lu ms\n", what, t.pause_ms);
	virtio_delay(t.pause_ms);
}

static bool report(void)
{
	struct vq_seg segs[32];
	uint64_t chunks = t.mib * MiB / REPORT_CHUNK, pages = t.mib * MiB / PAGE_SIZE;
	bool poisoned = t.poison && (dev.features >> F_PAGE_POISON & 1);
	uint8_t isr;

	if (t.q_report == ~0u) {
		printf("report: not negotiated\n");
		return true;
	}
	if (poisoned)
		memset((void *)t.rep, (int)t.poison, t.mib * MiB);
	else
		write_pages(t.rep, pages, 1);
	pause_for_measurement("report region written");
	for (uint64_t c = 0; c < chunks; c += 32) {
		unsigned n = chunks - c < 32 ? chunks - c : 32;

		for (unsigned i = 0; i < n; i++)
			segs[i] = (struct vq_seg){ t.rep + (c + i) * REPORT_CHUNK, REPORT_CHUNK, true };
		virtio_post(&dev, t.q_report, segs, n);
		if (!virtio_wait(&dev, t.q_report, WAIT_MS))
			return fail("report: the device never returned the report");
	}
	isr = virtio_read_isr(&dev);
	/* With MSI-X on, the ISR byte is not the interrupt path (QEMU still sets it). */
	printf("%sreport: %lu MiB in %lu ranges returned; ISR queue bit %u\n", t.msix ? "# " : "",
	       t.mib, chunks, isr & 1);
	pause_for_measurement("report region reported");
	if (poisoned) {
		if (!check_byte(t.rep, t.mib * MiB, (uint8_t)t.poison))
			return false;
		printf("report: reported pages kept the poison value\n");
	} else {
		if (!check_pages(t.rep, pages, ~0ULL, "report: a reported page kept its data"))
			return false;
		printf("report: reported pages read as zero\n");
	}
	write_pages(t.rep, pages, 2);
	if (!check_pages(t.rep, pages, 2, "report: reuse"))
		return false;
	printf("report: reused and verified\n");
	return true;
}

/* Put `pages` PFNs from addr on queue q, 256 per request. */
static bool pfns(unsigned q, uint64_t addr, uint64_t pages)
{
	uint32_t *list = (uint32_t *)buf_alloc(256 * 4);

	for (uint64_t p = 0; p < pages; p += 256) {
		unsigned n = pages - p < 256 ? pages - p : 256;
		struct vq_seg seg = { (uint64_t)list, n * 4, false };

		for (unsigned i = 0; i < n; i++)
			list[i] = (addr + (p + i) * PAGE_SIZE) >> 12;
		virtio_post(&dev, q, &seg, 1);
		if (!virtio_wait(&dev, q, WAIT_MS))
			return fail("the device never returned a page-frame list");
	}
	dev.mem -= 256 * 4;
	return true;
}

/*
 * Enable MSI-X with every vector masked (the state after reset) and put the
 * inflate queue on vector 0; a completion then sets PBA bit 0 instead of
 * interrupting.
 */
static bool msix_enable(const struct pci_func *f)
{
	unsigned cap = pci_next_cap(f, 0x11, 0);
	uint32_t pba;

	if (!cap)
		return fail("msix: no MSI-X capability");
	pba = pci_read32(f, cap + 8);
	t.pba = pci_bar(f, pba & 7) + (pba & ~7u);
	pci_write16(f, cap + 2, pci_read16(f, cap + 2) | 0x8000);
	dev.vector[0] = 0;
	printf("msix: enabled, %u vectors\n", (pci_read16(f, cap + 2) & 0x7ff) + 1);
	return true;
}

static bool inflate_deflate(void)
{
	uint32_t target = mmio_read32(dev.device);

	printf("# balloon: target %u pages\n", target);
	if (t.target != ~0ULL) {
		if (target != t.target) {
			printf("balloon: target %u pages, expected %lu\n", target, t.target);
			return false;
		}
		printf("balloon: target %u pages as configured\n", target);
	}
	if (!t.inflate)
		return true;
	write_pages(t.infl, t.inflate, 3);
	if (!pfns(t.q_inflate, t.infl, t.inflate))
		return false;
	mmio_write32(dev.device + 4, t.inflate);	/* actual */
	if (t.msix) {
		if (!(mmio_read32(t.pba) & 1))
			return fail("msix: the masked vector 0 is not pending after inflation");
		printf("msix: masked vector 0 pending after inflation\n");
	}
	if (!check_pages(t.infl, t.inflate, ~0ULL, "inflate: an inflated page kept its data"))
		return false;
	printf("inflate: %lu pages inflated, contents gone\n", t.inflate);
	if (!pfns(t.q_deflate, t.infl, t.inflate))
		return false;
	mmio_write32(dev.device + 4, 0);
	write_pages(t.infl, t.inflate, 4);
	if (!check_pages(t.infl, t.inflate, 4, "deflate: reuse"))
		return false;
	printf("deflate: %lu pages back, reused and verified\n", t.inflate);
	return true;
}

/* The PCI_CFG window reaches what MMIO reaches: see the header. */
static bool pcicfg_check(const struct pci_func *f)
{
	unsigned cap = virtio_pcicfg_cap(f);
	uint32_t coff, doff, a, b, nq;
	uint8_t cbar, dbar;

	if (!cap)
		return fail("pcicfg: no VIRTIO_PCI_CAP_PCI_CFG capability");
	if (!virtio_cap_location(f, 1, &cbar, &coff) || !virtio_cap_location(f, 4, &dbar, &doff))
		return fail("pcicfg: no common or device configuration capability");
	/* device_feature_select written through the window, device_feature[1] by both. */
	virtio_pcicfg_write(f, cap, cbar, coff + 0x00, 4, 1);
	a = mmio_read32(dev.common + 0x04);
	b = virtio_pcicfg_read(f, cap, cbar, coff + 0x04, 4);
	if (!(a & 1) || a != b) {
		printf("pcicfg: device_feature[1] 0x%x by MMIO, 0x%x through the window\n", a, b);
		return false;
	}
	nq = mmio_read16(dev.common + 0x12);
	b = virtio_pcicfg_read(f, cap, cbar, coff + 0x12, 2);
	if (!nq || nq != b) {
		printf("pcicfg: num_queues %u by MMIO, %u through the window\n", nq, b);
		return false;
	}
	a = mmio_read8(dev.common + 0x14);
	b = virtio_pcicfg_read(f, cap, cbar, coff + 0x14, 1);
	if (a != b) {
		printf("pcicfg: device_status 0x%x by MMIO, 0x%x through the window\n", a, b);
		return false;
	}
	a = mmio_read32(dev.device);
	b = virtio_pcicfg_read(f, cap, dbar, doff, 4);
	if (a != b) {
		printf("pcicfg: num_pages %u by MMIO, %u through the window\n", a, b);
		return false;
	}
	/* A length of 3 and an offset past the BAR reach nothing. */
	virtio_pcicfg_write(f, cap, cbar, coff + 0x00, 3, 0);
	virtio_pcicfg_write(f, cap, cbar, 0xfffffffcu, 4, 0xffffffffu);
	(void)virtio_pcicfg_read(f, cap, cbar, coff + 0x12, 3);
	if (mmio_read32(dev.common + 0x00) != 1 || mmio_read16(dev.common + 0x12) != nq ||
	    (virtio_status(&dev) & VIRTIO_S_NEEDS_RESET))
		return fail("pcicfg: a setting that reaches nothing changed the device");
	mmio_write32(dev.common + 0x00, 0);
	printf("pcicfg: common and device configuration through the window agree with MMIO\n");
	return true;
}

/*
 * One inflation, completed by the device with an interrupt the CPU takes
 * (irq_arm in ring 3, irq_check in ring 0: this host's ring 3 cannot
 * enable interrupts). INTx: the IOAPIC pin from the interrupt line
 * register, level triggered; the handler reads the ISR, which must lower
 * the line (no storm after). MSI-X: vector 0 stays masked through the
 * completion (its PBA bit is set), then gets the local APIC's address and
 * IRQ_VECTOR and is unmasked: the pending message must be sent then.
 */
static bool irq_arm(const struct pci_func *f)
{
	t.irq_pin = pci_read8(f, 0x3c);
	if (t.intx) {
		irq_ack_addr = dev.isr;
		ioapic_route(t.irq_pin);
	}
	write_pages(t.infl, 16, 3);
	if (!pfns(t.q_inflate, t.infl, 16))
		return false;
	if (!t.intx) {
		unsigned cap = pci_next_cap(f, 0x11, 0);
		uint32_t tbl = pci_read32(f, cap + 4);
		uint64_t entry = pci_bar(f, tbl & 7) + (tbl & ~7u);

		if (!(mmio_read32(t.pba) & 1))
			return fail("irq: the masked vector 0 is not pending after the completion");
		mmio_write32(entry + 0, 0xfee00000u);	/* to APIC 0, fixed */
		mmio_write32(entry + 4, 0);
		mmio_write32(entry + 8, IRQ_VECTOR);
		mmio_write32(entry + 12, 0);		/* unmask: the pending message goes */
	}
	return true;
}

static bool irq_check(void)
{
	if (!irq_wait(1, WAIT_MS)) {
		if (t.intx)
			ioapic_mask(t.irq_pin);
		printf("irq: no interrupt at vector 0x%x within %u ms (%s)\n", IRQ_VECTOR, WAIT_MS,
		       t.intx ? "INTx through the IOAPIC pin of the line register" :
		       "MSI-X vector 0");
		return false;
	}
	if (t.intx) {
		/* The ISR read lowered the line: no more interrupts for this completion. */
		irq_wait(~0u, 100);
		ioapic_mask(t.irq_pin);
		if (irq_count > 2) {
			printf("irq: %u interrupts for one completion: reading the ISR did not "
			       "lower INTx\n", irq_count);
			return false;
		}
		printf("irq: INTx through the IOAPIC pin of the interrupt line register taken, "
		       "lowered by the ISR read\n");
	} else {
		if (mmio_read32(t.pba) & 1)
			return fail("irq: vector 0 still pending after it was sent");
		printf("irq: MSI-X vector 0 pending while masked, taken once unmasked\n");
	}
	return true;
}

/* One malformed chain on the inflate queue; see the header. */
static bool hostile(void)
{
	struct guest_vq *q = &dev.q[t.q_inflate];
	volatile uint64_t *d = (volatile uint64_t *)q->desc;
	uint64_t buf = buf_alloc(64);
	uint16_t head = 0, step = 1;
	bool ok = false;

	d[0] = buf;
	d[1] = 4;
	if (!strcmp(t.hostile, "loop")) {
		d[1] = 4 | (uint64_t)VQ_DESC_NEXT << 32 | 1ULL << 48;
		d[2] = buf;
		d[3] = 4 | (uint64_t)VQ_DESC_NEXT << 32 | 0ULL << 48;
	} else if (!strcmp(t.hostile, "oob")) {
		d[0] = 0x100000000000ULL;	/* 16 TiB: no RAM there */
	} else if (!strcmp(t.hostile, "overflow")) {
		d[0] = 0xfffffffffffff000ULL;
		d[1] = 0x2000;
	} else if (!strcmp(t.hostile, "index")) {
		step = q->size + 5;
	} else if (!strcmp(t.hostile, "head")) {
		head = q->size + 3;
	} else {
		return fail("hostile: unknown case (loop oob overflow index head)");
	}
	virtio_post_raw(&dev, t.q_inflate, head, step);
	for (unsigned i = 0; i < 2000 && !ok; i++) {
		ok = virtio_status(&dev) & VIRTIO_S_NEEDS_RESET;
		if (!ok)
			virtio_delay(1);
	}
	if (!ok)
		return fail("hostile: DEVICE_NEEDS_RESET was never set");
	printf("hostile: %s: device needs reset\n", t.hostile);
	outw(0x510, 0);
	if (inb(0x511) != 'Q')
		return fail("hostile: fw_cfg stopped answering");
	printf("hostile: fw_cfg still answers\n");
	if (!virtio_reset(&dev))
		return fail("hostile: the reset never completed");
	if (!setup(true))
		return false;
	write_pages(t.infl, 16, 5);
	if (!pfns(t.q_inflate, t.infl, 16) || !pfns(t.q_deflate, t.infl, 16))
		return false;
	printf("hostile: the device works again after a reset\n");
	return true;
}

static long keep_write(void *arg)
{
	uint64_t first, count, pages = t.keep_mib * MiB / PAGE_SIZE;

	slice_of(cpu_id(), smp_ncpus, pages, &first, &count);
	write_pages(t.keep + first * PAGE_SIZE, count, 6);
	return 0;
}

static long keep_check(void *arg)
{
	uint64_t first, count, pages = t.keep_mib * MiB / PAGE_SIZE;

	/* Each CPU verifies another CPU's slice. */
	slice_of((cpu_id() + 1) % smp_ncpus, smp_ncpus, pages, &first, &count);
	return check_pages(t.keep + first * PAGE_SIZE, count, 6, "keep: a page not given back") ?
	       0 : 1;
}

static long run(void *arg)
{
	struct pci_func f;

	if (!find_device(&f))
		return EXIT_FAIL;
	if (!virtio_open(&dev, &f, t.drv, MiB)) {
		printf("balloon: virtio capabilities incomplete (found mask 0x%x)\n", dev.caps_found);
		return EXIT_FAIL;
	}
	printf("virtio: capabilities common notify isr device\n");
	if (arg_flag("scan"))
		return EXIT_PASS;
	if (t.msix && !msix_enable(&f))
		return EXIT_FAIL;
	if (arg_flag("pcicfg") && !pcicfg_check(&f))
		return EXIT_FAIL;
	if (!setup(false))
		return EXIT_FAIL;
	if (t.hostile)
		return hostile() ? EXIT_PASS : EXIT_FAIL;
	if (t.irq)
		return irq_arm(&f) ? EXIT_PASS : EXIT_FAIL;
	if (!report() || !inflate_deflate())
		return EXIT_FAIL;
	return EXIT_PASS;
}

int main(void)
{
	struct mem_region *r = &mem_regions[0];
	long res[MAX_CPUS];
	long v;

	t.mib = arg_u64("mib", 16);
	t.inflate = arg_u64("inflate", 1024);
	t.keep_mib = arg_u64("keep", 0);
	t.stats = arg_u64("stats", 1);
	t.report = arg_u64("report", 1);
	t.poison = arg_u64("poison", 0);
	t.target = arg_u64("target", ~0ULL);
	t.pause_ms = arg_u64("pause_ms", 0);
	t.hostile = arg_str("hostile", NULL);
	t.msix = arg_flag("msix");
	t.irq = arg_str("irq", NULL);
	if (t.irq && strcmp(t.irq, "intx") && strcmp(t.irq, "msix")) {
		printf("balloon: irq=%s: expected intx or msix\n", t.irq);
		return EXIT_FAIL;
	}
	if (t.irq) {
		t.intx = !strcmp(t.irq, "intx");
		t.msix = !t.intx;
		irq_install();
	}
	t.mib = ALIGN_UP(t.mib, 2);
	t.drv = ALIGN_UP(r->start, PAGE_SIZE);
	t.rep = ALIGN_UP(t.drv + MiB, REPORT_CHUNK);
	t.infl = t.rep + t.mib * MiB;
	t.keep = ALIGN_UP(t.infl + t.inflate * PAGE_SIZE, REPORT_CHUNK);
	t.end = t.keep + t.keep_mib * MiB;
	if (!mem_nr_regions || t.end > r->end) {
		printf("balloon: the first free region is too small for mib, inflate and keep\n");
		return EXIT_FAIL;
	}
	if (t.keep_mib) {
		smp_run(keep_write, NULL, NULL);
		printf("keep: %lu MiB written on %u CPUs\n", t.keep_mib, smp_ncpus);
	}
	v = user_run(run, NULL);
	if (v == EXIT_PASS && t.irq && !irq_check())
		return EXIT_FAIL;
	if (v != EXIT_PASS || !t.keep_mib)
		return v;
	smp_run(keep_check, NULL, res);
	for (unsigned i = 0; i < smp_ncpus; i++)
		if (res[i])
			return EXIT_FAIL;
	printf("keep: %lu MiB verified\n", t.keep_mib);
	return EXIT_PASS;
}
