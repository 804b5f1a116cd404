// SPDX-License-Identifier: GPL-2.0-only
/*
 * The test exit device at 0xf4 (QEMU's isa-debug-exit contract): writing v
 * ends the VM with status (v << 1) | 1; reads return all-ones.
 */
#include <string.h>

#include "vmm/devices/devices.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static uint32_t le_value(const uint8_t *data, unsigned size)
{
	uint32_t v = 0;

	memcpy(&v, data, size < 4 ? size : 4);
	return v;
}

static void debug_exit_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
			  bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		memset(data, 0xff, size);
		return;
	}
	vm_request_stop(vm, (int)(((le_value(data, size) << 1) | 1) & 0xff));
}

int debug_exit_init(struct vm *vm)
{
	return device_register_pio(vm, 0xf4, 4, debug_exit_io, vm, "exit");
}
