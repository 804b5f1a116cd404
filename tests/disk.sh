#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# --disk: bad images get a message naming the file and the reason and exit
# status 2; a block device (a loop device) works as a disk, discard and
# write-zeroes included; an I/O error from a real device-mapper `error`
# target reaches the guest as IOERR (skipped without device-mapper).
. "${top_srcdir:-.}/tests/lib.sh"
b=$(cd "${top_builddir:-.}" && pwd)
blk=$b/guest-tests/blk.elf
halt=$b/tests/guests/halt.elf

expect 2 "--disk $tmp/missing.img: No such file or directory" "$VMM" run --disk "$tmp/missing.img" "$halt"
expect 2 "--disk $tmp: Is a directory" "$VMM" run --disk "$tmp" "$halt"
expect 2 "--disk /dev/null: not a regular file or a block device" "$VMM" run --disk /dev/null "$halt"
truncate -s 1000 "$tmp/odd.img"
expect 2 "odd.img: its size \(1000 bytes\) is not a non-zero multiple of 512" "$VMM" run --disk "$tmp/odd.img" "$halt"
: >"$tmp/empty.img"
expect 2 "empty.img: its size \(0 bytes\)" "$VMM" run --disk "$tmp/empty.img" "$halt"
truncate -s 1M "$tmp/ok.img"
expect 2 "--disk '$tmp/ok.img,frob': unknown 'frob'" "$VMM" run --disk "$tmp/ok.img,frob" "$halt"
expect 2 "--disk ',ro': no file name" "$VMM" run --disk ,ro "$halt"
expect 2 "the serial is at most 20 characters" "$VMM" run --disk "$tmp/ok.img,serial=123456789012345678901" "$halt"
expect 2 "needs a value" "$VMM" run --disk
# A read-only file asked for read-write: a read-only bind mount (root sees
# no EACCES) in a private mount namespace.
mkdir "$tmp/ro" && truncate -s 1M "$tmp/ro/disk.img"
if unshare -m sh -c 'mount --bind -o ro "$0" "$0"' "$tmp/ro" 2>/dev/null; then
	expect 2 "disk.img: cannot open it read-write: Read-only file system \(add ,ro" \
		unshare -m sh -c 'mount --bind -o ro "$0" "$0" && exec "$1" run --disk "$0/disk.img" "$2"' \
		"$tmp/ro" "$VMM" "$halt"
	expect 8 "" unshare -m sh -c 'mount --bind -o ro "$0" "$0" && exec "$1" run --disk "$0/disk.img,ro" "$2"' \
		"$tmp/ro" "$VMM" "$halt"
else
	echo "skipped: read-only bind mount (needs root and mount namespaces)"
fi

# A block device: a loop device over a 16 MiB file.
truncate -s 16M "$tmp/loop.img"
loop=$(losetup -f --show "$tmp/loop.img" 2>/dev/null) || loop=
if [ -n "$loop" ]; then
	expect 1 "" "$VMM" run -q --timeout 120 --mem 64M --disk "$loop" "$blk" -- mode=discard
	expect 1 "" "$VMM" run -q --timeout 120 --mem 64M --disk "$loop,cache=none" "$blk" -- mode=bounds
	# dm-error over the loop device's first 16 MiB, from sector 8192 on.
	if dmsetup targets 2>/dev/null | grep -q '^error'; then
		dm=vmm-disk-test-$$
		printf '0 8192 linear %s 0\n8192 24576 error\n' "$loop" | dmsetup create "$dm" &&
			expect 1 "read failed: Input/output error" "$VMM" run -q --timeout 120 --mem 64M \
				--disk "/dev/mapper/$dm" "$blk" -- mode=ioerr fault=8192
		dmsetup remove "$dm" 2>/dev/null
	else
		echo "skipped: dm-error (no device-mapper in this kernel); blk-ioerr.gt injects instead"
	fi
	# A full file system under the image: an 8 MiB ext4 on the loop device, a sparse
	# 4 MiB image in it and a filler taking every free block. Write-zeroes of a hole
	# (ZERO_RANGE needs blocks) gets IOERR, discard (punch) still works.
	if command -v mkfs.ext4 >/dev/null && mkfs.ext4 -q -F "$loop" 8M 2>/dev/null &&
	   mkdir "$tmp/mnt" && mount "$loop" "$tmp/mnt" 2>/dev/null; then
		truncate -s 4M "$tmp/mnt/disk.img"
		dd if=/dev/zero of="$tmp/mnt/fill" bs=64K status=none 2>/dev/null
		expect 1 "write-zeroes failed: No space left on device" "$VMM" run -q --timeout 120 \
			--mem 64M --disk "$tmp/mnt/disk.img" "$blk" -- mode=full
		umount "$tmp/mnt"
	else
		echo "skipped: full file system (no mkfs.ext4 or no mount)"
	fi
	losetup -d "$loop"
else
	echo "skipped: block device (no loop device)"
fi

# The I/O threads, the device thread and the vCPUs under ThreadSanitizer
# (any race report exits 66), with the pager swapping the buffers.
if [ -x "$b/vmm/vmm-tsan" ]; then
	truncate -s 32M "$tmp/tsan.img"
	expect 1 "" env TSAN_OPTIONS="halt_on_error=1 exitcode=66" "$b/vmm/vmm-tsan" run -q \
		--timeout 250 --cpus 2 --mem 128M --mem-resident 32M --disk "$tmp/tsan.img" "$blk" \
		-- mode=pattern
fi
finish
