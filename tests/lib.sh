# SPDX-License-Identifier: GPL-2.0-only
# Helpers for the shell tests of the vmm program. Source it; $VMM is the
# vmm binary (exported by make check), $top_builddir the build tree.
: "${VMM:?VMM must point at the vmm binary}"
failures=0
checks=0

# expect STATUS REGEX CMD...: run CMD (stdin /dev/null), check its exit status
# and that its stderr matches REGEX (extended; "" matches anything).
expect() {
	want=$1 pattern=$2
	shift 2
	checks=$((checks + 1))
	"$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" != "$want" ]; then
		echo "FAIL: $*: exit status $got, expected $want"
		sed 's/^/  stderr: /' "$tmp/err" | head -20
		failures=$((failures + 1))
	elif [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$tmp/err"; then
		echo "FAIL: $*: stderr does not match /$pattern/"
		sed 's/^/  stderr: /' "$tmp/err" | head -20
		failures=$((failures + 1))
	else
		echo "ok: $* -> $got"
	fi
}

finish() {
	echo "$((checks - failures)) passed, $failures failed"
	[ "$failures" -eq 0 ]
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# stat FILE NAME: the integer NAME of a --stats JSON file.
stat() {
	sed -n "s/^ *\"$2\": *\([0-9]*\),*$/\1/p" "$1"
}

# check_stat FILE NAME OP VALUE: count a check that NAME OP VALUE holds.
check_stat() {
	checks=$((checks + 1))
	v=$(stat "$1" "$2")
	if [ -n "$v" ] && [ "$v" "$3" "$4" ]; then
		echo "ok: $2 = $v ($3 $4)"
	else
		echo "FAIL: $2 = '$v', expected $3 $4"
		failures=$((failures + 1))
	fi
}
