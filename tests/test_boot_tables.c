// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the boot tables and the PVH entry: the PVH note and
 * segment parser (malformed and randomly corrupted vmlinux images must be
 * named or rejected, never crash), the MP table and the e820 map's PCI
 * window. The bzImage loader, initrd and zero page: test_linux_boot.c.
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

static char err[256];

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

#define ck_assert_err(text) \
	ck_assert_msg(strstr(err, (text)), "error '%s' lacks '%s'", err, (text))

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
static Suite *boot_tables_suite(void)
{
	Suite *s = suite_create("boot tables");
	TCase *pvh = tcase_create("pvh"), *mp = tcase_create("mptable");

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
	tcase_add_loop_test(mp, e820_map_leaves_the_pci_window_out_and_reserves_the_apics, 0, 2);
	suite_add_tcase(s, pvh);
	suite_add_tcase(s, mp);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(boot_tables_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
