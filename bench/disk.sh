#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# bench/disk.sh [--quick] [--runs N] [--out DIR]: virtio-blk from a guest
# against fio on the same file from the host and against QEMU's
# virtio-blk-pci on the same image. Prints one Markdown table (medians of
# N runs, pairs alternating) with the ratios and the targets beside.
#
# Rows: 4 KiB random read and write (IOPS), 1 MiB sequential read and write
# (MiB/s) at queue depth 1 (the guest driver keeps one request in flight:
# guest-tests/blk.c mode=bench), and 4 KiB random read and write at depth 8
# (eight in flight on one queue; host fio then uses io_uring at
# --iodepth=8, at depth 1 psync), O_DIRECT everywhere (vmm
# cache=none, QEMU cache=none, fio --direct=1), so the page cache is out of
# the picture and host fio is the device's physical limit.
#
# Environment: VMM, BLK_IMAGE (guest-tests/blk.elf), QEMU (default
# qemu-system-x86_64 if installed), FIO (default fio), BENCH_SWAPDIR (where
# the 1 GiB image goes; default /var/tmp). The image is removed on exit.
set -u
export LC_ALL=C

quick=0 runs=3 out=
while [ $# -gt 0 ]; do
	case $1 in
	--quick) quick=1 ;;
	--runs) runs=$2; shift ;;
	--out) out=$2; shift ;;
	*) echo "bench/disk.sh: unknown argument $1" >&2; exit 2 ;;
	esac
	shift
done
builddir=$(cd "${top_builddir:-.}" && pwd)
VMM=${VMM:-$builddir/vmm/vmm}
BLK_IMAGE=${BLK_IMAGE:-$builddir/guest-tests/blk.elf}
QEMU=${QEMU-$(command -v qemu-system-x86_64 || true)}
FIO=${FIO-$(command -v fio || true)}
secs=5 size=1G
[ $quick = 1 ] && { secs=1 size=64M runs=1 QEMU=; }
[ -f "$BLK_IMAGE" ] || make -s -C "$builddir" guest-tests/blk.elf >&2
[ -x "$VMM" ] && [ -f "$BLK_IMAGE" ] || { echo "bench/disk.sh: need VMM and BLK_IMAGE" >&2; exit 2; }

dir=$(mktemp -d "${BENCH_SWAPDIR:-/var/tmp}/vmm-disk.XXXXXX") || exit 2
trap 'rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM
img=$dir/disk.img
# A written file: random reads hit blocks on the device, not holes or
# unwritten extents (which read as zeroes without any I/O).
mib=$([ "${size%G}" != "$size" ] && echo $((${size%G} * 1024)) || echo "${size%M}")
dd if=/dev/zero of="$img" bs=1M count="$mib" conv=fsync status=none || exit 2
log=${out:+$out/logs}
[ -n "$log" ] && mkdir -p "$log"

# The TSC frequency the guest converts its rdtsc deltas with (as bench/run).
tsc_khz=$(awk '/^cpu MHz/ { printf "%d\n", $4 * 1000; exit }' /proc/cpuinfo)
[ -n "$tsc_khz" ] && [ "$tsc_khz" -gt 0 ] || { echo "bench/disk.sh: no 'cpu MHz' in /proc/cpuinfo" >&2; exit 2; }

med() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print "" }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# guest RW BS QD -> "iops mibs"
guest_vmm() {
	local o
	o=$("$VMM" run -q --timeout 120 --cpus 1 --mem 256M --disk "$img,cache=none" "$BLK_IMAGE" \
		-- mode=bench rw="$1" bs="$2" qd="$3" ms=$((secs * 1000)) tsc_khz="$tsc_khz" 2>&1)
	[ -n "$log" ] && echo "$o" >> "$log/disk-vmm.log"
	sed -n 's/.*# bench:.* iops=\([0-9]*\) mibs=\([0-9]*\).*/\1 \2/p' <<<"$o" | head -1
}
guest_qemu() {
	local o
	o=$(timeout 180 "$QEMU" -accel kvm -kernel "$BLK_IMAGE" -device isa-debug-exit,iobase=0xf4,iosize=0x4 \
		-serial stdio -display none -no-reboot -nodefaults -smp 1 -m 256M \
		-drive file="$img",if=none,id=d0,format=raw,cache=none -device virtio-blk-pci,drive=d0 \
		-append "mode=bench rw=$1 bs=$2 qd=$3 ms=$((secs * 1000)) tsc_khz=$tsc_khz" 2>&1 </dev/null)
	[ -n "$log" ] && echo "$o" >> "$log/disk-qemu.log"
	sed -n 's/.*# bench:.* iops=\([0-9]*\) mibs=\([0-9]*\).*/\1 \2/p' <<<"$o" | head -1
}
host_fio() {
	local o engine=psync
	[ "$3" -gt 1 ] && engine=io_uring
	o=$("$FIO" --name=b --filename="$img" --rw="$1" --bs="$2" --iodepth="$3" --ioengine=$engine \
		--direct=1 --time_based --runtime="$secs" --minimal 2>/dev/null)
	# terse v3: field 7/8 read KiB/s and IOPS, 48/49 write KiB/s and IOPS
	awk -F';' '{ if ($8 + 0 > 0) print $8, int($7 / 1024); else print $49, int($48 / 1024) }' <<<"$o"
}

echo
echo "### Disk: virtio-blk, O_DIRECT ($runs runs, median; $size image, ${secs} s each)"
echo
echo "| test | depth | host fio | vmm | QEMU | vmm / fio | target | vmm / QEMU | target |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in "randread 4096 iops 0.8 1" "randwrite 4096 iops 0.8 1" "randread 4096 iops 0.8 8" \
	 "randwrite 4096 iops 0.8 8" "read 1048576 mibs 0.9 1" "write 1048576 mibs 0.9 1"; do
	set -- $t
	rw=$1 bs=$2 unit=$3 target=$4 qd=$5
	f=() v=() q=()
	for ((r = 0; r < runs; r++)); do
		col=$([ "$unit" = iops ] && echo 1 || echo 2)
		[ -n "$FIO" ] && f+=("$(host_fio "$rw" "$bs" "$qd" | cut -d' ' -f$col)")
		v+=("$(guest_vmm "$rw" "$bs" "$qd" | cut -d' ' -f$col)")
		[ -n "$QEMU" ] && q+=("$(guest_qemu "$rw" "$bs" "$qd" | cut -d' ' -f$col)")
	done
	fm=$(printf '%s\n' "${f[@]:-}" | grep . | med)
	vm=$(printf '%s\n' "${v[@]:-}" | grep . | med)
	qm=$(printf '%s\n' "${q[@]:-}" | grep . | med)
	label="$([ "$bs" = 4096 ] && echo 4 KiB || echo 1 MiB) $rw ($([ "$unit" = iops ] && echo IOPS || echo MiB/s))"
	echo "| $label | $qd | ${fm:-not run} | ${vm:-failed} | ${qm:-not run} | $(ratio "$vm" "$fm") | ≥ $target | $(ratio "$vm" "$qm") | > 1 |"
done
