#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# tests/soak.sh: the pager soak, run by CI (.ci/run) and `make soak`, not by
# make check. Every stress guest (guest-tests/stress.c) runs at 8:1
# overcommit on 2 vCPUs until, together, at least SOAK_GIB (10) GiB have
# gone through the swap store (bytes written + bytes read). Each guest
# verifies every byte it wrote and must pass; each run's --stats must add up:
#
#  - every byte of swap traffic is a whole page moved: swap_bytes_written =
#    4096 * pages_swapped_out and swap_bytes_read = 4096 * (pages_swapped_in
#    + swap_pages_read_stale, the reads a fault threw away to retry);
#  - no page comes in from swap more often than it left with a swap copy:
#    every eviction that leaves a copy (pages_swapped_out + clean_drops) is
#    matched by one swap-in (pages_swapped_in), except the pages still
#    evicted at exit, which are at most guest_pages - resident_pages and at
#    least that minus the pages evicted without a copy (zero_pages) and the
#    pages the guest never touches (its own 1.1 MiB and the low 1 MiB,
#    under 1% of guest_pages): that 1% is the tolerance;
#  - no swap error, no checksum error, the resident peak within the limit;
#
# and the swap directory must be empty afterwards (the swap file is
# unnamed). SOAK_SWAP_DIR picks where the swap files go (default $TMPDIR or
# /var/tmp); SOAK_GIB scales the traffic. Prints each run's traffic and
# time.
set -u
: "${VMM:=${top_builddir:-.}/vmm/vmm}"
images=${top_builddir:-.}/guest-tests
base=${SOAK_SWAP_DIR:-${TMPDIR:-/var/tmp}}
want=$(( ${SOAK_GIB:-10} * 1024 * 1024 * 1024 ))
tmp=$(mktemp -d) || exit 1
swapdir=$(mktemp -d "$base/vmm-soak.XXXXXX") || exit 1
trap 'rm -rf "$tmp"; rmdir "$swapdir" 2>/dev/null' EXIT
failures=0 total=0 runs=0 start=$(date +%s)

fail() {
	echo "FAIL: $run: $*"
	failures=$((failures + 1))
}

stat() {
	sed -n "s/^ *\"$1\": *\([0-9]*\),*$/\1/p" "$tmp/stats.json"
}

# soak IMAGE MEM RESIDENT ARGS...: one stress guest, checked as above.
soak() {
	image=$1 mem=$2 resident=$3
	shift 3
	run="$image --mem $mem --mem-resident $resident -- $*"
	runs=$((runs + 1))
	t0=$(date +%s)
	"$VMM" run -q --cpus 2 --mem "$mem" --mem-resident "$resident" \
		--swap-dir "$swapdir" --stats "$tmp/stats.json" \
		"$images/$image.elf" -- "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	status=$?
	secs=$(($(date +%s) - t0))
	if [ $status -ne 1 ] || ! grep -q "^$image: pass" "$tmp/out"; then
		fail "exit status $status (1 is the guest's pass)"
		sed 's/^/  /' "$tmp/out" "$tmp/err" | tail -n 20
		return
	fi
	guest=$(stat guest_pages) limit=$(stat resident_limit_pages)
	resident=$(stat resident_pages) peak=$(stat resident_peak_pages)
	out=$(stat pages_swapped_out) in=$(stat pages_swapped_in)
	drops=$(stat clean_drops) zero=$(stat zero_pages)
	written=$(stat swap_bytes_written) read=$(stat swap_bytes_read)
	stale=$(stat swap_pages_read_stale)
	errors=$(( $(stat swap_write_failures) + $(stat swap_read_errors) + $(stat swap_checksum_errors) ))
	if [ -z "$guest" ] || [ -z "$written" ] || [ -z "$drops" ] || [ -z "$stale" ]; then
		fail "incomplete --stats file"
		return
	fi
	[ "$written" -eq $((out * 4096)) ] ||
		fail "swap_bytes_written $written != 4096 * pages_swapped_out ($out)"
	[ "$read" -eq $(((in + stale) * 4096)) ] ||
		fail "swap_bytes_read $read != 4096 * (pages_swapped_in $in + swap_pages_read_stale $stale)"
	left=$((out + drops - in)) absent=$((guest - resident))
	[ "$left" -ge 0 ] ||
		fail "pages_swapped_in $in > pages_swapped_out $out + clean_drops $drops"
	[ "$left" -le "$absent" ] && [ "$left" -ge $((absent - zero - guest / 100)) ] ||
		fail "pages_swapped_out $out + clean_drops $drops - pages_swapped_in $in = $left," \
			"but $absent pages are not resident (zero_pages $zero, tolerance $((guest / 100)))"
	[ "$errors" -eq 0 ] || fail "$errors swap errors"
	[ "$peak" -le "$limit" ] || fail "resident peak $peak pages > limit $limit"
	[ -z "$(ls -A "$swapdir")" ] || fail "files left in the swap directory: $(ls -A "$swapdir")"
	total=$((total + written + read))
	echo "ok: $run: $(( (written + read) >> 20 )) MiB of swap traffic" \
		"(out $out, in $in, clean drops $drops) in $secs s"
}

# Sequential writes and verification: the bulk of the traffic, fast.
soak stress-seq 2G 256M gens=3 passes=1 seed=101
# Random page order: every fault a miss, slower per byte.
soak stress-random 1G 128M gens=1 passes=1 seed=102
# A quarter of the pages never written: zero pages must stay zero.
soak stress-zero 1G 128M gens=2 passes=1 seed=103
# Written once, verified three times: clean pages dropped, read back.
soak stress-clean 1G 128M passes=3 seed=104
# More sequential generations until the traffic reaches SOAK_GIB.
while [ "$failures" -eq 0 ] && [ "$total" -lt "$want" ]; do
	soak stress-seq 2G 256M gens=2 passes=1 seed=$((200 + runs))
done

echo "$runs runs, $((total >> 20)) MiB of swap traffic (at least $((want >> 20)) MiB wanted)" \
	"in $(($(date +%s) - start)) s, $failures failures"
[ "$failures" -eq 0 ] && [ "$total" -ge "$want" ]
