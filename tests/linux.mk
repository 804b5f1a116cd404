# SPDX-License-Identifier: GPL-2.0-only
# tests/linux.mk: Linux boot loader tests (bzImage, PVH).
# test_linux_boot: unit tests of the bzImage parser, initrd, zero page and e820;
# test_boot_tables: the PVH parser, the MP table, the e820 PCI window.
# linux-boot.sh: boots Debian's kernel (fetched by .ci/fetch-test-kernel)
# and checks what it prints about the loader; skips when it is absent.
# initrd.sh: the initrd recipe of the README (tests/make-initrd), its
# archive, its refusals, and a boot of it under QEMU.
check_PROGRAMS += tests/test_linux_boot tests/test_boot_tables
TESTS += tests/test_linux_boot tests/test_boot_tables tests/linux-boot.sh tests/initrd.sh
EXTRA_DIST += tests/linux-boot.sh tests/make-initrd tests/initrd.sh .ci/fetch-test-kernel

tests_test_linux_boot_SOURCES = tests/test_linux_boot.c
tests_test_linux_boot_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_linux_boot_LDADD = vmm/libvmm.a pager/libpager.a shadow/libshadow.a notifier/libnotifier.a \
	$(CHECK_LIBS) $(PTHREAD_LIBS) $(CONTROL_LIBS)

tests_test_boot_tables_SOURCES = tests/test_boot_tables.c
tests_test_boot_tables_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_boot_tables_LDADD = $(tests_test_linux_boot_LDADD)
