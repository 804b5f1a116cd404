#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Boot Debian's stock kernel and check, from what it prints first, that the
# loader did its job: the kernel's version banner, the exact command line
# (with a random marker and rdinit=/init), an e820 map equal to the one the
# VMM built, the MP table and the initrd (the one tests/make-initrd builds,
# as in the README). The vmlinux inside the bzImage (its xz payload) boots
# through PVH; the bzImage itself through the 64-bit boot protocol. Each
# guest is stopped (SIGTERM) as soon as the lines are there.
#
# First a probe times a short ring-0 loop in a scratch VM. Where the host
# runs guest ring-0 code natively, the bzImage gets the same checks as the
# vmlinux, and a third boot goes on to the initramfs's /init, which prints
# the marker and powers off. Where KVM interprets ring 0
# (docs/host-without-vtx.md), the bzImage's decompressor would need hours,
# so only its first line is checked, and the full boot is skipped with the
# measured reason (tests/initrd.sh boots the same initrd under QEMU).
#
# The kernel comes from .ci/fetch-test-kernel (/var/cache/vmm-test-kernel),
# or from $VMM_TEST_KERNEL (a bzImage); busybox from busybox-static, or
# $VMM_TEST_BUSYBOX. $VMM_LINUX_BOOT_WAIT bounds each boot, in seconds.
. "${top_srcdir:-.}/tests/lib.sh"

cache=/var/cache/vmm-test-kernel
kernel=${VMM_TEST_KERNEL:-$cache/vmlinuz}
busybox=${VMM_TEST_BUSYBOX:-/bin/busybox}
make_initrd=${top_srcdir:-.}/tests/make-initrd
wait_s=${VMM_LINUX_BOOT_WAIT:-600}

if [ ! -r "$kernel" ]; then
	echo "SKIP: no test kernel at $kernel: run .ci/fetch-test-kernel, or set VMM_TEST_KERNEL"
	exit 77
fi
for tool in xz od grep sed cpio gzip; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool not found (Debian: apt-get install xz-utils coreutils grep sed cpio gzip)"
		exit 77
	fi
done
if [ ! -x "$busybox" ]; then
	echo "SKIP: no busybox at $busybox (Debian: apt-get install busybox-static), or set VMM_TEST_BUSYBOX"
	exit 77
fi
echo "kernel: $kernel ($(wc -c <"$kernel") bytes)"

# bytes HEX...: write raw bytes.
bytes() {
	for b; do
		printf "\\$(printf %03o "0x$b")"
	done
}

# poke FILE OFFSET HEX...: overwrite bytes in place.
poke() {
	f=$1 off=$2
	shift 2
	bytes "$@" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}

marker=vmm-marker-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

# The initrd of the README's recipe: busybox and an /init that prints the
# marker and powers off.
echo "vmm linux-boot test" >"$tmp/hello.txt"
if ! sh "$make_initrd" --busybox "$busybox" --message "$marker-userspace" \
	"$tmp/initrd.cpio.gz"; then
	echo "FAIL: tests/make-initrd could not build the initrd"
	exit 1
fi

# The loader's errors on a real kernel, before any vCPU runs.
cp "$kernel" "$tmp/old.bz"
poke "$tmp/old.bz" $((0x206)) 0a 02
expect 2 'old.bz: Linux boot protocol 2.10 is too old \(need 2.12\+\)' "$VMM" run -q "$tmp/old.bz"
cp "$kernel" "$tmp/32bit.bz"
poke "$tmp/32bit.bz" $((0x236)) 00
expect 2 '32bit.bz: not a 64-bit kernel' "$VMM" run -q "$tmp/32bit.bz"
head -c 1000000 "$kernel" >"$tmp/cut.bz"
expect 2 'cut.bz: truncated: the kernel needs' "$VMM" run -q "$tmp/cut.bz"
expect 2 'too large for guest RAM' "$VMM" run -q --mem 32M "$kernel"
expect 2 'missing.cpio: cannot read initrd' "$VMM" run -q --initrd "$tmp/missing.cpio" "$kernel"
head -c $((40 << 20)) /dev/zero >"$tmp/big.cpio"
expect 2 'big.cpio: initrd of 40 MiB does not fit' "$VMM" run -q --mem 96M --initrd "$tmp/big.cpio" "$kernel"
expect 2 '--module is for multiboot images' "$VMM" run -q --module "$tmp/hello.txt" "$kernel"

# The vmlinux inside: the first xz stream that decompresses to an ELF file
# (scripts/extract-vmlinux does the same; --single-stream ignores what follows).
for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" | cut -d: -f1); do
	tail -c +$((off + 1)) "$kernel" | xz -dc --single-stream >"$tmp/vmlinux" 2>/dev/null
	[ "$(head -c 4 "$tmp/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] && break
	rm -f "$tmp/vmlinux"
done
if [ ! -s "$tmp/vmlinux" ]; then
	echo "FAIL: no xz-compressed ELF payload found in $kernel"
	failures=$((failures + 1))
fi

# serial_lines FILE: the kernel's lines without timestamps and CRs.
serial_lines() {
	tr -d '\r' <"$1" | sed 's/^\[ *[0-9]*\.[0-9]*\] //'
}

# boot NAME IMAGE VMM-ARGS...: run the VMM on IMAGE until every line of
# $first_lines (grep -E patterns) matches the serial output, then SIGTERM
# it. Sets boot_seen (yes when every line came) and boot_status (12 when
# we stopped it).
boot() {
	name=$1 image=$2
	shift 2
	boot_seen=no
	start=$(date +%s)
	"$VMM" run --debug "$@" "$image" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err" &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		missing=$(printf '%s\n' "$first_lines" | while IFS= read -r p; do
			serial_lines "$tmp/$name.out" | grep -Eq -- "$p" || echo "$p"
		done)
		if [ -z "$missing" ]; then
			boot_seen=yes
			break
		fi
		if [ $(($(date +%s) - start)) -ge "$wait_s" ]; then
			echo "$name: still waiting after $wait_s s for: $missing"
			break
		fi
		sleep 1
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid"
	boot_status=$?
	echo "$name: stopped after $(($(date +%s) - start)) s, exit status $boot_status"
}

# check NAME WHAT COMMAND...: one named assertion.
check() {
	name=$1 what=$2
	shift 2
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $name: $what"
	else
		echo "FAIL: $name: $what"
		failures=$((failures + 1))
	fi
}

# The kernel's e820 lines and the VMM's, reduced to "[mem a-b] type".
kernel_e820() {
	serial_lines "$tmp/$1.out" | sed -n 's/^BIOS-e820: \(\[mem [^]]*\] [a-z]*\)$/\1/p'
}
vmm_e820() {
	sed -n 's/^vmm: .*: e820: \(\[mem [^]]*\] [a-z]*\)$/\1/p' "$tmp/$1.err"
}

same_e820() {
	kernel_e820 "$1" >"$tmp/$1.e820.kernel"
	vmm_e820 "$1" >"$tmp/$1.e820.vmm"
	[ -s "$tmp/$1.e820.vmm" ] && diff "$tmp/$1.e820.vmm" "$tmp/$1.e820.kernel"
}

has_line() {
	serial_lines "$tmp/$1.out" | grep -Fxq -- "$2"
}

has_match() {
	serial_lines "$tmp/$1.out" | grep -Eq -- "$2"
}

# The VMM placed the whole initrd file, and the kernel prints its first
# byte and its page-aligned last byte.
same_initrd() {
	range=$(sed -n 's/^vmm: .*initrd at \(0x[0-9a-f]*\)-\(0x[0-9a-f]*\) (\([0-9]*\) bytes)$/\1 \2 \3/p' "$tmp/$1.err")
	[ -n "$range" ] || { echo "  no 'initrd at' line from the VMM"; return 1; }
	set -- "$1" $range
	size=$(wc -c <"$tmp/initrd.cpio.gz")
	[ "$4" = "$size" ] && [ $(($3 - $2)) = "$size" ] ||
		{ echo "  the VMM placed $2-$3 ($4 bytes), the initrd has $size"; return 1; }
	want=$(printf 'RAMDISK: [mem 0x%08x-0x%08x]' "$2" $((($3 + 4095) / 4096 * 4096 - 1)))
	has_line "$1" "$want" || { echo "  expected '$want'"; false; }
}

report() {
	echo "--- $1: serial output (first 40 lines) ---"
	serial_lines "$tmp/$1.out" | head -40
	echo "--- $1: vmm stderr (without unclaimed port accesses) ---"
	grep -v 'unclaimed\|no device' "$tmp/$1.err" | head -30
}

# guest_checks NAME: what the kernel printed about the loader.
guest_checks() {
	check "$1" "the first lines came within $wait_s s" [ "$boot_seen" = yes ]
	check "$1" "stopped by us once they were there (status 12)" [ "$boot_status" = 12 ]
	check "$1" "kernel printed its version" has_match "$1" '^Linux version [0-9]'
	# Where this host's KVM keeps XSAVE or POPCNT visible, vmm appends noxsave
	# or clearcpuid=popcnt (and says which).
	extra=$(sed -n "s/.*keeps features visible: '\(.*\)' appended.*/\1/p" "$tmp/$1.err")
	want_cmdline="$cmdline${extra:+ $extra}"
	check "$1" "kernel printed the exact command line" has_line "$1" "Command line: $want_cmdline"
	check "$1" "kernel's e820 map equals the VMM's" same_e820 "$1"
	check "$1" "kernel found the MP table at 0xf0000" has_match "$1" '^found SMP MP-table at \[mem 0x000f0000-'
	check "$1" "kernel found the initrd where the VMM put it" same_initrd "$1"
	[ "$failures" -eq 0 ] || report "$1"
}

# Does this host run guest ring-0 code natively? A multiboot guest that
# counts down from N in ring 0 and exits: 2N instructions, microseconds each
# where KVM interprets ring 0, well under a millisecond where it does not.
ring0_loop() {
	bytes 02 b0 ad 1b 00 00 01 00 fe 4f 51 e4
	bytes 00 00 10 00 00 00 10 00 00 00 00 00 00 00 00 00 20 00 10 00
	bytes b9 "$@"			# mov ecx, N
	bytes 49 75 fd			# 1: dec ecx; jnz 1b
	bytes 66 ba f4 00 31 c0 ef f4	# mov dx, 0xf4; xor eax, eax; out dx, eax; hlt
}
ring0_loop 01 00 00 00 >"$tmp/loop-1.elf"
ring0_loop 20 a1 07 00 >"$tmp/loop-500k.elf"	# 500,000
# run_ms GUEST: sets run_ms (wall-clock milliseconds) and probe_status.
run_ms() {
	t0=$(date +%s%N)
	"$VMM" run -q "$1" </dev/null >/dev/null 2>&1
	probe_status=$?
	run_ms=$((($(date +%s%N) - t0) / 1000000))
}
run_ms "$tmp/loop-1.elf"
base_ms=$run_ms
run_ms "$tmp/loop-500k.elf"
loop_ms=$run_ms
check probe "the ring-0 loop guest passes" [ "$probe_status" = 1 ]
echo "ring-0 probe: 1,000,000 instructions took $((loop_ms - base_ms)) ms"
native=yes
if [ "$probe_status" != 1 ] || [ $((loop_ms - base_ms)) -gt 200 ]; then
	native=no
fi

# nokaslr: the decompressor's KASLR search is minutes of ring-0 code here.
cmdline="console=ttyS0 earlyprintk=serial,ttyS0 nokaslr reboot=k panic=-1 rdinit=/init $marker"
first_lines='^Linux version
^Command line: 
^BIOS-e820: .*0x0000000000100000-
^found SMP MP-table
^RAMDISK: '

if [ -s "$tmp/vmlinux" ]; then
	boot pvh "$tmp/vmlinux" --mem 512M --initrd "$tmp/initrd.cpio.gz" --append "$cmdline"
	guest_checks pvh
fi
if [ "$native" = yes ]; then
	boot bzimage "$kernel" --mem 512M --initrd "$tmp/initrd.cpio.gz" --append "$cmdline"
	guest_checks bzimage
else
	# Interpreted, the xz decompressor needs hours before the kernel prints
	# a line (measured: 2 MiB of 65 MiB in 3 CPU minutes). What it prints
	# first still proves the 64-bit entry (long mode, GDT, identity map,
	# RSI = zero page) and that it read our command line through
	# cmd_line_ptr: nokaslr is the one option it parses and answers.
	echo "bzimage: this host interprets ring-0 code; checking the decompressor's" \
	     "first line only (the kernel's own lines need hours of decompression here)"
	first_lines="^KASLR disabled: 'nokaslr' on cmdline\\.$"
	boot bzimage "$kernel" --mem 512M --initrd "$tmp/initrd.cpio.gz" --append "$cmdline"
	check bzimage "the decompressor's first line came within $wait_s s" [ "$boot_seen" = yes ]
	check bzimage "stopped by us once it was there (status 12)" [ "$boot_status" = 12 ]
	check bzimage "the VMM's e820 map was built" test -n "$(vmm_e820 bzimage)"
	[ "$failures" -eq 0 ] || report bzimage
fi

if [ "$native" = no ]; then
	echo "SKIP (full boot): this host's KVM interprets guest ring-0 code (1,000,000" \
	     "instructions took $((loop_ms - base_ms)) ms): a full Linux boot is not" \
	     "practical; the loader checks above are what this host allows"
elif [ ! -s "$tmp/vmlinux" ]; then
	echo "SKIP (full boot): no vmlinux could be extracted from $kernel"
else
	# The same initramfs: its /init prints the marker and powers off.
	full="console=ttyS0 reboot=k panic=-1 rdinit=/init $marker"
	"$VMM" run -q --cpus 2 --mem 512M --timeout 120 --initrd "$tmp/initrd.cpio.gz" \
		--append "$full" "$tmp/vmlinux" </dev/null >"$tmp/full.out" 2>"$tmp/full.err"
	status=$?
	# poweroff without ACPI halts every CPU (8); reboot=k resets (0).
	check full "the guest powered off (status 8 or 0, got $status)" \
		[ "$status" = 8 -o "$status" = 0 ]
	check full "the initramfs printed the marker" has_line full "$marker-userspace"
	check full "the kernel saw both vCPUs" has_match full 'smp: Brought up 1 node, 2 CPUs'
	[ "$failures" -eq 0 ] || report full
fi
finish
