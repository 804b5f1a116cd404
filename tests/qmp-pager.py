#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The pager's QMP commands on a running stress guest (2 vCPUs, 1 GiB held
to 256 MiB): x-query-pager's fields, x-set-resident-limit lowering the
limit to 64 MiB (the reply comes once resident_pages is under it, within a
bounded time) and raising it back while other clients keep being served,
x-swap-out, x-swap-in, their argument errors, `vmm ctl ... top`, and the
guest's verdict."""
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_lib import BUILD, VMM, Vm, check, finish  # noqa: E402

STRESS = os.path.join(BUILD, "guest-tests/stress-seq.elf")
FIELDS = ("guest_pages", "resident_limit_pages", "resident_pages", "resident_peak_pages",
          "swapped_pages", "swap_slots_in_use", "faults_missing", "faults_minor",
          "fault_retries", "pages_swapped_in", "pages_swapped_out", "clean_drops",
          "zero_pages", "balloon_pages", "pages_reported_free", "swap_bytes_written",
          "swap_bytes_read", "fault_p50_ns", "fault_p99_ns", "elapsed_ms",
          "last_transition_pages", "last_transition_ms")
STATES = ("idle", "reclaiming", "throttling", "paused-store-full", "swapping-in", "stopped")
MiB = 1 << 20

vm = Vm(["--cpus", "2", "--mem", "1G", "--mem-resident", "256M", "--timeout", "600",
         STRESS, "--", "gens=8", "passes=1"])
try:
    a, b = vm.client(), vm.client()
    st = a.cmd("x-query-pager")["return"]
    check(all(isinstance(st.get(f), int) for f in FIELDS) and st["state"] in STATES,
          "x-query-pager: every field, and a known state (%s)" % st["state"])
    check(st["guest_pages"] == 262144 and st["resident_limit_pages"] == 65536,
          "x-query-pager: guest and limit pages")
    check(a.cmd("x-set-resident-limit", {"bytes": "64M"})["error"]["class"] == "GenericError",
          "x-set-resident-limit bytes as a string: GenericError")
    check(a.cmd("x-set-resident-limit", {"bytes": 4096})["error"]["class"] == "GenericError",
          "x-set-resident-limit below 1 MiB: GenericError")

    # Lower to 64 MiB; b keeps getting answers while a waits.
    done = {}

    def lower():
        t0 = time.time()
        done["reply"] = a.cmd("x-set-resident-limit", {"bytes": 64 * MiB})
        done["seconds"] = time.time() - t0

    t = threading.Thread(target=lower)
    t.start()
    served = 0
    while t.is_alive() and served < 50:
        served += b.cmd("query-status")["return"]["status"] == "running"
        time.sleep(0.05)
    t.join(90)
    check(done.get("reply") == {"return": {}}, "x-set-resident-limit 64 MiB: {return: {}}")
    check(served > 0, "another client is served while the limit is being lowered")
    st = b.cmd("x-query-pager")["return"]
    check(st["resident_limit_pages"] == 16384 and st["resident_pages"] <= 16384,
          "after the reply resident_pages (%d) <= the new limit" % st["resident_pages"])
    check(done.get("seconds", 99) < 60, "reached within 60 s (%.1f s)" % done.get("seconds", 99))
    check(b.cmd("x-set-resident-limit", {"bytes": 256 * MiB}) == {"return": {}},
          "raising back to 256 MiB returns at once")
    check(b.cmd("x-query-pager")["return"]["resident_limit_pages"] == 65536, "limit raised")

    r = a.cmd("x-swap-out")
    check("return" in r and r["return"]["pages"] >= 0, "x-swap-out: {pages: N}")
    r = a.cmd("x-swap-in")
    check("return" in r and r["return"]["pages"] >= 0, "x-swap-in: {pages: N}")

    top = subprocess.run([VMM, "ctl", vm.path, "top", "--count", "2"], capture_output=True,
                         text=True, timeout=30)
    lines = top.stdout.splitlines()
    check(top.returncode == 0 and len(lines) == 2 and "resident" in lines[0] and
          "faults/s" in lines[1], "vmm ctl top --count 2: two plain lines when not a terminal")

    status = vm.wait(500)
    check(status == 1, "the guest's verdict: pass (status %d)" % status)
finally:
    print(vm.stderr(), end="")
    vm.cleanup()
finish()
