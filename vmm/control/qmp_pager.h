/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_QMP_PAGER_H
#define VMM_CONTROL_QMP_PAGER_H

#include <stdint.h>

#include "vmm/control/pager_api.h"	/* pager/pager.h once merged */

/*
 * The pager's event callback, to be set as its configuration's
 * pager_event_fn with opaque = the struct vm (cmd_pager.c): X_PAGER_ERROR
 * for QMP clients; PAGER_EVENT_STORE_FULL pauses the vCPUs
 * (VM_PAUSE_PAGER, with STOP) until PAGER_EVENT_STORE_OK (RESUME).
 */
void qmp_pager_event(void *opaque, enum pager_event ev, uint64_t gpa, const char *msg);

#endif
