#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmm ctl against a running VM: replies as JSON (compact and --pretty),
# KEY=VALUE typed as JSON where it parses (numbers, true/false), sizes with
# a suffix as bytes, strings otherwise; exit status 0 / 4 (error reply) /
# 2 (usage, no connection).
. "${top_srcdir:-.}/tests/lib.sh"
IDLE=${top_builddir:-.}/tests/guests/idle.elf
sock=$tmp/qmp.sock

# out_has REGEX: count a check that the last command's stdout matches.
out_has() {
	checks=$((checks + 1))
	if grep -Eq -- "$1" "$tmp/out"; then
		echo "ok: stdout matches /$1/"
	else
		echo "FAIL: stdout does not match /$1/:"
		sed 's/^/  stdout: /' "$tmp/out" | head -10
		failures=$((failures + 1))
	fi
}

"$VMM" run -q --qmp "$sock" --timeout 60 "$IDLE" >"$tmp/vm.out" 2>"$tmp/vm.err" &
vm=$!
i=0
while [ ! -S "$sock" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done

expect 0 "" "$VMM" ctl "$sock" query-status
out_has '^\{"return":\{"running":true,"singlestep":false,"status":"running"\}\}$'
expect 0 "" "$VMM" ctl --pretty "$sock" query-memory-size-summary
out_has '^    "base-memory": 268435456,$'
# 1M is 1048576 bytes, an integer: the balloon's absence is the only error.
expect 4 "" "$VMM" ctl "$sock" balloon value=1M
out_has '"class":"DeviceNotActive"'
expect 4 "" "$VMM" ctl "$sock" balloon value=123
out_has '"class":"DeviceNotActive"'
expect 4 "" "$VMM" ctl "$sock" balloon value=lots
out_has "Invalid parameter type for 'value', expected: integer"
expect 4 "" "$VMM" ctl "$sock" balloon value=true
out_has "expected: integer"
expect 4 "" "$VMM" ctl "$sock" no-such-command
out_has '"class":"CommandNotFound"'
expect 2 "expected KEY=VALUE" "$VMM" ctl "$sock" stop now
expect 2 "'value' given twice" "$VMM" ctl "$sock" balloon value=1 value=2
expect 2 "expected SOCKET and COMMAND" "$VMM" ctl "$sock"
expect 2 "$tmp/none: cannot connect: No such file or directory" "$VMM" ctl "$tmp/none" query-status
expect 2 "unknown option '--colour'" "$VMM" ctl --colour "$sock" query-status
expect 0 "" "$VMM" ctl "$sock" quit
out_has '^\{"return":\{\}\}$'
wait $vm
st=$?
checks=$((checks + 1))
if [ $st -eq 0 ]; then echo "ok: vmm ctl quit ends the VM with 0"; else
	echo "FAIL: vmm exited $st after quit"; failures=$((failures + 1)); fi
# The man page documents every option of vmm run --help and vmm ctl --help.
for opt in $("$VMM" run --help | grep -Eo -- '--[a-z][a-z-]+' | sort -u) \
	   $("$VMM" ctl --help | grep -Eo -- '--[a-z][a-z-]+' | sort -u); do
	checks=$((checks + 1))
	if sed 's/\\-/-/g' "${top_srcdir:-.}/docs/vmm.1" | grep -q -- "$opt"; then
		echo "ok: vmm(1) documents $opt"
	else
		echo "FAIL: vmm(1) does not document $opt"
		failures=$((failures + 1))
	fi
done
finish
