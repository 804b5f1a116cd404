// SPDX-License-Identifier: MIT
/*
 * The small system devices: the test exit device at 0xf4 (QEMU's
 * isa-debug-exit contract: writing v ends the VM with status (v << 1) | 1),
 * the i8042 reset line (0xfe to port 0x64), the PCI reset control register
 * 0xcf9, and the POST/delay port 0x80 that Linux writes for io_delay.
 */
#include <string.h>

#include "vmm/devices.h"
#include "vmm/exit_status.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static uint32_t le_value(const uint8_t *data, unsigned size)
{
	uint32_t v = 0;

	memcpy(&v, data, size < 4 ? size : 4);
	return v;
}

static void exit_dev_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
			bool is_write)
{
	struct vm *vm = opaque;

	if (!is_write) {
		memset(data, 0xff, size);
		return;
	}
	vm_request_stop(vm, (int)(((le_value(data, size) << 1) | 1) & 0xff));
}

/* i8042: reads say "no data, input buffer empty"; 0xfe pulses reset. */
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

static void ignore_io(void *opaque, uint64_t off, uint8_t *data, unsigned size,
		      bool is_write)
{
	if (!is_write)
		memset(data, 0xff, size);
}

int sysdev_init(struct vm *vm)
{
	if (io_register(&vm->pio, 0xf4, 4, exit_dev_io, vm, "exit") ||
	    io_register(&vm->pio, 0x60, 5, i8042_io, vm, "i8042") ||
	    io_register(&vm->pio, 0xcf9, 1, cf9_io, vm, "reset") ||
	    io_register(&vm->pio, 0x80, 1, ignore_io, vm, "post")) {
		vmm_err("internal error: system device ports overlap");
		return -1;
	}
	return 0;
}
