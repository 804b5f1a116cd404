// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the Linux loaders' pure parts: the bzImage setup-header
 * parser and load-address choice, initrd placement, the zero page and its
 * e820 map, the PVH note and segment parser, the MP table, and the
 * --initrd/--append options. Malformed and randomly corrupted inputs must
 * be named or rejected, never crash.
 */
#include <check.h>
#include <elf.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/boot/e820.h"
#include "vmm/guest_mem.h"
#include "vmm/boot/linux.h"
#include "vmm/devices/pci.h"
#include "vmm/options.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define RAM_TOP		(256 * MiB)
#define SETUP_SECTS	4
#define SETUP_LEN	((SETUP_SECTS + 1) * 512)
#define PM_LEN		(64 * 1024)
#define BZ_LEN		(SETUP_LEN + PM_LEN)

static uint8_t img[BZ_LEN];
static char err[256];

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* A 64-bit relocatable bzImage, protocol 2.15, as Debian's kernel has it. */
static void make_bzimage(void)
{
	memset(img, 0, sizeof(img));
	img[BZ_SETUP_SECTS] = SETUP_SECTS;
	put32(img + BZ_SYSSIZE, PM_LEN / 16);
	put16(img + BZ_BOOT_FLAG, 0xaa55);
	img[BZ_JUMP] = 0xeb;
	img[BZ_JUMP + 1] = 0x6a;		/* header ends at 0x26c */
	put32(img + BZ_HEADER, 0x53726448);
	put16(img + BZ_VERSION, 0x020f);
	img[BZ_LOADFLAGS] = 0x01;
	put32(img + BZ_CODE32_START, 0x100000);
	put32(img + BZ_INITRD_ADDR_MAX, 0x7fffffff);
	put32(img + BZ_KERNEL_ALIGNMENT, 0x200000);
	img[BZ_RELOCATABLE] = 1;
	put16(img + BZ_XLOADFLAGS, 0x7f);
	put32(img + BZ_CMDLINE_SIZE, 0x7ff);
	put64(img + BZ_PREF_ADDRESS, 0x1000000);
	put32(img + BZ_INIT_SIZE, 0x3f98000);
	/* A recognisable first byte of the protected-mode part. */
	img[SETUP_LEN] = 0x5a;
}

static int parse_bz(size_t len, uint64_t ram_top, struct bzimage *bz)
{
	return linux_parse_bzimage(img, len, ram_top, bz, err, sizeof(err));
}

#define ck_assert_err(text) \
	ck_assert_msg(strstr(err, (text)), "error '%s' lacks '%s'", err, (text))

START_TEST(bzimage_header_is_parsed_and_loaded_at_its_preferred_address)
{
	struct bzimage bz;

	make_bzimage();
	ck_assert(linux_is_bzimage(img, sizeof(img)));
	ck_assert_int_eq(parse_bz(sizeof(img), RAM_TOP, &bz), 0);
	ck_assert_uint_eq(bz.version, 0x020f);
	ck_assert_uint_eq(bz.setup_len, SETUP_LEN);
	ck_assert_uint_eq(bz.kernel_len, PM_LEN);
	ck_assert_uint_eq(bz.header_end, 0x26c);
	ck_assert_uint_eq(bz.init_size, 0x3f98000);
	ck_assert_uint_eq(bz.initrd_addr_max, 0x7fffffff);
	ck_assert_uint_eq(bz.cmdline_size, 0x7ff);
	ck_assert_uint_eq(bz.load_addr, 0x1000000);
}
END_TEST

START_TEST(bzimage_setup_sects_zero_means_four)
{
	struct bzimage bz;

	make_bzimage();
	img[BZ_SETUP_SECTS] = 0;
	ck_assert_int_eq(parse_bz(sizeof(img), RAM_TOP, &bz), 0);
	ck_assert_uint_eq(bz.setup_len, 5 * 512);
}
END_TEST

START_TEST(bzimage_relocatable_kernel_moves_down_when_its_preferred_address_does_not_fit)
{
	struct bzimage bz;

	make_bzimage();
	/* 16 MiB + 63.6 MiB does not fit in 72 MiB; 2 MiB + 63.6 MiB does. */
	ck_assert_int_eq(parse_bz(sizeof(img), 72 * MiB, &bz), 0);
	ck_assert_uint_eq(bz.load_addr, 2 * MiB);
}
END_TEST

START_TEST(bzimage_fixed_kernel_is_loaded_at_1mib)
{
	struct bzimage bz;

	make_bzimage();
	img[BZ_RELOCATABLE] = 0;
	ck_assert_int_eq(parse_bz(sizeof(img), RAM_TOP, &bz), 0);
	ck_assert_uint_eq(bz.load_addr, 1 * MiB);
}
END_TEST

START_TEST(bzimage_protocol_older_than_2_12_is_refused)
{
	struct bzimage bz;

	make_bzimage();
	put16(img + BZ_VERSION, 0x020a);
	ck_assert_int_eq(parse_bz(sizeof(img), RAM_TOP, &bz), -1);
	ck_assert_err("Linux boot protocol 2.10 is too old (need 2.12+)");
}
END_TEST

START_TEST(boot_sector_without_setup_header_is_too_old)
{
	struct bzimage bz;

	make_bzimage();
	put32(img + BZ_HEADER, 0);
	ck_assert(linux_is_bzimage(img, sizeof(img)));
	ck_assert_int_eq(parse_bz(sizeof(img), RAM_TOP, &bz), -1);
	ck_assert_err("older than 2.00 is too old");
}
END_TEST

START_TEST(bzimage_without_xlf_kernel_64_is_refused)
{
	struct bzimage bz;

	make_bzimage();
	put16(img + BZ_XLOADFLAGS, 0x7e);
	ck_assert_int_eq(parse_bz(sizeof(img), RAM_TOP, &bz), -1);
	ck_assert_err("not a 64-bit kernel");
}
END_TEST

START_TEST(bzimage_truncated_payload_is_refused)
{
	struct bzimage bz;

	make_bzimage();
	ck_assert_int_eq(parse_bz(sizeof(img) - 16, RAM_TOP, &bz), -1);
	ck_assert_err("truncated: the kernel needs");
}
END_TEST

START_TEST(bzimage_truncated_setup_header_is_refused)
{
	struct bzimage bz;

	make_bzimage();
	ck_assert_int_eq(parse_bz(0x240, RAM_TOP, &bz), -1);
	ck_assert_err("truncated: the setup header ends at byte");
}
END_TEST

/* Found by fuzz_bzimage: a file ending just after "HdrS" had its version read past the end. */
START_TEST(bzimage_ending_after_hdrs_is_truncated)
{
	struct bzimage bz;
	uint8_t *copy = malloc(BZ_VERSION);	/* exactly the file, for AddressSanitizer */

	make_bzimage();
	ck_assert_ptr_nonnull(copy);
	memcpy(copy, img, BZ_VERSION);
	ck_assert_int_eq(linux_parse_bzimage(copy, BZ_VERSION, RAM_TOP, &bz, err, sizeof(err)), -1);
	ck_assert_err("truncated: the setup header ends at byte");
	free(copy);
}
END_TEST

START_TEST(bzimage_too_large_for_ram_is_refused)
{
	struct bzimage bz;

	make_bzimage();
	ck_assert_int_eq(parse_bz(sizeof(img), 32 * MiB, &bz), -1);
	ck_assert_err("too large for guest RAM");
}
END_TEST

START_TEST(random_corruption_of_a_bzimage_never_crashes_the_parser)
{
	struct bzimage bz;

	srandom(12345);
	for (int i = 0; i < 20000; i++) {
		make_bzimage();
		for (int j = 0; j < 8; j++)
			img[0x1f0 + random() % 0x80] = random();
		if (parse_bz(random() % sizeof(img), 1 + random() % RAM_TOP, &bz) == 0) {
			ck_assert_uint_le(bz.setup_len + bz.kernel_len, sizeof(img));
			ck_assert_uint_ge(bz.load_addr, 1 * MiB);
		} else {
			ck_assert(err[0]);
		}
	}
}
END_TEST

START_TEST(initrd_goes_to_the_top_of_ram_page_aligned)
{
	uint64_t addr;

	ck_assert_int_eq(linux_place_initrd(10000, RAM_TOP, 0x7fffffff, 80 * MiB, &addr,
					    err, sizeof(err)), 0);
	ck_assert_uint_eq(addr, (RAM_TOP - 10000) & ~(PAGE_SIZE - 1));
	ck_assert_uint_le(addr + 10000, RAM_TOP);
}
END_TEST

START_TEST(initrd_stays_below_initrd_addr_max)
{
	uint64_t addr;

	/* initrd_addr_max is the last byte the initrd may occupy. */
	ck_assert_int_eq(linux_place_initrd(PAGE_SIZE, 4 * GiB, 0x37ffffff, 0, &addr,
					    err, sizeof(err)), 0);
	ck_assert_uint_eq(addr, 0x38000000 - PAGE_SIZE);
}
END_TEST

START_TEST(initrd_that_would_overlap_the_kernel_is_refused)
{
	uint64_t addr;

	ck_assert_int_eq(linux_place_initrd(200 * MiB, RAM_TOP, 0x7fffffff, 80 * MiB, &addr,
					    err, sizeof(err)), -1);
	ck_assert_err("initrd of 200 MiB does not fit");
	ck_assert_int_eq(linux_place_initrd(RAM_TOP + 1, RAM_TOP, 0x7fffffff, 0, &addr,
					    err, sizeof(err)), -1);
}
END_TEST

/* A file of `size` bytes of `fill` in a temporary folder; the caller unlinks it. */
static char *fill_file(uint64_t size, int fill)
{
	static char path[64];
	static uint8_t chunk[65536];
	int fd;

	strcpy(path, "/tmp/test_linux_boot.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	memset(chunk, fill, sizeof(chunk));
	for (uint64_t done = 0; done < size; ) {
		size_t n = size - done < sizeof(chunk) ? size - done : sizeof(chunk);

		ck_assert_int_eq(write(fd, chunk, n), (ssize_t)n);
		done += n;
	}
	close(fd);
	return path;
}

/*
 * Load the bzImage in img with an initrd of initrd_size bytes into a real
 * guest RAM object of ram bytes; returns what linux_load_bzimage returns.
 */
static int load_bz_with_initrd(uint64_t ram, uint64_t initrd_size, struct vm *vm,
			       struct vm_config *cfg)
{
	int ret;

	memset(vm, 0, sizeof(*vm));
	memset(cfg, 0, sizeof(*cfg));
	cfg->image = "bzImage";
	cfg->mem = ram;
	cfg->cpus = 1;
	cfg->initrd = fill_file(initrd_size, 0xa5);
	vm->cfg = cfg;
	ck_assert_int_eq(guest_mem_init(&vm->mem, ram), 0);
	ret = linux_load_bzimage(vm, img, sizeof(img));
	unlink(cfg->initrd);
	return ret;
}

START_TEST(initrd_goes_above_a_kernel_longer_than_its_init_size)
{
	struct vm_config cfg;
	struct vm vm;
	struct bzimage bz;
	uint32_t initrd_addr;
	uint8_t last;

	/* init_size 0: the kernel still occupies its 64 KiB from 16 MiB. */
	make_bzimage();
	put32(img + BZ_INIT_SIZE, 0);
	img[BZ_LEN - 1] = 0x77;
	ck_assert_int_eq(parse_bz(sizeof(img), 32 * MiB, &bz), 0);
	ck_assert_uint_eq(bz.load_addr, 16 * MiB);
	ck_assert_uint_eq(bz.kernel_end, 16 * MiB + PM_LEN);

	/* Placed at the top of 32 MiB, this initrd would start 32 KiB into the kernel. */
	ck_assert_int_eq(load_bz_with_initrd(32 * MiB, 16 * MiB - 32 * KiB, &vm, &cfg), -1);
	guest_mem_destroy(&vm.mem);

	/* One that ends exactly at the kernel's end fits, and the kernel stays whole. */
	ck_assert_int_eq(load_bz_with_initrd(32 * MiB, 16 * MiB - PM_LEN, &vm, &cfg), 0);
	ck_assert(guest_mem_read(&vm.mem, LINUX_BOOT_INFO_ADDR + BZ_RAMDISK_IMAGE,
				 &initrd_addr, sizeof(initrd_addr)));
	ck_assert_uint_eq(initrd_addr, 16 * MiB + PM_LEN);
	ck_assert(guest_mem_read(&vm.mem, 16 * MiB + PM_LEN - 1, &last, 1));
	ck_assert_uint_eq(last, 0x77);
	guest_mem_destroy(&vm.mem);
}
END_TEST

static struct guest_mem fake_mem(uint64_t size)
{
	struct guest_mem m = { .fd = -1, .size = size };
	uint64_t low = size < GUEST_MEM_HOLE_START ? size : GUEST_MEM_HOLE_START;

	m.regions[m.nr_regions++] = (struct guest_region){ .gpa = 0, .size = low };
	if (size > low)
		m.regions[m.nr_regions++] = (struct guest_region){
			.gpa = GUEST_MEM_HIGH_START, .size = size - low, .pgoff = low >> 12, .slot = 1,
		};
	return m;
}

START_TEST(e820_map_follows_the_guest_ram_regions)
{
	struct guest_mem m = fake_mem(256 * MiB);
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(&m, map);

	ck_assert_uint_eq(n, 4);
	ck_assert_uint_eq(map[0].addr, 0);
	ck_assert_uint_eq(map[0].size, 0x9fc00);
	ck_assert_uint_eq(map[0].type, E820_TYPE_RAM);
	ck_assert_uint_eq(map[1].addr, 0x9fc00);
	ck_assert_uint_eq(map[1].addr + map[1].size, 0x100000);
	ck_assert_uint_eq(map[1].type, E820_TYPE_RESERVED);
	ck_assert_uint_eq(map[2].addr, 0x100000);
	ck_assert_uint_eq(map[2].addr + map[2].size, 256 * MiB);
	ck_assert_uint_eq(map[2].type, E820_TYPE_RAM);
}
END_TEST

START_TEST(e820_map_puts_ram_past_the_hole_at_4gib)
{
	struct guest_mem m = fake_mem(5 * GiB);
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(&m, map);
	uint64_t ram = 0;

	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(map[2].addr + map[2].size, GUEST_MEM_HOLE_START);
	ck_assert_uint_eq(map[4].addr, 4 * GiB);
	ck_assert_uint_eq(map[4].size, 2 * GiB);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			ck_assert_uint_ge(map[i].addr, map[i - 1].addr + map[i - 1].size);
		if (map[i].type == E820_TYPE_RAM)
			ram += map[i].size;
	}
	/* Every byte of RAM is listed but the low BIOS area. */
	ck_assert_uint_eq(ram, 5 * GiB - (0x100000 - 0x9fc00));
}
END_TEST

START_TEST(zero_page_carries_header_loader_cmdline_initrd_and_e820)
{
	struct guest_mem m = fake_mem(512 * MiB);
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(&m, map);
	static uint8_t zp[ZP_SIZE];
	struct bzimage bz;

	make_bzimage();
	ck_assert_int_eq(parse_bz(sizeof(img), 512 * MiB, &bz), 0);
	memset(zp, 0xcc, sizeof(zp));
	linux_build_zero_page(zp, img, &bz, 0x20000, 0x1ff00000, 0x12345, map, n);

	ck_assert_uint_eq(get32(zp + BZ_HEADER), 0x53726448);
	ck_assert_uint_eq(get16(zp + BZ_VERSION), 0x020f);
	ck_assert_uint_eq(get16(zp + BZ_BOOT_FLAG), 0xaa55);
	ck_assert_uint_eq(get32(zp + BZ_INIT_SIZE), 0x3f98000);
	ck_assert_uint_eq(zp[BZ_TYPE_OF_LOADER], 0xff);
	ck_assert_uint_eq(get32(zp + BZ_CODE32_START), 0x1000000);
	ck_assert_uint_eq(get32(zp + BZ_CMD_LINE_PTR), 0x20000);
	ck_assert_uint_eq(get32(zp + ZP_EXT_CMD_LINE_PTR), 0);
	ck_assert_uint_eq(get32(zp + BZ_RAMDISK_IMAGE), 0x1ff00000);
	ck_assert_uint_eq(get32(zp + BZ_RAMDISK_SIZE), 0x12345);
	ck_assert_uint_eq(get32(zp + ZP_EXT_RAMDISK_IMAGE), 0);
	/* Nothing before the setup header but the fields we own. */
	ck_assert_uint_eq(zp[0], 0);
	ck_assert_uint_eq(zp[ZP_E820_ENTRIES], n);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = zp + ZP_E820_TABLE + 20 * i;

		ck_assert_uint_eq(get64(e), map[i].addr);
		ck_assert_uint_eq(get64(e + 8), map[i].size);
		ck_assert_uint_eq(get32(e + 16), map[i].type);
	}
	ck_assert_uint_eq(get64(zp + ZP_E820_TABLE + 20 * n), 0);
}
END_TEST

/* A minimal ELF64 vmlinux: one PT_NOTE holding notes, one PT_LOAD at 16 MiB. */
static uint8_t elf[8192];

static size_t add_note(uint8_t *p, const char *name, uint32_t type, const void *desc,
		       uint32_t descsz)
{
	uint32_t namesz = strlen(name) + 1;
	size_t off = 12;

	put32(p, namesz);
	put32(p + 4, descsz);
	put32(p + 8, type);
	memcpy(p + off, name, namesz);
	off += ALIGN_UP(namesz, 4);
	memcpy(p + off, desc, descsz);
	return off + ALIGN_UP(descsz, 4);
}

static size_t make_vmlinux(bool is64, uint32_t entry_descsz)
{
	uint64_t entry = 0x1000850;
	uint8_t *notes = elf + 0x200;
	size_t nl = 0;

	memset(elf, 0, sizeof(elf));
	nl += add_note(notes + nl, "Xen", 6, "linux", 6);
	nl += add_note(notes + nl, "GNU", 3, "\x01\x02\x03\x04", 4);
	if (entry_descsz)
		nl += add_note(notes + nl, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &entry, entry_descsz);
	if (is64) {
		Elf64_Ehdr eh = {
			.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
			.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
			.e_entry = 0x1000000, .e_phoff = sizeof(Elf64_Ehdr),
			.e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
		};
		Elf64_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = 0xffffffff81000000ULL,
			  .p_paddr = 0x1000000, .p_filesz = 0x1000, .p_memsz = 0x3000 },
			{ .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = nl, .p_memsz = nl },
		};

		memcpy(elf, &eh, sizeof(eh));
		memcpy(elf + sizeof(eh), ph, sizeof(ph));
	} else {
		Elf32_Ehdr eh = {
			.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32, ELFDATA2LSB, EV_CURRENT },
			.e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
			.e_entry = 0x1000000, .e_phoff = sizeof(Elf32_Ehdr),
			.e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 2,
		};
		Elf32_Phdr ph[2] = {
			{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = 0xc1000000,
			  .p_paddr = 0x1000000, .p_filesz = 0x1000, .p_memsz = 0x3000 },
			{ .p_type = PT_NOTE, .p_offset = 0x200, .p_filesz = nl, .p_memsz = nl },
		};

		memcpy(elf, &eh, sizeof(eh));
		memcpy(elf + sizeof(eh), ph, sizeof(ph));
	}
	return 0x2000;
}

static int parse_pvh(size_t len, uint64_t ram_top, struct pvh_image *pvh)
{
	return linux_parse_pvh(elf, len, ram_top, pvh, err, sizeof(err));
}

START_TEST(pvh_note_with_a_64_bit_address_is_found)
{
	uint32_t entry = 0;

	make_vmlinux(true, 8);
	ck_assert_int_eq(linux_find_pvh_note(elf, sizeof(elf), &entry), 1);
	ck_assert_uint_eq(entry, 0x1000850);
}
END_TEST

START_TEST(pvh_note_with_a_32_bit_address_is_found_in_an_elf32_kernel)
{
	uint32_t entry = 0;

	make_vmlinux(false, 4);
	ck_assert_int_eq(linux_find_pvh_note(elf, sizeof(elf), &entry), 1);
	ck_assert_uint_eq(entry, 0x1000850);
}
END_TEST

START_TEST(elf_without_pvh_note_is_told_apart_from_non_elf)
{
	uint32_t entry;
	struct pvh_image pvh;

	make_vmlinux(true, 0);
	ck_assert_int_eq(linux_find_pvh_note(elf, sizeof(elf), &entry), 0);
	ck_assert_int_eq(parse_pvh(sizeof(elf), RAM_TOP, &pvh), -1);
	ck_assert_err("without a Xen PVH entry note");
	memset(elf, 'x', sizeof(elf));
	ck_assert_int_eq(linux_find_pvh_note(elf, sizeof(elf), &entry), -1);
	ck_assert_int_eq(parse_pvh(sizeof(elf), RAM_TOP, &pvh), -1);
	ck_assert_err("not an ELF file");
}
END_TEST

START_TEST(pvh_note_running_past_its_segment_is_malformed)
{
	uint32_t entry;
	struct pvh_image pvh;

	make_vmlinux(true, 8);
	put32(elf + 0x200 + 4, 0x10000);	/* first note's descsz */
	ck_assert_int_eq(linux_find_pvh_note(elf, sizeof(elf), &entry), -1);
	ck_assert_int_eq(parse_pvh(sizeof(elf), RAM_TOP, &pvh), -1);
	ck_assert_err("malformed ELF notes");
}
END_TEST

/*
 * An ELF64 file whose only program header is a PT_NOTE segment of seglen
 * bytes at its end, copied from notes; tail more bytes of notes follow the
 * segment inside the file. The buffer is exactly as long as the file, so
 * AddressSanitizer catches a read past it.
 */
static uint8_t *note_elf(const uint8_t *notes, size_t seglen, size_t tail, size_t *len)
{
	size_t off = sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
		.e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 1,
	};
	Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = off, .p_filesz = seglen };
	uint8_t *f;

	*len = off + seglen + tail;
	f = malloc(*len);
	ck_assert_ptr_nonnull(f);
	memcpy(f, &eh, sizeof(eh));
	memcpy(f + sizeof(eh), &ph, sizeof(ph));
	memcpy(f + off, notes, seglen + tail);
	return f;
}

static int find_note_in(const uint8_t *notes, size_t seglen, size_t tail, uint32_t *entry)
{
	size_t len;
	uint8_t *f = note_elf(notes, seglen, tail, &len);
	int r = linux_find_pvh_note(f, len, entry);

	free(f);
	return r;
}

START_TEST(pvh_note_walk_stops_at_the_end_of_a_13_byte_segment)
{
	uint8_t notes[64] = { 0 };
	uint64_t pvh_entry = 0x1000850;
	uint32_t entry = 0;

	/* namesz 0, descsz 1: the note's padded end (16) is past the segment (13). */
	put32(notes, 0);
	put32(notes + 4, 1);
	put32(notes + 8, 1);
	notes[12] = 0x5a;
	/* A PVH note right behind the segment, in the file but not in the segment. */
	add_note(notes + 16, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &pvh_entry, 8);
	ck_assert_int_eq(find_note_in(notes, 13, 0, &entry), 0);
	ck_assert_int_eq(find_note_in(notes, 13, 40, &entry), 0);
	ck_assert_uint_eq(entry, 0);
}
END_TEST

START_TEST(pvh_note_walk_edge_cases_stay_inside_the_segment)
{
	uint8_t notes[64];
	uint64_t pvh_entry = 0x1000850;
	uint32_t entry;
	size_t n;

	/* Shorter than a note header: no note at all. */
	memset(notes, 0, sizeof(notes));
	for (size_t len = 0; len < 12; len++)
		ck_assert_int_eq(find_note_in(notes, len, 0, &entry), 0);
	/* Sizes that would wrap any sum. */
	put32(notes, 0xffffffff);
	put32(notes + 4, 0xffffffff);
	ck_assert_int_eq(find_note_in(notes, 24, 0, &entry), -1);
	put32(notes, 0);
	ck_assert_int_eq(find_note_in(notes, 24, 0, &entry), -1);
	put32(notes, 0xfffffff);
	put32(notes + 4, 0);
	ck_assert_int_eq(find_note_in(notes, 24, 0, &entry), -1);
	/* A name whose padding runs past the segment: tolerated, not the PVH note. */
	memset(notes, 0, sizeof(notes));
	n = add_note(notes, "Linux", 1, "", 0);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(find_note_in(notes, 18, 0, &entry), 0);
	/* The PVH note exactly at the end, no padding after it. */
	memset(notes, 0, sizeof(notes));
	n = add_note(notes, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &pvh_entry, 8);
	entry = 0;
	ck_assert_int_eq(find_note_in(notes, n, 0, &entry), 1);
	ck_assert_uint_eq(entry, 0x1000850);
	/* Cut anywhere inside the PVH note: never found, never read past the cut. */
	for (size_t len = 12; len < n; len++)
		ck_assert_int_eq(find_note_in(notes, len, 0, &entry), -1);
}
END_TEST

START_TEST(pvh_note_segment_cut_at_any_length_is_walked_safely)
{
	uint32_t entry;
	size_t nl;

	make_vmlinux(true, 8);
	nl = get64(elf + sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr) + offsetof(Elf64_Phdr, p_filesz));
	for (size_t len = 0; len <= nl; len++) {
		int r = find_note_in(elf + 0x200, len, 0, &entry);

		ck_assert_int_ge(r, -1);
		ck_assert_int_eq(r == 1, len == nl);
	}
}
END_TEST

START_TEST(pvh_image_is_parsed_into_segments)
{
	struct pvh_image pvh;

	make_vmlinux(true, 8);
	ck_assert_int_eq(parse_pvh(make_vmlinux(true, 8), RAM_TOP, &pvh), 0);
	ck_assert_uint_eq(pvh.entry, 0x1000850);
	ck_assert_uint_eq(pvh.nr_segs, 1);
	ck_assert_uint_eq(pvh.segs[0].paddr, 0x1000000);
	ck_assert_uint_eq(pvh.segs[0].file_off, 0x1000);
	ck_assert_uint_eq(pvh.segs[0].filesz, 0x1000);
	ck_assert_uint_eq(pvh.segs[0].memsz, 0x3000);
	ck_assert_uint_eq(pvh.end, 0x1003000);
}
END_TEST

START_TEST(pvh_image_truncated_or_too_large_or_low_is_refused)
{
	struct pvh_image pvh;
	Elf64_Phdr ph;

	make_vmlinux(true, 8);
	ck_assert_int_eq(parse_pvh(0x1800, RAM_TOP, &pvh), -1);
	ck_assert_err("truncated");
	ck_assert_int_eq(parse_pvh(0x30, RAM_TOP, &pvh), -1);
	ck_assert_err("not an ELF file");
	ck_assert_int_eq(parse_pvh(sizeof(elf), 16 * MiB + 0x2000, &pvh), -1);
	ck_assert_err("too large for guest RAM");
	ck_assert_err("segment at 0x1000000 of 0x3000 bytes needs RAM up to 17 MiB");
	memcpy(&ph, elf + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_paddr = 0x80000;
	memcpy(elf + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	ck_assert_int_eq(parse_pvh(sizeof(elf), RAM_TOP, &pvh), -1);
	ck_assert_err("overlaps the first MiB");
}
END_TEST

START_TEST(pvh_segment_too_large_for_any_ram_is_named_without_a_wrapped_address)
{
	struct pvh_image pvh;
	Elf64_Phdr ph;

	make_vmlinux(true, 8);
	memcpy(&ph, elf + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_memsz = -0x10000ULL;	/* paddr + memsz wraps to 0xff0000 */
	memcpy(elf + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	ck_assert_int_eq(parse_pvh(sizeof(elf), RAM_TOP, &pvh), -1);
	ck_assert_err("segment at 0x1000000 of 0xffffffffffff0000 bytes needs RAM up to beyond 2^64");
	ck_assert_msg(!strstr(err, "0xff0000"), "wrapped address in '%s'", err);
}
END_TEST

START_TEST(random_corruption_of_a_vmlinux_never_crashes_the_parser)
{
	struct pvh_image pvh;

	srandom(54321);
	for (int i = 0; i < 20000; i++) {
		make_vmlinux(i & 1, (i & 2) ? 8 : 4);
		for (int j = 0; j < 6; j++)
			elf[random() % 0x300] = random();
		if (parse_pvh(random() % sizeof(elf), RAM_TOP, &pvh) == 0) {
			for (unsigned s = 0; s < pvh.nr_segs; s++) {
				ck_assert_uint_le(pvh.segs[s].file_off + pvh.segs[s].filesz, sizeof(elf));
				ck_assert_uint_le(pvh.segs[s].paddr + pvh.segs[s].memsz, RAM_TOP);
			}
		} else {
			ck_assert(err[0]);
		}
	}
}
END_TEST

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

START_TEST(mp_table_lists_every_cpu_the_ioapic_and_isa_irqs_with_valid_checksums)
{
	static uint8_t buf[MPTABLE_MAX_SIZE];
	unsigned cpus = _i ? 255 : 4;
	size_t n = mptable_build(buf, 0xf0000, cpus);
	const uint8_t *mpc = buf + 16, *e;
	unsigned ncpu = 0, nbsp = 0, nio = 0, nint = 0;

	ck_assert_uint_le(n, MPTABLE_MAX_SIZE);
	ck_assert_mem_eq(buf, "_MP_", 4);
	ck_assert_uint_eq(get32(buf + 4), 0xf0010);
	ck_assert_uint_eq(buf[8], 1);
	ck_assert_uint_eq(sum(buf, 16), 0);
	ck_assert_mem_eq(mpc, "PCMP", 4);
	ck_assert_uint_eq(get16(mpc + 4), n - 16);
	ck_assert_uint_eq(sum(mpc, get16(mpc + 4)), 0);
	ck_assert_uint_eq(get32(mpc + 36), 0xfee00000);
	e = mpc + 44;
	for (unsigned i = 0; i < get16(mpc + 34); i++) {
		switch (e[0]) {
		case 0:
			ck_assert_uint_eq(e[1], ncpu);
			ck_assert(e[3] & 1);
			nbsp += !!(e[3] & 2);
			ncpu++;
			e += 20;
			break;
		case 2:
			ck_assert_uint_eq(e[1], cpus);
			ck_assert_uint_eq(get32(e + 4), 0xfec00000);
			nio++;
			e += 8;
			break;
		case 3:
			if (e[4] == 1) {
				ck_assert_uint_eq(e[5], e[7]);	/* ISA IRQ i on pin i */
				nint++;
			}
			e += 8;
			break;
		default:
			e += 8;
			break;
		}
	}
	ck_assert_ptr_eq(e, buf + n);
	ck_assert_uint_eq(ncpu, cpus);
	ck_assert_uint_eq(nbsp, 1);
	ck_assert_uint_eq(nio, 1);
	ck_assert_uint_eq(nint, 16);
}
END_TEST

/* The PCI window is a gap in the map: no RAM, no reserved range over any BAR. */
START_TEST(e820_map_leaves_the_pci_window_out_and_reserves_the_apics)
{
	struct guest_mem m = fake_mem(_i ? 5 * GiB : 256 * MiB);
	struct e820_entry map[E820_MAX_ENTRIES];
	unsigned n = e820_build(&m, map);
	bool apics_reserved = false;

	for (unsigned i = 0; i < n; i++) {
		uint64_t end = map[i].addr + map[i].size;

		ck_assert(end <= PCI_MMIO_BASE || map[i].addr >= PCI_MMIO_END);
		if (map[i].type == E820_TYPE_RESERVED && map[i].addr <= 0xfec00000 &&
		    end >= 0xfee01000)
			apics_reserved = true;
	}
	ck_assert(apics_reserved);
	ck_assert_uint_ge(PCI_MMIO_BASE, GUEST_MEM_HOLE_START);
}
END_TEST

/*
 * The MP table as Linux's mpparse reads it: bus 0 is "PCI", the ISA bus
 * another id, and every slot's INTA# (srcbusirq = slot << 2) is a level,
 * active-high interrupt on the IOAPIC pin the PCI bus raises for it.
 */
START_TEST(mp_table_routes_every_pci_slot_inta_to_the_ioapic)
{
	static uint8_t buf[MPTABLE_MAX_SIZE];
	size_t n = mptable_build(buf, 0xf0000, 2);
	const uint8_t *mpc = buf + 16, *e = mpc + 44;
	int pci_bus = -1, isa_bus = -1;
	bool routed[PCI_MAX_SLOTS] = { false };

	ck_assert_uint_le(n, MPTABLE_MAX_SIZE);
	ck_assert_uint_eq(sum(mpc, get16(mpc + 4)), 0);
	for (unsigned i = 0; i < get16(mpc + 34); i++) {
		if (e[0] == 0) {
			e += 20;
			continue;
		}
		if (e[0] == 1 && !memcmp(e + 2, "PCI   ", 6))
			pci_bus = e[1];
		if (e[0] == 1 && !memcmp(e + 2, "ISA   ", 6))
			isa_bus = e[1];
		if (e[0] == 3 && pci_bus >= 0 && e[4] == pci_bus) {
			unsigned slot = e[5] >> 2;

			ck_assert_uint_eq(e[1], 0);		/* mp_INT */
			ck_assert_uint_eq(get16(e + 2), 0x0d);	/* level, active high */
			ck_assert_uint_eq(e[5] & 3, 0);		/* INTA# */
			ck_assert_uint_eq(e[6], 2);		/* the IOAPIC (id = nr CPUs) */
			ck_assert_uint_eq(e[7], pci_intx_gsi(slot));
			ck_assert_uint_ge(e[7], 16);		/* not an ISA pin */
			ck_assert_uint_lt(e[7], 24);		/* KVM's IOAPIC has 24 pins */
			routed[slot] = true;
		}
		e += 8;
	}
	ck_assert_int_eq(pci_bus, 0);
	ck_assert_int_ge(isa_bus, 1);
	for (unsigned s = 1; s < PCI_MAX_SLOTS; s++)
		ck_assert_msg(routed[s], "slot %u has no INTA# entry", s);
}
END_TEST

static enum options_result parse_args(struct vm_config *cfg, int argc, const char **argv)
{
	return options_parse_run(argc, (char **)argv, cfg);
}

START_TEST(initrd_and_append_options_fill_the_config)
{
	struct vm_config cfg;
	const char *argv[] = { "vmm", "run", "--initrd", "root.cpio", "--append",
			       "console=ttyS0 quiet", "vmlinuz", NULL };

	ck_assert_int_eq(parse_args(&cfg, 7, argv), OPTIONS_RUN);
	ck_assert_str_eq(cfg.initrd, "root.cpio");
	ck_assert_str_eq(cfg.cmdline, "console=ttyS0 quiet");
	ck_assert_str_eq(cfg.image, "vmlinuz");
}
END_TEST

START_TEST(append_and_a_command_line_after_dashes_are_exclusive)
{
	struct vm_config cfg;
	const char *argv[] = { "vmm", "run", "-q", "--append", "a=1", "vmlinuz", "--", "b=2", NULL };

	ck_assert_int_eq(parse_args(&cfg, 8, argv), OPTIONS_ERROR);
}
END_TEST

static Suite *linux_suite(void)
{
	Suite *s = suite_create("linux boot");
	TCase *bz = tcase_create("bzImage"), *pl = tcase_create("placement");
	TCase *pvh = tcase_create("pvh"), *mp = tcase_create("mptable");
	TCase *opt = tcase_create("options");

	tcase_add_test(bz, bzimage_header_is_parsed_and_loaded_at_its_preferred_address);
	tcase_add_test(bz, bzimage_setup_sects_zero_means_four);
	tcase_add_test(bz, bzimage_relocatable_kernel_moves_down_when_its_preferred_address_does_not_fit);
	tcase_add_test(bz, bzimage_fixed_kernel_is_loaded_at_1mib);
	tcase_add_test(bz, bzimage_protocol_older_than_2_12_is_refused);
	tcase_add_test(bz, boot_sector_without_setup_header_is_too_old);
	tcase_add_test(bz, bzimage_without_xlf_kernel_64_is_refused);
	tcase_add_test(bz, bzimage_truncated_payload_is_refused);
	tcase_add_test(bz, bzimage_truncated_setup_header_is_refused);
	tcase_add_test(bz, bzimage_ending_after_hdrs_is_truncated);
	tcase_add_test(bz, bzimage_too_large_for_ram_is_refused);
	tcase_add_test(bz, random_corruption_of_a_bzimage_never_crashes_the_parser);
	tcase_add_test(bz, zero_page_carries_header_loader_cmdline_initrd_and_e820);
	tcase_add_test(pl, initrd_goes_to_the_top_of_ram_page_aligned);
	tcase_add_test(pl, initrd_stays_below_initrd_addr_max);
	tcase_add_test(pl, initrd_that_would_overlap_the_kernel_is_refused);
	tcase_add_test(pl, initrd_goes_above_a_kernel_longer_than_its_init_size);
	tcase_add_test(pl, e820_map_follows_the_guest_ram_regions);
	tcase_add_test(pl, e820_map_puts_ram_past_the_hole_at_4gib);
	tcase_add_loop_test(pl, e820_map_leaves_the_pci_window_out_and_reserves_the_apics, 0, 2);
	tcase_add_test(pvh, pvh_note_with_a_64_bit_address_is_found);
	tcase_add_test(pvh, pvh_note_with_a_32_bit_address_is_found_in_an_elf32_kernel);
	tcase_add_test(pvh, elf_without_pvh_note_is_told_apart_from_non_elf);
	tcase_add_test(pvh, pvh_note_running_past_its_segment_is_malformed);
	tcase_add_test(pvh, pvh_note_walk_stops_at_the_end_of_a_13_byte_segment);
	tcase_add_test(pvh, pvh_note_walk_edge_cases_stay_inside_the_segment);
	tcase_add_test(pvh, pvh_note_segment_cut_at_any_length_is_walked_safely);
	tcase_add_test(pvh, pvh_image_is_parsed_into_segments);
	tcase_add_test(pvh, pvh_image_truncated_or_too_large_or_low_is_refused);
	tcase_add_test(pvh, pvh_segment_too_large_for_any_ram_is_named_without_a_wrapped_address);
	tcase_add_test(pvh, random_corruption_of_a_vmlinux_never_crashes_the_parser);
	tcase_add_loop_test(mp, mp_table_lists_every_cpu_the_ioapic_and_isa_irqs_with_valid_checksums, 0, 2);
	tcase_add_test(mp, mp_table_routes_every_pci_slot_inta_to_the_ioapic);
	tcase_add_test(opt, initrd_and_append_options_fill_the_config);
	tcase_add_test(opt, append_and_a_command_line_after_dashes_are_exclusive);
	suite_add_tcase(s, bz);
	suite_add_tcase(s, pl);
	suite_add_tcase(s, pvh);
	suite_add_tcase(s, mp);
	suite_add_tcase(s, opt);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(linux_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
