#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# How `vmm run` ends a VM: each misbehaving guest must end the VMM with its
# documented exit status and say why on stderr.
. "${top_srcdir:-.}/tests/lib.sh"
g=${top_builddir:-.}/tests/guests

expect 8 'halted with interrupts disabled' "$VMM" run -q "$g/halt.elf"
expect 8 'vCPU 1: .*never started' "$VMM" run -q --cpus 2 "$g/halt.elf"
expect 4 'triple fault \(KVM_EXIT_SHUTDOWN\)' "$VMM" run -q "$g/triple.elf"
expect 4 'rip=[0-9a-f]{16}' "$VMM" run -q "$g/triple.elf"
expect 0 'reset through the i8042' "$VMM" run "$g/reset-i8042.elf"
expect 0 'reset through port 0xcf9' "$VMM" run "$g/reset-cf9.elf"
# Wild port and MMIO accesses are ignored, unclaimed reads are all-ones,
# and the guest lives on to report that with its own verdict.
expect 1 '' "$VMM" run -q "$g/wild.elf"
expect 10 'timeout: the guest ran for 0.5 s' "$VMM" run -q --timeout 0.5 "$g/idle.elf"
expect 10 'state at timeout' "$VMM" run -q --timeout 0.5 "$g/idle.elf"

for sig in TERM INT; do
	checks=$((checks + 1))
	"$VMM" run -q "$g/idle.elf" </dev/null >/dev/null 2>"$tmp/err" &
	pid=$!
	sleep 0.5
	kill -s "$sig" "$pid"
	wait "$pid"
	got=$?
	if [ "$got" = 12 ] && grep -q "SIG$sig received" "$tmp/err"; then
		echo "ok: SIG$sig -> 12"
	else
		echo "FAIL: SIG$sig: exit status $got, expected 12"
		sed 's/^/  stderr: /' "$tmp/err"
		failures=$((failures + 1))
	fi
done
finish
