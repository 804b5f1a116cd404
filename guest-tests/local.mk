# SPDX-License-Identifier: GPL-2.0-only
# guest-tests/local.mk: freestanding guest images and their runner.
#
# The images are built with explicit rules, not automake programs: they are
# 64-bit freestanding code linked at 1 MiB with lib/guest.lds and converted
# to elf32-i386 so that multiboot loaders (vmm, QEMU) accept them. Ring-0
# code must not use SSE or other instructions this host's KVM cannot
# emulate, hence -mgeneral-regs-only for everything.

GUEST_COMPILE_FLAGS = -std=gnu11 -O2 -g -m64 -ffreestanding -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -fno-unwind-tables \
	-fcf-protection=none -fno-tree-loop-distribute-patterns -fno-common \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -I$(srcdir)/guest-tests/lib
GUEST_LINK_FLAGS = -m elf_x86_64 -nostdlib -static -z max-page-size=0x1000 \
	-z noexecstack --no-warn-rwx-segments -T $(srcdir)/guest-tests/lib/guest.lds

GUEST_HDRS = \
	$(srcdir)/guest-tests/lib/arch.h \
	$(srcdir)/guest-tests/lib/runtime.h \
	$(srcdir)/guest-tests/lib/setup.h \
	$(srcdir)/guest-tests/lib/pattern.h \
	$(srcdir)/guest-tests/lib/pci.h \
	$(srcdir)/guest-tests/lib/virtio.h \
	$(srcdir)/guest-tests/lib/irq.h

GUEST_LIB_OBJS = \
	guest-tests/lib/entry.o \
	guest-tests/lib/setup.o \
	guest-tests/lib/trap.o \
	guest-tests/lib/smp.o \
	guest-tests/lib/printf.o \
	guest-tests/lib/string.o \
	guest-tests/lib/args.o \
	guest-tests/lib/pci.o \
	guest-tests/lib/virtio.o \
	guest-tests/lib/irq.o

GUEST_IMAGES = \
	guest-tests/hello.elf \
	guest-tests/memtest.elf \
	guest-tests/smp.elf \
	guest-tests/exceptions.elf \
	guest-tests/exit.elf \
	guest-tests/stress-seq.elf \
	guest-tests/stress-random.elf \
	guest-tests/stress-zero.elf \
	guest-tests/stress-clean.elf \
	guest-tests/cpuid.elf \
	guest-tests/balloon.elf \
	guest-tests/blk.elf

GUEST_TEST_OBJS = $(GUEST_IMAGES:.elf=.o)

guest_cc = $(AM_V_CC)$(MKDIR_P) guest-tests/lib && $(GUEST_CC) $(GUEST_COMPILE_FLAGS)
guest_ld = $(AM_V_CCLD)$(LD) $(GUEST_LINK_FLAGS)
guest_objcopy = $(AM_V_GEN)$(OBJCOPY) -O elf32-i386 --strip-debug

# --- objects: the runtime, one object per test, four stress variants ---------
guest-tests/lib/%.o: $(srcdir)/guest-tests/lib/%.S $(GUEST_HDRS)
	$(guest_cc) -c -o $@ $<
guest-tests/lib/%.o: $(srcdir)/guest-tests/lib/%.c $(GUEST_HDRS)
	$(guest_cc) -c -o $@ $<
guest-tests/%.o: $(srcdir)/guest-tests/%.c $(GUEST_HDRS)
	$(guest_cc) -c -o $@ $<
# One source, four access patterns (guest-tests/stress.c).
guest-tests/stress-%.o: $(srcdir)/guest-tests/stress.c $(GUEST_HDRS)
	$(guest_cc) -DSTRESS_MODE=STRESS_$$(echo $* | tr a-z A-Z) -c -o $@ $(srcdir)/guest-tests/stress.c

# --- images: link as ELF64 at 1 MiB, then wrap as elf32-i386 -----------------
GUEST_LINK_DEPS = $(GUEST_LIB_OBJS) $(srcdir)/guest-tests/lib/guest.lds

guest-tests/%.elf64: guest-tests/%.o $(GUEST_LINK_DEPS)
	$(guest_ld) -o $@ $< $(GUEST_LIB_OBJS)
# The virtio-blk driver is two files (blk.c, blk_queue.c) over blk.h.
guest-tests/blk.o guest-tests/blk_queue.o: $(srcdir)/guest-tests/blk.h
guest-tests/blk.elf64: guest-tests/blk.o guest-tests/blk_queue.o $(GUEST_LINK_DEPS)
	$(guest_ld) -o $@ guest-tests/blk.o guest-tests/blk_queue.o $(GUEST_LIB_OBJS)
guest-tests/%.elf: guest-tests/%.elf64
	$(guest_objcopy) $< $@

noinst_DATA += $(GUEST_IMAGES)
CLEANFILES += $(GUEST_IMAGES) $(GUEST_IMAGES:.elf=.elf64) $(GUEST_LIB_OBJS) \
	$(GUEST_TEST_OBJS) guest-tests/blk_queue.o

# --- tests: one spec per run, read by run-guest-test ------------------------
GUEST_SPECS = \
	guest-tests/hello.gt \
	guest-tests/exit-pass.gt \
	guest-tests/exit-fail.gt \
	guest-tests/exit-skip.gt \
	guest-tests/exit-fail-ring0.gt \
	guest-tests/exceptions.gt \
	guest-tests/exceptions-unhandled.gt \
	guest-tests/memtest.gt \
	guest-tests/smp.gt \
	guest-tests/smp-1cpu.gt \
	guest-tests/stress-seq.gt \
	guest-tests/stress-random.gt \
	guest-tests/stress-zero.gt \
	guest-tests/stress-clean.gt \
	guest-tests/stress-seq-1x.gt \
	guest-tests/stress-seq-4x.gt \
	guest-tests/stress-seq-8x.gt \
	guest-tests/stress-random-1x.gt \
	guest-tests/stress-random-4x.gt \
	guest-tests/stress-random-8x.gt \
	guest-tests/stress-zero-1x.gt \
	guest-tests/stress-zero-4x.gt \
	guest-tests/stress-zero-8x.gt \
	guest-tests/stress-clean-1x.gt \
	guest-tests/stress-clean-4x.gt \
	guest-tests/stress-clean-8x.gt \
	guest-tests/balloon.gt \
	guest-tests/balloon-target.gt \
	guest-tests/balloon-no-stats.gt \
	guest-tests/balloon-no-reporting.gt \
	guest-tests/balloon-poison.gt \
	guest-tests/balloon-msix.gt \
	guest-tests/balloon-pcicfg.gt \
	guest-tests/balloon-intx.gt \
	guest-tests/balloon-msix-irq.gt \
	guest-tests/balloon-hostile-loop.gt \
	guest-tests/balloon-hostile-oob.gt \
	guest-tests/balloon-hostile-overflow.gt \
	guest-tests/balloon-hostile-index.gt \
	guest-tests/balloon-hostile-head.gt \
	guest-tests/blk-pattern.gt \
	guest-tests/blk-pattern-4x.gt \
	guest-tests/blk-ro.gt \
	guest-tests/blk-wce.gt \
	guest-tests/blk-depth.gt \
	guest-tests/blk-depth-4x.gt \
	guest-tests/blk-discard.gt \
	guest-tests/blk-ioerr.gt \
	guest-tests/blk-bounds.gt \
	guest-tests/blk-malformed.gt \
	guest-tests/balloon-pager.gt \
	guest-tests/balloon-overcommit-4x.gt

TESTS += $(GUEST_SPECS)
GT_LOG_COMPILER = $(SHELL) $(srcdir)/guest-tests/run-guest-test

EXTRA_DIST += \
	guest-tests/README.md \
	guest-tests/run-guest-test \
	guest-tests/lib/guest.lds \
	guest-tests/lib/entry.S \
	guest-tests/lib/setup.c \
	guest-tests/lib/trap.c \
	guest-tests/lib/smp.c \
	guest-tests/lib/printf.c \
	guest-tests/lib/string.c \
	guest-tests/lib/args.c \
	guest-tests/lib/pci.c \
	guest-tests/lib/virtio.c \
	guest-tests/lib/irq.c \
	$(GUEST_HDRS) \
	guest-tests/hello.c \
	guest-tests/memtest.c \
	guest-tests/smp.c \
	guest-tests/exceptions.c \
	guest-tests/exit.c \
	guest-tests/stress.c \
	guest-tests/cpuid.c \
	guest-tests/balloon.c \
	guest-tests/blk.c \
	guest-tests/blk_queue.c \
	guest-tests/blk.h \
	$(GUEST_SPECS)
