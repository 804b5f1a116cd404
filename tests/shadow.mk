# tests/shadow.mk
