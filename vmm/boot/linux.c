// SPDX-License-Identifier: GPL-2.0-only
/*
 * Linux loaders: a bzImage through the 64-bit boot protocol, an ELF
 * vmlinux through PVH. See linux.h for the guest-physical layout and
 * Documentation/arch/x86/boot.rst for the fields.
 */
#include "vmm/boot/linux.h"

#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/loader.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define PTE_PRESENT	(1ULL << 0)
#define PTE_WRITE	(1ULL << 1)
#define PTE_LARGE	(1ULL << 7)

/* Flat 64-bit code and flat data, "accessed" set as the CPU would leave them. */
#define GDT_CODE64	0x00af9b000000ffffULL
#define GDT_DATA	0x00cf93000000ffffULL

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

bool linux_is_bzimage(const uint8_t *img, size_t len)
{
	if (len >= BZ_HEADER + 4 && get32(img + BZ_HEADER) == BZ_HDRS_MAGIC)
		return true;
	return len >= BZ_BOOT_FLAG + 2 && get16(img + BZ_BOOT_FLAG) == BZ_BOOT_FLAG_MAGIC;
}

static const char *mib(uint64_t bytes, char *buf, size_t len)
{
	snprintf(buf, len, "%llu MiB", (unsigned long long)((bytes >> 20) + !!(bytes & (MiB - 1))));
	return buf;
}

int linux_parse_bzimage(const uint8_t *img, size_t len, uint64_t ram_top,
			struct bzimage *bz, char *err, size_t errlen)
{
	uint64_t need, syssize;
	char b1[32], b2[32];

	memset(bz, 0, sizeof(*bz));
	if (len < BZ_HEADER + 4 || get32(img + BZ_HEADER) != BZ_HDRS_MAGIC) {
		if (len >= BZ_BOOT_FLAG + 2 && get16(img + BZ_BOOT_FLAG) == BZ_BOOT_FLAG_MAGIC)
			return loader_fail(err, errlen, "boot sector without a Linux setup header "
				    "(no \"HdrS\"): Linux boot protocol older than 2.00 "
				    "is too old (need 2.12+)");
		return loader_fail(err, errlen, "not a Linux bzImage (no \"HdrS\" setup header at 0x%x)",
			    BZ_HEADER);
	}
	if (len < BZ_VERSION + 2)
		return loader_fail(err, errlen, "truncated: the setup header ends at byte %zu, "
			    "the file has %zu", (size_t)BZ_INIT_SIZE + 4, len);
	bz->version = get16(img + BZ_VERSION);
	if (bz->version < BZ_MIN_VERSION)
		return loader_fail(err, errlen, "Linux boot protocol %u.%02u is too old (need 2.12+)",
			    bz->version >> 8, bz->version & 0xff);
	/* The setup header ends at 0x202 + the jump's displacement byte. */
	bz->header_end = BZ_HEADER + img[BZ_JUMP + 1];
	if (bz->header_end < BZ_INIT_SIZE + 4)
		bz->header_end = BZ_INIT_SIZE + 4;
	if (bz->header_end > ZP_SIZE || len < bz->header_end)
		return loader_fail(err, errlen, "truncated: the setup header ends at byte %zu, "
			    "the file has %zu", bz->header_end, len);
	bz->loadflags = img[BZ_LOADFLAGS];
	bz->xloadflags = get16(img + BZ_XLOADFLAGS);
	if (!(bz->xloadflags & BZ_XLF_KERNEL_64))
		return loader_fail(err, errlen, "not a 64-bit kernel (xloadflags 0x%x lacks XLF_KERNEL_64); "
			    "this loader enters Linux through the 64-bit boot protocol",
			    bz->xloadflags);
	bz->relocatable = img[BZ_RELOCATABLE];
	bz->kernel_alignment = get32(img + BZ_KERNEL_ALIGNMENT);
	bz->initrd_addr_max = get32(img + BZ_INITRD_ADDR_MAX);
	bz->cmdline_size = get32(img + BZ_CMDLINE_SIZE);
	bz->pref_address = get64(img + BZ_PREF_ADDRESS);
	bz->init_size = get32(img + BZ_INIT_SIZE);

	bz->setup_len = ((size_t)(img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4) + 1) * 512;
	syssize = (uint64_t)get32(img + BZ_SYSSIZE) * 16;
	if (len <= bz->setup_len || syssize == 0 || syssize > len - bz->setup_len)
		return loader_fail(err, errlen, "truncated: the kernel needs %llu bytes (setup %zu + "
			    "protected-mode part %llu), the file has %zu",
			    (unsigned long long)(bz->setup_len + syssize), bz->setup_len,
			    (unsigned long long)syssize, len);
	bz->kernel_len = len - bz->setup_len;

	if (bz->kernel_alignment & (bz->kernel_alignment - 1))
		return loader_fail(err, errlen, "kernel_alignment 0x%x is not a power of two",
			    bz->kernel_alignment);
	need = bz->init_size > bz->kernel_len ? bz->init_size : bz->kernel_len;
	if (bz->relocatable && bz->pref_address >= 1 * MiB &&
	    bz->pref_address < ram_top && need <= ram_top - bz->pref_address)
		bz->load_addr = bz->pref_address;
	else if (bz->relocatable)
		bz->load_addr = ALIGN_UP(1 * MiB, bz->kernel_alignment ? bz->kernel_alignment : 1);
	else
		bz->load_addr = 1 * MiB;
	if (bz->load_addr >= ram_top || need > ram_top - bz->load_addr)
		return loader_fail(err, errlen, "too large for guest RAM: the kernel needs %s from "
			    "0x%llx (init_size), guest RAM below 3 GiB ends at %s (--mem)",
			    mib(need, b1, sizeof(b1)), (unsigned long long)bz->load_addr,
			    mib(ram_top, b2, sizeof(b2)));
	bz->kernel_end = bz->load_addr + need;
	return 0;
}

int linux_place_initrd(uint64_t size, uint64_t ram_top, uint64_t addr_max,
		       uint64_t floor, uint64_t *addr, char *err, size_t errlen)
{
	uint64_t top = addr_max < ram_top - 1 ? addr_max + 1 : ram_top;
	char b1[32], b2[32];

	if (size > top || ((top - size) & ~(PAGE_SIZE - 1)) < floor)
		return loader_fail(err, errlen, "initrd of %s does not fit between the kernel's end "
			    "(0x%llx) and 0x%llx (the top of guest RAM or the kernel's "
			    "initrd_addr_max; raise --mem above %s)", mib(size, b1, sizeof(b1)),
			    (unsigned long long)floor, (unsigned long long)top,
			    mib(ram_top, b2, sizeof(b2)));
	*addr = (top - size) & ~(PAGE_SIZE - 1);
	return 0;
}

void linux_build_zero_page(uint8_t *zp, const uint8_t *img, const struct bzimage *bz,
			   uint64_t cmdline_addr, uint64_t initrd_addr, uint64_t initrd_size,
			   const struct e820_entry *map, unsigned nr_map)
{
	memset(zp, 0, ZP_SIZE);
	memcpy(zp + BZ_SETUP_SECTS, img + BZ_SETUP_SECTS, bz->header_end - BZ_SETUP_SECTS);
	zp[BZ_TYPE_OF_LOADER] = BZ_LOADER_UNDEFINED;
	put32(zp + BZ_CODE32_START, bz->load_addr);
	put32(zp + BZ_CMD_LINE_PTR, cmdline_addr);
	put32(zp + ZP_EXT_CMD_LINE_PTR, cmdline_addr >> 32);
	put32(zp + BZ_RAMDISK_IMAGE, initrd_addr);
	put32(zp + ZP_EXT_RAMDISK_IMAGE, initrd_addr >> 32);
	put32(zp + BZ_RAMDISK_SIZE, initrd_size);
	put32(zp + ZP_EXT_RAMDISK_SIZE, initrd_size >> 32);
	if (nr_map > ZP_E820_MAX)
		nr_map = ZP_E820_MAX;
	zp[ZP_E820_ENTRIES] = nr_map;
	for (unsigned i = 0; i < nr_map; i++) {
		uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

		memcpy(e, &map[i].addr, 8);
		memcpy(e + 8, &map[i].size, 8);
		put32(e + 16, map[i].type);
	}
}

/* ELF: the program headers of an ELF32 or ELF64 file, in one form. */
struct elf_phdr {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

struct elf_file {
	bool is64;
	uint64_t phoff;
	unsigned phnum, phentsize;
};

static int elf_open(const uint8_t *img, size_t len, struct elf_file *ef)
{
	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG))
		return -1;
	if (img[EI_DATA] != ELFDATA2LSB)
		return -1;
	if (img[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr eh;

		if (len < sizeof(eh))
			return -1;
		memcpy(&eh, img, sizeof(eh));
		*ef = (struct elf_file){ true, eh.e_phoff, eh.e_phnum, eh.e_phentsize };
		if (ef->phentsize != sizeof(Elf64_Phdr))
			return -1;
	} else if (img[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr eh;

		if (len < sizeof(eh))
			return -1;
		memcpy(&eh, img, sizeof(eh));
		*ef = (struct elf_file){ false, eh.e_phoff, eh.e_phnum, eh.e_phentsize };
		if (ef->phentsize != sizeof(Elf32_Phdr))
			return -1;
	} else {
		return -1;
	}
	if (ef->phoff > len || (uint64_t)ef->phnum * ef->phentsize > len - ef->phoff)
		return -1;
	return 0;
}

static void elf_phdr(const uint8_t *img, const struct elf_file *ef, unsigned i,
		     struct elf_phdr *ph)
{
	const uint8_t *p = img + ef->phoff + (uint64_t)i * ef->phentsize;

	if (ef->is64) {
		Elf64_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	} else {
		Elf32_Phdr h;

		memcpy(&h, p, sizeof(h));
		*ph = (struct elf_phdr){ h.p_type, h.p_offset, h.p_paddr, h.p_filesz, h.p_memsz };
	}
}

/*
 * Walk one PT_NOTE segment; 1 with *entry when it holds the PVH note, 0 if
 * not, -1 if malformed. Each note is 12 bytes of header, the name and the
 * descriptor, both padded to 4 bytes; the last note's padding may run past
 * the segment. Every offset is checked against the bytes left before it is
 * advanced, so off never exceeds size + 3 and no difference can wrap.
 */
static int scan_notes(const uint8_t *p, uint64_t size, uint32_t *entry)
{
	uint64_t off = 0;

	while (off < size && size - off >= 12) {
		uint32_t namesz = get32(p + off), descsz = get32(p + off + 4);
		uint32_t type = get32(p + off + 8);
		uint64_t name = off + 12, desc;

		if (namesz > size - name)
			return -1;
		desc = name + ALIGN_UP((uint64_t)namesz, 4);
		if (descsz && (desc > size || descsz > size - desc))
			return -1;
		if (namesz == 4 && !memcmp(p + name, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t v;

			if (descsz == 4)
				v = get32(p + desc);
			else if (descsz == 8)
				v = get64(p + desc);
			else
				return -1;
			if (v > UINT32_MAX)
				return -1;
			*entry = v;
			return 1;
		}
		off = desc + ALIGN_UP((uint64_t)descsz, 4);
	}
	return 0;
}

int linux_find_pvh_note(const uint8_t *img, size_t len, uint32_t *entry)
{
	struct elf_file ef;
	int bad = 0;

	if (elf_open(img, len, &ef))
		return -1;
	for (unsigned i = 0; i < ef.phnum; i++) {
		struct elf_phdr ph;
		int r;

		elf_phdr(img, &ef, i, &ph);
		if (ph.type != PT_NOTE)
			continue;
		if (ph.offset > len || ph.filesz > len - ph.offset) {
			bad = 1;
			continue;
		}
		r = scan_notes(img + ph.offset, ph.filesz, entry);
		if (r == 1)
			return 1;
		if (r < 0)
			bad = 1;
	}
	return bad ? -1 : 0;
}

int linux_parse_pvh(const uint8_t *img, size_t len, uint64_t ram_top,
		    struct pvh_image *pvh, char *err, size_t errlen)
{
	struct elf_file ef;
	char b1[32], b2[32];
	int r;

	memset(pvh, 0, sizeof(*pvh));
	if (elf_open(img, len, &ef))
		return loader_fail(err, errlen, "not an ELF file, or its program headers lie past "
			    "the end of the file (truncated?)");
	r = linux_find_pvh_note(img, len, &pvh->entry);
	if (r < 0)
		return loader_fail(err, errlen, "malformed ELF notes (a note runs past its segment "
			    "or the end of the file, or the PVH entry is not a 32-bit address)");
	if (r == 0)
		return loader_fail(err, errlen, "ELF image without a Xen PVH entry note "
			    "(XEN_ELFNOTE_PHYS32_ENTRY): build Linux with CONFIG_PVH");
	for (unsigned i = 0; i < ef.phnum; i++) {
		struct elf_phdr ph;

		elf_phdr(img, &ef, i, &ph);
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (ph.filesz > ph.memsz)
			return loader_fail(err, errlen, "segment at 0x%llx has a file size larger than "
				    "its memory size", (unsigned long long)ph.paddr);
		if (ph.offset > len || ph.filesz > len - ph.offset)
			return loader_fail(err, errlen, "truncated: segment at 0x%llx needs file bytes up "
				    "to %llu, the file has %zu", (unsigned long long)ph.paddr,
				    (unsigned long long)(ph.offset + ph.filesz), len);
		if (ph.paddr < E820_BIOS_END)
			return loader_fail(err, errlen, "segment at 0x%llx overlaps the first MiB, where "
				    "the boot information goes", (unsigned long long)ph.paddr);
		if (ph.paddr >= ram_top || ph.memsz > ram_top - ph.paddr)
			return loader_fail(err, errlen, "too large for guest RAM: segment at 0x%llx "
				    "of 0x%llx bytes needs RAM up to %s, guest RAM below 3 GiB "
				    "ends at %s (--mem)",
				    (unsigned long long)ph.paddr, (unsigned long long)ph.memsz,
				    ph.memsz > UINT64_MAX - ph.paddr ? "beyond 2^64" :
				    mib(ph.paddr + ph.memsz, b1, sizeof(b1)),
				    mib(ram_top, b2, sizeof(b2)));
		if (pvh->nr_segs == PVH_MAX_SEGMENTS)
			return loader_fail(err, errlen, "more than %d loadable segments", PVH_MAX_SEGMENTS);
		pvh->segs[pvh->nr_segs++] = (struct pvh_segment){
			.file_off = ph.offset, .filesz = ph.filesz,
			.paddr = ph.paddr, .memsz = ph.memsz,
		};
		if (ph.paddr + ph.memsz > pvh->end)
			pvh->end = ph.paddr + ph.memsz;
	}
	if (!pvh->nr_segs)
		return loader_fail(err, errlen, "ELF image has no loadable segment");
	if (pvh->entry < E820_BIOS_END || pvh->entry >= pvh->end)
		return loader_fail(err, errlen, "PVH entry 0x%x lies outside the loaded kernel "
			    "(0x%x-0x%llx)", pvh->entry, (unsigned)E820_BIOS_END,
			    (unsigned long long)pvh->end);
	return 0;
}

/* Shared by both loaders. */

static const char *linux_cmdline(const struct vm_config *cfg)
{
	return cfg->cmdline ? cfg->cmdline : LINUX_DEFAULT_CMDLINE;
}

/*
 * The command line goes to the guest as given, but where this host's KVM
 * advertises a feature the CPUID filter hides (cpuid.c) and Linux would
 * use in ring 0, which the emulator cannot execute, with the words that
 * make Linux leave it alone appended: "noxsave" (XSAVE, and the AVX
 * family that needs it) and "clearcpuid=popcnt" (hweight's POPCNT).
 */
static int write_cmdline(struct vm *vm, const char *cmdline, uint64_t max)
{
	const struct cpuid_report *rep = &vm->cpuid_report;
	char extra[64];
	size_t n;
	char *s;
	bool ok;

	snprintf(extra, sizeof(extra), "%s%s", rep->xsave_forced ? " noxsave" : "",
		 rep->popcnt_forced ? " clearcpuid=popcnt" : "");
	n = strlen(cmdline) + strlen(extra);
	s = malloc(n + 1);
	if (!s)
		return -1;
	snprintf(s, n + 1, "%s%s", cmdline, extra);
	if (n > max) {
		vmm_err("%s: command line of %zu bytes is longer than the kernel accepts "
			"(%llu bytes)", vm->cfg->image, n, (unsigned long long)max);
		free(s);
		return -1;
	}
	if (*extra)
		vmm_info("cpuid: this host's KVM keeps features visible: '%s' appended to the "
			 "kernel command line (--cpuid-host: not appended)", extra + 1);
	vmm_dbg("%s: command line '%s'", vm->cfg->image, s);
	ok = guest_mem_write(&vm->mem, LINUX_CMDLINE_ADDR, s, n + 1);
	free(s);
	return ok ? 0 : -1;
}

/*
 * Read the initrd and copy it below min(ram_top, addr_max + 1), above
 * floor. A missing --initrd leaves *addr and *size zero.
 */
static int load_initrd(struct vm *vm, uint64_t addr_max, uint64_t floor,
		       uint64_t *addr, uint64_t *size)
{
	const char *path = vm->cfg->initrd, *why;
	char err[256];
	uint8_t *data;
	size_t len;
	int ret;

	*addr = *size = 0;
	if (!path)
		return 0;
	data = read_file(path, &len, &why);
	if (!data) {
		vmm_err("%s: cannot read initrd: %s", path, why);
		return -1;
	}
	ret = linux_place_initrd(len, guest_mem_low_size(&vm->mem), addr_max, floor,
				 addr, err, sizeof(err));
	if (ret)
		vmm_err("%s: %s", path, err);
	else if (len && !guest_mem_write(&vm->mem, *addr, data, len))
		ret = -1;
	free(data);
	*size = len;
	if (!ret)
		vmm_dbg("%s: initrd at 0x%llx-0x%llx (%zu bytes)", path,
			(unsigned long long)*addr, (unsigned long long)(*addr + len), len);
	return ret;
}

static int write_mptable(struct vm *vm)
{
	uint8_t buf[MPTABLE_MAX_SIZE];
	size_t n = mptable_build(buf, LINUX_MPTABLE_ADDR, vm->cfg->cpus);

	return guest_mem_write(&vm->mem, LINUX_MPTABLE_ADDR, buf, n) ? 0 : -1;
}

/* GDT and a 4 GiB identity map of 2 MiB pages, for the 64-bit entry. */
static int write_long_mode_tables(struct vm *vm)
{
	uint64_t gdt[4] = { 0, 0, GDT_CODE64, GDT_DATA };
	uint64_t pml4[512] = { LINUX_PDPT_ADDR | PTE_PRESENT | PTE_WRITE };
	uint64_t pdpt[512] = { 0 };
	uint64_t *pd = calloc(4 * 512, sizeof(*pd));
	bool ok;

	if (!pd)
		return -1;
	for (unsigned i = 0; i < 4; i++)
		pdpt[i] = (LINUX_PD_ADDR + i * PAGE_SIZE) | PTE_PRESENT | PTE_WRITE;
	for (unsigned i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | PTE_PRESENT | PTE_WRITE | PTE_LARGE;
	ok = guest_mem_write(&vm->mem, LINUX_GDT_ADDR, gdt, sizeof(gdt)) &&
	     guest_mem_write(&vm->mem, LINUX_PML4_ADDR, pml4, sizeof(pml4)) &&
	     guest_mem_write(&vm->mem, LINUX_PDPT_ADDR, pdpt, sizeof(pdpt)) &&
	     guest_mem_write(&vm->mem, LINUX_PD_ADDR, pd, 4 * 512 * sizeof(*pd));
	free(pd);
	return ok ? 0 : -1;
}

static int check_linux_options(const struct vm_config *cfg)
{
	if (cfg->nr_modules) {
		vmm_err("%s: --module is for multiboot images; give a Linux kernel its "
			"initramfs with --initrd", cfg->image);
		return -1;
	}
	return 0;
}

static int small_ram(const struct vm *vm)
{
	vmm_err("%s: guest RAM of %llu MiB is too small for the boot information",
		vm->cfg->image, (unsigned long long)(vm->cfg->mem >> 20));
	return -1;
}

int linux_load_bzimage(struct vm *vm, const uint8_t *img, size_t len)
{
	const struct vm_config *cfg = vm->cfg;
	uint64_t low = guest_mem_low_size(&vm->mem), initrd_addr, initrd_size;
	struct e820_entry map[E820_MAX_ENTRIES];
	uint8_t zp[ZP_SIZE];
	struct bzimage bz;
	unsigned nr_map;
	char err[256];

	if (check_linux_options(cfg))
		return -1;
	if (linux_parse_bzimage(img, len, low, &bz, err, sizeof(err))) {
		vmm_err("%s: %s", cfg->image, err);
		return -1;
	}
	if (!guest_mem_write(&vm->mem, bz.load_addr, img + bz.setup_len, bz.kernel_len))
		return small_ram(vm);
	if (write_cmdline(vm, linux_cmdline(cfg),
			  bz.cmdline_size < LINUX_CMDLINE_MAX ? bz.cmdline_size : LINUX_CMDLINE_MAX))
		return -1;
	if (load_initrd(vm, bz.initrd_addr_max, bz.kernel_end, &initrd_addr, &initrd_size))
		return -1;
	nr_map = e820_build(&vm->mem, map);
	linux_build_zero_page(zp, img, &bz, LINUX_CMDLINE_ADDR, initrd_addr, initrd_size,
			      map, nr_map);
	if (!guest_mem_write(&vm->mem, LINUX_BOOT_INFO_ADDR, zp, sizeof(zp)) ||
	    write_long_mode_tables(vm) || write_mptable(vm))
		return small_ram(vm);

	vmm_dbg("%s: bzImage, boot protocol %u.%02u, %zu bytes at 0x%llx (init_size %u), "
		"entry 0x%llx, zero page 0x%llx, command line at 0x%llx", cfg->image,
		bz.version >> 8, bz.version & 0xff, bz.kernel_len,
		(unsigned long long)bz.load_addr, bz.init_size,
		(unsigned long long)bz.load_addr + 0x200, LINUX_BOOT_INFO_ADDR,
		LINUX_CMDLINE_ADDR);
	e820_log(cfg->image, map, nr_map);
	vm->boot = (struct boot_cpu_state){
		.long_mode = true,
		.rip = bz.load_addr + 0x200,
		.rsp = LINUX_STACK_TOP,
		.rsi = LINUX_BOOT_INFO_ADDR,
		.cr3 = LINUX_PML4_ADDR,
		.gdt_base = LINUX_GDT_ADDR,
		.gdt_limit = 4 * 8 - 1,
		.code_sel = LINUX_BOOT_CS,
		.data_sel = LINUX_BOOT_DS,
	};
	return 0;
}

int linux_load_pvh(struct vm *vm, const uint8_t *img, size_t len)
{
	const struct vm_config *cfg = vm->cfg;
	uint64_t low = guest_mem_low_size(&vm->mem), initrd_addr, initrd_size;
	struct e820_entry map[E820_MAX_ENTRIES];
	struct hvm_memmap_table_entry mm[E820_MAX_ENTRIES];
	struct hvm_modlist_entry mod = { 0 };
	struct hvm_start_info si = { .magic = HVM_START_MAGIC, .version = 1 };
	uint64_t mm_addr = LINUX_BOOT_INFO_ADDR + sizeof(si);
	uint64_t mod_addr = mm_addr + sizeof(mm);
	struct pvh_image pvh;
	unsigned nr_map;
	char err[256];

	if (check_linux_options(cfg))
		return -1;
	if (linux_parse_pvh(img, len, low, &pvh, err, sizeof(err))) {
		vmm_err("%s: %s", cfg->image, err);
		return -1;
	}
	for (unsigned i = 0; i < pvh.nr_segs; i++) {
		const struct pvh_segment *s = &pvh.segs[i];
		uint8_t *dst = guest_mem_ptr(&vm->mem, s->paddr, s->memsz);

		memcpy(dst, img + s->file_off, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}
	if (write_cmdline(vm, linux_cmdline(cfg), LINUX_CMDLINE_MAX))
		return -1;
	if (load_initrd(vm, UINT32_MAX, ALIGN_UP(pvh.end, PAGE_SIZE), &initrd_addr, &initrd_size))
		return -1;
	nr_map = e820_build(&vm->mem, map);
	for (unsigned i = 0; i < nr_map; i++)
		mm[i] = (struct hvm_memmap_table_entry){ map[i].addr, map[i].size, map[i].type, 0 };
	si.cmdline_paddr = LINUX_CMDLINE_ADDR;
	si.memmap_paddr = mm_addr;
	si.memmap_entries = nr_map;
	if (cfg->initrd) {
		mod = (struct hvm_modlist_entry){ .paddr = initrd_addr, .size = initrd_size };
		si.nr_modules = 1;
		si.modlist_paddr = mod_addr;
	}
	if (!guest_mem_write(&vm->mem, LINUX_BOOT_INFO_ADDR, &si, sizeof(si)) ||
	    !guest_mem_write(&vm->mem, mm_addr, mm, sizeof(mm)) ||
	    !guest_mem_write(&vm->mem, mod_addr, &mod, sizeof(mod)) ||
	    write_mptable(vm))
		return small_ram(vm);

	vmm_dbg("%s: ELF vmlinux with a PVH note, %u segments up to 0x%llx, entry 0x%x, "
		"hvm_start_info 0x%llx, command line at 0x%llx", cfg->image, pvh.nr_segs,
		(unsigned long long)pvh.end, pvh.entry, LINUX_BOOT_INFO_ADDR, LINUX_CMDLINE_ADDR);
	e820_log(cfg->image, map, nr_map);
	vm->boot = (struct boot_cpu_state){
		.long_mode = false,
		.rip = pvh.entry,
		.rbx = LINUX_BOOT_INFO_ADDR,
	};
	return 0;
}
