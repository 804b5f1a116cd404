#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# vmm run --domain: libvirt domain XML read through libvirt's test driver.
# A valid file sets RAM, vCPUs, the resident limit and the command line;
# options on the command line win; libvirt's own validation message
# reaches the user; every element vmm cannot honour is refused by name.
. "${top_srcdir:-.}/tests/lib.sh"
SRC=${top_srcdir:-.}
STRESS=$(cd "${top_builddir:-.}" && pwd)/guest-tests/stress-seq.elf

# dom FILE BODY: a domain of type kvm with BODY inside, booting the stress guest.
dom() {
	cat >"$tmp/$1" <<EOX
<domain type='kvm'>
  <name>t</name>
  <memory unit='MiB'>64</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type><kernel>$STRESS</kernel><cmdline>gens=1 passes=1</cmdline></os>
  $2
</domain>
EOX
}

out_has() {
	checks=$((checks + 1))
	if grep -Eq -- "$1" "$tmp/out"; then echo "ok: stdout matches /$1/"; else
		echo "FAIL: stdout does not match /$1/"; sed 's/^/  stdout: /' "$tmp/out" | head
		failures=$((failures + 1)); fi
}

# Valid: every value from the file.
dom ok.xml "<memtune><hard_limit unit='MiB'>16</hard_limit><soft_limit unit='MiB'>12</soft_limit>
  <swap_hard_limit unit='GiB'>1</swap_hard_limit></memtune>
  <on_reboot>destroy</on_reboot><clock offset='utc'/><features><apic/></features>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator><serial type='stdio'/>
  <console type='stdio'/><memballoon model='none'/></devices>"
expect 1 "" "$VMM" run --domain "$tmp/ok.xml" --stats "$tmp/ok.json"
out_has '^stress-seq: 2 cpu\(s\), 64 MiB RAM, gens=1 passes=1'
out_has '^stress-seq: pass'
check_stat "$tmp/ok.json" resident_limit_pages -eq 4096
check_stat "$tmp/ok.json" soft_limit_pages -eq 3072
check_stat "$tmp/ok.json" swap_limit_pages -eq 262144

# --mem-soft-limit and --swap-max win over <memtune>, as every option does.
expect 1 "" "$VMM" run --domain "$tmp/ok.xml" --mem-soft-limit 8M --swap-max 512M \
	--stats "$tmp/ok2.json"
check_stat "$tmp/ok2.json" soft_limit_pages -eq 2048
check_stat "$tmp/ok2.json" swap_limit_pages -eq 131072

# The shipped example, with options overriding the file.
sed "s|/path/to/vmm/guest-tests/stress-seq.elf|$STRESS|" "$SRC/docs/examples/stress.xml" >"$tmp/ex.xml"
expect 1 "" "$VMM" run --domain "$tmp/ex.xml" --cpus 1 --mem 64M --mem-resident 32M \
	--stats "$tmp/ex.json" -- gens=1 passes=1
out_has '^stress-seq: 1 cpu\(s\), 64 MiB RAM, gens=1 passes=1'
check_stat "$tmp/ex.json" resident_limit_pages -eq 8192

# <memballoon model='virtio'> is the balloon device (its summary at exit).
dom balloon.xml "<devices><memballoon model='virtio' freePageReporting='on'/></devices>"
expect 1 "balloon: target 0 pages" "$VMM" run --domain "$tmp/balloon.xml"

# Invalid for libvirt: its message reaches the user.
dom bad-vcpu.xml ""
sed -i 's|<vcpu>2</vcpu>|<vcpu>two</vcpu>|' "$tmp/bad-vcpu.xml"
expect 2 "bad-vcpu.xml: libvirt rejects the domain: .*(vcpu|validate)" "$VMM" run --domain "$tmp/bad-vcpu.xml"
dom bad-elem.xml "<frobnicate/>"
expect 2 "libvirt rejects the domain: XML document failed to validate" "$VMM" run --domain "$tmp/bad-elem.xml"
printf '<domain type="kvm"><name>t</name>' >"$tmp/cut.xml"
expect 2 "cut.xml: not well-formed XML" "$VMM" run --domain "$tmp/cut.xml"
expect 2 "none.xml: cannot read: No such file or directory" "$VMM" run --domain "$tmp/none.xml"

# Valid for libvirt, but vmm cannot honour it: refused, naming the element.
# <disk type='file'> is --disk: the image is used (its size in the device's
# message), a missing one is refused by the disk, a non-virtio bus by name.
truncate -s 1M "$tmp/x.img"
dom disk.xml "<devices><disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/><source file='$tmp/x.img'/><target dev='vda' bus='virtio'/><readonly/><serial>S1</serial></disk></devices>"
expect 1 "" "$VMM" run --domain "$tmp/disk.xml"
dom disk-none.xml "<devices><disk type='file' device='disk'><source file='$tmp/none.img'/><target dev='vda' bus='virtio'/></disk></devices>"
expect 2 "none.img" "$VMM" run --domain "$tmp/disk-none.xml"
dom disk-ide.xml "<devices><disk type='file' device='disk'><source file='$tmp/x.img'/><target dev='hda' bus='ide'/></disk></devices>"
expect 2 "<devices/disk>: only <target bus='virtio'>" "$VMM" run --domain "$tmp/disk-ide.xml"
dom nic.xml "<devices><interface type='user'/></devices>"
expect 2 "<devices/interface>: no such device in vmm" "$VMM" run --domain "$tmp/nic.xml"
dom pty2.xml "<devices><serial type='file'><source path='/tmp/log'/></serial></devices>"
expect 2 "<devices/serial>: only type='stdio' and type='pty'" "$VMM" run --domain "$tmp/pty2.xml"
dom reboot.xml "<on_reboot>restart</on_reboot>"
expect 2 "<on_reboot>: vmm ends the VM on a reset" "$VMM" run --domain "$tmp/reboot.xml"
dom acpi.xml "<features><acpi/></features>"
expect 2 "<features/acpi>: not supported" "$VMM" run --domain "$tmp/acpi.xml"
dom cur.xml "<currentMemory unit='MiB'>32</currentMemory>"
expect 2 "<currentMemory>: starting below <memory>" "$VMM" run --domain "$tmp/cur.xml"
dom mintune.xml "<memtune><min_guarantee unit='MiB'>8</min_guarantee></memtune>"
expect 2 "<memtune/min_guarantee>: not supported" "$VMM" run --domain "$tmp/mintune.xml"
dom cpu.xml "<cpu mode='host-model'/>"
expect 2 "<cpu>: only mode='host-passthrough'" "$VMM" run --domain "$tmp/cpu.xml"
dom qemu.xml ""
sed -i "s|type='kvm'|type='qemu'|" "$tmp/qemu.xml"
expect 2 "<domain>: only type='kvm'" "$VMM" run --domain "$tmp/qemu.xml"
dom nokernel.xml ""
sed -i "s|<kernel>[^<]*</kernel>||" "$tmp/nokernel.xml"
expect 2 "<os>: no <kernel>" "$VMM" run --domain "$tmp/nokernel.xml"
finish
