bin_PROGRAMS += vmm/vmm
vmm_vmm_SOURCES = vmm/main.c
vmm_vmm_LDADD = $(PTHREAD_LIBS)
