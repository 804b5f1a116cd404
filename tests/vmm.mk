# SPDX-License-Identifier: GPL-2.0-only
# Unit tests of vmm/ (Check) and tests of the vmm program's behaviour on
# bad input and guest misbehaviour.
check_PROGRAMS += tests/test_vmm_options tests/test_multiboot tests/test_swap_store
TESTS += tests/test_vmm_options tests/test_multiboot tests/test_swap_store
check_PROGRAMS += tests/test_virtio_blk
TESTS += tests/test_virtio_blk
# Guest RAM's huge-page policy (vmm/guest_mem.c).
check_PROGRAMS += tests/test_guest_mem
TESTS += tests/test_guest_mem
VMM_TEST_LIBS = vmm/libvmm.a pager/libpager.a shadow/libshadow.a notifier/libnotifier.a $(CHECK_LIBS) \
	$(PTHREAD_LIBS) $(CONTROL_LIBS)

tests_test_vmm_options_SOURCES = tests/test_vmm_options.c
tests_test_vmm_options_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_vmm_options_LDADD = $(VMM_TEST_LIBS)

tests_test_multiboot_SOURCES = tests/test_multiboot.c
tests_test_multiboot_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_multiboot_LDADD = $(VMM_TEST_LIBS)

tests_test_virtio_blk_SOURCES = tests/test_virtio_blk.c
tests_test_virtio_blk_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_virtio_blk_LDADD = $(VMM_TEST_LIBS)

tests_test_guest_mem_SOURCES = tests/test_guest_mem.c
tests_test_guest_mem_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_guest_mem_LDADD = $(VMM_TEST_LIBS)

tests_test_swap_store_SOURCES = tests/test_swap_store.c
tests_test_swap_store_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_swap_store_LDADD = $(VMM_TEST_LIBS)

# Tiny misbehaving guests (tests/guests/misbehave.S, one -D variant each).
TEST_GUEST_VARIANTS = halt idle triple reset-i8042 reset-cf9 wild chatty hammer
TEST_GUESTS = $(TEST_GUEST_VARIANTS:%=tests/guests/%.elf) tests/guests/high.elf \
	tests/guests/pvh.elf
check_DATA += $(TEST_GUESTS)
CLEANFILES += $(TEST_GUESTS)
EXTRA_DIST += tests/guests/misbehave.S tests/guests/pvh.S tests/lib.sh tests/vmm-exits.sh tests/vmm-bad-input.sh \
	tests/pager-faults.sh tests/vmm-cpuid.sh tests/pager-stats-file.sh tests/swap-blockdev.sh
TESTS += tests/vmm-exits.sh tests/vmm-bad-input.sh tests/pager-faults.sh tests/vmm-cpuid.sh \
	tests/pager-stats-file.sh tests/swap-blockdev.sh
# --disk (virtio-blk): bad images, a loop device, dm-error.
EXTRA_DIST += tests/disk.sh
TESTS += tests/disk.sh

TEST_GUEST_LINK = $(LD) -m elf_i386 -N -e _start -z noexecstack

tests/guests/%.elf: $(srcdir)/tests/guests/misbehave.S
	@$(MKDIR_P) tests/guests
	$(AM_V_GEN)$(CC) -m32 -D$$(echo $* | tr a-z- A-Z_) -c $< -o $@.o && \
	$(TEST_GUEST_LINK) -Ttext=0x100000 $@.o -o $@ && rm -f $@.o

tests/guests/high.elf: $(srcdir)/tests/guests/misbehave.S
	@$(MKDIR_P) tests/guests
	$(AM_V_GEN)$(CC) -m32 -DHALT -c $< -o $@.o && \
	$(TEST_GUEST_LINK) -Ttext=0x7ff00000 $@.o -o $@ && rm -f $@.o

tests/guests/pvh.elf: $(srcdir)/tests/guests/pvh.S
	@$(MKDIR_P) tests/guests
	$(AM_V_GEN)$(CC) -m32 -c $< -o $@.o && \
	$(TEST_GUEST_LINK) -Ttext=0x1000000 --section-start=.note.Xen=0x1000100 $@.o -o $@ && \
	rm -f $@.o

# The whole VMM built with ThreadSanitizer, to run the pager's fault threads,
# reclaim thread and vCPU threads against each other under real guests.
if ENABLE_TSAN
check_PROGRAMS += vmm/vmm-tsan
vmm_vmm_tsan_SOURCES = $(vmm_vmm_SOURCES) $(vmm_libvmm_a_SOURCES) $(pager_libpager_a_SOURCES) \
	$(shadow_libshadow_a_SOURCES) $(notifier_libnotifier_a_SOURCES)
vmm_vmm_tsan_CFLAGS = $(AM_CFLAGS) $(TSAN_CFLAGS) $(JANSSON_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML_CFLAGS)
vmm_vmm_tsan_LDFLAGS = $(TSAN_LDFLAGS)
vmm_vmm_tsan_LDADD = $(PTHREAD_LIBS) $(CONTROL_LIBS)
TESTS += tests/pager-tsan.sh
endif
EXTRA_DIST += tests/pager-tsan.sh
