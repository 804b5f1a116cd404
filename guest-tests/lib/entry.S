/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Boot, AP start-up, traps and the ring-3 round trip.
 *
 * Every instruction here runs in ring 0, which this host's KVM interprets at
 * about 1 µs each: the paths are short on purpose. The boot CPU comes in
 * from a multiboot loader in 32-bit protected mode without paging
 * (EAX = 0x2BADB002, EBX = the multiboot information), maps 0-4 GiB with
 * 2 MiB pages and enters long mode; boot_main (lib/setup.c) maps the rest.
 * The other CPUs start in real mode in the trampoline below, which
 * boot_main copies under 1 MiB, and join the same path.
 */
#include "arch.h"

#define MULTIBOOT_MAGIC	0x1badb002

	.section .multiboot, "a"
	.balign 4
	.long MULTIBOOT_MAGIC
	.long 0				/* flags: the loader reads the ELF headers */
	.long -MULTIBOOT_MAGIC

/* ---- boot CPU, 32-bit ---------------------------------------------------- */

	.section .text.boot, "ax"
	.code32
	.globl _start
_start:
	cli
	movl %eax, mb_magic
	movl %ebx, mb_info
	lgdt gdt_desc32
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss

	/* Identity map 0-4 GiB: PML4[0] -> PDPT[0..3] -> 2048 2 MiB pages. */
	movl $(boot_pdpt + PTE_P + PTE_W + PTE_U), boot_pml4
	movl $(boot_pd + 0x0000 + PTE_P + PTE_W + PTE_U), boot_pdpt
	movl $(boot_pd + 0x1000 + PTE_P + PTE_W + PTE_U), boot_pdpt + 8
	movl $(boot_pd + 0x2000 + PTE_P + PTE_W + PTE_U), boot_pdpt + 16
	movl $(boot_pd + 0x3000 + PTE_P + PTE_W + PTE_U), boot_pdpt + 24
	movl $boot_pd, %edi
	movl $(PTE_P + PTE_W + PTE_U + PTE_PS), %eax
	movl $2048, %ecx
1:	movl %eax, (%edi)
	addl $0x200000, %eax
	addl $8, %edi
	decl %ecx
	jnz 1b
	xorl %edi, %edi			/* %edi = 0: the boot CPU */

/* Shared by every CPU: %edi = 0 on the boot CPU, 1 on the others. */
enter_long_mode:
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG, PE */
	movl %eax, %cr0
	ljmp $SEL_KCODE, $start64

/* The other CPUs arrive here from the trampoline, in protected mode. */
ap_start32:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl $1, %edi
	jmp enter_long_mode

/* ---- 64-bit -------------------------------------------------------------- */

	.code64
start64:
	movl $SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax			/* FS and GS stay null: GS_BASE is the percpu */
	movl %eax, %fs
	movl %eax, %gs
	testl %edi, %edi
	jnz ap_start64
	movq $boot_stack_top, %rsp
	movl mb_magic(%rip), %edi
	movl mb_info(%rip), %esi
	call boot_main
2:	hlt
	jmp 2b

ap_start64:
	movl $1, %eax
	lock xaddl %eax, ap_next(%rip)
	cmpl smp_ncpus(%rip), %eax
	jae 3f				/* more CPUs than fw_cfg said: park it */
	movq ap_stack_top(,%rax,8), %rsp
	movl %eax, %edi
	call ap_main
3:	cli
	hlt
	jmp 3b

/* ---- AP trampoline, copied below 1 MiB by smp_boot ------------------------ */

	.section .rodata
	.code16
	.globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
	cli
	movw %cs, %ax
	movw %ax, %ds
	lgdtl ap_tramp_gdt_desc - ap_tramp_start
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $SEL_KCODE32, $ap_start32
	.balign 8
ap_tramp_gdt_desc:
	.word gdt_end - gdt - 1
	.long gdt
ap_tramp_end:
	.code64

/* ---- traps --------------------------------------------------------------- */

	.text
.macro TRAP vec, has_error
	.balign 16
trap_\vec:
	.if \has_error == 0
	pushq $0
	.endif
	pushq $\vec
	jmp trap_common
.endm

	TRAP 0, 0
	TRAP 1, 0
	TRAP 2, 0
	TRAP 3, 0
	TRAP 4, 0
	TRAP 5, 0
	TRAP 7, 0
	TRAP 8, 1
	TRAP 9, 0
	TRAP 10, 1
	TRAP 11, 1
	TRAP 12, 1
	TRAP 13, 1
	TRAP 14, 1
	TRAP 15, 0
	TRAP 16, 0
	TRAP 17, 1
	TRAP 18, 0
	TRAP 19, 0
	TRAP 20, 0
	TRAP 21, 1
	TRAP 22, 0
	TRAP 23, 0
	TRAP 24, 0
	TRAP 25, 0
	TRAP 26, 0
	TRAP 27, 0
	TRAP 28, 0
	TRAP 29, 1
	TRAP 30, 1
	TRAP 31, 0

/* The frame is struct trap_frame (lib/runtime.h). */
trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap_handler
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl trap_stubs
trap_stubs:
	.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	.quad trap_\v
	.endr

	.text
/* Wake-up IPI: acknowledge it and go back to whatever was halted. */
	.globl wake_entry
	.balign 16
wake_entry:
	pushq %rax
	movl $0xfee000b0, %eax		/* local APIC EOI */
	movl $0, (%rax)
	popq %rax
	iretq

	.globl spurious_entry
	.balign 16
spurious_entry:
	iretq

/*
 * long user_run_on(long (*fn)(void *), void *arg, uint64_t user_rsp)
 *
 * Saves the callee-saved registers and this stack pointer in the percpu,
 * makes it the TSS's RSP0 (traps from ring 3 land below this frame), and
 * IRETQs to ring 3 at user_entry with IOPL 3.
 *
 * Ring 3 comes back by executing the ud2 at user_exit_insn: on this host
 * `int $0x80` from ring 3 (DPL-3 gate) raises #UD and SYSCALL leaves the CPU
 * in ring 3 (CS 0x33 with STAR[47:32] = 0x08), but
 * exceptions are delivered faithfully. trap_6 recognises that one ud2 and
 * returns from user_run_on with fn's value. Ring 3 is only ever entered with
 * IRETQ (SYSRETQ triple-faults here).
 */
	.globl user_run_on
user_run_on:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %gs:PERCPU_KERNEL_RSP
	movq %gs:PERCPU_TSS, %rax
	movq %rsp, 4(%rax)		/* tss.rsp0 */
	pushq $(SEL_UDATA + 3)
	pushq %rdx
	pushq $USER_RFLAGS
	pushq $(SEL_UCODE + 3)
	pushq $user_entry
	iretq

/* Ring 3: %rdi = fn, %rsi = arg, on an empty 16-byte-aligned stack. */
user_entry:
	movq %rdi, %rax
	movq %rsi, %rdi
	call *%rax
user_exit_insn:
	ud2

/* #UD: the way back from ring 3 (user_exit_insn, %rax = value) or a fault. */
	.balign 16
trap_6:
	cmpq $user_exit_insn, (%rsp)
	jne 1f
	movq %gs:PERCPU_KERNEL_RSP, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
1:	pushq $0
	pushq $6
	jmp trap_common

/* ---- data ---------------------------------------------------------------- */

	.data
	.balign 16
	.globl gdt, gdt_tss
gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* SEL_KCODE */
	.quad 0x00cf92000000ffff	/* SEL_KDATA */
	.quad 0x00cf9a000000ffff	/* SEL_KCODE32 */
	.quad 0x00cff2000000ffff	/* SEL_UDATA */
	.quad 0x00affa000000ffff	/* SEL_UCODE */
gdt_tss:
	.fill MAX_CPUS * 2, 8, 0	/* SEL_TSS0 + 16 * cpu, filled by boot_main */
gdt_end:

gdt_desc32:
	.word gdt_end - gdt - 1
	.long gdt

	.globl mb_magic, mb_info, ap_next
mb_magic:	.long 0
mb_info:	.long 0
ap_next:	.long 1

	.bss
	.balign 4096
	.globl boot_pml4, boot_pdpt
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4 * 4096
boot_stack:	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
