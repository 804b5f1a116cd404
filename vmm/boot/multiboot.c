// SPDX-License-Identifier: GPL-2.0-only
/*
 * Multiboot v1 loader (the contract of GRUB legacy, QEMU's -kernel and
 * kvm-unit-tests). The image is copied into guest RAM; modules follow it,
 * page aligned; the boot information (MBI, command line, memory map,
 * module list and strings) follows the modules. The boot vCPU enters in
 * flat 32-bit protected mode with paging off, EAX = 0x2BADB002 and
 * EBX = the MBI's address.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/e820.h"
#include "vmm/boot/loader.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define MB_HEADER_MAGIC		0x1BADB002u
#define MB_BOOT_MAGIC		0x2BADB002u
#define MB_FLAG_PAGE_ALIGN	(1u << 0)
#define MB_FLAG_MEMINFO		(1u << 1)
#define MB_FLAG_VIDEO		(1u << 2)
#define MB_FLAG_AOUT_KLUDGE	(1u << 16)
#define MB_FLAGS_KNOWN_LOW	(MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO | MB_FLAG_VIDEO)

#define MBI_MEM		(1u << 0)
#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_MMAP	(1u << 6)
#define MBI_LOADER_NAME	(1u << 9)

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe[6];
};

struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
};

long multiboot_find_header(const uint8_t *img, size_t len, int *beyond)
{
	size_t limit = len < MB_SEARCH_LIMIT ? len : MB_SEARCH_LIMIT;

	*beyond = 0;
	for (size_t off = 0; off + 12 <= limit; off += 4) {
		uint32_t w[3];

		memcpy(w, img + off, sizeof(w));
		if (w[0] == MB_HEADER_MAGIC && (uint32_t)(w[0] + w[1] + w[2]) == 0)
			return (long)off;
	}
	for (size_t off = limit & ~3ul; off + 12 <= len; off += 4) {
		uint32_t w[3];

		memcpy(w, img + off, sizeof(w));
		if (w[0] == MB_HEADER_MAGIC && (uint32_t)(w[0] + w[1] + w[2]) == 0) {
			*beyond = 1;
			break;
		}
	}
	return -1;
}

static int add_segment(struct mb_image *mb, uint64_t file_off, uint64_t filesz,
		       uint64_t paddr, uint64_t memsz, size_t len, uint64_t ram_top,
		       char *err, size_t errlen)
{
	if (filesz > memsz)
		return loader_fail(err, errlen, "segment at 0x%llx has a file size larger than its memory size",
			    (unsigned long long)paddr);
	if (file_off > len || filesz > len - file_off)
		return loader_fail(err, errlen, "truncated: segment at 0x%llx needs file bytes up to %llu, "
			    "the file has %zu", (unsigned long long)paddr,
			    (unsigned long long)(file_off + filesz), len);
	if (paddr >= ram_top || memsz > ram_top - paddr)
		return loader_fail(err, errlen, "segment 0x%llx-0x%llx lies outside guest RAM (0-0x%llx)",
			    (unsigned long long)paddr, (unsigned long long)(paddr + memsz),
			    (unsigned long long)ram_top);
	if (mb->nr_segs == MB_MAX_SEGMENTS)
		return loader_fail(err, errlen, "more than %d loadable segments", MB_MAX_SEGMENTS);
	mb->segs[mb->nr_segs++] = (struct mb_segment){
		.file_off = file_off, .filesz = filesz, .paddr = paddr, .memsz = memsz,
	};
	if (paddr + memsz > mb->end)
		mb->end = paddr + memsz;
	return 0;
}

static int parse_aout_kludge(const uint8_t *img, size_t len, uint64_t ram_top,
			     const struct mb_header *h, struct mb_image *mb,
			     char *err, size_t errlen)
{
	uint64_t file_off, filesz, memsz;

	if (h->load_addr > h->header_addr ||
	    h->header_addr - h->load_addr > mb->header_off)
		return loader_fail(err, errlen, "bad multiboot address fields: load_addr 0x%x, header_addr 0x%x",
			    h->load_addr, h->header_addr);
	file_off = mb->header_off - (h->header_addr - h->load_addr);
	if (h->load_end_addr) {
		if (h->load_end_addr < h->load_addr)
			return loader_fail(err, errlen, "bad multiboot address fields: load_end_addr 0x%x "
				    "below load_addr 0x%x", h->load_end_addr, h->load_addr);
		filesz = h->load_end_addr - h->load_addr;
	} else {
		filesz = len - file_off;
	}
	memsz = filesz;
	if (h->bss_end_addr) {
		if (h->bss_end_addr < h->load_addr + filesz)
			return loader_fail(err, errlen, "bad multiboot address fields: bss_end_addr 0x%x "
				    "below the end of the loaded image", h->bss_end_addr);
		memsz = h->bss_end_addr - h->load_addr;
	}
	mb->entry = h->entry_addr;
	return add_segment(mb, file_off, filesz, h->load_addr, memsz, len, ram_top, err, errlen);
}

static int parse_elf32(const uint8_t *img, size_t len, uint64_t ram_top,
		       struct mb_image *mb, char *err, size_t errlen)
{
	Elf32_Ehdr eh;

	if (len < sizeof(eh) || memcmp(img, ELFMAG, SELFMAG))
		return loader_fail(err, errlen, "not an ELF file, and the multiboot header does "
			    "not give load addresses (flag 16)");
	memcpy(&eh, img, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS32)
		return loader_fail(err, errlen, "ELF class %d: multiboot images must be ELF32 "
			    "(convert with objcopy -O elf32-i386)", eh.e_ident[EI_CLASS]);
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_386)
		return loader_fail(err, errlen, "not an elf32-i386 image (machine %u)", eh.e_machine);
	if (eh.e_phentsize != sizeof(Elf32_Phdr) || eh.e_phnum == 0)
		return loader_fail(err, errlen, "ELF image has no usable program headers");
	if (eh.e_phoff > len || (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr) > len - eh.e_phoff)
		return loader_fail(err, errlen, "truncated: program headers end past the end of the file");
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf32_Phdr ph;

		memcpy(&ph, img + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (add_segment(mb, ph.p_offset, ph.p_filesz, ph.p_paddr, ph.p_memsz,
				len, ram_top, err, errlen))
			return -1;
	}
	if (!mb->nr_segs)
		return loader_fail(err, errlen, "ELF image has no loadable segment");
	mb->entry = eh.e_entry;
	return 0;
}

int multiboot_parse(const uint8_t *img, size_t len, uint64_t ram_top,
		    struct mb_image *mb, char *err, size_t errlen)
{
	struct mb_header h;
	int beyond;
	long off = multiboot_find_header(img, len, &beyond);

	memset(mb, 0, sizeof(*mb));
	if (off < 0)
		return loader_fail(err, errlen, beyond ?
			    "multiboot header lies past the first 8 KiB" :
			    "no multiboot header in the first 8 KiB");
	mb->header_off = off;
	memset(&h, 0, sizeof(h));
	memcpy(&h, img + off, len - off < sizeof(h) ? len - off : sizeof(h));
	mb->flags = h.flags;
	if (h.flags & 0xffffu & ~MB_FLAGS_KNOWN_LOW)
		return loader_fail(err, errlen, "multiboot header requires features this loader "
			    "lacks (flags 0x%08x)", h.flags);
	if (h.flags & MB_FLAG_AOUT_KLUDGE) {
		if (len - off < sizeof(h))
			return loader_fail(err, errlen, "truncated: multiboot header address fields "
				    "end past the end of the file");
		return parse_aout_kludge(img, len, ram_top, &h, mb, err, errlen);
	}
	return parse_elf32(img, len, ram_top, mb, err, errlen);
}

/* Bump allocator for the boot information, below the 32-bit hole. */
struct place {
	uint64_t next, top;
};

static int place_alloc(struct place *p, uint64_t size, uint64_t align, uint64_t *addr)
{
	uint64_t a = ALIGN_UP(p->next, align);

	if (a > p->top || size > p->top - a)
		return -1;
	*addr = a;
	p->next = a + size;
	return 0;
}

static int place_bytes(struct vm *vm, struct place *p, const void *data, uint64_t size,
		       uint64_t align, uint64_t *addr)
{
	if (place_alloc(p, size, align, addr))
		return -1;
	return guest_mem_write(&vm->mem, *addr, data, size) ? 0 : -1;
}

static int place_string(struct vm *vm, struct place *p, const char *s, uint32_t *addr)
{
	uint64_t a;

	if (place_bytes(vm, p, s, strlen(s) + 1, 1, &a))
		return -1;
	*addr = (uint32_t)a;
	return 0;
}

static unsigned build_mmap(const struct vm *vm, struct mb_mmap_entry *e)
{
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(&vm->mem, map);

	for (unsigned i = 0; i < n; i++)
		e[i] = (struct mb_mmap_entry){ 20, map[i].addr, map[i].size, map[i].type };
	return n;
}

static int load_modules(struct vm *vm, struct place *p, struct mb_module *mods)
{
	const struct vm_config *cfg = vm->cfg;

	for (unsigned i = 0; i < cfg->nr_modules; i++) {
		size_t len;
		uint64_t addr;
		const char *why;
		void *data = read_file(cfg->modules[i].path, &len, &why);

		if (!data) {
			vmm_err("%s: cannot read module: %s", cfg->modules[i].path, why);
			return -1;
		}
		if (place_bytes(vm, p, data, len, PAGE_SIZE, &addr)) {
			free(data);
			vmm_err("%s: module of %zu bytes does not fit in guest RAM below 3 GiB "
				"after the image (--mem %llu MiB)", cfg->modules[i].path, len,
				(unsigned long long)(cfg->mem >> 20));
			return -1;
		}
		free(data);
		mods[i].mod_start = addr;
		mods[i].mod_end = addr + len;
	}
	return 0;
}

int multiboot_load(struct vm *vm, const uint8_t *img, size_t len)
{
	const struct vm_config *cfg = vm->cfg;
	const char *path = cfg->image;
	struct mb_image mb;
	struct mb_info info = { 0 };
	struct mb_mmap_entry mmap[E820_MAX_ENTRIES];
	struct mb_module mods[VMM_MAX_MODULES] = { { 0 } };
	struct place p;
	uint64_t low = guest_mem_low_size(&vm->mem), a = 0;
	unsigned nmmap;
	char err[256], *cmdline;

	if (multiboot_parse(img, len, low, &mb, err, sizeof(err))) {
		vmm_err("%s: %s", path, err);
		return -1;
	}
	for (unsigned i = 0; i < mb.nr_segs; i++) {
		const struct mb_segment *s = &mb.segs[i];
		uint8_t *dst = guest_mem_ptr(&vm->mem, s->paddr, s->memsz);

		memcpy(dst, img + s->file_off, s->filesz);
		memset(dst + s->filesz, 0, s->memsz - s->filesz);
	}

	p = (struct place){ .next = ALIGN_UP(mb.end, PAGE_SIZE), .top = low };
	if (load_modules(vm, &p, mods))
		return -1;

	/* QEMU and GRUB pass "<image> <arguments>"; so do we. */
	if (asprintf(&cmdline, "%s %s", path, cfg->cmdline ? cfg->cmdline : "") < 0)
		return -1;
	nmmap = build_mmap(vm, mmap);
	info.flags = MBI_MEM | MBI_CMDLINE | MBI_MMAP | MBI_LOADER_NAME |
		     (cfg->nr_modules ? MBI_MODS : 0);
	info.mem_lower = 0x9fc00 >> 10;
	info.mem_upper = (low - 1 * MiB) >> 10;
	info.mods_count = cfg->nr_modules;
	info.mmap_length = nmmap * sizeof(mmap[0]);

	{
		uint64_t info_addr;
		int bad = place_alloc(&p, sizeof(info), PAGE_SIZE, &info_addr) ||
			  place_string(vm, &p, cmdline, &info.cmdline) ||
			  place_string(vm, &p, "vmm", &info.boot_loader_name) ||
			  place_bytes(vm, &p, mmap, info.mmap_length, 8, &a);

		info.mmap_addr = a;
		for (unsigned i = 0; !bad && i < cfg->nr_modules; i++)
			bad = place_string(vm, &p, cfg->modules[i].string, &mods[i].string);
		if (!bad && cfg->nr_modules) {
			bad = place_bytes(vm, &p, mods, cfg->nr_modules * sizeof(mods[0]), 8, &a);
			info.mods_addr = a;
		}
		if (!bad)
			bad = !guest_mem_write(&vm->mem, info_addr, &info, sizeof(info));
		free(cmdline);
		if (bad) {
			vmm_err("%s: the image, its modules and the boot information do not fit "
				"in guest RAM below 3 GiB (--mem %llu MiB)", path,
				(unsigned long long)(cfg->mem >> 20));
			return -1;
		}
		vm->boot = (struct boot_cpu_state){
			.long_mode = false,
			.rip = mb.entry,
			.rax = MB_BOOT_MAGIC,
			.rbx = info_addr,
		};
	}
	return 0;
}
