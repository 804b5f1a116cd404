/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Constants shared by the runtime's assembly and C: segment selectors,
 * vectors, per-CPU field offsets. Everything else about the hardware is in
 * the inline helpers below the __ASSEMBLER__ guard.
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#define LOAD_ADDR	0x100000	/* where the image is linked and loaded */
#define MAX_CPUS	64

/* GDT layout (lib/entry.S). */
#define SEL_KCODE	0x08		/* 64-bit ring-0 code */
#define SEL_KDATA	0x10
#define SEL_KCODE32	0x18		/* 32-bit ring-0 code: entry and APs */
#define SEL_UDATA	0x20		/* ring-3 data, used as SS with RPL 3 */
#define SEL_UCODE	0x28		/* 64-bit ring-3 code, used with RPL 3 */
#define SEL_TSS0	0x30		/* one 16-byte TSS descriptor per CPU */

/* IDT vectors beyond the 32 exceptions. */
#define VEC_PIC_BASE	0x20		/* the masked 8259s, for their spurious IRQs */
#define VEC_WAKE	0x40		/* IPI that wakes a halted CPU */
#define VEC_SPURIOUS	0xff

/*
 * RFLAGS for ring 3: IOPL 3 so that workloads write the serial and exit
 * ports themselves, bit 1 (always one), interrupts off.
 */
#define USER_RFLAGS	0x3002

/* Offsets in struct percpu (lib/runtime.h), checked there. */
#define PERCPU_SELF		0
#define PERCPU_ID		8
#define PERCPU_KERNEL_RSP	16
#define PERCPU_TSS		24

#define MSR_EFER	0xc0000080
#define MSR_GS_BASE	0xc0000101

#define PTE_P		0x001
#define PTE_W		0x002
#define PTE_U		0x004
#define PTE_PS		0x080

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | (uint64_t)hi << 32;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	asm volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(uint64_t v)
{
	asm volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline unsigned int cpl(void)
{
	uint16_t cs;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	return cs & 3;
}

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

#define READ_ONCE(x)	(*(const volatile __typeof__(x) *)&(x))

#endif /* __ASSEMBLER__ */
#endif /* GUEST_ARCH_H */
