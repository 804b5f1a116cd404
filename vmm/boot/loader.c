// SPDX-License-Identifier: GPL-2.0-only
#include "vmm/boot/loader.h"

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot/linux.h"
#include "vmm/util.h"
#include "vmm/vm.h"

/*
 * The image says what it is: a multiboot header in the first 8 KiB makes a
 * multiboot image, a Linux boot sector (setup header "HdrS" at 0x202, or
 * only the 0xaa55 boot flag of a kernel too old to load) a bzImage, and an
 * ELF file with a Xen PVH entry note a PVH kernel.
 */
int loader_load(struct vm *vm)
{
	const char *path = vm->cfg->image, *why;
	size_t len;
	uint8_t *img = read_file(path, &len, &why);
	int beyond = 0, ret = -1;
	uint32_t pvh_entry;

	if (!img) {
		vmm_err("%s: cannot read image: %s", path, why);
		return -1;
	}
	if (multiboot_find_header(img, len, &beyond) >= 0) {
		if (vm->cfg->initrd)
			vmm_err("%s: --initrd is for Linux kernels; a multiboot image takes "
				"--module", path);
		else
			ret = multiboot_load(vm, img, len);
		/* Multiboot test kernels keep ring 0 tiny: the notice is for --debug. */
		cpuid_notice(&vm->cpuid_report, false);
	} else if (linux_is_bzimage(img, len)) {
		cpuid_notice(&vm->cpuid_report, true);
		ret = linux_load_bzimage(vm, img, len);
	} else if (!beyond && len >= SELFMAG && !memcmp(img, ELFMAG, SELFMAG) &&
		   linux_find_pvh_note(img, len, &pvh_entry) != 0) {
		/* A PVH note, or notes too malformed to tell: the PVH loader says which. */
		cpuid_notice(&vm->cpuid_report, true);
		ret = linux_load_pvh(vm, img, len);
	} else if (beyond) {
		vmm_err("%s: not a multiboot image (a multiboot header exists, but "
			"past the first 8 KiB where loaders look for it)", path);
	} else {
		vmm_err("%s: not a multiboot image (no header in the first 8 KiB), nor a "
			"Linux bzImage (no setup header) or an ELF kernel with a Xen PVH note",
			path);
	}
	free(img);
	return ret;
}

int loader_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}
