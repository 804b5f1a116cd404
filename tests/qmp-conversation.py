#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""A QMP conversation with a running VM: the greeting, negotiation, every
command of this build, every error class it uses (GenericError,
CommandNotFound, DeviceNotActive), malformed, oversized and split input,
two clients at once, events with timestamps, quit and system_reset. The VM
must keep running through every bad input."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_lib import BUILD, Client, Vm, check, finish  # noqa: E402

IDLE = os.path.join(BUILD, "tests/guests/idle.elf")


def is_error(reply, cls, desc=None):
    return (reply is not None and "error" in reply and reply["error"]["class"] == cls
            and (desc is None or desc in reply["error"]["desc"]))


def running(c):
    return c.cmd("query-status") == {"return": {"running": True, "singlestep": False,
                                                "status": "running"}}


vm = Vm(["--cpus", "2", "--mem", "64M", "--timeout", "120", IDLE],
        spec="unix:PATH,server=on,wait=off")
try:
    check(os.path.exists(vm.path), "QEMU's unix:PATH,server=on,wait=off creates the socket")
    check(os.stat(vm.path).st_mode & 0o777 == 0o600, "the socket has mode 0600")

    # Negotiation.
    a = vm.client(negotiate=False)
    g = a.greeting
    check("QMP" in g and g["QMP"]["capabilities"] == [] and "qemu" in g["QMP"]["version"],
          "greeting: {QMP: {version: {qemu: ...}, capabilities: []}}")
    check(is_error(a.cmd("query-status"), "CommandNotFound", "qmp_capabilities"),
          "a command before qmp_capabilities: CommandNotFound")
    check(is_error(a.cmd("qmp_capabilities", {"enable": ["oob"]}), "GenericError", "oob"),
          "qmp_capabilities enable=[oob]: GenericError (not offered)")
    check(a.cmd("qmp_capabilities") == {"return": {}}, "qmp_capabilities: {return: {}}")
    check(is_error(a.cmd("qmp_capabilities"), "CommandNotFound", "already complete"),
          "qmp_capabilities twice: CommandNotFound")

    # Framing errors; the VM keeps running after each.
    a.send_raw('{"execute": "query-status",,}\n')
    check(is_error(a.reply(), "GenericError", "JSON parse error"), "malformed JSON: GenericError")
    check(running(a), "after malformed JSON the VM still runs and answers")
    a.send_raw("[1, 2]\n")
    check(is_error(a.reply(), "GenericError", "must be a JSON object"),
          "a JSON array: GenericError")
    a.send_raw('{"arguments": {}}\n')
    check(is_error(a.reply(), "GenericError", "lacks member 'execute'"),
          "no 'execute': GenericError")
    a.send_raw('{"execute": 7}\n')
    check(is_error(a.reply(), "GenericError", "'execute' must be a string"),
          "'execute' not a string: GenericError")
    check(is_error(a.cmd("query-status", [1]), "GenericError", "'arguments' must be an object"),
          "'arguments' not an object: GenericError")
    a.send_raw('{"execute": "query-status", "bogus": 1}\n')
    check(is_error(a.reply(), "GenericError", "'bogus' is unexpected"),
          "an unknown member: GenericError")
    a.send_raw('{"execute": "query-status", "arguments": {"s": "' + "x" * 70000 + '"}}\n')
    check(is_error(a.reply(), "GenericError", "too long"), "a 70000-byte message: GenericError")
    check(running(a), "after an oversized message the VM still runs and answers")
    a.send_raw('{"execute": "query-st')
    a.send_raw('atus", "id": "split"}\n')
    r = a.reply()
    check(r is not None and r.get("id") == "split" and r["return"]["status"] == "running",
          "a message split across two writes is one request")
    a.send_raw('{"execute": "query-status", "id": 1}{"execute": "cont", "id": 2}\n')
    r1, r2 = a.reply(), a.reply()
    check(r1.get("id") == 1 and r2 == {"return": {}, "id": 2},
          "two messages in one write: two replies, in order, ids echoed")

    # Commands and argument errors.
    check(is_error(a.cmd("no-such-command"), "CommandNotFound", "no-such-command"),
          "an unknown command: CommandNotFound")
    check(is_error(a.cmd("stop", {"now": True}), "GenericError", "'now' is unexpected"),
          "an unexpected argument: GenericError")
    check(is_error(a.cmd("balloon", {"value": "1G"}), "GenericError", "expected: integer"),
          "an argument of the wrong type: GenericError")
    check(is_error(a.cmd("balloon"), "GenericError", "'value' is missing"),
          "a missing argument: GenericError")
    check(is_error(a.cmd("query-balloon"), "DeviceNotActive"),
          "query-balloon without a balloon: DeviceNotActive")
    check(is_error(a.cmd("balloon", {"value": 1 << 25}), "DeviceNotActive"),
          "balloon without a balloon: DeviceNotActive")
    r = a.cmd("query-memory-size-summary")
    check(r == {"return": {"base-memory": 64 << 20, "plugged-memory": 0}},
          "query-memory-size-summary: base-memory is --mem")
    cpus = a.cmd("query-cpus-fast")["return"]
    tasks = os.listdir("/proc/%d/task" % vm.proc.pid)
    check(len(cpus) == 2 and [c["cpu-index"] for c in cpus] == [0, 1] and
          all(str(c["thread-id"]) in tasks for c in cpus) and
          all(c["target"] == "x86_64" for c in cpus),
          "query-cpus-fast: one entry per vCPU, thread-id a thread of vmm")

    # Two clients: stop on one, both see STOP; cont on the other, both see RESUME.
    b = vm.client()
    check(a.cmd("stop") == {"return": {}}, "stop: {return: {}}")
    ea, eb = a.event("STOP"), b.event("STOP")
    check(ea is not None and eb is not None, "STOP reaches both clients")
    check(ea is not None and ea["timestamp"]["seconds"] > 1e9 and
          0 <= ea["timestamp"]["microseconds"] < 1e6, "events carry a timestamp")
    check(b.cmd("query-status")["return"] == {"running": False, "singlestep": False,
                                              "status": "paused"},
          "query-status on the other client: paused")
    check(b.cmd("stop") == {"return": {}} and a.event("STOP", 0.5) is None,
          "stop when stopped: no second STOP")
    check(b.cmd("cont") == {"return": {}}, "cont: {return: {}}")
    check(a.event("RESUME") is not None and b.event("RESUME") is not None,
          "RESUME reaches both clients")
    check(running(b), "query-status after cont: running")

    # quit: the reply, then SHUTDOWN, then the end with status 0 and no socket left.
    check(b.cmd("quit") == {"return": {}}, "quit: {return: {}}")
    e = a.event("SHUTDOWN")
    check(e is not None and e["data"]["guest"] is False and
          e["data"]["reason"] == "host-qmp-quit", "SHUTDOWN {guest: false, reason: host-qmp-quit}")
    check(vm.wait() == 0, "quit ends vmm with status 0")
    check(a.read() is None, "the connection closes after SHUTDOWN")
    check(not os.path.exists(vm.path), "the socket file is removed at exit")
finally:
    print(vm.stderr(), end="")
    vm.cleanup()

# system_reset: this VMM ends on a reset (QEMU -no-reboot): SHUTDOWN, status 0.
vm = Vm(["--timeout", "60", IDLE])
try:
    c = vm.client()
    check(c.cmd("system_reset") == {"return": {}}, "system_reset: {return: {}}")
    e = c.event("SHUTDOWN")
    check(e is not None and e["data"]["reason"] == "host-qmp-system-reset",
          "SHUTDOWN {reason: host-qmp-system-reset}, as QEMU -no-reboot")
    check(not c.events or all(x["event"] != "RESET" for x in c.events),
          "no RESET event: the machine does not reset")
    check(vm.wait() == 0, "system_reset ends vmm with status 0, as a guest reset")
finally:
    vm.cleanup()

# SIGTERM: SHUTDOWN {reason: host-signal}, then status 12 as without --qmp.
vm = Vm(["--timeout", "60", IDLE])
try:
    c = vm.client()
    vm.proc.terminate()
    e = c.event("SHUTDOWN")
    check(e is not None and e["data"]["reason"] == "host-signal" and
          e["data"]["x-exit-status"] == 12, "SIGTERM: SHUTDOWN {reason: host-signal}")
    check(vm.wait() == 12, "SIGTERM still ends vmm with status 12")
finally:
    vm.cleanup()
finish()
