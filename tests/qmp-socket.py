#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The QMP socket's access rules: mode 0600 keeps other users out; with the
mode widened, SO_PEERCRED still refuses another uid (run as 'nobody' with
setpriv) while the VM keeps answering its owner; a stale socket is
replaced, a regular file or a live socket never; the --qmp argument's
errors name the problem."""
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qmp_lib import BUILD, VMM, Vm, check, finish  # noqa: E402

IDLE = os.path.join(BUILD, "tests/guests/idle.elf")
CONNECT = ("import socket, sys\n"
           "s = socket.socket(socket.AF_UNIX)\n"
           "try:\n"
           "    s.connect(sys.argv[1])\n"
           "except OSError as e:\n"
           "    print('connect:', e.strerror); sys.exit(3)\n"
           "s.settimeout(10)\n"
           "print('read:', repr(s.recv(4096)))\n")


def as_nobody(path):
    return subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                           sys.executable, "-c", CONNECT, path],
                          capture_output=True, text=True, timeout=30)


if os.geteuid() != 0 or shutil.which("setpriv") is None:
    print("SKIP: needs root and setpriv (util-linux) to connect as another uid")
    sys.exit(77)
pwd.getpwnam("nobody")

vm = Vm(["--timeout", "60", IDLE])
try:
    os.chmod(vm.dir, 0o711)     # let nobody reach the socket itself
    r = as_nobody(vm.path)
    check(r.returncode == 3 and "Permission denied" in r.stdout,
          "mode 0600: another uid cannot connect (%s)" % r.stdout.strip())
    os.chmod(vm.path, 0o666)
    r = as_nobody(vm.path)
    check(r.returncode == 0 and "read: b''" in r.stdout,
          "mode widened: SO_PEERCRED refuses uid nobody, no greeting (%s)" % r.stdout.strip())
    c = vm.client()
    check(c.cmd("query-status")["return"]["status"] == "running",
          "the owner still gets answers after the refusal")
    check(c.cmd("quit") == {"return": {}} and vm.wait() == 0, "quit")
    check("refused a connection from uid %d" % pwd.getpwnam("nobody").pw_uid in vm.stderr(),
          "vmm says which uid it refused")
finally:
    vm.cleanup()

tmp = tempfile.mkdtemp(prefix="vmm-qmp-")
try:
    def run(*args):
        return subprocess.run([VMM, "run"] + list(args) + ["--timeout", "0.5", IDLE],
                              capture_output=True, text=True, timeout=60)

    stale = os.path.join(tmp, "stale.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(stale)
    s.close()                   # a socket file nobody listens on
    r = run("--qmp", stale)
    check(r.returncode == 10 and not os.path.exists(stale),
          "a stale socket is replaced (and removed at exit)")

    plain = os.path.join(tmp, "file")
    with open(plain, "w") as f:
        f.write("keep me\n")
    r = run("--qmp", plain)
    with open(plain) as f:
        kept = f.read() == "keep me\n"
    check(r.returncode == 2 and "not a socket; not replacing it" in r.stderr and kept,
          "a regular file is refused and left alone: " + r.stderr.strip().splitlines()[-1])

    live = os.path.join(tmp, "live.sock")
    s = socket.socket(socket.AF_UNIX)
    s.bind(live)
    s.listen(1)
    r = run("--qmp", live)
    check(r.returncode == 2 and "another process listens" in r.stderr and os.path.exists(live),
          "a socket somebody listens on is refused")
    s.close()

    for spec, msg in (("unix:" + tmp + "/x,wait=on", "wait=on is not supported"),
                      ("unix:" + tmp + "/x,server=off", "server=off is not supported"),
                      ("unix:" + tmp + "/x,color=blue", "unknown option 'color=blue'"),
                      ("unix:", "no socket path"),
                      (tmp + "/" + "d" * 120, "longer than 107 bytes"),
                      (tmp + "/no/such/dir/s", "No such file or directory")):
        r = run("--qmp", spec)
        check(r.returncode == 2 and msg in r.stderr, "--qmp %s: %s" % (spec[:40], msg))
finally:
    shutil.rmtree(tmp)
finish()
