# SPDX-License-Identifier: GPL-2.0-only
# fuzz/local.mk: libFuzzer harnesses (see fuzz/README.md).
#
# A harness is fuzz/fuzz_NAME.c, defining LLVMFuzzerTestOneInput(); adding
# one is one line here, FUZZ_BINS += fuzz/fuzz_NAME (a list automake can
# read: TESTS is derived from it). Each is built with $(FUZZ_CC) (clang,
# found by configure) and linked against the VMM's own sources compiled a second
# time with coverage and the sanitizers (fuzz/libvmm-fuzz.a: every .c of
# libvmm, libpager, libshadow and libnotifier), so that it calls the real code.
# `make fuzz` runs each for FUZZ_SECONDS; `make check` runs each for a few
# seconds (fuzz/smoke.sh) when configure found clang with libFuzzer.
FUZZ_BINS =
FUZZ_BINS += fuzz/fuzz_multiboot
FUZZ_BINS += fuzz/fuzz_bzimage
FUZZ_BINS += fuzz/fuzz_pvh
FUZZ_BINS += fuzz/fuzz_options
FUZZ_BINS += fuzz/fuzz_virtqueue
FUZZ_BINS += fuzz/fuzz_pci_config
# The names make fuzz runs (make fuzz FUZZ_TARGETS=pvh picks some).
FUZZ_TARGETS = $(patsubst fuzz/fuzz_%,%,$(FUZZ_BINS))

EXTRA_DIST += fuzz/README.md fuzz/fuzz.h fuzz/run.sh fuzz/smoke.sh fuzz/mkseeds.c \
	$(FUZZ_BINS:=.c) fuzz/corpus \
	fuzz/multiboot.dict fuzz/bzimage.dict fuzz/pvh.dict fuzz/options.dict

FUZZ_VMM_SRCS = $(vmm_libvmm_a_SOURCES) $(pager_libpager_a_SOURCES) \
	$(shadow_libshadow_a_SOURCES) $(notifier_libnotifier_a_SOURCES)
FUZZ_VMM_OBJS = $(patsubst %.c,fuzz/obj/%.o,$(filter %.c,$(FUZZ_VMM_SRCS)))
FUZZ_VMM_HDRS = $(addprefix $(srcdir)/,$(filter %.h,$(FUZZ_VMM_SRCS))) \
	$(srcdir)/fuzz/fuzz.h config.h
FUZZ_SANITIZE = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_COMPILE = $(FUZZ_CC) $(DEFS) $(AM_CPPFLAGS) $(CPPFLAGS) -g -O1 -fno-omit-frame-pointer \
	$(FUZZ_SANITIZE) $(WARN_CFLAGS) $(PTHREAD_CFLAGS) \
	$(JANSSON_CFLAGS) $(LIBVIRT_CFLAGS) $(LIBXML_CFLAGS)
FUZZ_LIBS = $(PTHREAD_LIBS) $(CONTROL_LIBS)

TEST_EXTENSIONS += .fuzz
FUZZ_LOG_COMPILER = $(SHELL) $(srcdir)/fuzz/smoke.sh

.PHONY: fuzz
if HAVE_LIBFUZZER
fuzz/obj/%.o: $(srcdir)/%.c $(FUZZ_VMM_HDRS)
	@$(MKDIR_P) $(@D)
	$(AM_V_CC)$(FUZZ_COMPILE) -fsanitize=fuzzer-no-link -c -o $@ $<

fuzz/libvmm-fuzz.a: $(FUZZ_VMM_OBJS)
	$(AM_V_AR)rm -f $@ && $(AR) rc $@ $(FUZZ_VMM_OBJS) && $(RANLIB) $@

$(FUZZ_BINS): fuzz/fuzz_%: $(srcdir)/fuzz/fuzz_%.c fuzz/libvmm-fuzz.a $(FUZZ_VMM_HDRS)
	$(AM_V_CCLD)$(FUZZ_COMPILE) -fsanitize=fuzzer -o $@ $< fuzz/libvmm-fuzz.a $(FUZZ_LIBS)

# The binary seeds, generated (fuzz/mkseeds.c) rather than committed.
check_PROGRAMS += fuzz/mkseeds
fuzz_mkseeds_SOURCES = fuzz/mkseeds.c
fuzz/seeds.stamp: fuzz/mkseeds$(EXEEXT)
	$(AM_V_GEN)rm -rf fuzz/seeds && fuzz/mkseeds$(EXEEXT) fuzz/seeds && touch $@

# make check: one test per harness, fuzz/fuzz_NAME.fuzz, run by fuzz/smoke.sh.
FUZZ_TESTS = $(FUZZ_BINS:=.fuzz)
$(FUZZ_TESTS): fuzz/%.fuzz: fuzz/% fuzz/seeds.stamp
	$(AM_V_GEN)echo "# make check: fuzz/smoke.sh runs fuzz/$* (fuzz/local.mk)" >$@
check_DATA += $(FUZZ_BINS) fuzz/seeds.stamp $(FUZZ_TESTS)
TESTS += $(FUZZ_TESTS)
# Known bugs a harness finds, reported and being fixed elsewhere, as
# NAME:FUNCTION: its smoke test is skipped while the report starts in that
# function. None today.
FUZZ_KNOWN_BUGS =
AM_TESTS_ENVIRONMENT += FUZZ_KNOWN_BUGS='$(FUZZ_KNOWN_BUGS)'; export FUZZ_KNOWN_BUGS;

fuzz: $(FUZZ_BINS) fuzz/seeds.stamp
	$(AM_V_at)top_srcdir='$(top_srcdir)' $(SHELL) $(srcdir)/fuzz/run.sh $(FUZZ_TARGETS)
else
fuzz:
	@echo "make fuzz: configure found no clang with libFuzzer (Debian: apt-get install clang libclang-rt-14-dev), or was given --disable-fuzz" >&2; exit 1
endif

CLEANFILES += $(FUZZ_BINS) $(FUZZ_TESTS) fuzz/libvmm-fuzz.a fuzz/seeds.stamp
clean-local: clean-fuzz
clean-fuzz:
	-rm -rf fuzz/obj fuzz/seeds
distclean-local: distclean-fuzz
distclean-fuzz:
	-rm -rf fuzz/work
.PHONY: clean-fuzz distclean-fuzz
