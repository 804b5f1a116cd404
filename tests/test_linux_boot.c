// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the Linux loaders' pure parts: the bzImage setup-header
 * parser and load-address choice, initrd placement, the zero page and its
 * e820 map, and the --initrd/--append options (the PVH parser and the MP
 * table: test_boot_tables.c). Malformed and randomly corrupted inputs must
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
	options_free(&cfg);
}
END_TEST

START_TEST(append_and_a_command_line_after_dashes_are_exclusive)
{
	struct vm_config cfg;
	const char *argv[] = { "vmm", "run", "-q", "--append", "a=1", "vmlinuz", "--", "b=2", NULL };

	ck_assert_int_eq(parse_args(&cfg, 8, argv), OPTIONS_ERROR);
	options_free(&cfg);
}
END_TEST

static Suite *linux_suite(void)
{
	Suite *s = suite_create("linux boot");
	TCase *bz = tcase_create("bzImage"), *pl = tcase_create("placement");
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
	tcase_add_test(opt, initrd_and_append_options_fill_the_config);
	tcase_add_test(opt, append_and_a_command_line_after_dashes_are_exclusive);
	suite_add_tcase(s, bz);
	suite_add_tcase(s, pl);
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
