# SPDX-License-Identifier: GPL-2.0-only
# tests/virtio.mk: the balloon's effect on host memory without a pager
# (the guest-side virtio tests are guest-tests/balloon*.gt).
TESTS += tests/balloon-resident.sh
EXTRA_DIST += tests/balloon-resident.sh
if ENABLE_TSAN
TESTS += tests/balloon-tsan.sh
endif
EXTRA_DIST += tests/balloon-tsan.sh
