# Unit tests of vmm/ (Check) and tests of the vmm program's behaviour on
# bad input and guest misbehaviour.
check_PROGRAMS += tests/test_vmm_options tests/test_multiboot
TESTS += tests/test_vmm_options tests/test_multiboot

tests_test_vmm_options_SOURCES = tests/test_vmm_options.c
tests_test_vmm_options_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_vmm_options_LDADD = vmm/libvmm.a $(CHECK_LIBS) $(PTHREAD_LIBS)

tests_test_multiboot_SOURCES = tests/test_multiboot.c
tests_test_multiboot_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_multiboot_LDADD = vmm/libvmm.a $(CHECK_LIBS) $(PTHREAD_LIBS)
