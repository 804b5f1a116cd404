// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the multiboot v1 parser (vmm/boot/multiboot.c):
 * the input is the image file. A parse either fails with a message, or
 * every segment it returns lies inside the file and inside guest RAM.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "vmm/boot/loader.h"
#include "vmm/util.h"

static void check_image(const uint8_t *data, size_t size, uint64_t ram_top)
{
	struct mb_image mb;
	char err[256];
	int beyond;
	long off = multiboot_find_header(data, size, &beyond);

	fuzz_check(off < 0 || (off % 4 == 0 && off + 12 <= (long)size && off < MB_SEARCH_LIMIT));
	err[0] = 0;
	if (multiboot_parse(data, size, ram_top, &mb, err, sizeof(err))) {
		fuzz_check(err[0] && memchr(err, 0, sizeof(err)));
		return;
	}
	fuzz_check(off >= 0 && mb.header_off == (uint32_t)off);
	fuzz_check(mb.nr_segs >= 1 && mb.nr_segs <= MB_MAX_SEGMENTS);
	for (unsigned i = 0; i < mb.nr_segs; i++) {
		const struct mb_segment *s = &mb.segs[i];

		fuzz_check(s->filesz <= s->memsz);
		fuzz_check(s->file_off <= size && s->filesz <= size - s->file_off);
		fuzz_check(s->paddr < ram_top && s->memsz <= ram_top - s->paddr);
		fuzz_check(s->paddr + s->memsz <= mb.end);
	}
	fuzz_check(mb.end <= ram_top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The smallest guest RAM the options allow, and a large one. */
	check_image(data, size, 2 * MiB);
	check_image(data, size, 3 * GiB);
	return 0;
}
