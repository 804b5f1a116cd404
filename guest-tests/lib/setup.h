/* SPDX-License-Identifier: GPL-2.0-only */
/* The runtime's internal interfaces, between its own files. */
#ifndef GUEST_SETUP_H
#define GUEST_SETUP_H

#include "runtime.h"

struct loader_range {
	uint64_t start, end;
};

#define LOADER_MAX_RANGES	32

/* What the loader put in RAM (MBI, memory map, command line, modules). */
extern struct loader_range loader_ranges[LOADER_MAX_RANGES];
extern unsigned int loader_nr_ranges;

extern uint64_t ap_stack_top[MAX_CPUS];

void boot_main(uint32_t magic, uint32_t mbi);
void ap_main(unsigned int id);
void *heap_alloc(uint64_t size);
bool ram_is_usable(uint64_t start, uint64_t end);
void args_init(const char *cmdline);
void percpu_init_boot(void);
void cpu_tables_init(void);
void cpu_tables_load(unsigned int id);
void smp_boot(void);
long user_run_on(long (*fn)(void *arg), void *arg, uint64_t user_rsp);

#endif /* GUEST_SETUP_H */
