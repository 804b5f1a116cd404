# shadow/local.mk - the secondary page table over guest frames and the
# reverse map.  Depends on notifier/libnotifier.a.
noinst_LIBRARIES += shadow/libshadow.a
shadow_libshadow_a_SOURCES = \
	shadow/shadow.c \
	shadow/shadow.h \
	shadow/spte.h
