# SPDX-License-Identifier: GPL-2.0-only
# tests/shadow.mk - unit, model-based and concurrency tests of shadow/
# (Check).  The concurrency test is also built from the library sources
# with ThreadSanitizer; a race ends the forked test with TSan's exit code
# 66, which Check reports as a failure.
check_PROGRAMS += tests/test_shadow tests/test_shadow_fault tests/test_shadow_model tests/test_shadow_concurrency
TESTS += tests/test_shadow tests/test_shadow_fault tests/test_shadow_model tests/test_shadow_concurrency

SHADOW_TEST_LDADD = shadow/libshadow.a notifier/libnotifier.a $(CHECK_LIBS) $(PTHREAD_LIBS)

tests_test_shadow_SOURCES = tests/test_shadow.c tests/shadow_fixtures.h
tests_test_shadow_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_shadow_LDADD = $(SHADOW_TEST_LDADD)

tests_test_shadow_fault_SOURCES = tests/test_shadow_fault.c tests/shadow_fixtures.h
tests_test_shadow_fault_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_shadow_fault_LDADD = $(SHADOW_TEST_LDADD)

tests_test_shadow_model_SOURCES = tests/test_shadow_model.c
tests_test_shadow_model_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_shadow_model_LDADD = $(SHADOW_TEST_LDADD)

tests_test_shadow_concurrency_SOURCES = tests/test_shadow_concurrency.c
tests_test_shadow_concurrency_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_shadow_concurrency_LDADD = $(SHADOW_TEST_LDADD)

if ENABLE_TSAN
check_PROGRAMS += tests/test_shadow_concurrency_tsan
TESTS += tests/test_shadow_concurrency_tsan
tests_test_shadow_concurrency_tsan_SOURCES = \
	tests/test_shadow_concurrency.c \
	$(shadow_libshadow_a_SOURCES) \
	$(notifier_libnotifier_a_SOURCES)
tests_test_shadow_concurrency_tsan_CFLAGS = \
	$(AM_CFLAGS) $(CHECK_CFLAGS) $(TSAN_CFLAGS) -DTEST_TSAN
tests_test_shadow_concurrency_tsan_LDFLAGS = $(TSAN_LDFLAGS)
tests_test_shadow_concurrency_tsan_LDADD = $(CHECK_LIBS) $(PTHREAD_LIBS)
endif
