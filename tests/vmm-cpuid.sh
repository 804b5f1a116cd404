#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The CPUID a vCPU really receives (guest-tests/cpuid.elf reads it in the
# guest): with the default filter every hidden feature is absent except
# those vmm names as advertised anyway by this host's KVM; with
# --cpuid-host what the filter hid passes through. The filter's notice is
# printed for Linux kernels (which run in ring 0) and otherwise only with
# --debug; where XSAVE stays visible, a Linux kernel gets 'noxsave'.
. "${top_srcdir:-.}/tests/lib.sh"
g=${top_builddir:-.}/tests/guests
cpuid=${top_builddir:-.}/guest-tests/cpuid.elf

# check NAME CONDITION...: count a check of a shell condition.
check() {
	name=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $name"
	else
		echo "FAIL: $name"
		sed 's/^/  stderr: /' "$tmp/err" | head -20
		failures=$((failures + 1))
	fi
}
no_cpuid_line() { ! grep -q 'cpuid:' "$tmp/err"; }
has() { grep -q -- "$1" "$tmp/err"; }
lacks() { ! grep -q -- "$1" "$tmp/err"; }

expect 8 '' "$VMM" run "$g/halt.elf"
check "no CPUID notice for a multiboot kernel" no_cpuid_line
expect 8 'cpuid: hiding features' "$VMM" run --debug "$g/halt.elf"
expect 1 'cpuid: hiding features' "$VMM" run "$g/pvh.elf"

# What vmm says it hid and what the host's KVM puts back.
expect 8 "cpuid: hidden from what KVM offers" "$VMM" run -q --debug "$g/halt.elf"
cp "$tmp/err" "$tmp/debug"
hidden=$(sed -n 's/^vmm: cpuid: hidden from what KVM offers: //p' "$tmp/debug" | sed 's/^none$//' | tr ' ' ,)
forced=$(sed -n "s/^vmm: cpuid: this host's KVM advertises \(.*\) to the guest whatever.*/\1/p" "$tmp/debug" | tr ' ' ,)
echo "hidden: ${hidden:-none}; forced by KVM: ${forced:-none}"

expect 1 '' "$VMM" run -q "$cpuid" -- forced="$forced"
grep -v '^#' "$tmp/out"
expect 1 '' "$VMM" run -q --cpuid-host "$cpuid" -- expect=host present="$hidden"
grep -v '^#' "$tmp/out"

# noxsave exactly where XSAVE stays visible, clearcpuid=popcnt where POPCNT
# does, never with --cpuid-host.
expect 1 '' "$VMM" run --debug "$g/pvh.elf" -- console=ttyS0
want=console=ttyS0
case ",$forced," in *,xsave,*) want="$want noxsave" ;; esac
case ",$forced," in *,popcnt,*) want="$want clearcpuid=popcnt" ;; esac
check "command line '$want' (forced by KVM: ${forced:-none})" has "command line '$want'"
expect 1 '' "$VMM" run --debug --cpuid-host "$g/pvh.elf" -- console=ttyS0
check "no noxsave with --cpuid-host" has "command line 'console=ttyS0'"
finish
