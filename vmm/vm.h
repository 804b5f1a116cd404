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
struct pci_bus;

#define VMM_MAX_MODULES 16
#define VMM_MAX_CPUS 255	/* xAPIC ids are 8 bits; 0xff is broadcast */

#define VMM_MAX_DISKS 8

/* --disk FILE[,ro][,serial=ID][,cache=none|writeback] */
struct vm_disk {
	const char *path;
	const char *serial;	/* GET_ID; NULL: none */
	bool ro;
	bool cache_none;	/* O_DIRECT */
};

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
	/* --balloon[=SIZE][,free-page-reporting=on|off] */
	bool balloon;
	uint64_t balloon_target;	/* bytes the guest should give up at start */
	bool balloon_reporting;		/* offer VIRTIO_BALLOON_F_REPORTING */
	uint64_t swap_full_overshoot;	/* bytes; 0 = the default */
	/* Control (vmm/control/): --qmp socket spec, --status-line. */
	const char *qmp;
	bool status_line;
	/*
	 * From --domain FILE.xml (vmm/domain.c): what the XML asks for
	 * that has no option of its own (soft_limit and swap_limit go to
	 * the pager's configuration; balloon becomes --balloon).
	 */
	const char *domain;
	struct {
		const char *name;		/* <name> */
		uint64_t soft_limit;		/* <memtune><soft_limit>, bytes: reclaim watermark */
		uint64_t swap_limit;		/* <memtune><swap_hard_limit>, bytes: swap store cap */
		bool balloon;			/* <memballoon model='virtio'> */
		bool free_page_reporting;	/* <memballoon freePageReporting='on'> */
	} dom;
	struct vm_disk disks[VMM_MAX_DISKS];	/* virtio-blk devices */
	unsigned nr_disks;
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

/*
 * What the CPUID filter did: the features it hid from what KVM offers, and
 * those this host's KVM advertises to a vCPU anyway (space-separated names).
 */
struct cpuid_report {
	bool host;		/* --cpuid-host: nothing filtered */
	bool xsave_forced;	/* XSAVE stays visible to the guest */
	bool popcnt_forced;	/* so does POPCNT */
	char hidden[512];
	char forced[512];
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	atomic_bool started;	/* written by vm_run; read by kicks from other threads (vm_pause) */
	/*
	 * Halt probe: the monitor bumps vm->halt_probe and kicks every vCPU;
	 * each answers by storing the probe generation it saw and whether it
	 * was halted with interrupts off. Written by the vCPU thread, read by
	 * the monitor.
	 */
	atomic_uint halt_gen;
	atomic_bool halted_noint;
	atomic_int tid;			/* the thread's kernel id, for query-cpus-fast */
};

/* Why the vCPUs are paused (vm->pause_reasons); they run when none is set. */
enum vm_pause_reason {
	VM_PAUSE_USER = 1u << 0,	/* QMP stop, until cont */
	VM_PAUSE_PAGER = 1u << 1,	/* the pager's swap store is full */
};

struct vm {
	const struct vm_config *cfg;
	int kvm_fd, fd;
	size_t run_size;
	struct guest_mem mem;
	struct io_bus pio, mmio;
	struct kvm_cpuid2 *cpuid;
	struct cpuid_report cpuid_report;
	struct boot_cpu_state boot;
	struct vcpu *vcpus;
	unsigned nr_vcpus;
	struct pager *pager;		/* the memory object; reclaims only with a limit */
	struct pci_bus *pci;		/* the PCI bus (vmm/devices/pci.h) */

	/*
	 * Stop protocol: the first vm_request_stop() wins (CAS of `stopping`
	 * from 0 to its status + 1) and wakes the monitor thread; later
	 * requests are ignored. vCPU threads poll `stopping` after every exit.
	 */
	atomic_int stopping;
	int exit_status;		/* stopping - 1, set by vm_run once the monitor returns */
	pthread_t monitor;
	atomic_uint halt_probe;		/* generation of the current halt probe */
	pthread_mutex_t dump_lock;	/* serialises register dumps on stderr */

	/*
	 * Pause protocol: while pause_reasons (VM_PAUSE_*) is non-zero, every
	 * vCPU parks on pause_cv before its next KVM_RUN and counts itself in
	 * nr_parked; vm_pause() kicks them and waits on parked_cv. pause_lock
	 * protects nr_parked and every change of pause_reasons (which vCPUs
	 * also read without it, as a hint, after every exit); nothing else is
	 * done under it. A stop request wakes parked vCPUs (vm_run).
	 */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cv;	/* vCPUs wait for pause_reasons == 0 */
	pthread_cond_t parked_cv;	/* vm_pause waits for nr_parked */
	atomic_uint pause_reasons;
	unsigned nr_parked;
};

/* Open /dev/kvm, create the VM, its irqchip, PIT, memory and vCPU fds. */
int vm_create(struct vm *vm, const struct vm_config *cfg);
void vm_destroy(struct vm *vm);

/* End the VM with `status`; safe from any thread; first caller wins. */
void vm_request_stop(struct vm *vm, int status);
bool vm_stopping(const struct vm *vm);

/*
 * Pause the vCPUs for `reason` (VM_PAUSE_*) and wait until every one is
 * parked outside KVM_RUN, at most timeout_ms: 0 when they are (or the VM is
 * stopping), -1 on timeout (they park later; the reason stays set). The
 * guest's clocks keep running, as with QEMU's stop. Safe from any thread
 * but a vCPU's.
 */
int vm_pause(struct vm *vm, unsigned reason, unsigned timeout_ms);
/* Clear `reason`; the vCPUs run again once no reason is left. */
void vm_resume(struct vm *vm, unsigned reason);
bool vm_paused(struct vm *vm);

/* Start every vCPU thread, wait for the end, return the exit status. */
int vm_run(struct vm *vm);

/* vcpu.c */
int vcpu_init(struct vcpu *vcpu);
void *vcpu_thread(void *arg);
void vcpu_kick(struct vcpu *vcpu);
/* vCPU thread: wait on vm->pause_cv while a pause reason is set. */
void vcpu_park(struct vcpu *vcpu);
/* One paragraph of vCPU state on stderr; not while another thread runs it. */
void vcpu_dump(struct vcpu *vcpu, const char *why);

/* cpuid.c: the supported CPUID, filtered unless cfg->cpuid_host. */
struct kvm_cpuid2 *cpuid_build(int kvm_fd, bool host, unsigned nr_cpus,
			       struct cpuid_report *rep);
/* The filter's notice: shown for a ring-0 kernel (Linux), else with --debug. */
void cpuid_notice(const struct cpuid_report *rep, bool ring0_kernel);
int cpuid_set_vcpu(int vcpu_fd, const struct kvm_cpuid2 *tmpl, unsigned apic_id);

#endif
