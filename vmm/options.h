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
 * program, argv[1] "run". The guest command line (--append, or the words
 * after "--" joined with spaces) and the modules' paths are malloc'd:
 * options_free releases them, whatever options_parse_run returned.
 */
enum options_result options_parse_run(int argc, char **argv, struct vm_config *cfg);
void options_free(struct vm_config *cfg);
/* One --disk FILE[,ro][,serial=ID][,cache=...] (also from --domain); false with a message. */
bool options_add_disk(struct vm_config *cfg, const char *spec);
void options_usage(FILE *f);

#endif
