# The vmm program. Its sources other than main.c form libvmm.a so that the
# unit tests in tests/vmm.mk link the same code.
noinst_LIBRARIES += vmm/libvmm.a
vmm_libvmm_a_SOURCES = \
	vmm/cpuid.c \
	vmm/devices.h \
	vmm/e820.c vmm/e820.h \
	vmm/exit_status.h \
	vmm/fw_cfg.c \
	vmm/guest_mem.c vmm/guest_mem.h \
	vmm/io.c vmm/io.h \
	vmm/linux.c vmm/linux.h \
	vmm/loader.c vmm/loader.h \
	vmm/mptable.c \
	vmm/multiboot.c \
	vmm/options.c vmm/options.h \
	vmm/pager.c vmm/pager.h vmm/pager_internal.h vmm/pager_fault.c \
	vmm/pager_reclaim.c vmm/pager_stats.c \
	vmm/serial.c \
	vmm/swap_store.c vmm/swap_store.h \
	vmm/sysdev.c \
	vmm/uffd_compat.h \
	vmm/util.c vmm/util.h \
	vmm/vcpu.c \
	vmm/vm.c vmm/vm.h

bin_PROGRAMS += vmm/vmm
vmm_vmm_SOURCES = vmm/main.c
vmm_vmm_LDADD = vmm/libvmm.a shadow/libshadow.a notifier/libnotifier.a $(PTHREAD_LIBS)
