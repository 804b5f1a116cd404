#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The pager's threads under ThreadSanitizer: a TSan build of vmm runs
# guests that make fault threads, the reclaim thread, vCPU threads and the
# monitor race for the same pages. Any data race report fails the run
# (exit code 66), as does a wrong byte (the guest's own verdict).
. "${top_srcdir:-.}/tests/lib.sh"
VMM=${top_builddir:-.}/vmm/vmm-tsan
g=${top_builddir:-.}/guest-tests
TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export TSAN_OPTIONS
stats=$tmp/stats.json

expect 1 '' "$VMM" run -q --timeout 300 --cpus 2 --pager-threads 2 --mem 128M --mem-resident 16M \
	--stats "$stats" "$g/stress-random.elf" -- gens=1 passes=1 seed=21
check_stat "$stats" pages_swapped_in -gt 1000
expect 1 '' "$VMM" run -q --timeout 300 --cpus 2 --pager-threads 2 --mem 128M --mem-resident 16M \
	--stats "$stats" "$g/stress-clean.elf" -- passes=2 seed=22
check_stat "$stats" clean_drops -gt 1000
# Reclaim backing off while faults wait for room.
expect 1 "writing the swap store failed" env VMM_SWAP_FAULTS=write=200 "$VMM" run -q --timeout 300 \
	--cpus 2 --mem 64M --mem-resident 8M "$g/stress-seq.elf" -- gens=1 passes=1 seed=23
# A register dump reads guest memory through the pager from the main thread.
expect 4 'code at rip' "$VMM" run -q --mem 64M --mem-resident 4M "${top_builddir:-.}/tests/guests/triple.elf"
finish
