# SPDX-License-Identifier: GPL-2.0-only
# Tests of the control plane: the QMP socket (python3 json + socket),
# vmm ctl, and --domain.
TEST_EXTENSIONS += .py
PY_LOG_COMPILER = python3
QMP_TESTS = tests/qmp-conversation.py tests/qmp-socket.py tests/qmp-stop-cont.py \
	tests/qmp-ctl.sh tests/domain.sh tests/qmp-pager.py tests/qmp-balloon.py
TESTS += $(QMP_TESTS)
EXTRA_DIST += $(QMP_TESTS) tests/qmp_lib.py tests/qmp-tsan.sh
if ENABLE_TSAN
TESTS += tests/qmp-tsan.sh
endif
