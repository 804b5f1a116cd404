/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The smallest PVH kernel: an ELF file with a Xen PHYS32_ENTRY note and no
 * multiboot header. Entered in flat 32-bit protected mode, it writes 0 to
 * the exit port (status 1), which proves the PVH loader found the note and
 * the entry. The tests use it where a Linux image is needed to get as far
 * as the initrd.
 */
	.code32
	.section .text
	.globl _start
_start:
	xor %eax, %eax
	out %eax, $0xf4
	jmp .

	.section .note.Xen, "a", @note
	.align 4
	.long 4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start

	.section .note.GNU-stack,"",@progbits
