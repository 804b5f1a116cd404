# SPDX-License-Identifier: GPL-2.0-only
# tests/notifier.mk - unit and concurrency tests of notifier/ (Check).
# The concurrency test is also built from the library sources with
# ThreadSanitizer; a race ends the forked test with TSan's exit code 66,
# which Check reports as a failure.
check_PROGRAMS += tests/test_notifier tests/test_notifier_concurrency
TESTS += tests/test_notifier tests/test_notifier_concurrency

tests_test_notifier_SOURCES = tests/test_notifier.c
tests_test_notifier_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_notifier_LDADD = notifier/libnotifier.a $(CHECK_LIBS) $(PTHREAD_LIBS)

tests_test_notifier_concurrency_SOURCES = tests/test_notifier_concurrency.c
tests_test_notifier_concurrency_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
tests_test_notifier_concurrency_LDADD = notifier/libnotifier.a $(CHECK_LIBS) $(PTHREAD_LIBS)

if ENABLE_TSAN
check_PROGRAMS += tests/test_notifier_concurrency_tsan
TESTS += tests/test_notifier_concurrency_tsan
tests_test_notifier_concurrency_tsan_SOURCES = \
	tests/test_notifier_concurrency.c \
	$(notifier_libnotifier_a_SOURCES)
tests_test_notifier_concurrency_tsan_CFLAGS = \
	$(AM_CFLAGS) $(CHECK_CFLAGS) $(TSAN_CFLAGS) -DTEST_TSAN
tests_test_notifier_concurrency_tsan_LDFLAGS = $(TSAN_LDFLAGS)
tests_test_notifier_concurrency_tsan_LDADD = $(CHECK_LIBS) $(PTHREAD_LIBS)
endif
