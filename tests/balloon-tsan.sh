#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The balloon's device thread against the vCPU threads under
# ThreadSanitizer (the TSan build of vmm, see tests/vmm.mk): reporting,
# inflation and deflation, a hostile queue and the reset after it, a guest
# statistics round. A data race report fails the run (exit code 66).
. "${top_srcdir:-.}/tests/lib.sh"
VMM=${top_builddir:-.}/vmm/vmm-tsan
g=${top_builddir:-.}/guest-tests
TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
export TSAN_OPTIONS

expect 1 'reported free 4096 pages' "$VMM" run --timeout 120 --cpus 2 --mem 256M --balloon=1M \
	"$g/balloon.elf" -- mib=16 inflate=1024 pause_ms=1500
expect 1 'needs a reset' "$VMM" run --timeout 120 --cpus 2 --mem 256M --balloon \
	"$g/balloon.elf" -- hostile=loop
finish
