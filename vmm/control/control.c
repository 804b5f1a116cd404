// SPDX-License-Identifier: GPL-2.0-only
/* Start and stop the control plane of `vmm run`: the QMP socket and the status line. */
#include "vmm/control/control.h"
#include "vmm/control/qmp.h"
#include "vmm/control/status_line.h"
#include "vmm/vm.h"

int control_start(struct vm *vm)
{
	if (vm->cfg->qmp && qmp_start(vm, vm->cfg->qmp))
		return -1;
	if (vm->cfg->status_line && status_line_start(vm))
		return -1;
	return 0;
}

void control_stop(int status)
{
	status_line_stop();
	qmp_stop(status);
}
