// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPU threads: one per vCPU, each running KVM_RUN and dispatching exits to
 * the port/MMIO tables. A vCPU thread is kicked out of KVM_RUN by setting
 * run->immediate_exit and sending it SIGUSR1 (whose handler does nothing):
 * the flag covers the window between the thread's last check and its next
 * KVM_RUN, the signal covers a thread already inside KVM_RUN.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/exit_status.h"
#include "vmm/util.h"
#include "vmm/vm.h"

#define X86_EFLAGS_IF	(1u << 9)
#define X86_CR0_PE	(1u << 0)
#define X86_CR0_ET	(1u << 4)
#define X86_CR0_NE	(1u << 5)
#define X86_CR0_PG	(1u << 31)
#define X86_CR4_PAE	(1u << 5)
#define EFER_LME	(1u << 8)
#define EFER_LMA	(1u << 10)

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	*s = (struct kvm_segment){
		.base = 0, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code64 ? 0 : 1, .s = 1,
		.l = code64 ? 1 : 0, .g = 1,
	};
}

static int vcpu_set_boot_state(struct vcpu *vcpu, const struct boot_cpu_state *b)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rflags = 2, .rip = b->rip, .rsp = b->rsp,
		.rax = b->rax, .rbx = b->rbx, .rsi = b->rsi,
	};
	uint16_t cs = b->long_mode ? b->code_sel : 0x08;
	uint16_t ds = b->long_mode ? b->data_sel : 0x10;

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	flat_segment(&sregs.cs, cs, 0xb, b->long_mode);
	flat_segment(&sregs.ds, ds, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.tr = (struct kvm_segment){ .limit = 0x67, .type = 0xb, .present = 1 };
	sregs.ldt = (struct kvm_segment){ .type = 0x2, .unusable = 1 };
	sregs.cr0 = X86_CR0_PE | X86_CR0_ET;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (b->long_mode) {
		sregs.cr0 |= X86_CR0_PG | X86_CR0_NE;
		sregs.cr3 = b->cr3;
		sregs.cr4 = X86_CR4_PAE;
		sregs.efer = EFER_LME | EFER_LMA;
		sregs.gdt.base = b->gdt_base;
		sregs.gdt.limit = b->gdt_limit;
	}
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0)
		return -1;
	return ioctl(vcpu->fd, KVM_SET_REGS, &regs);
}

int vcpu_init(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	vcpu->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)vcpu->id);
	if (vcpu->fd < 0) {
		vmm_err("KVM_CREATE_VCPU %u: %s", vcpu->id, strerror(errno));
		return -1;
	}
	vcpu->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		vmm_err("mmap of vCPU %u run area: %s", vcpu->id, strerror(errno));
		return -1;
	}
	if (cpuid_set_vcpu(vcpu->fd, vm->cpuid, vcpu->id) < 0) {
		vmm_err("KVM_SET_CPUID2 on vCPU %u: %s", vcpu->id, strerror(errno));
		return -1;
	}
	/* Other vCPUs wait in the in-kernel APIC for INIT/SIPI. */
	if (vcpu->id == 0 && vcpu_set_boot_state(vcpu, &vm->boot) < 0) {
		vmm_err("setting the boot vCPU's registers: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (!vcpu->started)
		return;
	__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, SIGUSR1);
}

/*
 * Park while the VM is paused (vm_pause), outside KVM_RUN, so the guest
 * makes no progress; a stop request ends the wait (vm_run wakes us).
 */
void vcpu_park(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->nr_parked++;
	pthread_cond_broadcast(&vm->parked_cv);
	while (atomic_load(&vm->pause_reasons) && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cv, &vm->pause_lock);
	vm->nr_parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

static const char *mp_state_name(uint32_t s)
{
	switch (s) {
	case KVM_MP_STATE_RUNNABLE:
		return "runnable";
	case KVM_MP_STATE_UNINITIALIZED:
		return "waiting for INIT";
	case KVM_MP_STATE_INIT_RECEIVED:
		return "waiting for SIPI";
	case KVM_MP_STATE_HALTED:
		return "halted";
	default:
		return "other";
	}
}

static bool mp_state_is_parked(uint32_t s)
{
	return s == KVM_MP_STATE_UNINITIALIZED || s == KVM_MP_STATE_INIT_RECEIVED;
}

/* Up to 15 bytes at CS:RIP, via the vCPU's own translation. */
static int read_insn(struct vcpu *vcpu, const struct kvm_regs *regs,
		     const struct kvm_sregs *sregs, uint8_t *buf)
{
	struct kvm_translation tr = { .linear_address = sregs->cs.base + regs->rip };
	int n = 0;

	if (ioctl(vcpu->fd, KVM_TRANSLATE, &tr) < 0 || !tr.valid)
		return 0;
	while (n < 15 && guest_mem_read(&vcpu->vm->mem, tr.physical_address + n, buf + n, 1) &&
	       ((tr.physical_address + n + 1) & (PAGE_SIZE - 1)))
		n++;
	if (n < 15 && guest_mem_read(&vcpu->vm->mem, tr.physical_address + n, buf + n, 1))
		n++;
	return n;
}

void vcpu_dump(struct vcpu *vcpu, const char *why)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_mp_state mp = { 0 };
	char buf[2048], *p = buf, *end = buf + sizeof(buf);
	uint8_t insn[16];
	int n;

	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) == 0 && mp_state_is_parked(mp.mp_state)) {
		vmm_err("vCPU %u: %s (never started: %s)", vcpu->id, why,
			mp_state_name(mp.mp_state));
		return;
	}
	if (ioctl(vcpu->fd, KVM_GET_REGS, &r) < 0 || ioctl(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		vmm_err("vCPU %u: %s (registers unavailable: %s)", vcpu->id, why, strerror(errno));
		return;
	}
	p += snprintf(p, end - p,
		"vmm: vCPU %u: %s (%s)\n"
		"  rip=%016llx rsp=%016llx rflags=%08llx cpl=%u mode=%s\n"
		"  rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		"  rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx\n"
		"  r9 =%016llx r10=%016llx r11=%016llx r12=%016llx\n"
		"  r13=%016llx r14=%016llx r15=%016llx\n"
		"  cs=%04x ds=%04x ss=%04x tr=%04x cr0=%08llx cr2=%016llx cr3=%016llx "
		"cr4=%08llx efer=%llx\n",
		vcpu->id, why, mp_state_name(mp.mp_state),
		(unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags, s.cs.dpl,
		(s.efer & EFER_LMA) ? (s.cs.l ? "long" : "compat") :
		(s.cr0 & X86_CR0_PE) ? "protected" : "real",
		(unsigned long long)r.rax, (unsigned long long)r.rbx,
		(unsigned long long)r.rcx, (unsigned long long)r.rdx,
		(unsigned long long)r.rsi, (unsigned long long)r.rdi,
		(unsigned long long)r.rbp, (unsigned long long)r.r8,
		(unsigned long long)r.r9, (unsigned long long)r.r10,
		(unsigned long long)r.r11, (unsigned long long)r.r12,
		(unsigned long long)r.r13, (unsigned long long)r.r14,
		(unsigned long long)r.r15,
		s.cs.selector, s.ds.selector, s.ss.selector, s.tr.selector,
		(unsigned long long)s.cr0, (unsigned long long)s.cr2,
		(unsigned long long)s.cr3, (unsigned long long)s.cr4,
		(unsigned long long)s.efer);
	n = read_insn(vcpu, &r, &s, insn);
	if (n) {
		p += snprintf(p, end - p, "  code at rip:");
		for (int i = 0; i < n && p < end - 4; i++)
			p += snprintf(p, end - p, " %02x", insn[i]);
		p += snprintf(p, end - p, "\n");
	}
	pthread_mutex_lock(&vcpu->vm->dump_lock);
	(void)!fwrite(buf, 1, p - buf, stderr);
	fflush(stderr);
	pthread_mutex_unlock(&vcpu->vm->dump_lock);
}

/* Answer the monitor's halt probe: are we halted with interrupts off? */
static void vcpu_answer_halt_probe(struct vcpu *vcpu)
{
	unsigned gen = atomic_load(&vcpu->vm->halt_probe);
	struct kvm_mp_state mp;
	struct kvm_regs regs;
	bool dead = false;

	if (atomic_load(&vcpu->halt_gen) == gen)
		return;
	if (ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) == 0) {
		if (mp_state_is_parked(mp.mp_state))
			dead = true;
		else if (mp.mp_state == KVM_MP_STATE_HALTED &&
			 ioctl(vcpu->fd, KVM_GET_REGS, &regs) == 0)
			dead = !(regs.rflags & X86_EFLAGS_IF);
	}
	atomic_store(&vcpu->halted_noint, dead);
	atomic_store(&vcpu->halt_gen, gen);
}

static void vcpu_stop_fatal(struct vcpu *vcpu, int status, const char *why)
{
	/* Only the first fatal event explains the end; later ones stay quiet. */
	if (!vm_stopping(vcpu->vm))
		vcpu_dump(vcpu, why);
	vm_request_stop(vcpu->vm, status);
}

static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	for (uint32_t i = 0; i < run->io.count; i++) {
		io_dispatch(&vcpu->vm->pio, run->io.port, data, run->io.size, is_write);
		data += run->io.size;
	}
}

static void handle_internal_error(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[160];
	const char *kind;

	switch (run->internal.suberror) {
	case KVM_INTERNAL_ERROR_EMULATION:
		kind = "instruction emulation failed";
		break;
	case KVM_INTERNAL_ERROR_SIMUL_EX:
		kind = "exception while delivering an exception";
		break;
	case KVM_INTERNAL_ERROR_DELIVERY_EV:
		kind = "event delivery failed";
		break;
	default:
		kind = "internal error";
		break;
	}
	snprintf(why, sizeof(why), "KVM_EXIT_INTERNAL_ERROR, suberror %u: %s",
		 run->internal.suberror, kind);
	vcpu_stop_fatal(vcpu, VMM_EXIT_INTERNAL, why);
}

/* Returns false when the thread should leave its loop. */
static bool vcpu_handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[96];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		io_dispatch(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data,
			    run->mmio.len, run->mmio.is_write);
		return true;
	case KVM_EXIT_INTR:
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vcpu_stop_fatal(vcpu, VMM_EXIT_TRIPLE_FAULT, "triple fault (KVM_EXIT_SHUTDOWN)");
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		handle_internal_error(vcpu);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "VM entry failed, hardware reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vcpu_stop_fatal(vcpu, VMM_EXIT_INTERNAL, why);
		return false;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			vmm_info("guest requested a reset");
			vm_request_stop(vcpu->vm, VMM_EXIT_RESET);
		} else {
			vcpu_stop_fatal(vcpu, VMM_EXIT_TRIPLE_FAULT, "system event: shutdown or crash");
		}
		return false;
	default:
		snprintf(why, sizeof(why), "unexpected KVM exit reason %u", run->exit_reason);
		vcpu_stop_fatal(vcpu, VMM_EXIT_INTERNAL, why);
		return false;
	}
}

void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	struct vm *vm = vcpu->vm;
	sigset_t unblock;

	char name[16];

	/* Named so that per-thread CPU time can be told apart (/proc, perf). */
	snprintf(name, sizeof(name), "vcpu%u", vcpu->id);
	pthread_setname_np(pthread_self(), name);
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &unblock, NULL);
	atomic_store(&vcpu->tid, gettid());

	while (!vm_stopping(vm)) {
		int ret;

		if (atomic_load(&vm->pause_reasons)) {
			vcpu_park(vcpu);
			continue;
		}
		ret = ioctl(vcpu->fd, KVM_RUN, 0);

		if (ret < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				/* Clear the kick before reading what it asked for. */
				__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				vcpu_answer_halt_probe(vcpu);
				continue;
			}
			{
				char why[96];

				snprintf(why, sizeof(why), "KVM_RUN failed: %s", strerror(errno));
				vcpu_stop_fatal(vcpu, errno == EFAULT ? VMM_EXIT_MEMORY : VMM_EXIT_INTERNAL,
						why);
			}
			break;
		}
		if (!vcpu_handle_exit(vcpu))
			break;
	}
	return NULL;
}
