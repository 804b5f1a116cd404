// SPDX-License-Identifier: GPL-2.0-only
/*
 * VM lifecycle: create the KVM VM with its in-kernel irqchip and PIT, the
 * guest RAM, the devices and the vCPUs; run the vCPU threads; and, on the
 * main thread, the monitor that waits for the end (a guest exit, a fatal
 * vCPU event, a signal, --timeout, or every vCPU halted with interrupts
 * off), stops every vCPU and returns the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm/devices/devices.h"
#include "vmm/devices/pci.h"
#include "vmm/exit_status.h"
#include "vmm/boot/loader.h"
#include "pager/pager.h"
#include "vmm/pager_vm.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define KVM_TSS_ADDR		0xfffbd000ULL
#define KVM_IDENTITY_MAP_ADDR	0xfffbc000ULL
#define MONITOR_TICK_NS		200000000L	/* halt probe period */
#define STATS_PERIOD_NS		1000000000ULL	/* --stats file refresh */
#define VCPU_JOIN_GRACE_S	2

static int kvm_open(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		if (e == ENOENT)
			vmm_err("/dev/kvm: no such device node: KVM is not available on this "
				"host (is the kvm module loaded, or is this a VM without nested "
				"virtualisation?)");
		else if (e == EACCES || e == EPERM)
			vmm_err("/dev/kvm: permission denied: run as root or join the group "
				"that owns /dev/kvm (usually 'kvm')");
		else
			vmm_err("/dev/kvm: cannot open: %s", strerror(e));
		return -1;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		vmm_err("/dev/kvm: unsupported KVM API version");
		close(fd);
		return -1;
	}
	return fd;
}

static int vm_check_cpus(struct vm *vm)
{
	int max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;
	if (vm->cfg->cpus > (unsigned)max) {
		vmm_err("--cpus %u: this host's KVM supports at most %d vCPUs",
			vm->cfg->cpus, max);
		return -1;
	}
	return 0;
}

static int vm_create_kvm(struct vm *vm)
{
	uint64_t ident = KVM_IDENTITY_MAP_ADDR;
	struct kvm_pit_config pit = { .flags = 0 };
	int run_size;

	vm->kvm_fd = kvm_open();
	if (vm->kvm_fd < 0)
		return -1;
	if (vm_check_cpus(vm))
		return -1;
	run_size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		vmm_err("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	vm->run_size = run_size;
	do
		vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	while (vm->fd < 0 && errno == EINTR);
	if (vm->fd < 0) {
		vmm_err("KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) < 0 ||
	    ioctl(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0) {
		vmm_err("KVM_SET_TSS_ADDR / KVM_SET_IDENTITY_MAP_ADDR: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		vmm_err("KVM_CREATE_IRQCHIP: %s", strerror(errno));
		return -1;
	}
	if (ioctl(vm->fd, KVM_CREATE_PIT2, &pit) < 0) {
		vmm_err("KVM_CREATE_PIT2: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Devices may start threads (the serial port's stdin reader). Whatever the
 * caller lets through during set-up, they start with SIGINT and SIGTERM
 * blocked, which leaves both to the monitor's sigtimedwait.
 */
static int vm_devices_init(struct vm *vm)
{
	sigset_t stop, old;
	int ret;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	ret = devices_init(vm);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->kvm_fd = vm->fd = -1;
	/* vm_run's thread, set before any thread (QMP) can request a stop. */
	vm->monitor = pthread_self();
	vm->pio.name = "port";
	vm->mmio.name = "mmio";
	pthread_mutex_init(&vm->dump_lock, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cv, NULL);
	pthread_cond_init(&vm->parked_cv, NULL);

	if (vm_create_kvm(vm))
		return -1;
	if (guest_mem_init(&vm->mem, cfg->mem) < 0) {
		vmm_err("guest RAM of %llu MiB: %s", (unsigned long long)(cfg->mem >> 20),
			strerror(errno));
		return -1;
	}
	if (guest_mem_register(&vm->mem, vm->fd) < 0) {
		vmm_err("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return -1;
	}
	vm->cpuid = cpuid_build(vm->kvm_fd, cfg->cpuid_host, cfg->cpus, &vm->cpuid_report);
	if (!vm->cpuid) {
		vmm_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return -1;
	}
	if (loader_load(vm))
		return -1;
	/* Devices open guest-memory handles on the memory object: it comes first. */
	if (vm_pager_create(vm))
		return -1;
	if (vm_devices_init(vm))
		return -1;

	vm->vcpus = calloc(cfg->cpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -1;
	for (unsigned i = 0; i < cfg->cpus; i++) {
		vm->vcpus[i].vm = vm;
		vm->vcpus[i].id = i;
		vm->vcpus[i].fd = -1;
		vm->nr_vcpus++;
		if (vcpu_init(&vm->vcpus[i]))
			return -1;
	}
	return 0;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (vm->vcpus[i].run)
			munmap(vm->vcpus[i].run, vm->run_size);
		if (vm->vcpus[i].fd >= 0)
			close(vm->vcpus[i].fd);
	}
	free(vm->vcpus);
	free(vm->cpuid);
	/* Device threads end before the bus and the memory they use go (idempotent). */
	pci_stop(vm->pci);
	pci_bus_destroy(vm->pci);
	vm->pci = NULL;
	vm_pager_destroy(vm);
	guest_mem_destroy(&vm->mem);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
}

bool vm_stopping(const struct vm *vm)
{
	return atomic_load(&vm->stopping);
}

void vm_request_stop(struct vm *vm, int status)
{
	int expected = 0;

	/*
	 * The status travels in `stopping` itself (status + 1), so a caller
	 * that vm_run does not join (the QMP thread) publishes it atomically.
	 */
	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, status + 1))
		return;
	/* Wake the monitor, which kicks every vCPU. */
	pthread_kill(vm->monitor, SIGUSR2);
}

static void kick_all(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		vcpu_kick(&vm->vcpus[i]);
}

int vm_pause(struct vm *vm, unsigned reason, unsigned timeout_ms)
{
	uint64_t end = now_ns() + timeout_ms * 1000000ULL;
	int ret = 0;

	pthread_mutex_lock(&vm->pause_lock);
	atomic_fetch_or(&vm->pause_reasons, reason);
	pthread_mutex_unlock(&vm->pause_lock);
	/* Threads are started by vm_run; one not started yet parks first thing. */
	if (!vm_stopping(vm))
		kick_all(vm);
	pthread_mutex_lock(&vm->pause_lock);
	while (vm->nr_parked < vm->nr_vcpus && !vm_stopping(vm)) {
		/* Sliced, so that a stop request (which does not signal parked_cv) ends the wait. */
		struct timespec slice = realtime_after_ns(20000000ULL);

		if (now_ns() >= end) {
			ret = -1;
			break;
		}
		pthread_cond_timedwait(&vm->parked_cv, &vm->pause_lock, &slice);
	}
	pthread_mutex_unlock(&vm->pause_lock);
	return ret;
}

void vm_resume(struct vm *vm, unsigned reason)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_fetch_and(&vm->pause_reasons, ~reason);
	pthread_cond_broadcast(&vm->pause_cv);
	pthread_mutex_unlock(&vm->pause_lock);
}

bool vm_paused(struct vm *vm)
{
	return atomic_load(&vm->pause_reasons) != 0;
}

/* After a stop request: parked vCPUs see vm_stopping() and leave. */
static void wake_parked(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cv);
	pthread_mutex_unlock(&vm->pause_lock);
}

/* True when the last probe found every vCPU halted with interrupts off. */
static bool all_halted(struct vm *vm)
{
	unsigned gen = atomic_load(&vm->halt_probe);

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (atomic_load(&vm->vcpus[i].halt_gen) != gen ||
		    !atomic_load(&vm->vcpus[i].halted_noint))
			return false;
	}
	return true;
}

static void noop_handler(int sig)
{
}

/* Join every started vCPU thread; false if one is still running after the grace period. */
static bool join_vcpus(struct vm *vm)
{
	struct timespec deadline = realtime_after_ns(VCPU_JOIN_GRACE_S * 1000000000ULL);

	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		if (!vm->vcpus[i].started)
			continue;
		if (pthread_timedjoin_np(vm->vcpus[i].thread, NULL, &deadline))
			return false;
		vm->vcpus[i].started = false;
	}
	return true;
}

/* The monitor runs on the main thread until the VM stops. */
static void vm_monitor(struct vm *vm)
{
	const struct vm_config *cfg = vm->cfg;
	uint64_t deadline = cfg->timeout > 0 ? now_ns() + (uint64_t)(cfg->timeout * 1e9) : 0;
	uint64_t next_stats = now_ns() + STATS_PERIOD_NS;
	sigset_t wait_set;

	sigemptyset(&wait_set);
	sigaddset(&wait_set, SIGINT);
	sigaddset(&wait_set, SIGTERM);
	sigaddset(&wait_set, SIGUSR2);
	while (!vm_stopping(vm)) {
		struct timespec tick = { 0, MONITOR_TICK_NS };
		uint64_t now = now_ns();
		int sig;

		if (deadline && now >= deadline) {
			vmm_err("timeout: the guest ran for %g s (--timeout)", cfg->timeout);
			vm_request_stop(vm, VMM_EXIT_TIMEOUT);
			break;
		}
		if (deadline && deadline - now < (uint64_t)tick.tv_nsec)
			tick.tv_nsec = deadline - now;
		sig = sigtimedwait(&wait_set, NULL, &tick);
		if (sig == SIGINT || sig == SIGTERM) {
			vmm_info("%s received: stopping the guest", sig == SIGINT ? "SIGINT" : "SIGTERM");
			vm_request_stop(vm, VMM_EXIT_SIGNAL);
			break;
		}
		if (vm->pager && now_ns() >= next_stats) {
			pager_stats_write(vm->pager);
			next_stats += STATS_PERIOD_NS;
		}
		if (sig < 0 && errno == EAGAIN) {
			if (all_halted(vm)) {
				vmm_err("every vCPU is halted with interrupts disabled: the guest "
					"can never run again");
				vm_request_stop(vm, VMM_EXIT_HALTED);
				break;
			}
			atomic_fetch_add(&vm->halt_probe, 1);
			kick_all(vm);
		}
	}
}

int vm_run(struct vm *vm)
{
	struct sigaction sa = { .sa_handler = noop_handler };
	int status;

	/* SIGUSR1 kicks vCPUs out of KVM_RUN; the handler must not restart it. */
	sigaction(SIGUSR1, &sa, NULL);
	if (vm->pager && pager_start(vm->pager))
		vm_request_stop(vm, VMM_EXIT_INTERNAL);
	for (unsigned i = 0; i < vm->nr_vcpus && !vm_stopping(vm); i++) {
		struct vcpu *vcpu = &vm->vcpus[i];

		if (pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu)) {
			vmm_err("cannot start the thread of vCPU %u", i);
			vm_request_stop(vm, VMM_EXIT_INTERNAL);
			break;
		}
		vcpu->started = true;
	}
	vm_monitor(vm);
	vm->exit_status = atomic_load(&vm->stopping) - 1;
	wake_parked(vm);
	kick_all(vm);
	if (!join_vcpus(vm)) {
		/*
		 * A vCPU is stuck in the kernel, e.g. waiting on a guest page
		 * the pager refused to restore. Nothing more can be learnt
		 * from it: report and leave without resuming it.
		 */
		vmm_err("a vCPU did not stop within %d s; exiting", VCPU_JOIN_GRACE_S);
		serial_flush();
		if (vm->pager)
			pager_stats_write(vm->pager);
		_exit(vm->exit_status);
	}

	status = vm->exit_status;
	/* A stop the user asked for is not an error: --quiet keeps it silent. */
	if (status == VMM_EXIT_TIMEOUT || (status == VMM_EXIT_SIGNAL && !vmm_quiet) ||
	    status == VMM_EXIT_HALTED) {
		const char *why = status == VMM_EXIT_TIMEOUT ? "state at timeout" :
				  status == VMM_EXIT_SIGNAL ? "state at signal" :
				  "halted with interrupts disabled";

		for (unsigned i = 0; i < vm->nr_vcpus; i++)
			vcpu_dump(&vm->vcpus[i], why);
	}
	serial_flush();
	devices_stop(vm);
	if (vm->pager) {
		pager_stop(vm->pager);
		pager_stats_write(vm->pager);
		pager_stats_summary(vm->pager);
	}
	return status;
}
