#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# --swap-file on a block device: a loop device (losetup on a file in a
# temporary directory) holds the swap store of a 4:1 overcommitted guest
# that writes and verifies every page; the store's writes leave no page
# cache behind (O_DIRECT). A mounted device, a non-empty regular file and
# a device too small for a slot are refused with a message, untouched.
# Skipped (77) without root or loop devices.
. "${top_srcdir:-.}/tests/lib.sh"
img=${top_builddir:-.}/guest-tests/stress-seq.elf

[ -e /dev/kvm ] || { echo "no /dev/kvm: skipped"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "not root: skipped"; exit 77; }
command -v losetup >/dev/null || { echo "no losetup: skipped"; exit 77; }
truncate -s 96M "$tmp/disk" || exit 99
loop=$(losetup -f --show "$tmp/disk" 2>/dev/null) || { echo "no loop device: skipped"; exit 77; }
mnt=
cleanup() {
	[ -n "$mnt" ] && umount "$mnt" 2>/dev/null
	losetup -d "$loop" 2>/dev/null
	[ -n "${loop2:-}" ] && losetup -d "$loop2" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The guest writes and verifies 64 MiB held to 16 MiB: 48 MiB live on the device.
expect 1 "" "$VMM" run --mem 64M --mem-resident 16M --swap-file "$loop" \
	--stats "$tmp/st.json" "$img" -- gens=2 passes=1
checks=$((checks + 1))
w=$(stat "$tmp/st.json" swap_bytes_written) r=$(stat "$tmp/st.json" swap_bytes_read)
if [ "${w:-0}" -lt $((32 << 20)) ] || [ "${r:-0}" -lt $((16 << 20)) ] ||
   [ "$(stat "$tmp/st.json" swap_checksum_errors)" != 0 ]; then
	echo "FAIL: the store on $loop did not carry the guest (written $w, read $r)"
	failures=$((failures + 1))
else
	echo "ok: $((w >> 20)) MiB written to and $((r >> 20)) MiB read from $loop"
fi
# What went to the device is not in the page cache (fincore on the device).
if command -v fincore >/dev/null; then
	checks=$((checks + 1))
	res=$(fincore --bytes --noheadings --output RES "$loop" 2>/dev/null | tr -d ' ')
	if [ -n "$res" ] && [ "$res" -gt $((1 << 20)) ]; then
		echo "FAIL: $res bytes of $loop are in the page cache after the run"
		failures=$((failures + 1))
	else
		echo "ok: ${res:-0} bytes of $loop in the page cache"
	fi
fi

# A device of less than one slot is refused; so is a mounted one.
truncate -s 2048 "$tmp/tiny"
loop2=$(losetup -f --show "$tmp/tiny" 2>/dev/null) &&
	expect 2 "cannot use a block device" "$VMM" run --mem 16M --mem-resident 8M \
		--swap-file "$loop2" "$img"
if command -v mkfs.ext4 >/dev/null && mkfs.ext4 -q "$loop" 2>/dev/null && mkdir "$tmp/m" &&
   mount "$loop" "$tmp/m" 2>/dev/null; then
	mnt=$tmp/m
	echo data > "$mnt/keep"
	expect 2 "$loop: cannot open: Device or resource busy" "$VMM" run --mem 16M \
		--mem-resident 8M --swap-file "$loop" "$img"
	checks=$((checks + 1))
	if [ "$(cat "$mnt/keep")" = data ]; then echo "ok: the mounted file system is intact"
	else echo "FAIL: the mounted file system changed"; failures=$((failures + 1)); fi
fi

# A regular file with data in it is refused and kept as it was.
printf 'precious' > "$tmp/file"
expect 2 "exists and is not empty .*refusing" "$VMM" run --mem 16M --mem-resident 8M \
	--swap-file "$tmp/file" "$img"
checks=$((checks + 1))
if [ "$(cat "$tmp/file")" = precious ]; then echo "ok: $tmp/file kept"
else echo "FAIL: $tmp/file was changed"; failures=$((failures + 1)); fi
finish
