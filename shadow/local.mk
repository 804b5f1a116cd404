# SPDX-License-Identifier: GPL-2.0-only
# shadow/local.mk - the secondary page table over guest frames and the
# reverse map.  Depends on notifier/libnotifier.a.
noinst_LIBRARIES += shadow/libshadow.a
shadow_libshadow_a_SOURCES = \
	shadow/internal.h \
	shadow/rmap.c \
	shadow/shadow.c \
	shadow/table.c \
	shadow/shadow.h \
	shadow/spte.h
