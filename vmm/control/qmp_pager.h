/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_QMP_PAGER_H
#define VMM_CONTROL_QMP_PAGER_H

#include <stdint.h>

#include "pager/pager.h"

/* The pager's events as X_PAGER_ERROR for QMP clients (cmd_pager.c). */
void qmp_pager_event(void *opaque, enum pager_event ev, uint64_t gpa, const char *msg);

#endif
