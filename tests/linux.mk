# SPDX-License-Identifier: GPL-2.0-only
# tests/linux.mk: Linux boot loader tests (bzImage, PVH).
# test_linux_boot: unit tests of the parsers, zero page, e820 and MP table.
# linux-boot.sh: boots Debian's kernel (fetched by .ci/fetch-test-kernel)
# and checks what it prints about the loader; skips when it is absent.
# initrd.sh: the initrd recipe of the README (tests/make-initrd), its
# archive, its refusals, and a boot of it under QEMU.
check_PROGRAMS += tests/test_linux_boot
TESTS += tests/test_linux_boot tests/linux-boot.sh tests/initrd.sh
EXTRA_DIST += tests/linux-boot.sh tests/make-initrd tests/initrd.sh .ci/fetch-test-kernel

tests_test_linux_boot_SOURCES = tests/test_linux_boot.c
tests_test_linux_boot_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_linux_boot_LDADD = vmm/libvmm.a pager/libpager.a shadow/libshadow.a notifier/libnotifier.a \
	$(CHECK_LIBS) $(PTHREAD_LIBS) $(CONTROL_LIBS)
