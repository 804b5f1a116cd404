# guest-tests/local.mk
