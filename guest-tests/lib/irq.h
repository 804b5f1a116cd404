/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef GUEST_IRQ_H
#define GUEST_IRQ_H
/*
 * Device interrupts for guest tests: one vector (IRQ_VECTOR) whose handler
 * counts, reads the byte at irq_ack_addr first when it is set (a virtio
 * ISR: reading it lowers a level-triggered INTx line) and signals EOI to
 * the local APIC. The IOAPIC routes a pin to it. irq_wait runs in ring 0:
 * ring 3 cannot execute sti on this host (IOPL 3 is not kept there).
 */
#include <stdbool.h>
#include <stdint.h>

#define IRQ_VECTOR	0x50
#define IOAPIC_BASE	0xfec00000ULL

extern volatile uint32_t irq_count;
extern volatile uint64_t irq_ack_addr;

/* Ring 0, once: install the handler at IRQ_VECTOR. */
void irq_install(void);
/* Route IOAPIC @pin to IRQ_VECTOR on APIC 0: level triggered, active high, unmasked. */
void ioapic_route(unsigned pin);
/* Mask IOAPIC @pin again. */
void ioapic_mask(unsigned pin);
/* Ring 0: enable interrupts until irq_count reaches @count or @ms pass; whether it did. */
bool irq_wait(uint32_t count, unsigned ms);

#endif
