# tests/linux.mk: Linux boot loader tests (bzImage, PVH)
