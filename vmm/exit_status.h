/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_EXIT_STATUS_H
#define VMM_EXIT_STATUS_H

/*
 * Exit statuses of `vmm run`. A guest that writes v to the exit device
 * (port 0xf4) makes the VMM exit with (v << 1) | 1, which is always odd,
 * so every status the VMM chooses itself is even and cannot be mistaken
 * for a guest's verdict. Keep this list, the --help text and README.md
 * in step.
 */
enum vmm_exit_status {
	VMM_EXIT_RESET = 0,		/* guest asked for a reset (i8042 0xfe, 0xcf9) */
	VMM_EXIT_USAGE = 2,		/* bad option, image or host set-up */
	VMM_EXIT_TRIPLE_FAULT = 4,	/* KVM_EXIT_SHUTDOWN */
	VMM_EXIT_INTERNAL = 6,		/* KVM internal error or unexpected exit */
	VMM_EXIT_HALTED = 8,		/* every vCPU halted with interrupts off */
	VMM_EXIT_TIMEOUT = 10,		/* --timeout expired */
	VMM_EXIT_SIGNAL = 12,		/* SIGINT or SIGTERM */
	VMM_EXIT_MEMORY = 14,		/* guest page could not be restored */
};

#endif
