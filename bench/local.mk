# SPDX-License-Identifier: GPL-2.0-only
# bench/local.mk: benchmark guests and the bench smoke test.
#
# bench/run is the benchmark driver (bench/README.md); `make check` runs it
# in quick mode once, as a smoke test that it works (no timing asserts).
# The guest image reuses the guest runtime of guest-tests/local.mk.

bench/guests/bench.o: $(srcdir)/bench/guests/bench.c $(GUEST_HDRS)
	$(AM_V_CC)$(MKDIR_P) bench/guests && $(GUEST_CC) $(GUEST_COMPILE_FLAGS) \
		-c -o $@ $(srcdir)/bench/guests/bench.c
bench/guests/bench.elf64: bench/guests/bench.o $(GUEST_LINK_DEPS)
	$(guest_ld) -o $@ bench/guests/bench.o $(GUEST_LIB_OBJS)
bench/guests/bench.elf: bench/guests/bench.elf64
	$(guest_objcopy) bench/guests/bench.elf64 $@

noinst_DATA += bench/guests/bench.elf
CLEANFILES += bench/guests/bench.elf bench/guests/bench.elf64 bench/guests/bench.o

# Bench-only programs, built by `make check` (the smoke test runs them) and
# by bench/run: the bare userfaultfd mechanism, and the swap store's I/O.
check_PROGRAMS += bench/bare-uffd
bench_bare_uffd_SOURCES = bench/bare-uffd.c
bench_bare_uffd_LDADD = vmm/libvmm.a pager/libpager.a shadow/libshadow.a notifier/libnotifier.a \
	$(PTHREAD_LIBS) $(CONTROL_LIBS)
check_PROGRAMS += bench/store-io
bench_store_io_SOURCES = bench/store-io.c
bench_store_io_LDADD = pager/libpager.a $(PTHREAD_LIBS)

TESTS += bench/smoke.sh

EXTRA_DIST += \
	bench/README.md \
	bench/run \
	bench/disk.sh \
	bench/disk-results.md \
	bench/smoke.sh \
	bench/plot.gp \
	bench/guests/bench.c \
	bench/results/tables.md \
	bench/results/demand.png \
	bench/results/sweep.png \
	bench/results/start.png \
	bench/results/overhead.png \
	bench/results/reclaim.png
