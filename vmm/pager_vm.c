// SPDX-License-Identifier: GPL-2.0-only
/* The pager library configured for the VM (vmm/pager_vm.h). */
#include <stdatomic.h>

#include "pager/pager.h"
#include "vmm/control/qmp_pager.h"
#include "vmm/exit_status.h"
#include "vmm/pager_vm.h"
#include "vmm/util.h"
#include "vmm/vm.h"

static void pager_vm_log(void *opaque, enum pager_log_level level, const char *msg)
{
	(void)opaque;
	if (level == PAGER_LOG_ERR)
		vmm_err("%s", msg);
	else
		vmm_info("%s", msg);
}

static void pager_vm_fatal(void *opaque, enum pager_fatal why, const char *msg)
{
	(void)msg;	/* printed by the pager already */
	vm_request_stop(opaque, why == PAGER_FATAL_UNRESTORABLE ? VMM_EXIT_MEMORY :
				VMM_EXIT_INTERNAL);
}

static void pager_vm_event(void *opaque, enum pager_event ev, uint64_t gpa, const char *msg)
{
	qmp_pager_event(opaque, ev, gpa, msg);
	/*
	 * The pager holds faults that would grow the resident set once the
	 * overshoot is used up, so a vCPU that needs a new page waits in its
	 * fault until slots free up: the guest is paused where it must be.
	 */
	if (ev == PAGER_EVENT_STORE_FULL)
		vmm_err("pager: %s: pausing the vCPUs that need a new page until swap slots "
			"free up (--swap-full-overshoot)", msg);
	else if (ev == PAGER_EVENT_STORE_OK)
		vmm_err("pager: %s: resuming the vCPUs", msg);
}

static bool pager_vm_access(void *ctx, uint64_t gpa, void *buf, uint64_t len, bool write)
{
	return write ? pager_handle_write(ctx, gpa, buf, len) : pager_handle_read(ctx, gpa, buf, len);
}

int vm_pager_create(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	struct pager_config pc = {
		.memfd = vm->mem.fd,
		.base = vm->mem.base,
		.size = vm->mem.size,
		.limit = cfg->mem_resident,
		.overshoot = cfg->swap_full_overshoot ? cfg->swap_full_overshoot :
			     pager_default_overshoot(cfg->mem_resident),
		.swap_dir = cfg->swap_dir,
		.swap_file = cfg->swap_file,
		.soft_limit = cfg->dom.soft_limit,
		.swap_limit = cfg->dom.swap_limit,
		.threads = cfg->pager_threads,
		.stats_file = cfg->stats_file,
		.fatal = pager_vm_fatal,
		.event = pager_vm_event,
		.log = pager_vm_log,
		.opaque = vm,
	};
	struct pager_handle *h;

	for (unsigned i = 0; i < vm->mem.nr_regions; i++) {
		const struct guest_region *r = &vm->mem.regions[i];

		pc.regions[pc.nr_regions++] = (struct pager_region){ r->gpa, r->size, r->pgoff };
	}
	vm->pager = pager_create(&pc);
	if (!vm->pager)
		return -1;
	h = pager_handle_open(vm->pager, "vmm");
	if (!h) {
		vmm_err("pager: out of memory");
		return -1;
	}
	vm->mem.access = pager_vm_access;
	vm->mem.access_ctx = h;
	return 0;
}

void vm_pager_destroy(struct vm *vm)
{
	if (vm->mem.access == pager_vm_access) {
		pager_handle_close(vm->mem.access_ctx);
		vm->mem.access = NULL;
		vm->mem.access_ctx = NULL;
	}
	pager_destroy(vm->pager);
	vm->pager = NULL;
}
