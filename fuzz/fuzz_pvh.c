// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the PVH ELF parser (vmm/boot/linux.c): the input
 * is the vmlinux file. The note walk and the segment parser either refuse
 * it with a message, or return an entry point inside the loaded kernel and
 * segments inside the file and inside guest RAM above the first MiB.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "vmm/boot/linux.h"
#include "vmm/util.h"

static void check_image(const uint8_t *data, size_t size, uint64_t ram_top)
{
	struct pvh_image pvh;
	uint32_t entry;
	char err[256];
	int note;

	note = linux_find_pvh_note(data, size, &entry);
	fuzz_check(note >= -1 && note <= 1);
	err[0] = 0;
	if (linux_parse_pvh(data, size, ram_top, &pvh, err, sizeof(err))) {
		fuzz_check(err[0] && memchr(err, 0, sizeof(err)));
		return;
	}
	fuzz_check(note == 1 && pvh.entry == entry);
	fuzz_check(pvh.nr_segs >= 1 && pvh.nr_segs <= PVH_MAX_SEGMENTS);
	for (unsigned i = 0; i < pvh.nr_segs; i++) {
		const struct pvh_segment *s = &pvh.segs[i];

		fuzz_check(s->filesz <= s->memsz);
		fuzz_check(s->file_off <= size && s->filesz <= size - s->file_off);
		fuzz_check(s->paddr >= E820_BIOS_END);
		fuzz_check(s->paddr < ram_top && s->memsz <= ram_top - s->paddr);
	}
	fuzz_check(pvh.end <= ram_top);
	fuzz_check(pvh.entry >= E820_BIOS_END && pvh.entry < pvh.end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_image(data, size, 64 * MiB);
	check_image(data, size, 3 * GiB);
	return 0;
}
