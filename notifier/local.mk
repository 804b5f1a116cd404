# notifier/local.mk
