/* SPDX-License-Identifier: MIT */
#ifndef VMM_DEVICES_H
#define VMM_DEVICES_H

#include <stdint.h>

struct vm;

/*
 * Each device registers its ranges on the VM's port/MMIO tables at start-up
 * and keeps its own state private. Returns 0 or -1 with a message printed.
 */
int serial_init(struct vm *vm);
/* Flush buffered guest output; called once at exit. */
void serial_flush(void);
int fw_cfg_init(struct vm *vm);
int sysdev_init(struct vm *vm);		/* exit device, i8042 and 0xcf9 reset */

#endif
