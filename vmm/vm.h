/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "vmm/guest_mem.h"
#include "vmm/devices/io.h"

struct pager;

#define VMM_MAX_MODULES 16
#define VMM_MAX_CPUS 255	/* xAPIC ids are 8 bits; 0xff is broadcast */

struct vm_module {
	const char *path;	/* file to load */
	const char *string;	/* the whole --module argument, given to the guest */
};

/* What the user asked for; filled by the option parser, then read-only. */
struct vm_config {
	const char *image;
	const char *cmdline;	/* NULL: the loader's default */
	const char *initrd;	/* Linux initramfs (--initrd), or NULL */
	unsigned cpus;
	uint64_t mem;
	struct vm_module modules[VMM_MAX_MODULES];
	unsigned nr_modules;
	double timeout;		/* seconds; 0 = none */
	bool cpuid_host;	/* pass the host's CPUID through unfiltered */
	/* The pager: off unless mem_resident is set. */
	uint64_t mem_resident;	/* bytes; 0 = no limit, pager off */
	const char *swap_dir;
	const char *swap_file;	/* --swap-file: block device or new/empty file */
	unsigned pager_threads;
	const char *stats_file;
};

/*
 * Register state the loader wants the boot vCPU to start with. Protected
 * mode is flat 32-bit with paging off (multiboot, PVH); long mode uses the
 * loader's page tables and GDT (Linux 64-bit boot protocol).
 */
struct boot_cpu_state {
	bool long_mode;
	uint64_t rip, rsp, rax, rbx, rsi;
	uint64_t cr3;			/* long mode only */
	uint64_t gdt_base;		/* long mode only */
	uint16_t gdt_limit;
	uint16_t code_sel, data_sel;	/* long mode only */
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/*
	 * Halt probe: the monitor bumps vm->halt_probe and kicks every vCPU;
	 * each answers by storing the probe generation it saw and whether it
	 * was halted with interrupts off. Written by the vCPU thread, read by
	 * the monitor.
	 */
	atomic_uint halt_gen;
	atomic_bool halted_noint;
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, fd;
	size_t run_size;
	struct guest_mem mem;
	struct io_bus pio, mmio;
	struct kvm_cpuid2 *cpuid;
	struct boot_cpu_state boot;
	struct vcpu *vcpus;
	unsigned nr_vcpus;
	struct pager *pager;		/* NULL when guest RAM has no limit */

	/*
	 * Stop protocol: the first vm_request_stop() wins (CAS on `stopping`),
	 * records the status and wakes the monitor thread; later requests are
	 * ignored. vCPU threads poll `stopping` after every exit.
	 */
	atomic_int stopping;
	int exit_status;		/* written once, by the winner */
	pthread_t monitor;
	atomic_uint halt_probe;		/* generation of the current halt probe */
	pthread_mutex_t dump_lock;	/* serialises register dumps on stderr */
};

/* Open /dev/kvm, create the VM, its irqchip, PIT, memory and vCPU fds. */
int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* End the VM with `status`; safe from any thread; first caller wins. */
void vm_request_stop(struct vm *vm, int status);
bool vm_stopping(const struct vm *vm);

/* Start every vCPU thread, wait for the end, return the exit status. */
int vm_run(struct vm *vm);

/* vcpu.c */
int vcpu_init(struct vcpu *vcpu);
void *vcpu_thread(void *arg);
void vcpu_kick(struct vcpu *vcpu);
/* One paragraph of vCPU state on stderr; not while another thread runs it. */
void vcpu_dump(struct vcpu *vcpu, const char *why);

/* cpuid.c: the supported CPUID, filtered unless cfg->cpuid_host. */
struct kvm_cpuid2 *cpuid_build(int kvm_fd, bool host, unsigned nr_cpus);
int cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *tmpl, unsigned apic_id);

#endif
