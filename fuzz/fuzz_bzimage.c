// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the bzImage setup-header parser (vmm/boot/linux.c):
 * the input is the kernel file. A parse either fails with a message, or
 * the kernel it describes lies inside the file and, from its load address,
 * inside guest RAM; the zero page is then built from the image's header,
 * and an initrd placed above the kernel, as the loader does.
 */
#include <string.h>

#include "fuzz/fuzz.h"
#include "vmm/boot/linux.h"
#include "vmm/util.h"

static void check_image(const uint8_t *data, size_t size, uint64_t ram_top)
{
	static uint8_t zp[ZP_SIZE];
	struct e820_entry map[2] = {
		{ 0, E820_EBDA_START, E820_TYPE_RAM },
		{ E820_BIOS_END, ram_top - E820_BIOS_END, E820_TYPE_RAM },
	};
	struct bzimage bz;
	uint64_t need, initrd;
	char err[256];

	err[0] = 0;
	(void)linux_is_bzimage(data, size);
	if (linux_parse_bzimage(data, size, ram_top, &bz, err, sizeof(err))) {
		fuzz_check(err[0] && memchr(err, 0, sizeof(err)));
		return;
	}
	fuzz_check(bz.version >= BZ_MIN_VERSION);
	fuzz_check(bz.header_end <= ZP_SIZE && bz.header_end <= size);
	fuzz_check(bz.setup_len < size && bz.kernel_len == size - bz.setup_len);
	need = bz.init_size > bz.kernel_len ? bz.init_size : bz.kernel_len;
	fuzz_check(bz.load_addr >= 1 * MiB && bz.load_addr < ram_top);
	fuzz_check(need <= ram_top - bz.load_addr);
	linux_build_zero_page(zp, data, &bz, LINUX_CMDLINE_ADDR, 0, 0, map, 2);
	fuzz_check(!memcmp(zp + BZ_SETUP_SECTS, data + BZ_SETUP_SECTS,
			   BZ_TYPE_OF_LOADER - BZ_SETUP_SECTS));
	/* An initrd of one page, above the kernel, below initrd_addr_max. */
	if (!linux_place_initrd(PAGE_SIZE, ram_top, bz.initrd_addr_max, bz.load_addr + need,
				&initrd, err, sizeof(err))) {
		fuzz_check(initrd % PAGE_SIZE == 0);
		fuzz_check(initrd >= bz.load_addr + need && initrd + PAGE_SIZE <= ram_top);
		fuzz_check(initrd + PAGE_SIZE - 1 <= bz.initrd_addr_max);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_image(data, size, 72 * MiB);
	check_image(data, size, 3 * GiB);
	return 0;
}
