# SPDX-License-Identifier: GPL-2.0-only
"""Helpers of the QMP tests: start vmm with --qmp, talk QMP over the socket
with python3's json and socket modules, and count checks."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

VMM = os.environ.get("VMM", "vmm/vmm")
BUILD = os.environ.get("top_builddir", ".")

checks = 0
failures = 0


def check(cond, what):
    """Count one check; print ok/FAIL with WHAT."""
    global checks, failures
    checks += 1
    if cond:
        print("ok: " + what)
    else:
        failures += 1
        print("FAIL: " + what)
    return cond


def finish():
    print("%d passed, %d failed" % (checks - failures, failures))
    sys.exit(1 if failures else 0)


class Client:
    """One QMP connection; replies and events are kept apart."""

    def __init__(self, path, negotiate=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(20)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        self.greeting = self.read()
        if negotiate:
            reply = self.cmd("qmp_capabilities")
            assert reply == {"return": {}}, reply

    def send_raw(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def read(self):
        """The next message (None at end of file)."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def reply(self):
        """The next reply, keeping events that come before it."""
        while True:
            msg = self.read()
            if msg is None or "event" not in msg:
                return msg
            self.events.append(msg)

    def cmd(self, execute, arguments=None, **extra):
        req = {"execute": execute}
        if arguments is not None:
            req["arguments"] = arguments
        req.update(extra)
        self.send_raw(json.dumps(req) + "\n")
        return self.reply()

    def event(self, name, timeout=10):
        """Wait for event NAME (already received or next)."""
        end = time.time() + timeout
        while True:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            if time.time() > end:
                return None
            self.sock.settimeout(max(0.1, end - time.time()))
            try:
                msg = self.read()
            except socket.timeout:
                return None
            finally:
                self.sock.settimeout(20)
            if msg is None:
                return None
            if "event" in msg:
                self.events.append(msg)

    def close(self):
        self.sock.close()


class Vm:
    """vmm run --qmp SOCKET ARGS..., its output in files of a temporary directory
    (DIR in an argument is replaced by that directory)."""

    def __init__(self, args, spec=None):
        self.dir = tempfile.mkdtemp(prefix="vmm-qmp-")
        self.path = os.path.join(self.dir, "qmp.sock")
        self.out = open(os.path.join(self.dir, "out"), "w+")
        self.err = open(os.path.join(self.dir, "err"), "w+")
        qmp = spec.replace("PATH", self.path) if spec else self.path
        args = [a.replace("DIR", self.dir) for a in args]
        self.proc = subprocess.Popen([VMM, "run", "--qmp", qmp] + args, stdin=subprocess.DEVNULL,
                                     stdout=self.out, stderr=self.err)
        end = time.time() + 20
        while not os.path.exists(self.path) and time.time() < end and self.proc.poll() is None:
            time.sleep(0.02)

    def client(self, negotiate=True):
        return Client(self.path, negotiate)

    def wait(self, timeout=60):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def stderr(self):
        self.err.flush()
        with open(self.err.name) as f:
            return f.read()

    def stdout(self):
        self.out.flush()
        with open(self.out.name) as f:
            return f.read()

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["rm", "-rf", self.dir])


def stats(path):
    """The --stats JSON file, or {} while it is being rewritten."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
