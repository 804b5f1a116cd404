#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# fuzz/run.sh [--smoke] NAME...: run the libFuzzer harnesses fuzz/fuzz_NAME of
# the build tree (run from its top; `make fuzz` and `make check` do).
#
# Inputs: the seeds mkseeds generates (fuzz/seeds/NAME), the committed seeds
# ($top_srcdir/fuzz/corpus/NAME) and the dictionary $top_srcdir/fuzz/NAME.dict,
# each when it exists. A normal run lasts FUZZ_SECONDS (default 60) per
# harness and keeps what it learns in fuzz/work/NAME/corpus, so the next run
# starts from there. --smoke runs FUZZ_SMOKE_RUNS inputs (default 100000, a
# second or two) per harness from the seeds only, with a fixed random seed so
# that a smoke run is repeatable, and keeps nothing but a crash.
# Either way an input that crashes a harness, trips a sanitizer or fails a
# fuzz_check is saved as fuzz/work/NAME/crash-*, and the run fails.
# FUZZ_FLAGS adds libFuzzer flags (e.g. FUZZ_FLAGS=-jobs=2).
set -u
src=${top_srcdir:-.}
smoke=no
if [ "${1-}" = --smoke ]; then
	smoke=yes
	shift
fi
[ $# -gt 0 ] || { echo "usage: fuzz/run.sh [--smoke] NAME..." >&2; exit 2; }

# The sanitizers' reports are fatal; libFuzzer saves the input first.
ASAN_OPTIONS="halt_on_error=1:detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS UBSAN_OPTIONS

status=0
for name in "$@"; do
	bin=fuzz/fuzz_$name
	work=fuzz/work/$name
	if [ ! -x "$bin" ]; then
		echo "fuzz/run.sh: $bin: not built (make fuzz builds it)" >&2
		status=1
		continue
	fi
	mkdir -p "$work"
	set --
	[ -f "$src/fuzz/$name.dict" ] && set -- "$@" -dict="$src/fuzz/$name.dict"
	if [ $smoke = yes ]; then
		corpus=$(mktemp -d "${TMPDIR:-/tmp}/vmm-fuzz-$name.XXXXXX") || exit 1
		set -- "$@" -seed=1 -runs="${FUZZ_SMOKE_RUNS:-100000}"
	else
		corpus=$work/corpus
		mkdir -p "$corpus"
		set -- "$@" -max_total_time="${FUZZ_SECONDS:-60}"
	fi
	for d in "fuzz/seeds/$name" "$src/fuzz/corpus/$name"; do
		[ -d "$d" ] && set -- "$@" "$d"
	done
	log=$work/last-run.log
	start=$(date +%s%N)
	# shellcheck disable=SC2086  # FUZZ_FLAGS is a list of flags
	"$bin" -print_final_stats=1 -artifact_prefix="$work/" ${FUZZ_FLAGS-} "$corpus" "$@" >"$log" 2>&1
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	cov=$(sed -n 's/^#[0-9]*[[:space:]]*DONE[[:space:]]*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, features \2, corpus \3/p' "$log" | tail -n 1)
	if [ $smoke = yes ]; then
		rm -rf "$corpus"
	fi
	if [ $rc -ne 0 ]; then
		echo "FAIL: $bin exited with status $rc after ${execs:-?} executions; its log ($log):"
		tail -n 60 "$log"
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* 2>/dev/null |
			sed 's/^/saved input: /'
		status=1
	else
		echo "ok: $bin: ${execs:-?} executions in $ms ms ($(( ${execs:-0} * 1000 / (ms + 1) ))/s); ${cov:-no coverage line}"
	fi
done
exit $status
