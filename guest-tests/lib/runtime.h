/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest runtime's interface for test programs.
 *
 * A test defines `int main(void)`. It runs in ring 0 on the boot CPU after
 * the runtime has entered long mode, mapped all RAM, read the multiboot
 * information and fw_cfg, and started every other CPU. Ring-0 code is
 * interpreted by this host's KVM at about 1 µs per instruction, so tests do
 * their work in ring 3: user_run() on the calling CPU, smp_run() on every
 * CPU. Ring-3 code may call everything here except user_run() and
 * smp_run(): printf, exit and the try_* helpers work in both rings.
 *
 * main's return value is the exit value: EXIT_PASS, EXIT_FAIL or EXIT_SKIP.
 */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"

/* Values written to port 0xf4; the VM's exit status is (v << 1) | 1. */
#define EXIT_PASS	0	/* status 1 */
#define EXIT_FAIL	1	/* status 3 */
#define EXIT_SKIP	38	/* status 77 */

#define PAGE_SIZE	4096UL
#define MiB		(1024UL * 1024)
#define GiB		(1024UL * MiB)

#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((uint64_t)(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((uint64_t)(a) - 1))
#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)		((a) < (b) ? (a) : (b))
#define MAX(a, b)		((a) > (b) ? (a) : (b))

int main(void);

/* Console and exit (lib/printf.c, lib/setup.c). */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void console_break_lock(void);
void exit(int value) __attribute__((noreturn));

/* Strings (lib/string.c); the compiler may call memset and memcpy. */
void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

/*
 * The command line (lib/args.c): whitespace-separated words, either
 * `key=value` or bare flags. The boot image's path, which multiboot loaders
 * put first, is skipped. Numbers are decimal or 0x-prefixed hexadecimal; a
 * malformed number ends the test with EXIT_FAIL.
 */
unsigned int arg_count(void);
const char *arg_word(unsigned int i);
const char *arg_str(const char *key, const char *def);
uint64_t arg_u64(const char *key, uint64_t def);
bool arg_flag(const char *word);

/*
 * Memory. `mem_ram_size` is fw_cfg's RAM size (or the memory map's total
 * when there is no fw_cfg). The free regions are every usable range of the
 * memory map above the image, the loader's data and the runtime's own
 * allocations, page-aligned: tests may overwrite them at will. Pages are
 * numbered 0 .. mem_free_pages - 1 across the regions in address order.
 */
struct mem_region {
	uint64_t start, end;
};

#define MEM_MAX_REGIONS	16

extern uint64_t mem_ram_size;
extern uint64_t mem_free_start;		/* first byte after image and loader data */
extern unsigned int mem_nr_regions;
extern struct mem_region mem_regions[MEM_MAX_REGIONS];
extern uint64_t mem_free_pages;

uint64_t mem_page_addr(uint64_t page);
/*
 * Splits pages [first, first + count) into address ranges; returns how many
 * ranges it wrote to `out` (at most MEM_MAX_REGIONS).
 */
unsigned int mem_ranges(uint64_t first, uint64_t count, struct mem_region *out);

/* CPUs (lib/smp.c). */
struct percpu {
	struct percpu *self;		/* PERCPU_SELF: %gs:0 */
	uint64_t id;			/* PERCPU_ID */
	uint64_t kernel_rsp;		/* PERCPU_KERNEL_RSP: saved by user_run */
	struct tss *tss;		/* PERCPU_TSS */
	uint64_t user_stack_top;
	uint32_t apic_id;
	volatile uint32_t job_state;
	long (*job_fn)(void *arg);
	void *job_arg;
	long job_result;
	/* The last exception caught through the exception table. */
	volatile uint64_t caught_vector, caught_error, caught_rip, caught_cr2;
	volatile uint64_t caught_count;
} __attribute__((aligned(64)));

extern unsigned int smp_ncpus;
extern struct percpu percpu[MAX_CPUS];

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;

	asm volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

static inline unsigned int cpu_id(void)
{
	return this_cpu()->id;
}

/*
 * Runs fn(arg) in ring 3 on the calling CPU (ring 0 only) and returns its
 * value. Ring 3 runs with IOPL 3 on the CPU's own user stack; it comes back
 * with an exception (see lib/entry.S); the kernel enters ring 3 only with IRETQ.
 */
long user_run(long (*fn)(void *arg), void *arg);

/*
 * Runs fn(arg) in ring 3 on every CPU at once (boot CPU only) and waits for
 * all of them; results[cpu] gets each return value when results is not
 * NULL. Waiting CPUs halt; there is no spinning in ring 0.
 */
void smp_run(long (*fn)(void *arg), void *arg, long *results);

/*
 * Expected exceptions. An instruction placed by TRY_INSN is listed in the
 * exception table: if it faults, the handler records vector, error code,
 * RIP and CR2 in this CPU's percpu (caught_*), counts it, and resumes after
 * the instruction. Any other exception prints vector, error code, RIP and
 * CR2 and ends the test with EXIT_FAIL. Works in ring 0 and ring 3.
 * Inside an asm statement, "1:" labels the instruction that may fault,
 * "2:" the place to resume, and EX_TABLE_ENTRY lists the pair:
 *
 *	asm volatile("lea 1f(%%rip), %0\n1: hlt\n2:\n" EX_TABLE_ENTRY
 *		     : "=r"(rip));
 */
#define EX_TABLE_ENTRY							\
	".pushsection .ex_table, \"a\"\n"				\
	".balign 8\n"							\
	".quad 1b, 2b\n"						\
	".popsection\n"

/* Reads or writes addr once, catching a fault; returns the access's RIP. */
static inline uint64_t try_read64(uint64_t addr)
{
	uint64_t rip, v;

	asm volatile("lea 1f(%%rip), %0\n1: movq (%2), %1\n2:\n" EX_TABLE_ENTRY
		     : "=&r"(rip), "=&r"(v) : "r"(addr) : "memory");
	return rip;
}

static inline uint64_t try_write64(uint64_t addr, uint64_t v)
{
	uint64_t rip;

	asm volatile("lea 1f(%%rip), %0\n1: movq %2, (%1)\n2:\n" EX_TABLE_ENTRY
		     : "=&r"(rip) : "r"(addr), "r"(v) : "memory");
	return rip;
}

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

const char *trap_name(uint64_t vector);

/* Ring 0: make vector @vec (32-254) enter @entry, an interrupt gate (lib/irq.c has one). */
void trap_set_gate(unsigned int vec, void (*entry)(void));

#endif /* GUEST_RUNTIME_H */
