#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# fuzz/smoke.sh fuzz/fuzz_NAME.fuzz: the make check test of harness fuzz_NAME, a
# short repeatable run from its seeds (fuzz/run.sh --smoke). Fails on any
# crash, sanitizer report or failed fuzz_check, naming the saved input.
#
# FUZZ_KNOWN_BUGS (fuzz/local.mk) lists NAME:FUNCTION pairs: bugs found by a
# harness, reported, and being fixed elsewhere. When the report's top frames
# are in FUNCTION the test is skipped (status 77) with that said; any other
# failure fails. Remove the pair with the fix.
set -u
name=$(basename "$1" .fuzz)
name=${name#fuzz_}
${SHELL:-/bin/sh} "${top_srcdir:-.}/fuzz/run.sh" --smoke "$name" && exit 0
log=fuzz/work/$name/last-run.log
for known in ${FUZZ_KNOWN_BUGS-}; do
	[ "${known%%:*}" = "$name" ] || continue
	func=${known#*:}
	if grep -m1 -A6 'ERROR: [A-Za-z]*Sanitizer\|runtime error:' "$log" |
		grep -q "^ *#[0-5] .* in $func "; then
		echo "SKIP: fuzz_$name found the known bug in $func (FUZZ_KNOWN_BUGS in fuzz/local.mk);"
		echo "      the other harnesses still run; remove the entry once it is fixed."
		exit 77
	fi
done
exit 1
