/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_OPTIONS_H
#define VMM_OPTIONS_H

#include <stdio.h>

#include "vmm/vm.h"

enum options_result {
	OPTIONS_RUN,		/* cfg is filled: run the VM */
	OPTIONS_EXIT_OK,	/* --help or --version was printed */
	OPTIONS_ERROR,		/* a message was printed */
};

/*
 * Parse `vmm run [options] IMAGE [-- guest command line]`. argv[0] is the
 * program, argv[1] "run". The guest command line is joined with spaces
 * into a malloc'd string.
 */
enum options_result options_parse_run(int argc, char **argv, struct vm_config *cfg);
void options_usage(FILE *f);

#endif
