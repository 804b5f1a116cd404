/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include <stdint.h>

#include "vmm/devices/io.h"

struct vm;

/*
 * Each device registers its ranges on the VM's port/MMIO tables at start-up
 * and keeps its own state private. Every init returns 0 or -1 with a
 * message printed.
 */
int serial_init(struct vm *vm);		/* 16550A at 0x3f8, IRQ 4 */
/* Flush buffered guest output; called once at exit. */
void serial_flush(void);
int fw_cfg_init(struct vm *vm);		/* fw_cfg at 0x510/0x511 */
int debug_exit_init(struct vm *vm);	/* isa-debug-exit at 0xf4 */
int i8042_init(struct vm *vm);		/* i8042 reset line */
int reset_cf9_init(struct vm *vm);	/* PCI reset control 0xcf9 */
int post_init(struct vm *vm);		/* POST/io_delay port 0x80 */

/* Every device above, then the PCI bus and its devices; stops at the first that fails. */
int devices_init(struct vm *vm);
/* Stop the device threads (after the vCPUs, before the pager) and print their summaries. */
void devices_stop(struct vm *vm);

/* io_register on the VM's port table, with the message on overlap. */
int device_register_pio(struct vm *vm, uint64_t base, uint64_t len,
			io_handler_t handler, void *opaque, const char *name);

#endif
