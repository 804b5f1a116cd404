#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""query-balloon and balloon with the balloon device present (--balloon):
"actual" is the guest's RAM less the balloon, a new target is accepted and
reaches the device (its exit summary shows the balloon size asked for), a
target above the guest's RAM is a GenericError, and the guest's verdict
is untouched."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_lib import BUILD, Vm, check, finish  # noqa: E402

STRESS = os.path.join(BUILD, "guest-tests/stress-seq.elf")
MiB = 1 << 20

vm = Vm(["--cpus", "1", "--mem", "256M", "--balloon", "--timeout", "300",
         STRESS, "--", "gens=6", "passes=1"])
try:
    a = vm.client()
    r = a.cmd("query-balloon")
    check(r.get("return", {}).get("actual") == 256 * MiB,
          "query-balloon: actual is all of guest RAM while nothing is inflated (%s)" % r)
    r = a.cmd("balloon", {"value": 192 * MiB})
    check(r.get("return") == {}, "balloon 192 MiB: accepted (%s)" % r)
    r = a.cmd("balloon", {"value": 512 * MiB})
    check(r.get("error", {}).get("class") == "GenericError" and
          "more than the guest's RAM" in r["error"].get("desc", ""),
          "balloon above the guest's RAM: GenericError (%s)" % r)
    status = vm.wait(300)
    check(status == 1, "the guest passes (status %d)" % status)
    check("balloon: target 16384 pages" in vm.stderr(),
          "the device got the target: 64 MiB of balloon, 16384 pages")
finally:
    vm.cleanup()
finish()
