// SPDX-License-Identifier: GPL-2.0-only
/* The POST/delay port 0x80 that Linux writes for io_delay: ignored. */
#include <string.h>

#include "vmm/devices/devices.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static void post_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
		    bool is_write)
{
	if (!is_write)
		memset(data, 0xff, size);
}

int post_init(struct vm *vm)
{
	return device_register_pio(vm, 0x80, 1, post_io, vm, "post");
}
