/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_CONTROL_CONTROL_H
#define VMM_CONTROL_CONTROL_H

struct vm;

/*
 * Start what vm->cfg asks for: the QMP socket (--qmp) and the status line
 * (--status-line). Before vm_run, after the signal mask is set (the
 * threads inherit it). 0, or -1 with a message printed.
 */
int control_start(struct vm *vm);
/* After vm_run returned `status`, before vm_destroy. */
void control_stop(int status);

/* `vmm ctl ...`: argv[1] is "ctl". Returns the exit status. */
int ctl_main(int argc, char **argv);

#endif
