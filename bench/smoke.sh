#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: bench/run --quick works. Asserts that every table, CSV file
# and plot exists and parses, and that every guest run exited as expected;
# never asserts a timing.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
out=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX") || exit 99
trap 'rm -rf "$out"' EXIT INT TERM

fail() { echo "bench/smoke: FAIL: $*"; exit 1; }

[ -e /dev/kvm ] || { echo "bench/smoke: no /dev/kvm: skipped"; exit 77; }
VMM=${VMM:-$top_builddir/vmm/vmm}
BENCH_IMAGE=$top_builddir/bench/guests/bench.elf
HELLO_IMAGE=$top_builddir/guest-tests/hello.elf
export VMM BENCH_IMAGE HELLO_IMAGE top_builddir

start=$(date +%s)
bash "$top_srcdir/bench/run" --quick --out "$out" || fail "bench/run --quick exited $?"
echo "bench/smoke: bench/run --quick took $(( $(date +%s) - start )) s"

for t in demand sweep ws storeio start overhead reclaim; do
	f=$out/$t.csv
	[ -s "$f" ] || fail "$f missing"
	# Every line has the header's number of fields, and there are data lines.
	awk -F, 'NR == 1 { n = NF; next } NF != n { exit 1 } END { exit NR < 2 }' "$f" ||
		fail "$f is malformed"
	case $t in ws|storeio) continue ;; esac	# tables only, no plot
	[ -s "$out/$t.png" ] || fail "$t.png missing"
	head -c 8 "$out/$t.png" | od -An -c | grep -q 'P   N   G' || fail "$t.png is not a PNG"
done

# Every guest run of the quick mode must pass (exit status 1).
for t in demand sweep ws start overhead reclaim; do
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "rc") c = i; next }
		 c && $c != 1 && $c != 0 { print FILENAME ": " $0; bad = 1 } END { exit bad }' \
		"$out/$t.csv" || fail "a run in $t.csv did not pass"
done
awk -F, 'NR > 1 && $3 != "dd-page-cache" && $3 != "dd-fdatasync" && $3 != "dd-direct" && $5 <= 0 { exit 1 }' \
	"$out/reclaim.csv" || fail "reclaim.csv: no pages swapped out"

# One Markdown table per benchmark, each with a header and data rows.
for h in "1. Demand paging" "2. Overcommitted" "6. Working set" "7. Swap store I/O" \
	 "3. Start to exit" "4. VMM overhead" "5. Reclaim"; do
	grep -q "^### $h" "$out/tables.md" || fail "no table '$h' in tables.md"
done
grep -q "^#### Per-page metadata" "$out/tables.md" || fail "no metadata table in tables.md"
[ "$(grep -c '^|---' "$out/tables.md")" -eq 8 ] || fail "tables.md does not hold 8 tables"
# The metadata rows: every run passed and reported its breakdown, which adds up.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
	 { n++ }
	 $h["rc"] != 1 || $h["metadata_bytes"] <= 0 ||
	 $h["metadata_bytes"] != $h["state_bytes"] + $h["table_bytes"] + $h["checksum_bytes"] + $h["lock_bytes"] { print; bad = 1 }
	 END { exit bad || n != 3 }' "$out/metadata.csv" || fail "metadata.csv: a row failed or does not add up"

# The demand rows measured what they claim: swap-ins and minor faults happened.
awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
	 $h["row"] == "pager-swapin" && $h["pages_swapped_in"] < $h["pages"] { print; bad = 1 }
	 $h["row"] == "pager-minor" && $h["pages_continued"] < $h["pages"] { print; bad = 1 }
	 $h["row"] ~ /^bare-zero|^bare-copy/ && $h["faults_missing"] < $h["pages"] { print; bad = 1 }
	 $h["row"] == "bare-minor" && $h["faults_minor"] < $h["pages"] { print; bad = 1 }
	 END { exit bad }' "$out/demand.csv" || fail "a demand row did not measure its fault kind"
# The bare rows ran in every configuration; the store's O_DIRECT rows left nothing cached.
[ "$(grep -c ',bare-copy,' "$out/demand.csv")" -ge 8 ] || fail "bare-copy rows missing"
awk -F, '$3 == "direct" && $7 != "" && $7 > 0 { exit 1 }' "$out/storeio.csv" ||
	fail "the O_DIRECT store left pages in the page cache"
# Root with cgroup v1: the pager-cg row ran and its host memory stayed in its group.
if grep -q ',pager-cg,' "$out/sweep.csv"; then
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
		 $h["row"] == "pager-cg" && ($h["host_peak_kib"] <= 0 || $h["group_peak_kib"] <= 0) { print; bad = 1 }
		 END { exit bad }' "$out/sweep.csv" || fail "pager-cg: no host memory measured"
fi

# Nothing left behind.
grep -q vmm-bench /proc/swaps && fail "a bench swap file is still active"
ls -d /sys/fs/cgroup/memory/vmm-bench.* >/dev/null 2>&1 && fail "a bench cgroup is left"
echo "bench/smoke: pass"
exit 0
