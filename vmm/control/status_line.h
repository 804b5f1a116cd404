/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_STATUS_LINE_H
#define VMM_CONTROL_STATUS_LINE_H

#include <jansson.h>
#include <stddef.h>

struct vm;

/*
 * One line of pager status from an x-query-pager reply NOW and the one
 * before it, PREV (NULL for the first: rates are then left out):
 * resident/limit, swapped, faults/s, p99 fault time, swap MiB/s and state.
 */
void status_line_format(json_t *now, json_t *prev, char *buf, size_t len);

/*
 * `vmm run --status-line`: a thread that prints that line on stderr once a
 * second, redrawn in place on a terminal, plain lines otherwise. When the
 * pager status is not available it says so once and stops.
 */
int status_line_start(struct vm *vm);
void status_line_stop(void);

#endif
