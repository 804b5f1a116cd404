# SPDX-License-Identifier: GPL-2.0-only
# The control plane of vmm run (QMP socket, status line) and vmm ctl, plus
# the libvirt domain XML reader; part of libvmm.a.
vmm_libvmm_a_SOURCES += \
	vmm/control/cmd_balloon.c vmm/control/qmp_balloon.h \
	vmm/control/cmd_pager.c vmm/control/qmp_pager.h \
	vmm/control/cmd_vm.c \
	vmm/control/control.c vmm/control/control.h \
	vmm/control/ctl.c \
	vmm/control/qmp.c vmm/control/qmp.h \
	vmm/control/qmp_command.h vmm/control/qmp_dispatch.c \
	vmm/control/qmp_socket.c vmm/control/qmp_socket.h \
	vmm/control/status_line.c vmm/control/status_line.h \
	vmm/domain.c vmm/domain.h
vmm_libvmm_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML_CFLAGS)
CONTROL_LIBS = $(JANSSON_LIBS) $(LIBVIRT_LIBS) $(LIBXML_LIBS)
vmm_vmm_LDADD += $(CONTROL_LIBS)
