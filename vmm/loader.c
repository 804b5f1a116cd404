// SPDX-License-Identifier: MIT
#include "vmm/loader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/util.h"
#include "vmm/vm.h"

int loader_load(struct vm *vm)
{
	const char *path = vm->cfg->image;
	size_t len;
	uint8_t *img = read_file(path, &len);
	int beyond = 0, ret;

	if (!img) {
		vmm_err("%s: cannot read image: %s", path, strerror(errno));
		return -1;
	}
	if (multiboot_find_header(img, len, &beyond) >= 0) {
		ret = multiboot_load(vm, img, len);
	} else if (beyond) {
		vmm_err("%s: not a multiboot image (a multiboot header exists, but "
			"past the first 8 KiB where loaders look for it)", path);
		ret = -1;
	} else {
		vmm_err("%s: not a multiboot image (no header in the first 8 KiB)", path);
		ret = -1;
	}
	free(img);
	return ret;
}
