# SPDX-License-Identifier: GPL-2.0-only
# The pager library: the memory object's page states, fault service,
# reclaim, the swap store and statistics. Includes nothing from vmm/.
noinst_LIBRARIES += pager/libpager.a
pager_libpager_a_SOURCES = \
	pager/pager.c pager/pager.h pager/internal.h \
	pager/page_state.c pager/page_state.h \
	pager/busy.c pager/fault.c pager/uffd.c pager/reclaim.c pager/stats.c \
	pager/swap_store.c pager/swap_store.h \
	pager/uffd_compat.h \
	pager/util.c pager/util.h \
	pager/handle.c pager/control.c
