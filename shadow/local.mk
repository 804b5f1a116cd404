# shadow/local.mk
