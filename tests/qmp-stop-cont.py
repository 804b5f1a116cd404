#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""stop and cont while the pager is swapping: a stress guest on 2 vCPUs
with 256 MiB held to 64 MiB. While stopped the guest makes no progress:
no fault reaches the pager, no serial output, no CPU time on the vCPU
threads, while the --stats file keeps being rewritten. After cont it
verifies every byte and passes."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_lib import BUILD, Vm, check, finish, stats  # noqa: E402

STRESS = os.path.join(BUILD, "guest-tests/stress-seq.elf")


def vcpu_ticks(pid, tids):
    total = 0
    for tid in tids:
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])     # utime + stime
    return total


def faults(s):
    return s.get("faults_missing", -1) + s.get("faults_minor", -1)


def fresh_stats(path, after_ms):
    """The stats file once it was rewritten after elapsed_ms AFTER_MS."""
    end = time.time() + 10
    while time.time() < end:
        s = stats(path)
        if s.get("elapsed_ms", -1) > after_ms:
            return s
        time.sleep(0.1)
    return {}


vm = Vm(["--cpus", "2", "--mem", "256M", "--mem-resident", "64M", "--stats", "DIR/stats",
         "--timeout", "240", STRESS, "--", "gens=6", "passes=1"])
path = os.path.join(vm.dir, "stats")
try:
    c = vm.client()
    end = time.time() + 60
    while stats(path).get("pages_swapped_out", 0) == 0 and time.time() < end:
        time.sleep(0.1)
    tids = [x["thread-id"] for x in c.cmd("query-cpus-fast")["return"]]
    check(stats(path).get("pages_swapped_out", 0) > 0, "the pager is swapping out")

    check(c.cmd("stop") == {"return": {}} and c.event("STOP") is not None, "stop, STOP")
    s1 = fresh_stats(path, 0)
    s1 = fresh_stats(path, s1.get("elapsed_ms", 0))     # one full period after stop
    out1, ticks1 = vm.stdout(), vcpu_ticks(vm.proc.pid, tids)
    s2 = fresh_stats(path, s1.get("elapsed_ms", 0) + 2000)
    out2, ticks2 = vm.stdout(), vcpu_ticks(vm.proc.pid, tids)
    check(s2.get("elapsed_ms", 0) > s1.get("elapsed_ms", 0) + 2000,
          "while stopped, --stats is still rewritten (%d -> %d ms)" %
          (s1.get("elapsed_ms", 0), s2.get("elapsed_ms", 0)))
    check(faults(s1) == faults(s2) and faults(s1) > 0,
          "while stopped, no guest fault reaches the pager (%d, %d)" % (faults(s1), faults(s2)))
    check(s1.get("pages_swapped_in") == s2.get("pages_swapped_in"),
          "while stopped, nothing is swapped in")
    check(out1 == out2, "while stopped, the guest prints nothing")
    check(ticks2 - ticks1 <= 1, "while stopped, the vCPU threads use no CPU (%d ticks)" %
          (ticks2 - ticks1))
    check(c.cmd("query-status")["return"]["status"] == "paused", "query-status: paused")

    check(c.cmd("cont") == {"return": {}} and c.event("RESUME") is not None, "cont, RESUME")
    status = vm.wait(200)
    check(status == 1, "the guest's verdict after cont: pass (status %d)" % status)
    check("stress-seq: pass" in vm.stdout(), "the guest verified every byte")
    s3 = stats(path)
    check(faults(s3) > faults(s2), "after cont the guest faults again (%d -> %d)" %
          (faults(s2), faults(s3)))
finally:
    print(vm.stderr(), end="")
    vm.cleanup()
finish()
