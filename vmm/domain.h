/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_DOMAIN_H
#define VMM_DOMAIN_H

#include "vmm/vm.h"

/*
 * `vmm run --domain FILE.xml`: read a libvirt domain XML file through
 * libvirt itself (its in-process test driver validates and normalises it),
 * then fill the fields of CFG the command line left unset (0 or NULL).
 * Anything the VMM cannot honour is refused with a message naming the
 * element. docs/libvirt.md has the mapping. 0, or -1 with a message.
 */
int domain_apply(const char *path, struct vm_config *cfg);

#endif
