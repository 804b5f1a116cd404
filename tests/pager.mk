# SPDX-License-Identifier: GPL-2.0-only
# tests/pager.mk - unit and concurrency tests of pager/ (Check), none of
# which needs /dev/kvm: test_pager_state (the pure parts: state words,
# transitions, runs, batch windows, watermarks) and test_pager_handle (the
# consumer path and the vCPU fault path against a real pager: memfd,
# userfaultfd, reclaim, swap file), the latter also built from the library
# sources with ThreadSanitizer; test_pager_busy (faults and a swap write
# with no chunk lock held: busy pages, held by a test hook), also under TSan;
# test_pager_fault_defects (also with TSan)
# and test_pager_reclaim_defects, the defects of issue 10 point 5, each
# step driven by the test (tests/pager_fixture.h: no pager thread runs),
# linked with ld's --wrap so a test can make madvise, fallocate or
# PAGEMAP_SCAN fail or stop short (every other call reaches the kernel).
check_PROGRAMS += tests/test_pager_state tests/test_pager_handle tests/test_pager_busy \
	tests/test_pager_fault_defects tests/test_pager_reclaim_defects
TESTS += tests/test_pager_state tests/test_pager_handle tests/test_pager_busy \
	tests/test_pager_fault_defects tests/test_pager_reclaim_defects
PAGER_TEST_LDADD = pager/libpager.a shadow/libshadow.a notifier/libnotifier.a \
	$(CHECK_LIBS) $(PTHREAD_LIBS)

tests_test_pager_state_SOURCES = tests/test_pager_state.c
tests_test_pager_state_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_pager_state_LDADD = $(CHECK_LIBS)

tests_test_pager_handle_SOURCES = tests/test_pager_handle.c
tests_test_pager_handle_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_pager_handle_LDADD = $(PAGER_TEST_LDADD)

PAGER_TEST_WRAP = -Wl,--wrap=ioctl,--wrap=madvise,--wrap=fallocate
PAGER_FIXTURE = tests/pager_fixture.c tests/pager_fixture.h
tests_test_pager_fault_defects_SOURCES = tests/test_pager_fault_defects.c $(PAGER_FIXTURE)
tests_test_pager_fault_defects_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_pager_fault_defects_LDFLAGS = $(PAGER_TEST_WRAP)
tests_test_pager_fault_defects_LDADD = $(PAGER_TEST_LDADD)
tests_test_pager_reclaim_defects_SOURCES = tests/test_pager_reclaim_defects.c $(PAGER_FIXTURE)
tests_test_pager_reclaim_defects_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_pager_reclaim_defects_LDFLAGS = $(PAGER_TEST_WRAP)
tests_test_pager_reclaim_defects_LDADD = $(PAGER_TEST_LDADD)

tests_test_pager_busy_SOURCES = tests/test_pager_busy.c
tests_test_pager_busy_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_pager_busy_LDADD = $(PAGER_TEST_LDADD)

if ENABLE_TSAN
check_PROGRAMS += tests/test_pager_handle_tsan
TESTS += tests/test_pager_handle_tsan
tests_test_pager_handle_tsan_SOURCES = \
	tests/test_pager_handle.c \
	$(pager_libpager_a_SOURCES) \
	$(shadow_libshadow_a_SOURCES) \
	$(notifier_libnotifier_a_SOURCES)
tests_test_pager_handle_tsan_CFLAGS = \
	$(AM_CFLAGS) $(CHECK_CFLAGS) $(TSAN_CFLAGS) -DTEST_TSAN
tests_test_pager_handle_tsan_LDFLAGS = $(TSAN_LDFLAGS)
tests_test_pager_handle_tsan_LDADD = $(CHECK_LIBS) $(PTHREAD_LIBS)
# The throttled faults of test_pager_fault_defects wait in a second thread.
check_PROGRAMS += tests/test_pager_fault_defects_tsan
TESTS += tests/test_pager_fault_defects_tsan
tests_test_pager_fault_defects_tsan_SOURCES = \
	tests/test_pager_fault_defects.c $(PAGER_FIXTURE) \
	$(pager_libpager_a_SOURCES) \
	$(shadow_libshadow_a_SOURCES) \
	$(notifier_libnotifier_a_SOURCES)
tests_test_pager_fault_defects_tsan_CFLAGS = \
	$(AM_CFLAGS) $(CHECK_CFLAGS) $(TSAN_CFLAGS) -DTEST_TSAN
tests_test_pager_fault_defects_tsan_LDFLAGS = $(TSAN_LDFLAGS) $(PAGER_TEST_WRAP)
tests_test_pager_fault_defects_tsan_LDADD = $(CHECK_LIBS) $(PTHREAD_LIBS)

check_PROGRAMS += tests/test_pager_busy_tsan
TESTS += tests/test_pager_busy_tsan
tests_test_pager_busy_tsan_SOURCES = \
	tests/test_pager_busy.c \
	$(pager_libpager_a_SOURCES) \
	$(shadow_libshadow_a_SOURCES) \
	$(notifier_libnotifier_a_SOURCES)
tests_test_pager_busy_tsan_CFLAGS = \
	$(AM_CFLAGS) $(CHECK_CFLAGS) $(TSAN_CFLAGS) -DTEST_TSAN
tests_test_pager_busy_tsan_LDFLAGS = $(TSAN_LDFLAGS)
tests_test_pager_busy_tsan_LDADD = $(CHECK_LIBS) $(PTHREAD_LIBS)
endif
