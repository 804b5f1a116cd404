# SPDX-License-Identifier: GPL-2.0-only
# notifier/local.mk - mmu-notifier subscriptions and the invalidate/retry
# protocol (no dependency on vmm/ or shadow/).
noinst_LIBRARIES += notifier/libnotifier.a
notifier_libnotifier_a_SOURCES = \
	notifier/notifier.c \
	notifier/notifier.h \
	notifier/list.h
