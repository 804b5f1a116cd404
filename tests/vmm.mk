# tests/vmm.mk
