# SPDX-License-Identifier: GPL-2.0-only
# The vmm program. Its sources other than main.c form libvmm.a so that the
# unit tests in tests/vmm.mk link the same code.
noinst_LIBRARIES += vmm/libvmm.a
vmm_libvmm_a_SOURCES = \
	vmm/cpuid.c \
	vmm/boot/e820.c vmm/boot/e820.h \
	vmm/boot/linux.c vmm/boot/linux.h \
	vmm/boot/loader.c vmm/boot/loader.h \
	vmm/boot/mptable.c \
	vmm/boot/multiboot.c \
	vmm/devices/debug_exit.c \
	vmm/devices/devices.c vmm/devices/devices.h \
	vmm/devices/fw_cfg.c \
	vmm/devices/i8042.c \
	vmm/devices/io.c vmm/devices/io.h \
	vmm/devices/pci.c vmm/devices/pci.h \
	vmm/devices/post.c \
	vmm/devices/reset_cf9.c \
	vmm/devices/serial.c \
	vmm/exit_status.h \
	vmm/gmem.c vmm/gmem.h \
	vmm/guest_mem.c vmm/guest_mem.h \
	vmm/options.c vmm/options.h \
	vmm/pager_vm.c vmm/pager_vm.h \
	vmm/util.c vmm/util.h \
	vmm/vcpu.c \
	vmm/virtio/balloon.c vmm/virtio/balloon.h \
	vmm/virtio/blk.c vmm/virtio/blk.h vmm/virtio/blk_io.c vmm/virtio/blk_aio.c \
	vmm/virtio/pci.c vmm/virtio/pci.h vmm/virtio/pci_caps.c vmm/virtio/pci_internal.h \
	vmm/virtio/pci_irq.c \
	vmm/virtio/virtqueue.c vmm/virtio/virtqueue.h \
	vmm/vm.c vmm/vm.h

bin_PROGRAMS += vmm/vmm
vmm_vmm_SOURCES = vmm/main.c
vmm_vmm_LDADD = vmm/libvmm.a pager/libpager.a shadow/libshadow.a notifier/libnotifier.a $(PTHREAD_LIBS)
