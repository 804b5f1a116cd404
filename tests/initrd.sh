#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# tests/make-initrd, the README's initrd recipe: the archive it builds holds
# exactly busybox and an /init that prints the message and powers off, in
# the newc format Linux unpacks (gzip-compressed for .gz); bad arguments
# and outputs that are not regular files are refused with a message. Then
# the initrd boots for real: Debian's kernel (from .ci/fetch-test-kernel)
# under QEMU with TCG (the reference; on a host whose KVM interprets guest
# ring 0, vmm can only show that the kernel found the initrd, see
# tests/linux-boot.sh) must run its /init, print the marker and power off.
. "${top_srcdir:-.}/tests/lib.sh"

mkinitrd() {
	sh "${top_srcdir:-.}/tests/make-initrd" "$@"
}
busybox=${VMM_TEST_BUSYBOX:-/bin/busybox}
kernel=${VMM_TEST_KERNEL:-/var/cache/vmm-test-kernel/vmlinuz}

for tool in cpio gzip readelf; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool not found (Debian: apt-get install cpio gzip binutils)"
		exit 77
	fi
done
if [ ! -x "$busybox" ]; then
	echo "SKIP: no busybox at $busybox (Debian: apt-get install busybox-static), or set VMM_TEST_BUSYBOX"
	exit 77
fi

# check WHAT COMMAND...: one named assertion.
check() {
	what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		failures=$((failures + 1))
	fi
}

marker=vmm-initrd-marker-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')

# The archive.
expect 0 'initrd.cpio.gz: [0-9]+ bytes' mkinitrd --busybox "$busybox" \
	--message "$marker" "$tmp/initrd.cpio.gz"
check "the .gz output is gzip data" gzip -t "$tmp/initrd.cpio.gz"
gzip -dc "$tmp/initrd.cpio.gz" >"$tmp/initrd.cpio"
check "the archive is newc cpio (magic 070701)" \
	[ "$(head -c 6 "$tmp/initrd.cpio")" = 070701 ]
cpio -it --quiet <"$tmp/initrd.cpio" >"$tmp/list"
printf '%s\n' bin bin/busybox dev init message proc sys >"$tmp/want"
check "the archive holds exactly bin/busybox, init, message, dev, proc, sys" \
	diff "$tmp/want" "$tmp/list"
cpio -itv --quiet <"$tmp/initrd.cpio" >"$tmp/listv"
check "init and busybox are executable, owned by root" \
	[ "$(grep -cE '^-rwxr-xr-x +1 root +root .* (init|bin/busybox)$' "$tmp/listv")" = 2 ]
mkdir "$tmp/root"
(cd "$tmp/root" && cpio -id --quiet <"$tmp/initrd.cpio")
check "bin/busybox is the static busybox, unchanged" cmp "$busybox" "$tmp/root/bin/busybox"
check "bin/busybox needs no dynamic loader" \
	sh -c "! readelf -l '$tmp/root/bin/busybox' | grep -q INTERP"
check "init is a busybox shell script" \
	[ "$(head -n 1 "$tmp/root/init")" = '#!/bin/busybox sh' ]
check "init parses (busybox sh -n)" "$busybox" sh -n "$tmp/root/init"
check "init prints the message and powers off" \
	grep -qx '/bin/busybox poweroff -f' "$tmp/root/init"
check "the message is the marker" [ "$(cat "$tmp/root/message")" = "$marker" ]

expect 0 '' mkinitrd --busybox "$busybox" "$tmp/plain.cpio"
check "a name without .gz gives a plain newc archive" \
	[ "$(head -c 6 "$tmp/plain.cpio")" = 070701 ]
mkinitrd --busybox "$busybox" --shell - >"$tmp/shell.cpio" 2>/dev/null
(mkdir "$tmp/shell" && cd "$tmp/shell" && cpio -id --quiet init <"$tmp/shell.cpio")
check "--shell: init starts a shell on the console instead of powering off" \
	grep -q 'cttyhack /bin/busybox sh$' "$tmp/shell/init"

# Refusals.
expect 2 'usage: make-initrd' mkinitrd
expect 2 "unknown option '--bogus'" mkinitrd --bogus "$tmp/x.cpio"
expect 1 "no busybox executable at $tmp/none" \
	mkinitrd --busybox "$tmp/none" "$tmp/x.cpio"
expect 1 '/bin/sh: dynamically linked|/bin/sh: not an ELF' \
	mkinitrd --busybox /bin/sh "$tmp/x.cpio"
mkfifo "$tmp/fifo"
expect 1 'fifo: exists and is not a regular file; not replacing it' \
	mkinitrd --busybox "$busybox" "$tmp/fifo"
check "the FIFO is still a FIFO" [ -p "$tmp/fifo" ]
check "no file was left beside the refused outputs" \
	[ -z "$(ls "$tmp" | grep -E '^(x\.cpio|fifo\.)')" ]

# The boot, under QEMU (TCG).
if [ -z "$QEMU" ] || [ ! -x "$QEMU" ]; then
	echo "SKIP (boot): no qemu-system-x86_64 (Debian: apt-get install qemu-system-x86)"
elif [ ! -r "$kernel" ]; then
	echo "SKIP (boot): no kernel at $kernel: run .ci/fetch-test-kernel, or set VMM_TEST_KERNEL"
else
	start=$(date +%s)
	timeout -k 10 300 "$QEMU" -accel tcg -m 256M -nodefaults -display none \
		-serial stdio -no-reboot -kernel "$kernel" -initrd "$tmp/initrd.cpio.gz" \
		-append "console=ttyS0 rdinit=/init panic=-1" \
		</dev/null >"$tmp/qemu.out" 2>"$tmp/qemu.err"
	status=$?
	echo "qemu (tcg): exit status $status after $(($(date +%s) - start)) s"
	tr -d '\r' <"$tmp/qemu.out" | sed 's/^\[ *[0-9]*\.[0-9]*\] //' >"$tmp/serial"
	check "qemu ended by itself (status 0)" [ "$status" = 0 ]
	check "the kernel ran /init from the initrd" grep -qx 'Run /init as init process' "$tmp/serial"
	check "/init printed the marker" grep -qx "$marker" "$tmp/serial"
	check "/init powered the guest off" grep -qx 'reboot: Power down' "$tmp/serial"
	if [ "$failures" -ne 0 ]; then
		echo "--- qemu serial output (last 30 lines) ---"
		tail -n 30 "$tmp/serial"
		sed 's/^/qemu stderr: /' "$tmp/qemu.err" | head -10
	fi
fi
finish
