// SPDX-License-Identifier: GPL-2.0-only
/*
 * mkseeds DIR: write the fuzzers' binary seed inputs, tiny well-formed
 * images, to DIR/<target>/<name>. They are generated at build time rather
 * than committed; the text seeds of the option parser are committed
 * under fuzz/corpus/options/. Each image is the smallest one its parser
 * accepts, so that mutations start on the paths past the format checks.
 */
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "vmm/boot/linux.h"

static const char *outdir;

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void mkdir_or_die(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void seed(const char *target, const char *name, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir_or_die(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "mkseeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* --- multiboot v1 ---------------------------------------------------------- */
#define MB_MAGIC 0x1BADB002u

static void mb_header(uint8_t *p, uint32_t flags)
{
	put32(p, MB_MAGIC);
	put32(p + 4, flags);
	put32(p + 8, -(MB_MAGIC + flags));
}

/* ELF32 header, one PT_LOAD of the whole file at 1 MiB, the header after it. */
static void multiboot_elf(void)
{
	uint8_t img[sizeof(Elf32_Ehdr) + sizeof(Elf32_Phdr) + 12 + 4] = { 0 };
	Elf32_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
		.e_entry = 0x100000 + sizeof(img) - 4, .e_phoff = sizeof(Elf32_Ehdr),
		.e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 1,
	};
	Elf32_Phdr ph = {
		.p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0x100000, .p_paddr = 0x100000,
		.p_filesz = sizeof(img), .p_memsz = sizeof(img) + 0x1000, .p_flags = PF_R | PF_X,
	};

	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), &ph, sizeof(ph));
	mb_header(img + sizeof(eh) + sizeof(ph), 0x3);
	memcpy(img + sizeof(img) - 4, "\xf4\xeb\xfd\x90", 4);	/* hlt; jmp . */
	seed("multiboot", "elf32", img, sizeof(img));
}

/* The a.out kludge: flag 16 and the header's address fields. */
static void multiboot_aout(void)
{
	uint8_t img[48] = { 0 };

	mb_header(img, 0x10003);
	put32(img + 12, 0x100000);		/* header_addr */
	put32(img + 16, 0x100000);		/* load_addr */
	put32(img + 20, 0x100000 + 44);		/* load_end_addr */
	put32(img + 24, 0x102000);		/* bss_end_addr */
	put32(img + 28, 0x100000 + 44);		/* entry_addr */
	memcpy(img + 44, "\xf4\xeb\xfd\x90", 4);
	seed("multiboot", "aout-kludge", img, sizeof(img));
	put32(img + 20, 0);			/* load to the end of the file */
	put32(img + 24, 0);
	seed("multiboot", "aout-kludge-whole-file", img, sizeof(img));
}

/* --- bzImage ----------------------------------------------------------------- */
/* One setup sector, a 64-bit relocatable kernel of 16 bytes, protocol 2.15. */
static void bzimage(void)
{
	uint8_t img[2 * 512 + 16] = { 0 };

	img[BZ_SETUP_SECTS] = 1;
	put32(img + BZ_SYSSIZE, 1);
	put16(img + BZ_BOOT_FLAG, BZ_BOOT_FLAG_MAGIC);
	img[BZ_JUMP] = 0xeb;
	img[BZ_JUMP + 1] = 0x6a;
	put32(img + BZ_HEADER, BZ_HDRS_MAGIC);
	put16(img + BZ_VERSION, 0x020f);
	img[BZ_LOADFLAGS] = 0x01;
	put32(img + BZ_CODE32_START, 0x100000);
	put32(img + BZ_INITRD_ADDR_MAX, 0x7fffffff);
	put32(img + BZ_KERNEL_ALIGNMENT, 0x200000);
	img[BZ_RELOCATABLE] = 1;
	put16(img + BZ_XLOADFLAGS, 0x7f);
	put32(img + BZ_CMDLINE_SIZE, 0x7ff);
	put64(img + BZ_PREF_ADDRESS, 0x1000000);
	put32(img + BZ_INIT_SIZE, 0x400000);
	seed("bzimage", "relocatable", img, sizeof(img));
	img[BZ_RELOCATABLE] = 0;
	put32(img + BZ_INIT_SIZE, 0);
	seed("bzimage", "fixed-no-init-size", img, sizeof(img));
}

/* --- PVH ------------------------------------------------------------------- */
struct xen_note {
	uint32_t namesz, descsz, type;
	char name[4];
	uint8_t desc[8];
};

static size_t xen_note(struct xen_note *n, uint32_t entry, unsigned descsz)
{
	*n = (struct xen_note){ .namesz = 4, .descsz = descsz, .type = XEN_ELFNOTE_PHYS32_ENTRY, .name = "Xen" };
	if (descsz == 8)
		put64(n->desc, entry);
	else
		put32(n->desc, entry);
	return 16 + descsz;
}

/* ELF64: a PT_NOTE with the entry note (4-byte desc), a PT_LOAD at 1 MiB. */
static void pvh_elf64(void)
{
	uint8_t img[sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr) + sizeof(struct xen_note) + 8] = { 0 };
	size_t note_off = sizeof(Elf64_Ehdr) + 2 * sizeof(Elf64_Phdr);
	struct xen_note n;
	size_t note_len = xen_note(&n, 0x100000 + sizeof(img) - 8, 4);
	Elf64_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
		.e_entry = 0xffffffff81000000ull, .e_phoff = sizeof(Elf64_Ehdr),
		.e_ehsize = sizeof(Elf64_Ehdr), .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 2,
	};
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = note_len, .p_align = 4 },
		{ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0xffffffff81000000ull,
		  .p_paddr = 0x100000, .p_filesz = sizeof(img), .p_memsz = 0x2000,
		  .p_flags = PF_R | PF_X, .p_align = 0x1000 },
	};

	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	memcpy(img + note_off, &n, note_len);
	memcpy(img + sizeof(img) - 8, "\xf4\xeb\xfd\x90", 4);
	seed("pvh", "elf64", img, sizeof(img));
}

/* ELF32: a note segment with another note first, the entry note with an 8-byte desc. */
static void pvh_elf32(void)
{
	uint8_t img[sizeof(Elf32_Ehdr) + 2 * sizeof(Elf32_Phdr) + 20 + sizeof(struct xen_note) + 8] = { 0 };
	size_t note_off = sizeof(Elf32_Ehdr) + 2 * sizeof(Elf32_Phdr);
	struct xen_note n;
	size_t note_len = xen_note(&n, 0x100000 + sizeof(img) - 8, 8);
	Elf32_Ehdr eh = {
		.e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS32, ELFDATA2LSB, EV_CURRENT },
		.e_type = ET_EXEC, .e_machine = EM_386, .e_version = EV_CURRENT,
		.e_entry = 0x100000, .e_phoff = sizeof(Elf32_Ehdr),
		.e_ehsize = sizeof(Elf32_Ehdr), .e_phentsize = sizeof(Elf32_Phdr), .e_phnum = 2,
	};
	Elf32_Phdr ph[2] = {
		{ .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = 20 + note_len, .p_align = 4 },
		{ .p_type = PT_LOAD, .p_offset = 0, .p_vaddr = 0x100000, .p_paddr = 0x100000,
		  .p_filesz = sizeof(img), .p_memsz = sizeof(img), .p_flags = PF_R | PF_X },
	};
	uint8_t gnu[20] = { 4, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 'G', 'N', 'U', 0, 1, 2, 3, 4 };

	memcpy(img, &eh, sizeof(eh));
	memcpy(img + sizeof(eh), ph, sizeof(ph));
	memcpy(img + note_off, gnu, sizeof(gnu));
	memcpy(img + note_off + sizeof(gnu), &n, note_len);
	memcpy(img + sizeof(img) - 8, "\xf4\xeb\xfd\x90", 4);
	seed("pvh", "elf32-desc8", img, sizeof(img));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	mkdir_or_die(outdir);
	multiboot_elf();
	multiboot_aout();
	bzimage();
	pvh_elf64();
	pvh_elf32();
	return 0;
}
