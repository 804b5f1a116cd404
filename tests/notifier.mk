# tests/notifier.mk
