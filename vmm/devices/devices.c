// SPDX-License-Identifier: GPL-2.0-only
/* The device list and the registration helper every device uses. */
#include "vmm/devices/devices.h"
#include "vmm/devices/pci.h"
#include "vmm/virtio/balloon.h"
#include "vmm/virtio/blk.h"
#include "vmm/util.h"
#include "vmm/vm.h"

int device_register_pio(struct vm *vm, uint64_t base, uint64_t len,
			io_handler_t handler, void *opaque, const char *name)
{
	if (io_register(&vm->pio, base, len, handler, opaque, name)) {
		vmm_err("internal error: %s ports overlap", name);
		return -1;
	}
	return 0;
}

int devices_init(struct vm *vm)
{
	static int (*const inits[])(struct vm *) = {
		serial_init, fw_cfg_init, debug_exit_init, i8042_init,
		reset_cf9_init, post_init, pci_init, virtio_balloon_init,
		virtio_blk_init,
	};

	for (unsigned i = 0; i < sizeof(inits) / sizeof(inits[0]); i++)
		if (inits[i](vm))
			return -1;
	return 0;
}

void devices_stop(struct vm *vm)
{
	pci_stop(vm->pci);
	virtio_balloon_summary();
	virtio_blk_summary();
}
