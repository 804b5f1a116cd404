// SPDX-License-Identifier: GPL-2.0-only
/*
 * MP table (Intel MultiProcessor Specification 1.4), the firmware table
 * that tells a guest without ACPI how many CPUs it has and how ISA
 * interrupts reach the IOAPIC. Linux finds the floating pointer by
 * scanning 0xf0000-0xfffff and enumerates every vCPU from it. The layout
 * matches the in-kernel irqchip: local APICs at 0xfee00000 with ids 0..n-1,
 * one IOAPIC at 0xfec00000 with id n, ISA IRQ i on IOAPIC pin i (so the
 * serial port's IRQ 4, raised with KVM_IRQ_LINE, is pin 4), ExtINT on LINT0
 * and NMI on LINT1 of every CPU.
 *
 * PCI: bus 0 is MP bus 0 (Linux matches MP bus ids with PCI bus numbers)
 * and ISA is MP bus 1. INTA# of every slot has an interrupt entry, level
 * triggered and active high as the in-kernel IOAPIC sees KVM_IRQ_LINE, on
 * the pin pci_intx_gsi() gives the device (vmm/devices/pci.h): the table
 * describes the wiring, whichever slots hold devices.
 */
#include <string.h>

#include "vmm/boot/linux.h"
#include "vmm/devices/pci.h"

#define MP_LAPIC_ADDR	0xfee00000u
#define MP_IOAPIC_ADDR	0xfec00000u
#define MP_LAPIC_VER	0x14
#define MP_IOAPIC_VER	0x11
#define MP_ISA_IRQS	16

enum { MP_PROCESSOR, MP_BUS, MP_IOAPIC, MP_INTSRC, MP_LINTSRC };
enum { MP_INT, MP_NMI, MP_SMI, MP_EXTINT };

struct mpf_intel {
	char signature[4];		/* "_MP_" */
	uint32_t physptr;
	uint8_t length;			/* in 16-byte units */
	uint8_t specification;
	uint8_t checksum;
	uint8_t feature[5];
} __attribute__((packed));

struct mpc_table {
	char signature[4];		/* "PCMP" */
	uint16_t length;
	uint8_t spec;
	uint8_t checksum;
	char oem[8];
	char productid[12];
	uint32_t oemptr;
	uint16_t oemsize;
	uint16_t oemcount;
	uint32_t lapic;
	uint32_t reserved;
} __attribute__((packed));

struct mpc_cpu {
	uint8_t type, apicid, apicver, cpuflag;
	uint32_t cpufeature, featureflag;
	uint32_t reserved[2];
} __attribute__((packed));

struct mpc_bus {
	uint8_t type, busid;
	char bustype[6];
} __attribute__((packed));

struct mpc_ioapic {
	uint8_t type, apicid, apicver, flags;
	uint32_t apicaddr;
} __attribute__((packed));

struct mpc_intsrc {
	uint8_t type, irqtype;
	uint16_t irqflag;
	uint8_t srcbus, srcbusirq, dstapic, dstirq;
} __attribute__((packed));

_Static_assert(sizeof(struct mpf_intel) == 16, "MP floating pointer is 16 bytes");
_Static_assert(sizeof(struct mpc_table) == 44, "MP config table header is 44 bytes");
_Static_assert(sizeof(struct mpc_cpu) == 20, "MP processor entry is 20 bytes");
_Static_assert(sizeof(struct mpc_bus) == 8 && sizeof(struct mpc_ioapic) == 8 &&
	       sizeof(struct mpc_intsrc) == 8, "MP bus, IOAPIC and interrupt entries are 8 bytes");

#define MPC_CPU_ENABLED		1
#define MPC_CPU_BSP		2
#define MPC_APIC_USABLE		1
#define MP_BUS_PCI		0
#define MP_BUS_ISA		1
#define MP_IRQ_PCI_FLAGS	0x0d	/* polarity active high (1), trigger level (3 << 2) */
#define CPU_SIG_FAMILY6		0x600
#define CPU_FEATURE_FPU_APIC	((1u << 0) | (1u << 9))

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return -sum;
}

size_t mptable_build(uint8_t *buf, uint64_t addr, unsigned nr_cpus)
{
	struct mpf_intel *mpf = (struct mpf_intel *)buf;
	struct mpc_table *mpc = (struct mpc_table *)(buf + sizeof(*mpf));
	uint8_t *p = (uint8_t *)(mpc + 1);
	uint8_t ioapic_id = nr_cpus;
	unsigned count = 0;

	memset(buf, 0, MPTABLE_MAX_SIZE);
	for (unsigned i = 0; i < nr_cpus; i++) {
		struct mpc_cpu cpu = {
			.type = MP_PROCESSOR, .apicid = i, .apicver = MP_LAPIC_VER,
			.cpuflag = MPC_CPU_ENABLED | (i == 0 ? MPC_CPU_BSP : 0),
			.cpufeature = CPU_SIG_FAMILY6, .featureflag = CPU_FEATURE_FPU_APIC,
		};

		memcpy(p, &cpu, sizeof(cpu));
		p += sizeof(cpu);
		count++;
	}
	{
		struct mpc_bus pci = { .type = MP_BUS, .busid = MP_BUS_PCI };
		struct mpc_bus bus = { .type = MP_BUS, .busid = MP_BUS_ISA };
		struct mpc_ioapic ioapic = {
			.type = MP_IOAPIC, .apicid = ioapic_id, .apicver = MP_IOAPIC_VER,
			.flags = MPC_APIC_USABLE, .apicaddr = MP_IOAPIC_ADDR,
		};

		memcpy(pci.bustype, "PCI   ", 6);
		memcpy(p, &pci, sizeof(pci));
		p += sizeof(pci);
		memcpy(bus.bustype, "ISA   ", 6);
		memcpy(p, &bus, sizeof(bus));
		p += sizeof(bus);
		memcpy(p, &ioapic, sizeof(ioapic));
		p += sizeof(ioapic);
		count += 3;
	}
	for (unsigned slot = 1; slot < PCI_MAX_SLOTS; slot++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC, .irqtype = MP_INT, .irqflag = MP_IRQ_PCI_FLAGS,
			.srcbus = MP_BUS_PCI, .srcbusirq = slot << 2 /* INTA# */,
			.dstapic = ioapic_id, .dstirq = pci_intx_gsi(slot),
		};

		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
		count++;
	}
	for (unsigned irq = 0; irq < MP_ISA_IRQS; irq++) {
		struct mpc_intsrc src = {
			.type = MP_INTSRC, .irqtype = MP_INT, .srcbus = MP_BUS_ISA,
			.srcbusirq = irq, .dstapic = ioapic_id, .dstirq = irq,
		};

		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
		count++;
	}
	for (unsigned lint = 0; lint < 2; lint++) {
		struct mpc_intsrc src = {
			.type = MP_LINTSRC, .irqtype = lint ? MP_NMI : MP_EXTINT,
			.srcbus = MP_BUS_ISA, .dstapic = 0xff, .dstirq = lint,
		};

		memcpy(p, &src, sizeof(src));
		p += sizeof(src);
		count++;
	}

	memcpy(mpc->signature, "PCMP", 4);
	mpc->length = p - (uint8_t *)mpc;
	mpc->spec = 4;
	memcpy(mpc->oem, "VMM     ", 8);
	memcpy(mpc->productid, "VMM KVM     ", 12);
	mpc->oemcount = count;
	mpc->lapic = MP_LAPIC_ADDR;
	mpc->checksum = mp_checksum((uint8_t *)mpc, mpc->length);

	memcpy(mpf->signature, "_MP_", 4);
	mpf->physptr = addr + sizeof(*mpf);
	mpf->length = 1;
	mpf->specification = 4;
	mpf->checksum = mp_checksum(buf, sizeof(*mpf));
	return p - buf;
}
