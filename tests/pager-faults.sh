#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The swap store fails on demand (VMM_SWAP_FAULTS, tests only) while a
# guest writes and verifies all its RAM at 8:1 overcommit:
#  - a write error or a full store leaves pages resident, backs reclaim off,
#    says so once, and the guest still verifies every byte (status 1) when
#    --swap-full-overshoot leaves room for all of guest RAM;
#  - with the default overshoot a full store pauses the guest (the faults
#    that need a new page wait), says so, and resident memory stays within
#    limit + overshoot (the README's bound) until --timeout ends the run;
#  - a read error or a checksum mismatch stops the guest (status 14) with a
#    message naming the guest page; the guest never sees the page.
. "${top_srcdir:-.}/tests/lib.sh"
image=${top_builddir:-.}/guest-tests/stress-seq.elf
run() {
	faults=$1
	shift
	VMM_SWAP_FAULTS=$faults "$VMM" run -q --timeout 120 --cpus 2 --mem 128M --mem-resident 16M \
		--swap-dir "$tmp" --stats "$tmp/stats.json" "$@" "$image" -- gens=2 passes=1 seed=3
}

expect 1 'writing the swap store failed \(Input/output error\)' run write=1 --swap-full-overshoot 128M
checks=$((checks + 1))
if [ "$(grep -c 'writing the swap store failed' "$tmp/err")" = 1 ]; then
	echo "ok: the write error is reported once"
else
	echo "FAIL: the write error is not reported exactly once"
	failures=$((failures + 1))
fi
check_stat "$tmp/stats.json" swap_write_failures -ge 1
check_stat "$tmp/stats.json" pages_swapped_out -eq 0
check_stat "$tmp/stats.json" resident_peak_pages -gt 4096

expect 1 'the swap store is full' run enospc=2000 --swap-full-overshoot 128M
# Slots are freed as pages are rewritten, so more than 2000 may have gone
# out in all, but never more than 2000 at once.
check_stat "$tmp/stats.json" swap_slots_in_use -le 2000
check_stat "$tmp/stats.json" swap_write_failures -ge 1
check_stat "$tmp/stats.json" resident_peak_pages -gt 4096

# The default overshoot (16 MiB here): 4096 + 4096 pages at most, then paused.
expect 10 'pausing the vCPUs that need a new page' run enospc=1000 --timeout 15
check_stat "$tmp/stats.json" resident_bound_pages -eq 8192
check_stat "$tmp/stats.json" resident_peak_pages -le 8192
check_stat "$tmp/stats.json" resident_peak_pages -gt 4096
check_stat "$tmp/stats.json" store_full_pauses -ge 1
check_stat "$tmp/stats.json" swap_slots_in_use -le 1000

expect 14 'guest page at gpa 0x[0-9a-f]+ \(swap slot [0-9]+\): swap read error; stopping the guest' \
	run read=500
check_stat "$tmp/stats.json" swap_read_errors -ge 1
checks=$((checks + 1))
if [ "$(grep -c "swap read error" "$tmp/err")" = 1 ]; then
	echo "ok: the read error is reported once"
else
	echo "FAIL: the read error is not reported exactly once"
	failures=$((failures + 1))
fi
checks=$((checks + 1))
if grep -q 'stress-seq: pass' "$tmp/out"; then
	echo "FAIL: the guest reported a verdict after a swap read error"
	failures=$((failures + 1))
else
	echo "ok: no guest verdict after the read error"
fi

expect 14 'guest page at gpa 0x[0-9a-f]+ \(swap slot [0-9]+\): swap checksum mismatch' run corrupt=300
check_stat "$tmp/stats.json" swap_checksum_errors -ge 1

# Nothing is left in the swap directory, whatever happened.
checks=$((checks + 1))
if [ -z "$(find "$tmp" -name 'vmm-swap-*')" ]; then
	echo "ok: no swap file left behind"
else
	echo "FAIL: a swap file was left in $tmp"
	failures=$((failures + 1))
fi
finish
