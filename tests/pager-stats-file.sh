#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# --stats FILE never replaces what the VMM did not create: a regular file or
# a missing path is replaced by rename; a symlink, a character device or a
# FIFO is written in place (a FIFO without a reader is skipped); anything
# else is refused at start (status 2).
. "${top_srcdir:-.}/tests/lib.sh"
image=${top_builddir:-.}/guest-tests/hello.elf
run() {
	"$VMM" run -q --timeout 60 --mem 64M --mem-resident 16M --swap-dir "$tmp" --stats "$1" "$image"
}

# is KIND PATH: count a check that PATH is still a KIND (test -KIND).
is() {
	checks=$((checks + 1))
	if [ "-$1" "$2" ]; then
		echo "ok: $2 is still -$1"
	else
		echo "FAIL: $2 is no longer -$1: $(ls -l "$2")"
		failures=$((failures + 1))
	fi
}

expect 1 '' run "$tmp/new.json"
check_stat "$tmp/new.json" guest_pages -eq 16384

echo old >"$tmp/regular.json"
expect 1 '' run "$tmp/regular.json"
check_stat "$tmp/regular.json" guest_pages -eq 16384

mkfifo "$tmp/fifo"
expect 1 '' run "$tmp/fifo"
is p "$tmp/fifo"

# A FIFO with a reader receives the statistics.
cat "$tmp/fifo" >"$tmp/from-fifo" &
reader=$!
expect 1 '' run "$tmp/fifo"
kill "$reader" 2>/dev/null
wait "$reader" 2>/dev/null
is p "$tmp/fifo"
checks=$((checks + 1))
if grep -q '"guest_pages": 16384' "$tmp/from-fifo"; then
	echo "ok: a reader of the FIFO got the statistics"
else
	echo "FAIL: nothing came through the FIFO"
	failures=$((failures + 1))
fi

if mknod "$tmp/null" c 1 3 2>/dev/null; then
	expect 1 '' run "$tmp/null"
	is c "$tmp/null"
else
	echo "skip: cannot make a device node here"
fi

echo target >"$tmp/target.json"
ln -s target.json "$tmp/link.json"
expect 1 '' run "$tmp/link.json"
is L "$tmp/link.json"
check_stat "$tmp/target.json" guest_pages -eq 16384

mkdir "$tmp/dir"
expect 2 'not a regular file, a character device or a FIFO' run "$tmp/dir"
is d "$tmp/dir"

# No temporary file is left beside any of them.
checks=$((checks + 1))
if [ -z "$(find "$tmp" -name '*.json.*' -o -name 'fifo.*' -o -name 'null.*')" ]; then
	echo "ok: no temporary file left"
else
	echo "FAIL: temporary files left: $(find "$tmp" -name '*.*.*')"
	failures=$((failures + 1))
fi
finish
