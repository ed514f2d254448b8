#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Live upgrades of svc (svc.c) with real processes, sockets and fds.

Each case starts svc in one release, connects clients that leave bytes in
flight in both directions (a reply the client has not read, a partial request
held in the server's buffer, a whole request the server has not read because
the connection is held), then runs the real `baton upgrade` and checks every
byte and connection afterwards, without the clients reconnecting. Refused and
failed updates must leave the old process serving with its state intact.

Usage: runtime_test.py CASE   (the meson test names the case)
Environment: BATON (the command), SVC_svc_1_0_0 ... (the releases).
"""
import json
import os
import pwd
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BATON = os.environ["BATON"]
# an interpreter another user may run (sys.executable may live under /root)
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable


def svc(release):
    return os.environ["SVC_svc_" + release.replace(".", "_").replace("-", "_")]


class Client:
    """A TCP client of svc that never reconnects."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise AssertionError("connection closed by the server")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()

    def ask(self, req):
        self.send(req.encode() + b"\n")
        return self.line()

    def get(self):
        return dict(kv.split("=", 1) for kv in self.ask("GET").split())

    def close(self):
        self.s.close()


class Service:
    """svc of one release, its control socket in a private directory."""

    def __init__(self, release, env=None, region_mb=4):
        self.dir = tempfile.mkdtemp(prefix="baton-rt-")
        self.ctl = os.path.join(self.dir, "ctl.sock")
        self.portfile = os.path.join(self.dir, "port")
        self.logpath = os.path.join(self.dir, "log")
        e = dict(os.environ)
        e.update(env or {})
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen([svc(release), self.portfile, self.ctl, str(region_mb)],
                                     stderr=self.log, env=e, start_new_session=True)
        for _ in range(1000):
            if os.path.exists(self.portfile) and open(self.portfile).read().endswith("\n"):
                break
            time.sleep(0.01)
        self.port = int(open(self.portfile).read())

    def logtext(self):
        self.log.flush()
        return open(self.logpath).read()

    def stop(self):
        # the whole session: the first release and whatever replaced it
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()


def baton(*args, timeout=60):
    return subprocess.run([BATON] + list(args), capture_output=True, text=True, timeout=timeout)


class Base(unittest.TestCase):
    def start(self, release, env=None):
        s = Service(release, env)
        self.addCleanup(s.stop)
        return s

    def in_flight(self, s):
        """Clients with bytes in flight in both directions; state counter=5."""
        a = Client(s.port)
        self.addCleanup(a.close)
        self.assertEqual(a.ask("INC 5"), "counter=5")
        a.send(b"ECHO before\n")          # its reply stays unread by the client
        a.send(b"ECHO part")              # a partial request, held in svc's buffer
        b = Client(s.port)
        self.addCleanup(b.close)
        self.assertEqual(b.ask("HOLD"), "held")
        b.send(b"ECHO unread by the server\n")   # stays in the kernel, unread
        time.sleep(0.2)
        return a, b

    def check_in_flight(self, a, b, release, gen, counter="5"):
        a.send(b"ial\n")
        self.assertEqual(a.line(), "before")
        self.assertEqual(a.line(), "partial")
        self.assertEqual(b.line(), "unread by the server")
        st = a.get()
        self.assertEqual(st["release"], release)
        self.assertEqual(st["gen"], str(gen))
        self.assertEqual(st["counter"], counter)
        self.assertEqual(st["sum"], "ok")
        self.assertEqual(st["answer"], "42")
        self.assertEqual(st["note"], "cold-start")
        self.assertEqual(b.get()["release"], release)
        return st

    def assert_unchanged(self, s, a, b, pid, out):
        """The old process serves on, its state and connections intact.
        out: the failed upgrade's output. If svc froze, it thawed (says its log)."""
        time.sleep(0.05)
        if "svc: thawed" in s.logtext() or "rolled back" in out.stdout:
            # the held connection is read again after the thaw
            self.assertEqual(b.line(), "unread by the server")
        else:
            # never frozen, so never thawed: the held bytes are still unread
            b.s.settimeout(0.2)
            self.assertRaises(socket.timeout, b.line)
            b.s.settimeout(10)
        a.send(b"ial\n")
        self.assertEqual(a.line(), "before")
        self.assertEqual(a.line(), "partial")
        st = a.get()
        self.assertEqual(st["release"], "1.0.0")
        self.assertEqual(st["gen"], "0")
        self.assertEqual(st["counter"], "5")
        self.assertEqual(st["sum"], "ok")
        self.assertEqual(int(st["pid"]), pid)
        c = Client(s.port)
        self.assertEqual(c.ask("INC 1"), "counter=6")
        c.close()
        self.assertIsNone(s.proc.poll())
        out = baton("status", s.ctl)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("release     1.0.0", out.stdout)

    def upgrade(self, s, release, *extra, code=0, args=None):
        out = baton("upgrade", *extra, s.ctl, svc(release), *(["--"] + args if args else []))
        self.assertEqual(out.returncode, code,
                         "stdout:\n" + out.stdout + "\nstderr:\n" + out.stderr +
                         "\nlog:\n" + s.logtext())
        return out


class Upgrade(Base):
    def test_upgrade(self):
        """1.0.0 to 1.1.0 (next-minor, with an upgrade step v1 to v2)."""
        s = self.start("1.0.0")
        a, b = self.in_flight(s)
        out = self.upgrade(s, "1.1.0")
        for step in ("pre-flight", "spawn+connect", "freeze+save", "send", "restore", "commit"):
            self.assertIn(step, out.stdout)
        self.assertIn("downtime", out.stdout)
        self.assertIn("serving: svc 1.1.0", out.stdout)
        st = self.check_in_flight(a, b, "1.1.0", 1)
        self.assertEqual(st["from"], "1")      # the step ran
        self.assertEqual(s.proc.wait(timeout=10), 0)   # the old process exited
        self.assertNotEqual(int(st["pid"]), s.proc.pid)
        # the listener came along: new clients are served by the new release
        c = Client(s.port)
        self.assertEqual(c.get()["release"], "1.1.0")
        c.close()

    def test_upgrade_json(self):
        s = self.start("1.0.0")
        out = self.upgrade(s, "1.0.1", "--json")
        j = json.loads(out.stdout)
        self.assertTrue(j["ok"])
        self.assertEqual(j["serving"]["release"], "1.0.1")
        self.assertEqual(j["serving"]["generation"], 1)
        self.assertEqual([x["name"] for x in j["steps"]],
                         ["pre-flight", "spawn+connect", "freeze+save", "send", "restore", "commit"])
        self.assertGreater(j["downtime_ms"], 0)

    def test_by_pid(self):
        s = self.start("1.0.0")
        out = baton("upgrade", str(s.proc.pid), svc("1.0.1"))
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("svc 1.0.1", out.stdout)


class Scale(Base):
    def test_many_connections(self):
        """600 connections: the fd table travels in batches of 253."""
        import resource
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < 2000:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4096), hard))
        s = self.start("1.0.0")
        a, b = self.in_flight(s)
        clients = [Client(s.port) for _ in range(600)]
        for i, c in enumerate(clients):
            c.send(b"ECHO %d\n" % i)
        for i, c in enumerate(clients):
            self.assertEqual(c.line(), str(i))
            c.send(b"ECHO again %d" % i)    # partial, held in svc's buffers
        time.sleep(0.3)
        self.upgrade(s, "1.1.0")
        self.check_in_flight(a, b, "1.1.0", 1)
        for i, c in enumerate(clients):
            c.send(b"\n")
            self.assertEqual(c.line(), "again %d" % i)
            c.close()

    def test_region_size(self):
        """Downtime does not grow with the region: 512 MiB as fast as 4."""
        times = {}
        for mb in (4, 512):
            s = Service("1.0.0", region_mb=mb)
            try:
                out = baton("upgrade", "--json", s.ctl, svc("1.0.1"))
                self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
                times[mb] = json.loads(out.stdout)["downtime_ms"]
                c = Client(s.port)
                self.assertEqual(c.get()["sum"], "ok")
                c.close()
            finally:
                s.stop()
        print("downtime: 4 MiB %.3f ms, 512 MiB %.3f ms" % (times[4], times[512]))
        # copying 512 MiB would take well over 100 ms here; a busy CI machine adds noise
        self.assertLess(times[512], max(10 * times[4], 50.0))


class Chain(Base):
    def test_chain(self):
        """1.0.0 -> 1.0.1 (patch) -> 1.1.0 (next-minor) -> 1.1.0 (same build)."""
        s = self.start("1.0.0")
        a, b = self.in_flight(s)
        self.upgrade(s, "1.0.1")
        self.upgrade(s, "1.1.0")
        self.upgrade(s, "1.1.0")
        self.check_in_flight(a, b, "1.1.0", 3)
        st = json.loads(baton("status", "--json", s.ctl).stdout)
        self.assertEqual(st["generation"], 3)
        self.assertEqual(st["origin"]["release"], "1.1.0")
        self.assertEqual(st["origin"]["generation"], 2)


class Refusals(Base):
    CASES = [
        ("0.9.0", "downgrade"),
        ("1.2.0", "path"),
        ("1.0.2-unbound", "unbound"),
        ("1.0.3-layout", "layout"),
    ]

    def test_refusals(self):
        s = self.start("1.0.0")
        a, b = self.in_flight(s)
        for release, rule in self.CASES:
            with self.subTest(release=release):
                out = self.upgrade(s, release, code=1)
                self.assertIn(rule + ":", out.stdout)
                self.assertIn("goes on serving", out.stdout)
                # refused at pre-flight: nothing was frozen, nothing started
                self.assertNotIn("freeze", out.stdout)
                self.assertNotIn("started pid", s.logtext().split("pre-flight")[-1])
        self.assert_unchanged(s, a, b, s.proc.pid, out)
        # and an accepted update still works afterwards, with explicit arguments
        self.upgrade(s, "1.0.1", args=[s.portfile, s.ctl])
        self.assertEqual(b.line(), "unread by the server")
        self.assertEqual(a.get()["release"], "1.0.1")

    def test_refusal_json(self):
        s = self.start("1.0.0")
        out = self.upgrade(s, "0.9.0", "--json", code=1)
        j = json.loads(out.stdout)
        self.assertFalse(j["ok"])
        self.assertIn("downgrade", [f["rule"] for f in j["findings"]])


class Misbehave(Base):
    # mode -> the reason baton upgrade must print
    MODES = {
        "connect-crash": "killed by signal 6",
        "connect-hang": "did not connect within 700 ms",
        "connect-garbage": "hello: from the new process: not a baton message",
        "hello-crash": "was killed by signal 6",
        "hello-hang": "sent nothing within 700 ms",
        "hello-wrongtype": "sent a ready message where hello was expected",
        "hello-otherrelease": "but the pre-flight checked svc 1.1.0",
        "image-crash": "was killed by signal 6",
        "image-hang": "restore: the new process",
        "image-garbage": "restore: from the new process: not a baton message",
        "restore-refuse": "restore by handler svc.state returned -71",
        "restore-crash": "killed by signal 6",
        "restore-hang": "sent nothing within 700 ms",
    }

    def test_misbehave(self):
        for mode, reason in self.MODES.items():
            with self.subTest(mode=mode):
                s = self.start("1.0.0", {"SVC_MISBEHAVE": mode, "SVC_TIMEOUT_MS": "700"})
                a, b = self.in_flight(s)
                out = self.upgrade(s, "1.1.0", code=1)
                self.assertIn("goes on serving", out.stdout)
                self.assertIn(reason, out.stdout)
                self.assert_unchanged(s, a, b, s.proc.pid, out)
                s.stop()


class Strangers(Base):
    def test_control_stranger(self):
        """Another uid: refused by the socket's mode, and by SO_PEERCRED if let in."""
        s = self.start("1.0.0")
        os.chmod(s.dir, 0o755)
        nobody = pwd.getpwnam("nobody").pw_uid

        def as_nobody():
            os.setgid(nobody)
            os.setuid(nobody)

        probe = ("import socket,sys\n"
                 "s=socket.socket(socket.AF_UNIX)\n"
                 "try:\n s.connect(sys.argv[1])\nexcept PermissionError:\n print('EACCES'); sys.exit(0)\n"
                 "try:\n"
                 " s.sendall(bytes.fromhex('42544e4d000100110000000000000000'))\n"
                 " s.settimeout(5)\n"
                 " print('EOF' if s.recv(100)==b'' else 'ANSWERED')\n"
                 "except (BrokenPipeError, ConnectionResetError):\n print('EOF')\n")
        if os.getuid() != 0:
            self.skipTest("needs root to become another user")
        r = subprocess.run([PYTHON, "-c", probe, s.ctl], preexec_fn=as_nobody,
                           capture_output=True, text=True)
        self.assertEqual(r.stdout.strip(), "EACCES", r.stderr)
        os.chmod(s.ctl, 0o666)
        r = subprocess.run([PYTHON, "-c", probe, s.ctl], preexec_fn=as_nobody,
                           capture_output=True, text=True)
        self.assertEqual(r.stdout.strip(), "EOF", r.stderr)
        self.assertIn("refused a client", s.logtext())
        self.assertEqual(baton("status", s.ctl).returncode, 0)

    def test_successor_stranger(self):
        """A process of the same uid (not the child) and one of another uid
        connect to the handoff socket first: rejected, the update goes on."""
        modes = ["stranger"] + (["stranger-uid"] if os.getuid() == 0 else [])
        for mode in modes:
            with self.subTest(mode=mode):
                s = self.start("1.0.0", {"SVC_MISBEHAVE": mode})
                a, b = self.in_flight(s)
                self.upgrade(s, "1.1.0")
                self.check_in_flight(a, b, "1.1.0", 1)
                log = s.logtext()
                self.assertIn("rejected a connection to the handoff socket", log)
                self.assertIn("stranger (%s) exit 0" %
                              ("other uid" if mode == "stranger-uid" else "same uid"), log)
                s.stop()


class Triggers(Base):
    def test_signal(self):
        """The program's upgrade signal upgrades to its own file (same build)."""
        s = self.start("1.0.0")
        a, b = self.in_flight(s)
        os.kill(s.proc.pid, signal.SIGUSR2)
        self.assertEqual(s.proc.wait(timeout=10), 0)
        st = self.check_in_flight(a, b, "1.0.0", 1)
        self.assertNotEqual(int(st["pid"]), s.proc.pid)

    def test_api(self):
        """baton_rt_upgrade() from the program itself."""
        s = self.start("1.0.0")
        a, b = self.in_flight(s)
        c = Client(s.port)
        self.assertEqual(c.ask("UPGRADE " + svc("1.1.0")), "upgrade=0")
        self.assertEqual(s.proc.wait(timeout=10), 0)
        self.check_in_flight(a, b, "1.1.0", 1)
        # the connection that asked came along too
        self.assertEqual(c.get()["release"], "1.1.0")
        # and a refused pre-flight is the call's return value
        self.assertEqual(c.ask("UPGRADE " + svc("0.9.0")), "upgrade=-1")
        self.assertEqual(c.get()["gen"], "1")

    def test_timeout_option(self):
        """--timeout overrides the program's deadline."""
        s = self.start("1.0.0", {"SVC_MISBEHAVE": "hello-hang", "SVC_TIMEOUT_MS": "20000"})
        t = time.monotonic()
        out = self.upgrade(s, "1.1.0", "--timeout", "300", code=1)
        self.assertLess(time.monotonic() - t, 5)
        self.assertIn("within 300 ms", out.stdout)
        self.assertEqual(baton("upgrade", "--timeout", "0", s.ctl, svc("1.1.0")).returncode, 2)

    def test_busy(self):
        """A second request while one runs is answered busy."""
        s = self.start("1.0.0", {"SVC_MISBEHAVE": "connect-hang", "SVC_TIMEOUT_MS": "1500"})
        first = subprocess.Popen([BATON, "upgrade", s.ctl, svc("1.1.0")],
                                 stdout=subprocess.PIPE, text=True)
        time.sleep(0.3)
        out = baton("upgrade", s.ctl, svc("1.0.1"))
        self.assertEqual(out.returncode, 1, out.stdout + out.stderr)
        self.assertIn("already in progress", out.stdout)
        self.assertEqual(first.wait(timeout=20), 1)

    def test_usage(self):
        self.assertEqual(baton("upgrade").returncode, 2)
        self.assertEqual(baton("upgrade", "/nonexistent.sock", svc("1.0.0")).returncode, 2)
        self.assertEqual(baton("status", "/nonexistent.sock").returncode, 2)
        s = self.start("1.0.0")
        self.assertEqual(baton("upgrade", s.ctl, "/nonexistent/program").returncode, 2)


class Exec(Base):
    def test_exec(self):
        """In place: the same pid, the new release, every byte."""
        s = self.start("1.0.0")
        a, b = self.in_flight(s)
        out = self.upgrade(s, "1.1.0", "--exec")
        self.assertIn("serving: svc 1.1.0", out.stdout)
        st = self.check_in_flight(a, b, "1.1.0", 1)
        self.assertEqual(int(st["pid"]), s.proc.pid)
        self.assertIsNone(s.proc.poll())

    def test_exec_fallback(self):
        """The new program refuses: it re-executes the old one with the same image."""
        s = self.start("1.0.0", {"SVC_MISBEHAVE": "restore-refuse"})
        a, b = self.in_flight(s)
        out = self.upgrade(s, "1.1.0", "--exec", code=1)
        self.assertIn("rolled back", out.stdout)
        self.assert_unchanged(s, a, b, s.proc.pid, out)


class Faults(Base):
    # point[:pass] in the old process; every one leaves it serving
    OLD = ["memfd_create:2", "mmap:2", "seal", "sendmsg", "spawn", "pidfd_open",
           "timerfd", "socket", "fcntl"]
    # in the successor (BATON_FAULT_CHILD)
    NEW = ["mmap", "recvmsg", "sendmsg"]

    def test_faults(self):
        for point in self.OLD + ["child:" + p for p in self.NEW]:
            with self.subTest(point=point):
                if point.startswith("child:"):
                    env = {"BATON_FAULT_CHILD": point[6:]}
                else:
                    env = {"BATON_FAULT": point}
                s = self.start("1.0.0", env)
                a, b = self.in_flight(s)
                out = self.upgrade(s, "1.1.0", code=1)
                self.assertIn("goes on serving", out.stdout)
                self.assert_unchanged(s, a, b, s.proc.pid, out)
                s.stop()

    def test_old_side_failures(self):
        """The program's own freeze or save fails, saves a key twice or
        leaves a field unset: cancelled before anything is sent."""
        cases = {"freeze-fail": "freeze callback returned", "save-fail": "handler svc.state failed",
                 "save-twice": "saved twice", "save-unset": "was not set"}
        for fault, words in cases.items():
            with self.subTest(fault=fault):
                s = self.start("1.0.0", {"SVC_OLD_FAULT": fault})
                a, b = self.in_flight(s)
                out = self.upgrade(s, "1.1.0", code=1)
                self.assertIn(words, out.stdout)
                self.assertNotIn("send", out.stdout)
                self.assert_unchanged(s, a, b, s.proc.pid, out)
                s.stop()

    def test_accept_fault(self):
        """A failed accept() is retried: the child's connection still waits."""
        s = self.start("1.0.0", {"BATON_FAULT": "accept"})
        a, b = self.in_flight(s)
        self.upgrade(s, "1.1.0")
        self.check_in_flight(a, b, "1.1.0", 1)

    def test_old_dies_at_commit(self):
        """The old process dies after READY, before COMMIT: the successor,
        alone with the state, takes over (and says so)."""
        s = self.start("1.0.0", {"BATON_FAULT": "die_before_commit"})
        a, b = self.in_flight(s)
        out = baton("upgrade", s.ctl, svc("1.1.0"))
        self.assertEqual(out.returncode, 2, out.stdout + out.stderr)   # outcome unknown to it
        self.assertIn("baton status", out.stderr)
        self.assertNotEqual(s.proc.wait(timeout=10), 0)
        self.check_in_flight(a, b, "1.1.0", 1)
        self.assertIn("takes over", s.logtext())

    def test_old_stalls_at_commit(self):
        """The old process stalls after READY for twice the deadline, then
        commits: the successor waited, and serves."""
        s = self.start("1.0.0", {"BATON_FAULT": "stall_before_commit", "SVC_TIMEOUT_MS": "400"})
        a, b = self.in_flight(s)
        self.upgrade(s, "1.1.0")
        self.check_in_flight(a, b, "1.1.0", 1)
        self.assertIn("still waiting", s.logtext())

    def test_exec_fault(self):
        s = self.start("1.0.0", {"BATON_FAULT": "exec"})
        a, b = self.in_flight(s)
        out = self.upgrade(s, "1.1.0", "--exec", code=1)
        self.assertIn("nothing was replaced", out.stdout)
        self.assert_unchanged(s, a, b, s.proc.pid, out)


class Status(Base):
    def test_status(self):
        s = self.start("1.0.0")
        out = baton("status", s.ctl)
        self.assertEqual(out.returncode, 0)
        self.assertIn("state from  a cold start", out.stdout)
        self.assertIn("pid         %d" % s.proc.pid, out.stdout)
        j = json.loads(baton("status", "--json", str(s.proc.pid)).stdout)
        self.assertEqual(j["release"], "1.0.0")
        self.assertIsNone(j["origin"])
        self.upgrade(s, "1.0.1")
        j = json.loads(baton("status", "--json", s.ctl).stdout)
        self.assertEqual((j["release"], j["generation"]), ("1.0.1", 1))
        self.assertEqual((j["origin"]["release"], j["origin"]["generation"]), ("1.0.0", 0))
        self.assertLess(j["origin"]["handover_ms"], 5000)


CASES = {
    "upgrade": Upgrade, "scale": Scale, "chain": Chain, "refusals": Refusals, "misbehave": Misbehave,
    "strangers": Strangers, "triggers": Triggers, "exec": Exec, "faults": Faults,
    "status": Status,
}

if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(CASES[sys.argv[1]])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    sys.exit(0 if result.wasSuccessful() else 1)
