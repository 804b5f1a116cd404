/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_LINUX_H
#define VMM_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/boot/e820.h"

struct vm;

/*
 * Linux guests, entered the two ways Firecracker, Cloud Hypervisor and
 * QEMU use (Documentation/arch/x86/boot.rst, and Xen's PVH ABI):
 *
 *  - a bzImage through the 64-bit boot protocol: its protected-mode part
 *    is copied to the load address, a zero page (struct boot_params)
 *    carries the setup header, e820 map, command line and initrd, and the
 *    boot vCPU starts in long mode at load address + 0x200 with RSI = the
 *    zero page;
 *  - an ELF vmlinux with a XEN_ELFNOTE_PHYS32_ENTRY note through PVH: its
 *    segments are copied to their physical addresses and the boot vCPU
 *    starts in flat 32-bit protected mode at the note's entry with
 *    EBX = struct hvm_start_info.
 *
 * Guest-physical layout of the boot information, all below 1 MiB:
 *
 *   0x000500  GDT (bzImage: null, null, __BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x007000  zero page (bzImage) or hvm_start_info + memory map (PVH)
 *   0x008ff0  initial stack top (bzImage)
 *   0x009000  PML4, 0x00a000 PDPT, 0x00b000-0x00efff four PDs:
 *             0-4 GiB identity-mapped with 2 MiB pages (bzImage)
 *   0x020000  command line
 *   0x0f0000  MP floating pointer and configuration table (both kinds)
 *
 * The kernel goes to its own load address (1 MiB and up); the initrd to
 * the top of RAM below the 32-bit hole and below the kernel's
 * initrd_addr_max, page aligned, above both the kernel's init_size and
 * its protected-mode part (a kernel may declare an init_size smaller than
 * itself, even 0).
 */
#define LINUX_GDT_ADDR		0x500ULL
#define LINUX_BOOT_INFO_ADDR	0x7000ULL
#define LINUX_STACK_TOP		0x8ff0ULL
#define LINUX_PML4_ADDR		0x9000ULL
#define LINUX_PDPT_ADDR		0xa000ULL
#define LINUX_PD_ADDR		0xb000ULL
#define LINUX_CMDLINE_ADDR	0x20000ULL
#define LINUX_CMDLINE_MAX	(E820_EBDA_START - LINUX_CMDLINE_ADDR)
#define LINUX_MPTABLE_ADDR	0xf0000ULL
#define LINUX_BOOT_CS		0x10
#define LINUX_BOOT_DS		0x18

#define LINUX_DEFAULT_CMDLINE	"console=ttyS0 reboot=k panic=-1"

/* Setup header fields (offsets into the image and the zero page). */
#define BZ_SETUP_SECTS		0x1f1
#define BZ_SYSSIZE		0x1f4
#define BZ_BOOT_FLAG		0x1fe
#define BZ_JUMP			0x200
#define BZ_HEADER		0x202
#define BZ_VERSION		0x206
#define BZ_TYPE_OF_LOADER	0x210
#define BZ_LOADFLAGS		0x211
#define BZ_CODE32_START		0x214
#define BZ_RAMDISK_IMAGE	0x218
#define BZ_RAMDISK_SIZE		0x21c
#define BZ_CMD_LINE_PTR		0x228
#define BZ_INITRD_ADDR_MAX	0x22c
#define BZ_KERNEL_ALIGNMENT	0x230
#define BZ_RELOCATABLE		0x234
#define BZ_XLOADFLAGS		0x236
#define BZ_CMDLINE_SIZE		0x238
#define BZ_PREF_ADDRESS		0x258
#define BZ_INIT_SIZE		0x260
/* boot_params fields outside the setup header. */
#define ZP_EXT_RAMDISK_IMAGE	0x0c0
#define ZP_EXT_RAMDISK_SIZE	0x0c4
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8
#define ZP_E820_TABLE		0x2d0
#define ZP_E820_MAX		128
#define ZP_SIZE			4096

#define BZ_HDRS_MAGIC		0x53726448u	/* "HdrS" */
#define BZ_BOOT_FLAG_MAGIC	0xaa55
#define BZ_MIN_VERSION		0x020c		/* 2.12: xloadflags, 64-bit entry */
#define BZ_XLF_KERNEL_64	(1u << 0)
#define BZ_LOADER_UNDEFINED	0xff		/* type_of_loader: no assigned id */

/* What the loader needs from a bzImage's setup header. */
struct bzimage {
	uint16_t version;		/* boot protocol, 0x020f = 2.15 */
	uint8_t loadflags;
	uint16_t xloadflags;
	bool relocatable;
	uint32_t kernel_alignment;
	uint32_t initrd_addr_max;	/* last byte an initrd may occupy */
	uint32_t cmdline_size;		/* longest command line, without the NUL */
	uint64_t pref_address;
	uint32_t init_size;		/* memory the kernel needs from its load address */
	size_t setup_len;		/* file offset of the protected-mode part */
	size_t kernel_len;		/* bytes of the protected-mode part */
	size_t header_end;		/* end of the setup header in the file */
	uint64_t load_addr;		/* chosen by linux_parse_bzimage */
	/*
	 * load_addr + max(init_size, kernel_len): the first byte the kernel
	 * neither occupies nor claims; an initrd goes above it.
	 */
	uint64_t kernel_end;
};

/* True when the image has a Linux boot sector (flag 0xaa55 or "HdrS"). */
bool linux_is_bzimage(const uint8_t *img, size_t len);

/*
 * Parse a bzImage's setup header and choose its load address for guest RAM
 * [0, ram_top): the preferred address of a relocatable kernel, else the
 * lowest aligned address from 1 MiB. On error returns -1 with a reason in
 * err: not a bzImage, a protocol older than 2.12, not 64-bit, truncated,
 * or too large for RAM.
 */
int linux_parse_bzimage(const uint8_t *img, size_t len, uint64_t ram_top,
			struct bzimage *bz, char *err, size_t errlen);

/*
 * Choose where an initrd of `size` bytes goes: as high as possible below
 * both ram_top and initrd_addr_max + 1, page aligned, and not below
 * `floor` (the end of the kernel). Returns -1 with a reason when it does
 * not fit.
 */
int linux_place_initrd(uint64_t size, uint64_t ram_top, uint64_t addr_max,
		       uint64_t floor, uint64_t *addr, char *err, size_t errlen);

/*
 * Fill the zero page: the image's setup header, type_of_loader, the
 * command line and initrd fields, and the e820 map.
 */
void linux_build_zero_page(uint8_t *zp, const uint8_t *img, const struct bzimage *bz,
			   uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size,
			   const struct e820_entry *map, unsigned nr_map);

/* PVH */
#define PVH_MAX_SEGMENTS	16
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC		0x336ec578u
#define HVM_MEMMAP_TYPE_RAM	1

struct pvh_segment {
	uint64_t file_off, filesz;
	uint64_t paddr, memsz;
};

struct pvh_image {
	uint32_t entry;			/* 32-bit physical entry point */
	unsigned nr_segs;
	struct pvh_segment segs[PVH_MAX_SEGMENTS];
	uint64_t end;			/* highest byte loaded, exclusive */
};

/* start_info layout, version 1 (xen/include/public/arch-x86/hvm/start_info.h) */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
	uint32_t memmap_entries, reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};

/*
 * Look for a Xen PVH entry note in an ELF image's PT_NOTE segments.
 * Returns 1 and sets *entry when found, 0 when the file is an ELF image
 * without one, -1 when it is not an ELF file or its headers are malformed.
 */
int linux_find_pvh_note(const uint8_t *img, size_t len, uint32_t *entry);

/*
 * Parse a PVH ELF image: the entry note and the PT_LOAD segments, which
 * must lie inside the file and inside guest RAM [1 MiB, ram_top).
 */
int linux_parse_pvh(const uint8_t *img, size_t len, uint64_t ram_top,
		    struct pvh_image *pvh, char *err, size_t errlen);

/* mptable.c: an MP 1.4 table announcing nr_cpus CPUs, the IOAPIC and ISA IRQs. */
/* Floating pointer, header, CPUs, PCI and ISA buses, IOAPIC, ISA IRQs, 31 PCI INTA#, LINTs. */
#define MPTABLE_MAX_SIZE	(16 + 44 + 255 * 20 + 2 * 8 + 8 + 16 * 8 + 31 * 8 + 2 * 8)
size_t mptable_build(uint8_t *buf, uint64_t addr, unsigned nr_cpus);

/* The loaders: image into guest RAM, vm->boot filled; -1 after a message. */
int linux_load_bzimage(struct vm *vm, const uint8_t *img, size_t len);
int linux_load_pvh(struct vm *vm, const uint8_t *img, size_t len);

#endif
