/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tiny multiboot guests that misbehave on purpose, one per -D variant, to
 * test how the VMM ends a VM. 32-bit protected mode, no paging, ring 0:
 * each is a handful of instructions (guest ring 0 may be interpreted).
 */
	.code32
	.section .text
	.globl _start
	.align 4
mb_header:
	.long 0x1BADB002, 0, -0x1BADB002

_start:
#if defined(HALT)
	cli
	hlt
	jmp _start
#elif defined(IDLE)
	/* Interrupts on, nothing will ever come: only --timeout or a signal ends it. */
1:	sti
	hlt
	jmp 1b
#elif defined(TRIPLE)
	lidt empty_idt
	ud2
#elif defined(RESET_I8042)
	mov $0xfe, %al
	out %al, $0x64
	jmp .
#elif defined(RESET_CF9)
	mov $0x06, %al
	mov $0xcf9, %dx
	out %al, %dx
	jmp .
#elif defined(WILD)
	/*
	 * Write and read ports no device owns, and MMIO in the 32-bit hole and
	 * above RAM; unclaimed reads must return all-ones. Then exit with 0
	 * (status 1) if every read was all-ones, else 1 (status 3).
	 */
	xor %edi, %edi
	mov $0x200, %edx
1:	mov $0x5a, %al
	out %al, %dx
	in %dx, %al
	cmp $0xff, %al
	je 2f
	or $1, %edi
2:	inc %edx
	cmp $0x300, %edx
	jb 1b
	mov $0xd0000000, %ebx
3:	movl $0x12345678, (%ebx)
	mov (%ebx), %eax
	cmp $0xffffffff, %eax
	je 4f
	or $1, %edi
4:	add $0x100000, %ebx
	cmp $0xd4000000, %ebx
	jb 3b
	mov %edi, %eax
	out %eax, $0xf4
	jmp .
#elif defined(CHATTY)
	/*
	 * Print a line, wait for a byte on the serial input, print more
	 * lines, then exit with 0 (status 1). A test closes the output pipe
	 * before it sends the byte: every later line meets a closed pipe.
	 */
	mov $0x3f8, %dx
	mov $chatty_first, %esi
	mov $chatty_first_len, %ecx
	cld
	rep outsb
	mov $0x3fd, %dx
1:	in %dx, %al
	test $1, %al
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al
	mov $8, %ebx
2:	mov $chatty_more, %esi
	mov $chatty_more_len, %ecx
	rep outsb
	dec %ebx
	jnz 2b
	xor %eax, %eax
	out %eax, $0xf4
	jmp .
#elif defined(HAMMER)
	/*
	 * 1000 writes and 1000 reads of port 0x200, which no device owns,
	 * then exit with 0 (status 1): --debug must not log each of them.
	 */
	mov $0x200, %dx
	mov $hammer_buf, %esi
	mov $1000, %ecx
	cld
	rep outsb
	mov $hammer_buf, %edi
	mov $1000, %ecx
	rep insb
	xor %eax, %eax
	out %eax, $0xf4
	jmp .
#else
#error pick a variant
#endif

#if defined(CHATTY)
chatty_first:
	.ascii "chatty: first line\n"
	chatty_first_len = . - chatty_first
chatty_more:
	.ascii "chatty: a line for a closed pipe\n"
	chatty_more_len = . - chatty_more
#elif defined(HAMMER)
hammer_buf:
	.fill 1000, 1, 0x5a
#endif

	.align 8
empty_idt:
	.word 0
	.long 0

	.section .note.GNU-stack,"",@progbits
