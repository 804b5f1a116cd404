// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the multiboot v1 image parser: well-formed ELF32 and
 * address-field images, every malformation the loader must name, and
 * random corruption that must never crash it.
 */
#include <check.h>
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/loader.h"
#include "vmm/util.h"

#define RAM_TOP (64 * MiB)
#define IMG_SIZE 16384

struct img {
	uint8_t b[IMG_SIZE];
	size_t len;
	char err[256];
	struct mb_image mb;
};

static void put_header(struct img *im, size_t off, uint32_t flags)
{
	uint32_t h[3] = { 0x1BADB002u, flags, -(0x1BADB002u + flags) };

	memcpy(im->b + off, h, sizeof(h));
}

/* An elf32-i386 image: header at 0x1000 of the file, one PT_LOAD. */
static void make_elf(struct img *im, uint32_t paddr, uint32_t filesz, uint32_t memsz)
{
	Elf32_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
		.e_entry = paddr + 0x20, .e_phoff = sizeof(Elf32_Ehdr),
		.e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 2,
	};
	Elf32_Phdr ph[2] = {
		{ .p_type = PT_NOTE, .p_offset = 0x100, .p_filesz = 8, .p_memsz = 8 },
		{ .p_type = PT_LOAD, .p_offset = 0x1000, .p_vaddr = paddr, .p_paddr = paddr,
		  .p_filesz = filesz, .p_memsz = memsz, .p_flags = PF_R | PF_X },
	};

	memset(im, 0, sizeof(*im));
	memcpy(im->b, &eh, sizeof(eh));
	memcpy(im->b + sizeof(eh), ph, sizeof(ph));
	put_header(im, 0x1000, 0);
	im->len = 0x1000 + filesz;
}

static int parse(struct img *im)
{
	return multiboot_parse(im->b, im->len, RAM_TOP, &im->mb, im->err, sizeof(im->err));
}

#define ck_assert_fails_with(im, text)                                          \
	do {                                                                    \
		ck_assert_int_eq(parse(im), -1);                                \
		ck_assert_msg(strstr((im)->err, (text)), "error '%s' lacks '%s'", \
			      (im)->err, (text));                               \
	} while (0)

static struct img im;

START_TEST(elf32_image_is_parsed_into_segments_with_bss)
{
	make_elf(&im, 0x100000, 0x800, 0x3000);
	ck_assert_int_eq(parse(&im), 0);
	ck_assert_uint_eq(im.mb.header_off, 0x1000);
	ck_assert_uint_eq(im.mb.entry, 0x100020);
	ck_assert_uint_eq(im.mb.nr_segs, 1);
	ck_assert_uint_eq(im.mb.segs[0].file_off, 0x1000);
	ck_assert_uint_eq(im.mb.segs[0].filesz, 0x800);
	ck_assert_uint_eq(im.mb.segs[0].memsz, 0x3000);
	ck_assert_uint_eq(im.mb.end, 0x103000);
}
END_TEST

START_TEST(address_fields_image_is_parsed)
{
	uint32_t f[5] = { 0x100000 + 0x40, 0x100000, 0x100000 + 0x1000, 0x100000 + 0x5000,
			  0x100000 + 0x60 };

	memset(&im, 0, sizeof(im));
	put_header(&im, 0x40, 1u << 16);
	memcpy(im.b + 0x40 + 12, f, sizeof(f));
	im.len = 0x2000;
	ck_assert_int_eq(parse(&im), 0);
	ck_assert_uint_eq(im.mb.entry, 0x100060);
	ck_assert_uint_eq(im.mb.segs[0].file_off, 0);
	ck_assert_uint_eq(im.mb.segs[0].filesz, 0x1000);
	ck_assert_uint_eq(im.mb.segs[0].memsz, 0x5000);
}
END_TEST

START_TEST(image_without_header_is_rejected)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	memset(im.b + 0x1000, 0, 12);
	ck_assert_fails_with(&im, "no multiboot header in the first 8 KiB");
}
END_TEST

START_TEST(header_with_wrong_checksum_is_not_a_header)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	im.b[0x1000 + 8] ^= 1;
	ck_assert_fails_with(&im, "no multiboot header");
}
END_TEST

START_TEST(header_past_8k_is_rejected_and_named)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	memset(im.b + 0x1000, 0, 12);
	put_header(&im, 0x2400, 0);
	im.len = 0x3000;
	ck_assert_fails_with(&im, "past the first 8 KiB");
}
END_TEST

START_TEST(unsupported_required_flags_are_rejected)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	put_header(&im, 0x1000, 1u << 3);
	ck_assert_fails_with(&im, "requires features");
}
END_TEST

START_TEST(truncated_segment_is_rejected)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	im.len -= 1;
	ck_assert_fails_with(&im, "truncated");
}
END_TEST

START_TEST(truncated_program_headers_are_rejected)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	((Elf32_Ehdr *)im.b)->e_phoff = im.len - 8;
	ck_assert_fails_with(&im, "truncated");
}
END_TEST

START_TEST(segment_outside_ram_is_rejected)
{
	make_elf(&im, RAM_TOP - 0x1000, 0x800, 0x2000);
	ck_assert_fails_with(&im, "outside guest RAM");
	make_elf(&im, 0xfffff000u, 0x800, 0x2000);
	ck_assert_fails_with(&im, "outside guest RAM");
}
END_TEST

START_TEST(elf64_image_is_rejected_with_advice)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	im.b[EI_CLASS] = ELFCLASS64;
	ck_assert_fails_with(&im, "elf32-i386");
}
END_TEST

START_TEST(file_size_larger_than_memory_size_is_rejected)
{
	make_elf(&im, 0x100000, 0x800, 0x400);
	ck_assert_fails_with(&im, "file size larger");
}
END_TEST

START_TEST(elf_without_loadable_segment_is_rejected)
{
	make_elf(&im, 0x100000, 0x800, 0x800);
	((Elf32_Phdr *)(im.b + sizeof(Elf32_Ehdr)))[1].p_type = PT_NULL;
	ck_assert_fails_with(&im, "no loadable segment");
}
END_TEST

START_TEST(bad_address_fields_are_rejected)
{
	uint32_t f[5] = { 0x100040, 0x100000, 0xff000, 0, 0x100060 };

	memset(&im, 0, sizeof(im));
	put_header(&im, 0x40, 1u << 16);
	memcpy(im.b + 0x40 + 12, f, sizeof(f));
	im.len = 0x2000;
	ck_assert_fails_with(&im, "load_end_addr");
	im.len = 0x50;	/* magic, flags and checksum, but not the address fields */
	ck_assert_fails_with(&im, "truncated");
}
END_TEST

/* Random corruption: the parser must return, and anything it accepts must be sane. */
START_TEST(corrupted_images_never_crash_the_parser)
{
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		make_elf(&im, 0x100000, 0x800, 0x1800);
		for (int k = 0; k < 1 + round % 8; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % 0x1100;

			seed = seed * 1103515245u + 12345u;
			im.b[pos] = seed >> 16;
		}
		im.len = 0x200 + (seed >> 4) % (0x1800 - 0x200);
		if (parse(&im) == 0) {
			for (unsigned i = 0; i < im.mb.nr_segs; i++) {
				const struct mb_segment *s = &im.mb.segs[i];

				ck_assert(s->file_off + s->filesz <= im.len);
				ck_assert(s->filesz <= s->memsz);
				ck_assert(s->paddr + s->memsz <= RAM_TOP);
			}
		} else {
			ck_assert(im.err[0]);
		}
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("multiboot parser");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, elf32_image_is_parsed_into_segments_with_bss);
	tcase_add_test(tc, address_fields_image_is_parsed);
	tcase_add_test(tc, image_without_header_is_rejected);
	tcase_add_test(tc, header_with_wrong_checksum_is_not_a_header);
	tcase_add_test(tc, header_past_8k_is_rejected_and_named);
	tcase_add_test(tc, unsupported_required_flags_are_rejected);
	tcase_add_test(tc, truncated_segment_is_rejected);
	tcase_add_test(tc, truncated_program_headers_are_rejected);
	tcase_add_test(tc, segment_outside_ram_is_rejected);
	tcase_add_test(tc, elf64_image_is_rejected_with_advice);
	tcase_add_test(tc, file_size_larger_than_memory_size_is_rejected);
	tcase_add_test(tc, elf_without_loadable_segment_is_rejected);
	tcase_add_test(tc, bad_address_fields_are_rejected);
	tcase_add_test(tc, corrupted_images_never_crash_the_parser);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
