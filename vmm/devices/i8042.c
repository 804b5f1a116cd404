// SPDX-License-Identifier: GPL-2.0-only
/*
 * The i8042 keyboard controller, as far as a guest uses it to reset the
 * machine: reads say "no data, input buffer empty"; 0xfe written to the
 * command port 0x64 pulses the reset line.
 */
#include <string.h>

#include "vmm/devices/devices.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static void i8042_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
		     bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		memset(data, 0, size);
		return;
	}
	if (off == 4 && data[0] == 0xfe) {
		vmm_info("guest requested a reset through the i8042 controller");
		vm_request_stop(vm, VMM_EXIT_RESET);
	}
}

int i8042_init(struct vm *vm)
{
	return device_register_pio(vm, 0x60, 5, i8042_io, vm, "i8042");
}
