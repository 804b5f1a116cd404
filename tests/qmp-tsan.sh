#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# The QMP conversation (stop/cont from the server thread against the vCPU
# threads, quit, system_reset, signals) on the VMM built with
# ThreadSanitizer; a data race makes the VMM exit 66 and a check fail.
VMM=${top_builddir:-.}/vmm/vmm-tsan
[ -x "$VMM" ] || { echo "SKIP: vmm/vmm-tsan not built"; exit 77; }
VMM=$(cd "$(dirname "$VMM")" && pwd)/vmm-tsan
export VMM TSAN_OPTIONS="exitcode=66 ${TSAN_OPTIONS:-}"
exec python3 "${top_srcdir:-.}/tests/qmp-conversation.py"
