#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Without a pager, pages the guest gives back leave host memory: the guest
# (guest-tests/balloon.elf) writes 64 MiB, holds, reports them free through
# virtio-balloon, holds again; meanwhile this script counts the resident
# pages of the VMM's guest-RAM memfd with fincore(1) on /proc/PID/fd/N. The
# count must drop by at least 60 MiB between the two holds, and the guest
# must pass (reported pages read as zero, reused pages verify).
. "${top_srcdir:-.}/tests/lib.sh"

command -v fincore >/dev/null || { echo "SKIP: fincore (util-linux) not installed"; exit 77; }
img=${top_builddir:-.}/guest-tests/balloon.elf

"$VMM" run --timeout 120 --mem 256M --balloon "$img" -- mib=64 inflate=0 pause_ms=4000 \
	</dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!

# Resident pages of the memfd named guest-ram, or nothing while it is not open.
resident() {
	for fd in /proc/$pid/fd/*; do
		case $(readlink "$fd" 2>/dev/null) in
		/memfd:guest-ram*) fincore -n -b -o PAGES "$fd" 2>/dev/null | tr -d " "; return ;;
		esac
	done
}

written= reported=
while kill -0 $pid 2>/dev/null; do
	# The guest prints each line when the step is done, then holds.
	if [ -z "$written" ] && grep -q 'report region written' "$tmp/out"; then
		written=$(resident)
	fi
	if [ -z "$reported" ] && grep -q 'report region reported' "$tmp/out"; then
		reported=$(resident)
	fi
	sleep 0.05
done
wait $pid
status=$?
checks=3
sed 's/^/  guest: /' "$tmp/out"
sed 's/^/  vmm: /' "$tmp/err"
echo "memfd resident pages: after writing ${written:-?}, after reporting ${reported:-?}"
if [ "$status" != 1 ]; then
	echo "FAIL: the guest's verdict is $status, expected 1"
	failures=$((failures + 1))
fi
if [ -z "$written" ] || [ -z "$reported" ]; then
	echo "FAIL: could not measure the memfd at both holds"
	failures=$((failures + 1))
elif [ $((written - reported)) -lt $((60 * 256)) ]; then
	echo "FAIL: resident pages dropped by $((written - reported)), expected >= $((60 * 256))"
	failures=$((failures + 1))
else
	echo "ok: resident pages dropped by $((written - reported)) (64 MiB = 16384 reported)"
fi
grep -q 'reported free 16384 pages' "$tmp/err" || {
	echo "FAIL: the balloon's summary does not count 16384 reported pages"
	failures=$((failures + 1))
}
finish
