// SPDX-License-Identifier: GPL-2.0-only
/* The PCI reset control register at 0xcf9: bit 2 starts a reset. */
#include <string.h>

#include "vmm/devices/devices.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static void cf9_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
		   bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	/* Bit 2 starts the reset (bit 1 picks hard vs soft; both reset here). */
	if (data[0] & 0x04) {
		vmm_info("guest requested a reset through port 0xcf9");
		vm_request_stop(vm, VMM_EXIT_RESET);
	}
}

int reset_cf9_init(struct vm *vm)
{
	return device_register_pio(vm, 0xcf9, 1, cf9_io, vm, "reset");
}
