// SPDX-License-Identifier: GPL-2.0-only
/* Device interrupts for guest tests: see irq.h. */
#include "irq.h"
#include "runtime.h"

#define TSC_PER_MS	3000000ULL	/* as lib/virtio.c: about right for this host's TSC */

volatile uint32_t irq_count;
volatile uint64_t irq_ack_addr;

void irq_entry(void);
asm(".text\n"
    ".globl irq_entry\n"
    ".balign 16\n"
    "irq_entry:\n"
    "	pushq %rax\n"
    "	movq irq_ack_addr(%rip), %rax\n"
    "	testq %rax, %rax\n"
    "	jz 1f\n"
    "	movb (%rax), %al\n"		/* a virtio ISR read lowers INTx */
    "1:	lock incl irq_count(%rip)\n"
    "	movl $0xfee000b0, %eax\n"	/* local APIC EOI */
    "	movl $0, (%rax)\n"
    "	popq %rax\n"
    "	iretq\n");

void irq_install(void)
{
	trap_set_gate(IRQ_VECTOR, irq_entry);
}

static void ioapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(IOAPIC_BASE + 0x10) = v;
}

void ioapic_route(unsigned pin)
{
	ioapic_write(0x11 + 2 * pin, 0);			/* destination APIC 0 */
	ioapic_write(0x10 + 2 * pin, IRQ_VECTOR | 1u << 15);	/* level, high, unmasked */
}

void ioapic_mask(unsigned pin)
{
	ioapic_write(0x10 + 2 * pin, 1u << 16);
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return lo | (uint64_t)hi << 32;
}

bool irq_wait(uint32_t count, unsigned ms)
{
	uint64_t end = rdtsc() + ms * TSC_PER_MS;
	bool ok;

	asm volatile("sti" ::: "memory");
	while (irq_count < count && rdtsc() < end)
		cpu_relax();
	asm volatile("cli" ::: "memory");
	ok = irq_count >= count;
	return ok;
}
