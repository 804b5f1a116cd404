# SPDX-License-Identifier: GPL-2.0-only
# tests/linux.mk: Linux boot loader tests (bzImage, PVH).
# test_linux_boot: unit tests of the parsers, zero page, e820 and MP table.
# linux-boot.sh: boots Debian's kernel (fetched by .ci/fetch-test-kernel)
# and checks what it prints about the loader; skips when it is absent.
check_PROGRAMS += tests/test_linux_boot
TESTS += tests/test_linux_boot tests/linux-boot.sh
EXTRA_DIST += tests/linux-boot.sh .ci/fetch-test-kernel

tests_test_linux_boot_SOURCES = tests/test_linux_boot.c
tests_test_linux_boot_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_linux_boot_LDADD = vmm/libvmm.a shadow/libshadow.a notifier/libnotifier.a \
	$(CHECK_LIBS) $(PTHREAD_LIBS) $(CONTROL_LIBS)
