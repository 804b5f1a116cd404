/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_PAGER_VM_H
#define VMM_PAGER_VM_H

/*
 * The VMM's side of the pager library (pager/pager.h): its configuration
 * from the command line and guest RAM, and its callbacks (messages, a fatal
 * error ends the VM with status 14, store-full events).
 */
struct vm;

/*
 * Build vm->pager over guest RAM (loaded already) whether or not a resident
 * limit is set, and route guest_mem_read/write through a handle of its own.
 * Returns 0, or -1 with a message printed.
 */
int vm_pager_create(struct vm *vm);
/* Close the VMM's handle and destroy vm->pager (no vCPU may run). */
void vm_pager_destroy(struct vm *vm);

#endif
