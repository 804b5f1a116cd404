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

# pass NAME: count a passing check; fail NAME WHY: a failing one, with stderr.
pass() {
	checks=$((checks + 1))
	echo "ok: $1"
}
fail() {
	checks=$((checks + 1))
	failures=$((failures + 1))
	echo "FAIL: $1: $2"
	sed 's/^/  stderr: /' "$tmp/err" | head -20
}

# wait_exit PID: its exit status, or 137 after killing it if it is still
# there after 10 s (a VMM that ignores the signal must not hang the suite).
wait_exit() {
	n=0
	while kill -0 "$1" 2>/dev/null && [ $n -lt 50 ]; do
		sleep 0.2
		n=$((n + 1))
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1"
}

# A signal while the guest runs: status 12, the reason and the vCPUs'
# state on stderr, and nothing at all with -q.
for sig in TERM INT; do
	for q in "" -q; do
		"$VMM" run $q "$g/idle.elf" </dev/null >/dev/null 2>"$tmp/err" &
		pid=$!
		sleep 0.5
		kill -s "$sig" "$pid"
		wait_exit "$pid"
		got=$?
		name="SIG$sig ${q:-(not quiet)} -> $got"
		if [ "$got" != 12 ]; then
			fail "$name" "expected 12"
		elif [ -z "$q" ] && ! grep -q "SIG$sig received: stopping the guest" "$tmp/err"; then
			fail "$name" "no message"
		elif [ -z "$q" ] && ! grep -q "state at signal" "$tmp/err"; then
			fail "$name" "no vCPU state"
		elif [ -n "$q" ] && [ -s "$tmp/err" ]; then
			fail "$name" "-q: stderr not empty"
		else
			pass "$name"
		fi
	done
done

# A signal during set-up (held there by a hook only tests set) ends the
# VMM with 12 too, instead of waiting blocked until set-up ends.
# (The last run's stderr is removed first: the shell truncates it only
# once the background job has started, and its stale lines must not pass
# for the new VMM's.)
for sig in TERM INT; do
	rm -f "$tmp/err"
	VMM_TEST_SETUP_STALL=1 "$VMM" run "$g/halt.elf" </dev/null >/dev/null 2>"$tmp/err" &
	pid=$!
	n=0
	while ! grep -qs 'set-up stalled' "$tmp/err" && [ $n -lt 100 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	kill -s "$sig" "$pid"
	wait_exit "$pid"
	got=$?
	if [ "$got" = 12 ] && grep -q "SIG$sig received during set-up: exiting" "$tmp/err"; then
		pass "SIG$sig during set-up -> 12"
	else
		fail "SIG$sig during set-up -> $got" "expected 12 and a message"
	fi
done

# A closed output pipe does not kill the VMM: the guest runs on, its later
# output is dropped, and its verdict is the exit status. The guest prints a
# line and waits for a byte on its serial input, which is sent only after
# the reader of the pipe is gone.
mkfifo "$tmp/in"
rm -f "$tmp/status"
{ "$VMM" run -q "$g/chatty.elf" <>"$tmp/in" 2>"$tmp/err"; echo $? >"$tmp/status"; } |
	{ head -n 1 >"$tmp/out"; exec <&-; printf g >"$tmp/in"; }
got=$(cat "$tmp/status" 2>/dev/null)
if [ "$got" = 1 ] && [ "$(cat "$tmp/out")" = "chatty: first line" ]; then
	pass "vmm run chatty.elf | head -n1 -> 1"
else
	fail "vmm run chatty.elf | head -n1 -> $got" "expected 1 (the guest's verdict) and the first line"
fi

# --debug logs a few accesses per address, then counts them.
"$VMM" run --debug "$g/hammer.elf" </dev/null >/dev/null 2>"$tmp/err"
got=$?
lines=$(grep -c 'unhandled port .* 0x200 ' "$tmp/err")
if [ "$got" = 1 ] && [ "$lines" = 8 ] &&
   grep -q 'port 0x200: 2000 unhandled accesses, the first 8 logged' "$tmp/err"; then
	pass "--debug hammer.elf: 8 of 2000 accesses logged, the count at exit"
else
	fail "--debug hammer.elf -> $got, $lines lines for port 0x200" "expected 1, 8 lines and a count"
fi
finish
