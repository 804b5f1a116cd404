# bench/local.mk: benchmark guests and the bench smoke test
