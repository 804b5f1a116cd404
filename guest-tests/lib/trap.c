// SPDX-License-Identifier: GPL-2.0-only
/*
 * Descriptor tables and exception handling: the IDT (shared by all CPUs),
 * one TSS per CPU, and the handler that either resumes a fault listed in
 * the exception table or reports it and fails the test.
 *
 * The TSSs share one I/O permission bitmap: every TSS segment extends from
 * its own 104 bytes to the end of the common bitmap, so each one's
 * iomap_base is the distance to it. Ring-3 `out` needs that bitmap on this
 * host even with IOPL 3 (docs/host-without-vtx.md).
 */
#include "runtime.h"
#include "setup.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp0, rsp1, rsp2;
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "TSS layout");
_Static_assert(__builtin_offsetof(struct tss, rsp0) == 4, "entry.S writes tss.rsp0 at 4");
_Static_assert(__builtin_offsetof(struct percpu, self) == PERCPU_SELF, "percpu.self");
_Static_assert(__builtin_offsetof(struct percpu, id) == PERCPU_ID, "percpu.id");
_Static_assert(__builtin_offsetof(struct percpu, kernel_rsp) == PERCPU_KERNEL_RSP, "percpu.kernel_rsp");
_Static_assert(__builtin_offsetof(struct percpu, tss) == PERCPU_TSS, "percpu.tss");

/* All ports allowed: 65536 zero bits and the closing all-ones byte. */
static struct {
	struct tss tss[MAX_CPUS];
	uint8_t iomap[8192];
	uint8_t iomap_end;
} __attribute__((packed, aligned(16))) tss_area;

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, reserved;
};

static struct idt_entry idt[256] __attribute__((aligned(16)));

static struct {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed)) idt_desc = { sizeof(idt) - 1, (uint64_t)idt };

struct ex_entry {
	uint64_t insn, fixup;
};

extern const uint64_t trap_stubs[32];
extern const struct ex_entry __start_ex_table[], __stop_ex_table[];
extern uint64_t gdt_tss[];
extern char wake_entry[], spurious_entry[];

struct percpu percpu[MAX_CPUS];
unsigned int smp_ncpus = 1;

static void idt_set(unsigned int vec, uint64_t handler, unsigned int dpl)
{
	idt[vec] = (struct idt_entry){
		.off0 = handler, .sel = SEL_KCODE, .type = 0x8e | dpl << 5,
		.off1 = handler >> 16, .off2 = handler >> 32,
	};
}

void trap_set_gate(unsigned int vec, void (*entry)(void))
{
	idt_set(vec, (uint64_t)entry, 0);
}

void percpu_init_boot(void)
{
	percpu[0].self = &percpu[0];
	wrmsr(MSR_GS_BASE, (uint64_t)&percpu[0]);
}

/*
 * A legacy 8259 PIC left programmed by firmware (QEMU's BIOS) delivers the
 * timer at vector 8, which is #DF, whenever a waiting CPU enables
 * interrupts. Move it to 0x20-0x2f and mask it; spurious IRQs 7 and 15 may
 * still come, and are ignored.
 */
static void pic_disable(void)
{
	static const uint8_t seq[][2] = {
		{ 0x20, 0x11 }, { 0xa0, 0x11 },		/* ICW1: init, ICW4 follows */
		{ 0x21, 0x20 }, { 0xa1, 0x28 },		/* ICW2: vector bases */
		{ 0x21, 0x04 }, { 0xa1, 0x02 },		/* ICW3: cascade on IRQ 2 */
		{ 0x21, 0x01 }, { 0xa1, 0x01 },		/* ICW4: 8086 mode */
		{ 0x21, 0xff }, { 0xa1, 0xff },		/* mask everything */
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(seq); i++)
		outb(seq[i][0], seq[i][1]);
}

/* Boot CPU, once smp_ncpus is known. */
void cpu_tables_init(void)
{
	pic_disable();
	for (unsigned int v = 0; v < 32; v++)
		idt_set(v, trap_stubs[v], 0);
	idt_set(VEC_PIC_BASE + 7, (uint64_t)spurious_entry, 0);
	idt_set(VEC_PIC_BASE + 15, (uint64_t)spurious_entry, 0);
	idt_set(VEC_WAKE, (uint64_t)wake_entry, 0);
	idt_set(VEC_SPURIOUS, (uint64_t)spurious_entry, 0);

	tss_area.iomap_end = 0xff;
	for (unsigned int i = 0; i < smp_ncpus; i++) {
		struct tss *t = &tss_area.tss[i];
		uint64_t base = (uint64_t)t;
		uint64_t limit = (uint64_t)&tss_area.iomap_end - base;

		t->iomap_base = (uint64_t)tss_area.iomap - base;
		/* Available 64-bit TSS, present, byte granularity. */
		gdt_tss[2 * i] = (limit & 0xffff) | (base & 0xffffff) << 16 |
				 0x89ULL << 40 | ((limit >> 16) & 0xf) << 48 |
				 ((base >> 24) & 0xff) << 56;
		gdt_tss[2 * i + 1] = base >> 32;
		percpu[i].self = &percpu[i];
		percpu[i].id = i;
		percpu[i].tss = t;
	}
	cpu_tables_load(0);
}

/* Every CPU, on itself. */
void cpu_tables_load(unsigned int id)
{
	wrmsr(MSR_GS_BASE, (uint64_t)&percpu[id]);
	asm volatile("lidt %0" : : "m"(idt_desc));
	asm volatile("ltr %w0" : : "r"(SEL_TSS0 + 16 * id));
}

const char *trap_name(uint64_t vector)
{
	static const char *const names[32] = {
		[0] = "#DE", [1] = "#DB", [2] = "NMI", [3] = "#BP", [4] = "#OF",
		[5] = "#BR", [6] = "#UD", [7] = "#NM", [8] = "#DF", [10] = "#TS",
		[11] = "#NP", [12] = "#SS", [13] = "#GP", [14] = "#PF", [16] = "#MF",
		[17] = "#AC", [18] = "#MC", [19] = "#XM", [20] = "#VE", [21] = "#CP",
	};

	if (vector < 32 && names[vector])
		return names[vector];
	return "?";
}

void trap_handler(struct trap_frame *f);

void trap_handler(struct trap_frame *f)
{
	struct percpu *p = this_cpu();
	uint64_t cr2 = f->vector == 14 ? read_cr2() : 0;

	for (const struct ex_entry *e = __start_ex_table; e < __stop_ex_table; e++) {
		if (e->insn != f->rip)
			continue;
		p->caught_vector = f->vector;
		p->caught_error = f->error;
		p->caught_rip = f->rip;
		p->caught_cr2 = cr2;
		p->caught_count++;
		f->rip = e->fixup;
		return;
	}
	console_break_lock();
	printf("unhandled exception %lu (%s) on cpu %lu in ring %lu: error code 0x%lx, "
	       "rip 0x%lx, cr2 0x%lx\n", f->vector, trap_name(f->vector), p->id,
	       f->cs & 3, f->error, f->rip, cr2);
	printf("# rax 0x%lx rbx 0x%lx rcx 0x%lx rdx 0x%lx rsp 0x%lx rflags 0x%lx\n",
	       f->rax, f->rbx, f->rcx, f->rdx, f->rsp, f->rflags);
	exit(EXIT_FAIL);
}
