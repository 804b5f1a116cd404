#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Bad input to `vmm`: every case gets a message naming the thing and the
# reason, and exit status 2; never a crash.
. "${top_srcdir:-.}/tests/lib.sh"
g=${top_builddir:-.}/tests/guests
halt=$g/halt.elf

expect 2 'no command given' "$VMM"
expect 2 "unknown command 'frob'" "$VMM" frob
expect 2 'no IMAGE given' "$VMM" run
expect 2 "unknown option '--frob'" "$VMM" run --frob "$halt"
expect 2 "needs a value" "$VMM" run --mem
expect 2 "--mem '1M'" "$VMM" run --mem 1M "$halt"
expect 2 "--mem 'lots'" "$VMM" run --mem lots "$halt"
expect 2 "--cpus '0'" "$VMM" run --cpus 0 "$halt"
expect 2 "--timeout 'soon'" "$VMM" run --timeout soon "$halt"
expect 2 "unexpected argument 'extra' after IMAGE" "$VMM" run "$halt" extra
expect 0 '' "$VMM" --help
expect 0 '' "$VMM" --version

expect 2 "$tmp/missing.elf: cannot read image: No such file" "$VMM" run "$tmp/missing.elf"
expect 2 "cannot read image: Is a directory" "$VMM" run "$tmp"
: >"$tmp/empty.elf"
expect 2 'empty.elf: not a multiboot image \(no header in the first 8 KiB\)' "$VMM" run "$tmp/empty.elf"
head -c 20000 /dev/zero | tr '\0' 'x' >"$tmp/magic.elf"
expect 2 'magic.elf: not a multiboot image \(no header' "$VMM" run "$tmp/magic.elf"

# A valid header at offset 8 KiB: loaders must not look there.
{ head -c 8192 /dev/zero; printf '\002\260\255\033\000\000\000\000\376\117\122\344'; } >"$tmp/late.elf"
expect 2 'late.elf: .*past the first 8 KiB' "$VMM" run "$tmp/late.elf"

# Truncated right after the multiboot header: the segment is incomplete.
off=$(LC_ALL=C grep -obUaP '\x02\xb0\xad\x1b' "$halt" | head -n 1 | cut -d: -f1)
head -c $((off + 12)) "$halt" >"$tmp/truncated.elf"
expect 2 'truncated.elf: truncated' "$VMM" run "$tmp/truncated.elf"

# Linked at 2 GiB - 1 MiB: outside the default 256 MiB of RAM.
expect 2 'high.elf: segment 0x7ff.* outside guest RAM' "$VMM" run "$g/high.elf"

objcopy -O elf64-x86-64 "$halt" "$tmp/elf64.elf"
expect 2 'elf64.elf: ELF class 2: .*elf32-i386' "$VMM" run "$tmp/elf64.elf"

expect 2 "$tmp/nomod: cannot read module" "$VMM" run --module "$tmp/nomod" "$halt"

# A FIFO (or any file that is not regular) is refused at once, never opened
# to wait for a writer; timeout (KILL, as set-up may block SIGTERM) only
# keeps a regression from hanging the suite.
mkfifo "$tmp/fifo"
expect 2 'fifo: cannot read image: a FIFO, not a regular file' \
	timeout -k 5 20 "$VMM" run "$tmp/fifo"
expect 2 'fifo: cannot read module: a FIFO, not a regular file' \
	timeout -k 5 20 "$VMM" run --module "$tmp/fifo x=1" "$halt"
expect 2 'fifo: cannot read initrd: a FIFO, not a regular file' \
	timeout -k 5 20 "$VMM" run --initrd "$tmp/fifo" "$g/pvh.elf"
expect 2 '/dev/null: cannot read module: a character device, not a regular file' \
	"$VMM" run --module /dev/null "$halt"
# The PVH guest itself boots (the loader found its note and entry).
expect 1 '' "$VMM" run -q "$g/pvh.elf"

# A resident limit above guest RAM never binds: accepted, and said so.
expect 1 '--mem-resident 128 MiB is more than the guest.s RAM \(--mem 64 MiB\): the limit never binds' \
	"$VMM" run --mem 64M --mem-resident 128M "$g/wild.elf"

# No /dev/kvm: hide it in a private mount namespace (needs root).
if unshare -m true 2>/dev/null; then
	expect 2 '/dev/kvm: no such device node' \
		unshare -m sh -c 'mount -t tmpfs none /dev && exec "$0" run "$1"' "$VMM" "$halt"
else
	echo "skip: cannot make a mount namespace to hide /dev/kvm"
fi
finish
