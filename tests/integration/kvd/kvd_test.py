#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end tests of kvd, the memcached-protocol cache that upgrades live.

Each case starts real kvd processes on a free loopback port, talks to them as
memcached clients do, and checks every answer byte for byte. Cases:

  protocol     the text protocol: replies, error strings, noreply, pipelining,
               requests split at every byte, large values, expiry, eviction
  memccapable  libmemcached's `memccapable -a` against kvd, then memcslap
  upgrade      tens of MiB loaded into kvd 1.0.0, clients connected (one with
               a request half sent, one with a pipelined batch it has not read,
               three issuing requests throughout, one connecting anew again and
               again), `baton upgrade` to 1.1.0: every key byte for byte, every
               connection still working, none refused, stats
  refusals     1.1.0 -> 1.0.0 (downgrade) and 0.9.0 -> 1.1.0 (unsupported
               jump) are refused and the server keeps serving every key; the
               supported chain 0.9.0 -> 1.0.0 -> 1.1.0 works
  rollback     the new process fails after kvd froze and saved (an injected
               fault): kvd thaws and serves every key and client as before
  takeover     the old process dies at the commit point (an injected fault):
               the new one takes over alone, with every key and client
  history      kvd's own release history (examples/kvd/history): every
               supported path into the built releases passes, retire and plan
               say what they should, and rule 7 on it: dropping the read of
               kvd.cache v1 breaks 1.0.0 -> 1.1.0 until a release that no
               longer accepts 1.0 makes v1 removable

Usage: kvd_test.py CASE --kvd-dir DIR [--baton PATH] [--history DIR]
Only the standard library. Every process started is killed on the way out,
including successors that outlive the process that spawned them (this
driver is their subreaper), and a case that takes too long fails cleanly.
"""
import argparse
import ctypes
import hashlib
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

CASE_TIMEOUT = 240
SKIP = 77


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


def log(msg):
    print(msg, flush=True)


# --------------------------------------------------------------------------
# Processes


def no_core_dumps():
    # A process that aborts on purpose must not dump a cache's worth of core.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


class Procs:
    """Every process this driver started, and their descendants."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.popens = []
        self.pids = set()
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
        except OSError:
            pass

    def start(self, argv, name, env=None):
        out = open(os.path.join(self.tmp, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             env=dict(os.environ, **(env or {})),
                             preexec_fn=no_core_dumps)
        self.popens.append(p)
        self.pids.add(p.pid)
        return p

    def remember(self, pid):
        self.pids.add(pid)

    def cleanup(self):
        for pid in list(self.pids):
            for kill in (lambda: os.killpg(pid, signal.SIGKILL),
                         lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except (ProcessLookupError, PermissionError):
                    pass
        for p in self.popens:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        # Reap whatever was reparented to us.
        deadline = time.time() + 5
        while time.time() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                time.sleep(0.05)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kvd:
    """One kvd service: its port, control socket and the process now serving it."""

    def __init__(self, procs, exe, mem=64, extra=(), env=None):
        self.procs = procs
        self.control = os.path.join(procs.tmp, "kvd-%d.ctl" % random.randrange(1 << 30))
        for attempt in range(5):
            self.port = free_port()
            argv = [exe, "-p", str(self.port), "-l", "127.0.0.1", "-m", str(mem), "-v",
                    "--control", self.control, *extra]
            self.proc = procs.start(argv, "kvd-%d" % self.port, env)
            if self.wait_ready():
                return
            self.proc.kill()
            self.proc.wait()
        raise Fail("kvd %s did not start; see its log in %s" % (exe, procs.tmp))

    def wait_ready(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.02)
        return False

    def client(self):
        return Client(self.port)

    def stats(self, arg=""):
        with self.client() as c:
            return c.stats(arg)


# --------------------------------------------------------------------------
# A memcached text-protocol client


class Client:
    def __init__(self, port, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        b = self.sock.recv(1 << 20)
        if not b:
            raise Fail("connection closed by the server")
        self.buf += b

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            self._fill()

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def closed(self, timeout=2):
        """True when the server closes the connection without sending more."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b"" and not self.buf
        except socket.timeout:
            return False

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.line()

    def store(self, op, key, value, flags=0, exptime=0, cas=None, noreply=False):
        line = b"%s %s %d %d %d" % (op, key, flags, exptime, len(value))
        if cas is not None:
            line += b" %d" % cas
        if noreply:
            line += b" noreply"
        self.send(line + b"\r\n" + value + b"\r\n")
        return None if noreply else self.line()

    def set(self, key, value, **kw):
        return self.store(b"set", key, value, **kw)

    def read_values(self, with_cas=False):
        """VALUE lines up to END: {key: (flags, value[, cas])}."""
        out = {}
        while True:
            head = self.line()
            if head == b"END":
                return out
            parts = head.split(b" ")
            check(parts[0] == b"VALUE" and len(parts) == (5 if with_cas else 4),
                  "bad value line %r" % head)
            n = int(parts[3])
            data = self.exact(n + 2)
            check(data[-2:] == b"\r\n", "value of %r not followed by CRLF" % parts[1])
            v = (int(parts[2]), data[:-2])
            out[parts[1]] = v + ((int(parts[4]),) if with_cas else ())

    def get_multi(self, keys, cmd=b"get"):
        self.send(cmd + b" " + b" ".join(keys) + b"\r\n")
        return self.read_values(cmd in (b"gets", b"gats"))

    def get(self, key):
        v = self.get_multi([key])
        return v[key][1] if key in v else None

    def stats(self, arg=""):
        self.send(b"stats" + (b" " + arg.encode() if arg else b"") + b"\r\n")
        out = {}
        while True:
            ln = self.line()
            if ln == b"END":
                return out
            check(ln.startswith(b"STAT "), "bad stats line %r" % ln)
            _, name, *value = ln.decode().split(" ", 2)
            out[name] = value[0] if value else ""


# --------------------------------------------------------------------------
# Data: values derived from their keys, so checking needs no copy


def value_for(i, seed=b"kvd"):
    h = hashlib.blake2b(b"%s:%d" % (seed, i), digest_size=32).digest()
    n = 64 + int.from_bytes(h[:2], "little") % 1900  # 64 .. 1963 bytes
    return (h * (n // 32 + 1))[:n]


def key_for(i):
    return b"key:%08d" % i


def load(kvd, n, seed=b"kvd"):
    """Pipelined noreply sets, then one request to know they were all handled."""
    with kvd.client() as c:
        batch = []
        total = 0
        for i in range(n):
            v = value_for(i, seed)
            total += len(v)
            batch.append(b"set %s %d 0 %d noreply\r\n%s\r\n" % (key_for(i), i & 0xffff, len(v), v))
            if len(batch) == 500:
                c.send(b"".join(batch))
                batch = []
        c.send(b"".join(batch))
        check(c.cmd(b"version").startswith(b"VERSION "), "no answer after loading")
    return total


def verify_all(kvd, n, seed=b"kvd", client=None):
    """Every key, value and flags byte for byte; returns how many were wrong."""
    c = client or kvd.client()
    bad = 0
    try:
        for start in range(0, n, 100):
            keys = [key_for(i) for i in range(start, min(n, start + 100))]
            got = c.get_multi(keys)
            for i, k in zip(range(start, start + len(keys)), keys):
                if got.get(k) != (i & 0xffff, value_for(i, seed)):
                    bad += 1
    finally:
        if client is None:
            c.close()
    return bad


# --------------------------------------------------------------------------
# baton


def upgrade(args, kvd, new_exe):
    """Runs `baton upgrade`; returns (exit code, output)."""
    p = subprocess.run([args.baton, "upgrade", kvd.control, new_exe],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode(errors="replace")
    log("$ baton upgrade %s %s  -> exit %d\n%s" % (kvd.control, os.path.basename(new_exe),
                                                   p.returncode, out.rstrip()))
    return p.returncode, out


def after_upgrade(kvd):
    """Follows the service to the process now serving it."""
    pid = int(kvd.stats()["pid"])
    kvd.procs.remember(pid)
    return pid


def kvd_exe(args, release):
    return os.path.join(args.kvd_dir, "kvd-" + release)


# --------------------------------------------------------------------------
# Cases


def case_protocol(args, procs):
    kvd = Kvd(procs, kvd_exe(args, "1.0.0"), mem=16, extra=["-I", "1m"])
    with kvd.client() as c:
        check(c.cmd(b"version") == b"VERSION 1.0.0", "version")
        check(c.set(b"a", b"hello", flags=42) == b"STORED", "set")
        check(c.get_multi([b"a", b"nope"]) == {b"a": (42, b"hello")}, "get")
        cas = c.get_multi([b"a"], b"gets")[b"a"][2]
        check(c.store(b"cas", b"a", b"x", cas=cas + 1) == b"EXISTS", "cas mismatch")
        check(c.store(b"cas", b"a", b"x", cas=cas) == b"STORED", "cas")
        check(c.store(b"cas", b"zz", b"x", cas=1) == b"NOT_FOUND", "cas missing")
        check(c.store(b"add", b"a", b"y") == b"NOT_STORED", "add existing")
        check(c.store(b"replace", b"b", b"y") == b"NOT_STORED", "replace missing")
        check(c.store(b"append", b"a", b"yz") == b"STORED", "append")
        check(c.store(b"prepend", b"a", b"w") == b"STORED", "prepend")
        check(c.get(b"a") == b"wxyz", "append/prepend result")
        check(c.cmd(b"incr a 1") == b"CLIENT_ERROR cannot increment or decrement non-numeric value",
              "incr non-numeric")
        c.set(b"n", b"10")
        check(c.cmd(b"incr n 5") == b"15", "incr")
        check(c.cmd(b"decr n 100") == b"0", "decr floors at 0")
        c.set(b"n", b"18446744073709551615")
        check(c.cmd(b"incr n 2") == b"1", "incr wraps")
        check(c.cmd(b"incr n x") == b"CLIENT_ERROR invalid numeric delta argument", "delta")
        check(c.cmd(b"incr zz 1") == b"NOT_FOUND", "incr missing")
        check(c.cmd(b"touch a 100") == b"TOUCHED", "touch")
        check(c.cmd(b"touch zz 100") == b"NOT_FOUND", "touch missing")
        check(c.cmd(b"delete a") == b"DELETED", "delete")
        check(c.cmd(b"delete a") == b"NOT_FOUND", "delete missing")
        check(c.cmd(b"delete a 5").startswith(b"CLIENT_ERROR bad command line format"),
              "delete with time")
        check(c.cmd(b"bogus") == b"ERROR", "unknown command")
        check(c.cmd(b"") == b"ERROR", "empty line")
        check(c.cmd(b"get") == b"ERROR", "get without key")
        check(c.cmd(b"get " + b"k" * 251) == b"CLIENT_ERROR bad command line format",
              "key too long")
        check(c.cmd(b"set a 0 0 -1") == b"CLIENT_ERROR bad command line format", "negative length")
        # A bad data chunk is consumed, answered, and the stream goes on.
        c.send(b"set a 0 0 3\r\nabcde")
        check(c.line() == b"CLIENT_ERROR bad data chunk", "bad data chunk")
        check(c.cmd(b"version").startswith(b"VERSION"), "in sync after a bad chunk")
        # Too large: refused, the data skipped, the old value gone.
        c.set(b"big", b"old")
        big = b"x" * (1 << 20)
        check(c.set(b"big", big) == b"SERVER_ERROR object too large for cache", "too large")
        check(c.get(b"big") is None, "a failed set leaves no stale value")
        near = os.urandom((1 << 20) - 400)
        check(c.set(b"big", near) == b"STORED", "largest value")
        check(c.get(b"big") == near, "largest value back")
        # noreply everywhere memcached allows it; then one answer proves sync.
        c.send(b"set q 0 0 1 noreply\r\n1\r\nadd q 0 0 1 noreply\r\n2\r\n"
               b"replace q 0 0 1 noreply\r\n3\r\nappend q 0 0 1 noreply\r\n4\r\n"
               b"prepend q 0 0 1 noreply\r\n5\r\nincr q 1 noreply\r\ndecr q 2 noreply\r\n"
               b"touch q 0 noreply\r\nflush_all 0 noreply\r\nverbosity 1 noreply\r\n"
               b"set r 0 0 1 noreply\r\n1\r\ndelete r noreply\r\nversion\r\n")
        check(c.line() == b"VERSION 1.0.0", "noreply answered nothing")
        check(c.get(b"q") is None, "flush_all removed q")
        # Exptime: negative is gone at once, absolute in the past too.
        c.set(b"e1", b"v", exptime=-1)
        c.set(b"e2", b"v", exptime=int(time.time()) - 10)  # beyond 30 days: absolute
        c.set(b"e3", b"v", exptime=1000)
        c.set(b"e4", b"v", exptime=int(time.time()) + 1000)
        check(c.get(b"e1") is None and c.get(b"e2") is None, "expired at once")
        check(c.get(b"e3") == b"v" and c.get(b"e4") == b"v", "relative and absolute exptime")
        # Pipelining, and a request split at every byte.
        req = b"set p 7 0 5\r\nhello\r\nget p\r\ngets nope\r\ndelete p\r\n"
        c.send(req * 3)
        for _ in range(3):
            check(c.line() == b"STORED", "pipelined set")
            check(c.read_values() == {b"p": (7, b"hello")}, "pipelined get")
            check(c.line() == b"END", "pipelined gets")
            check(c.line() == b"DELETED", "pipelined delete")
        for b in req:
            c.send(bytes([b]))
            time.sleep(0.0005)
        check(c.line() == b"STORED", "byte by byte set")
        check(c.read_values() == {b"p": (7, b"hello")}, "byte by byte get")
        check(c.line() == b"END" and c.line() == b"DELETED", "byte by byte rest")
        st = c.stats()
        for k in ("curr_items", "total_items", "bytes", "curr_connections", "total_connections",
                  "get_hits", "get_misses", "cmd_get", "cmd_set", "evictions",
                  "limit_maxbytes", "uptime", "pid", "baton_generation", "baton_state_from",
                  "baton_last_downtime_us"):
            check(k in st, "stats lacks %s" % k)
        check(st["version"] == "1.0.0" and st["baton_generation"] == "0", "stats release")
        check(st["limit_maxbytes"] == str(16 << 20), "limit_maxbytes")
        for arg in ("settings", "items", "slabs", "conns"):
            c.stats(arg)
        check(c.cmd(b"stats nonsense") == b"ERROR", "unknown stats")
        c.send(b"quit\r\n")
        check(c.closed(), "quit closes")
    # Eviction: 16 MiB of memory and 40 MiB of data; the newest keys survive.
    n = 20000
    load(kvd, n)
    st = kvd.stats()
    check(int(st["evictions"]) > 0, "no evictions at 40 MiB into 16 MiB")
    check(int(st["bytes"]) <= 16 << 20, "bytes over the limit")
    check(verify_all_range(kvd, n - 500, n) == 0, "the newest keys were evicted")
    # Many clients at once.
    clients = [kvd.client() for _ in range(200)]
    for i, cl in enumerate(clients):
        cl.send(b"set c%d 0 0 %d\r\n%d\r\n" % (i, len(str(i)), i))
    for i, cl in enumerate(clients):
        check(cl.line() == b"STORED", "client %d" % i)
        check(cl.get(b"c%d" % i) == str(i).encode(), "client %d get" % i)
    check(int(kvd.stats()["curr_connections"]) >= 200, "curr_connections")
    for cl in clients:
        cl.close()
    # -c: the connection over the limit is told so and closed.
    small = Kvd(procs, kvd_exe(args, "1.0.0"), extra=["-c", "3"])
    held = [small.client()]
    deadline = time.time() + 5
    while held[0].stats()["curr_connections"] != "1" and time.time() < deadline:
        time.sleep(0.02)  # the readiness probe's close is still on its way
    held += [small.client() for _ in range(2)]
    for cl in held:
        check(cl.cmd(b"version") == b"VERSION 1.0.0", "within -c")
    with small.client() as over:
        check(over.line() == b"ERROR Too many open connections", "over -c")
        check(over.closed(), "a connection over -c stays open")
    for cl in held:
        cl.close()


def verify_all_range(kvd, lo, hi):
    bad = 0
    with kvd.client() as c:
        keys = [key_for(i) for i in range(lo, hi)]
        for s in range(0, len(keys), 100):
            got = c.get_multi(keys[s:s + 100])
            for k in keys[s:s + 100]:
                i = int(k.split(b":")[1])
                if got.get(k) != (i & 0xffff, value_for(i)):
                    bad += 1
    return bad


def case_memccapable(args, procs):
    exe = shutil.which("memccapable")
    if not exe:
        log("memccapable not installed (Debian: libmemcached-tools); skipping")
        return SKIP
    kvd = Kvd(procs, kvd_exe(args, "1.0.0"))
    p = subprocess.run([exe, "-h", "127.0.0.1", "-p", str(kvd.port), "-a", "-t", "10"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = p.stdout.decode(errors="replace")
    log(out.rstrip())
    check(p.returncode == 0 and "All tests passed" in out, "memccapable -a failed")
    check(kvd.proc.poll() is None, "kvd died under memccapable")
    slap = shutil.which("memcslap")
    if slap:  # libmemcached's load generator, unchanged: sets, then gets
        before = kvd.stats()
        for test in ("set", "get"):
            p = subprocess.run([slap, "--servers=127.0.0.1:%d" % kvd.port, "--concurrency=8",
                                "--execute-number=500", "--test=" + test],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            out = p.stdout.decode(errors="replace")
            log(out.rstrip())
            check(p.returncode == 0 and "Time to %s" % test in out, "memcslap --test=%s" % test)
        st = kvd.stats()
        check(int(st["cmd_set"]) - int(before["cmd_set"]) >= 4000 and
              int(st["get_hits"]) - int(before["get_hits"]) >= 4000 and
              st["get_misses"] == before["get_misses"], "memcslap's requests")


class Traffic(threading.Thread):
    """A client issuing requests without pause, checking every answer."""

    def __init__(self, kvd, name):
        super().__init__(daemon=True)
        self.c = kvd.client()
        self.name = name
        self.stop = threading.Event()
        self.requests = 0
        self.errors = []
        self.worst = 0.0

    def run(self):
        i = 0
        try:
            while not self.stop.is_set():
                k = b"traffic:%s:%d" % (self.name.encode(), i % 100)
                v = b"%d" % i
                t = time.monotonic()
                if self.c.set(k, v) != b"STORED":
                    self.errors.append("set %r" % k)
                if self.c.get(k) != v:
                    self.errors.append("get %r" % k)
                self.worst = max(self.worst, time.monotonic() - t)
                self.requests += 2
                i += 1
        except Exception as e:  # a reset or a timeout is exactly what must not happen
            self.errors.append("%s: %r" % (type(e).__name__, e))


class Connector(threading.Thread):
    """New connections one after another: none may be refused or dropped."""

    def __init__(self, kvd):
        super().__init__(daemon=True)
        self.port = kvd.port
        self.stop = threading.Event()
        self.connections = 0
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            try:
                with Client(self.port, timeout=10) as c:
                    if not c.cmd(b"version").startswith(b"VERSION "):
                        self.errors.append("bad version answer")
                self.connections += 1
            except Exception as e:
                self.errors.append("%s: %r" % (type(e).__name__, e))
                return


def live_clients(kvd):
    """Clients in every state an upgrade must carry across."""
    idle = kvd.client()
    check(idle.get(key_for(0)) is not None, "idle client")
    half = kvd.client()   # a storage request whose data is half sent
    half.send(b"set half 5 0 10\r\nhello")
    halfline = kvd.client()  # a request line half sent
    halfline.send(b"get " + key_for(1)[:5])
    pipe = kvd.client()   # a batch it does not read: answers pile up
    keys = [key_for(i) for i in range(0, 4000)]
    batch = b"".join(b"get %s\r\n" % k for k in keys)
    batch += b"set piped 0 0 6\r\npiped!\r\nget piped\r\n"
    pipe.send(batch)
    time.sleep(0.2)
    return {"idle": idle, "half": half, "halfline": halfline, "pipe": pipe, "keys": keys}


def check_live_clients(cl, release, seed=b"kvd"):
    idle, half, halfline, pipe = cl["idle"], cl["half"], cl["halfline"], cl["pipe"]
    half.send(b"world\r\n")
    check(half.line() == b"STORED", "the half-sent set was not finished by the new release")
    check(half.get_multi([b"half"]) == {b"half": (5, b"helloworld")}, "half-sent value")
    halfline.send(key_for(1)[5:] + b"\r\n")
    check(halfline.read_values() == {key_for(1): (1, value_for(1, seed))}, "half-sent line")
    for i, k in enumerate(cl["keys"]):
        got = pipe.read_values()
        check(got == {k: (i & 0xffff, value_for(i, seed))}, "pipelined answer %d" % i)
    check(pipe.line() == b"STORED", "pipelined set")
    check(pipe.read_values() == {b"piped": (0, b"piped!")}, "pipelined get")
    check(idle.cmd(b"version") == b"VERSION " + release.encode(), "idle client's version")


def case_upgrade(args, procs):
    kvd = Kvd(procs, kvd_exe(args, "1.0.0"), mem=128)
    n = 30000
    mib = load(kvd, n) / (1 << 20)
    log("loaded %d keys, %.1f MiB, into kvd 1.0.0" % (n, mib))
    before = kvd.stats()
    check(int(before["curr_items"]) == n, "curr_items after load")
    cl = live_clients(kvd)
    traffic = [Traffic(kvd, "t%d" % i) for i in range(3)]
    connector = Connector(kvd)
    for t in traffic + [connector]:
        t.start()
    time.sleep(0.3)
    rc, out = upgrade(args, kvd, kvd_exe(args, "1.1.0"))
    check(rc == 0, "baton upgrade 1.0.0 -> 1.1.0 failed")
    time.sleep(0.3)
    for t in traffic + [connector]:
        t.stop.set()
    for t in traffic:
        t.join(10)
        check(not t.errors, "client %s saw errors across the upgrade: %s" % (t.name, t.errors[:3]))
        check(t.requests > 0, "client %s made no requests" % t.name)
    connector.join(10)
    check(not connector.errors, "a new connection failed across the upgrade: %s"
          % connector.errors[:3])
    check(connector.connections > 0, "no new connection was made")
    log("clients under load: %d requests, worst latency %.1f ms, 0 errors"
        % (sum(t.requests for t in traffic), 1000 * max(t.worst for t in traffic)))
    pid = after_upgrade(kvd)
    check(pid != kvd.proc.pid, "the same process still serves")
    check(kvd.proc.wait(10) == 0, "the old process did not exit cleanly")
    check_live_clients(cl, "1.1.0")
    bad = verify_all(kvd, n)
    check(bad == 0, "%d of %d keys lost or changed" % (bad, n))
    st = kvd.stats()
    log("after: version %s, generation %s, state from %s, downtime %s us, %s items, %s connections"
        % (st["version"], st["baton_generation"], st["baton_state_from"],
           st["baton_last_downtime_us"], st["curr_items"], st["curr_connections"]))
    check(st["version"] == "1.1.0", "version after upgrade")
    check(st["baton_generation"] == "1", "generation after upgrade")
    check(st["baton_state_from"] == "1.0.0", "state_from after upgrade")
    check(int(st["baton_last_downtime_us"]) > 0, "downtime not measured")
    check(st["region_layout"] == "2", "region layout not upgraded")
    check(int(st["total_items"]) >= int(before["total_items"]), "total_items went back")
    check(int(st["cmd_get"]) >= int(before["cmd_get"]), "counters went back")
    check(st["uptime"] >= before["uptime"], "uptime went back")
    # The upgraded cache keeps working: new keys, evictions, per-class stats.
    with kvd.client() as c:
        check(c.set(b"new", b"value") == b"STORED" and c.get(b"new") == b"value", "set after")
        items = c.stats("items")
        check(any(k.endswith(":evicted") for k in items), "1.1.0 per-class statistics")
    for c in (cl["idle"], cl["half"], cl["halfline"], cl["pipe"]):
        c.close()


def case_refusals(args, procs):
    # Downgrade: 1.1.0 -> 1.0.0, after a real upgrade to 1.1.0.
    kvd = Kvd(procs, kvd_exe(args, "1.0.0"), mem=64)
    n = 8000
    load(kvd, n)
    rc, _ = upgrade(args, kvd, kvd_exe(args, "1.1.0"))
    check(rc == 0, "1.0.0 -> 1.1.0")
    pid = after_upgrade(kvd)
    cl = live_clients(kvd)
    rc, out = upgrade(args, kvd, kvd_exe(args, "1.0.0"))
    check(rc == 1, "a downgrade was not refused with exit 1")
    check("downgrade" in out.lower(), "the refusal does not say downgrade")
    check("freeze" not in out, "the downgrade was refused only after freezing")
    check(int(kvd.stats()["pid"]) == pid, "another process serves after a refusal")
    check_live_clients(cl, "1.1.0")
    check(verify_all(kvd, n) == 0, "keys lost after a refused downgrade")
    check(kvd.stats()["version"] == "1.1.0", "version after a refused downgrade")
    for c in (cl["idle"], cl["half"], cl["halfline"], cl["pipe"]):
        c.close()

    # Unsupported jump: 0.9.0 -> 1.1.0; then the supported chain.
    old = Kvd(procs, kvd_exe(args, "0.9.0"), mem=64)
    load(old, n, seed=b"old")
    cl = live_clients(old)
    rc, out = upgrade(args, old, kvd_exe(args, "1.1.0"))
    check(rc == 1, "0.9.0 -> 1.1.0 was not refused with exit 1")
    check("0.9.0" in out and "1.1.0" in out, "the refusal does not name the releases")
    check("freeze" not in out, "the jump was refused only after freezing")
    st = old.stats()
    check(int(st["pid"]) == old.proc.pid and st["version"] == "0.9.0", "0.9.0 stopped serving")
    check(verify_all(old, n, seed=b"old") == 0, "keys lost after a refused jump")
    check_live_clients(cl, "0.9.0", seed=b"old")
    for c in (cl["idle"], cl["half"], cl["halfline"], cl["pipe"]):
        c.close()
    rc, _ = upgrade(args, old, kvd_exe(args, "1.0.0"))
    check(rc == 0, "0.9.0 -> 1.0.0 (listed with from 0.9) failed")
    after_upgrade(old)
    rc, _ = upgrade(args, old, kvd_exe(args, "1.1.0"))
    check(rc == 0, "1.0.0 -> 1.1.0 after 0.9.0 failed")
    after_upgrade(old)
    st = old.stats()
    check(st["version"] == "1.1.0" and st["baton_generation"] == "2", "chain generation")
    check(verify_all(old, n, seed=b"old") == 0, "keys lost along 0.9.0 -> 1.0.0 -> 1.1.0")


def case_rollback(args, procs):
    # The successor's first mmap (its view of the image) fails: refused after
    # the freeze and the save, so kvd must thaw with everything as it was.
    kvd = Kvd(procs, kvd_exe(args, "1.0.0"), mem=64, env={"BATON_FAULT_CHILD": "mmap"})
    n = 8000
    load(kvd, n)
    cl = live_clients(kvd)
    traffic = [Traffic(kvd, "r%d" % i) for i in range(2)]
    for t in traffic:
        t.start()
    time.sleep(0.2)
    rc, out = upgrade(args, kvd, kvd_exe(args, "1.1.0"))
    check(rc == 1, "a failed upgrade did not exit 1")
    check("freeze" in out, "the fault fired before the freeze: the thaw was not tested")
    time.sleep(0.3)
    for t in traffic:
        t.stop.set()
    for t in traffic:
        t.join(10)
        check(not t.errors, "client %s saw errors across the rollback: %s" % (t.name, t.errors[:3]))
    st = kvd.stats()
    check(int(st["pid"]) == kvd.proc.pid and st["version"] == "1.0.0", "another process serves")
    check(st["baton_generation"] == "0", "the generation moved")
    check_live_clients(cl, "1.0.0")
    check(verify_all(kvd, n) == 0, "keys lost after a rollback")
    with kvd.client() as c:
        check(c.set(b"after", b"rollback") == b"STORED", "set after the rollback")
    for c in (cl["idle"], cl["half"], cl["halfline"], cl["pipe"]):
        c.close()


def case_takeover(args, procs):
    kvd = Kvd(procs, kvd_exe(args, "1.0.0"), mem=64, env={"BATON_FAULT": "die_before_commit"})
    n = 8000
    load(kvd, n)
    cl = live_clients(kvd)
    traffic = [Traffic(kvd, "k%d" % i) for i in range(2)]
    for t in traffic:
        t.start()
    time.sleep(0.2)
    rc, out = upgrade(args, kvd, kvd_exe(args, "1.1.0"))
    check(rc != 0, "baton upgrade reported success though the old process died")
    check(kvd.proc.wait(10) != 0, "the old process did not die as injected")
    time.sleep(0.3)
    for t in traffic:
        t.stop.set()
    for t in traffic:
        t.join(10)
        check(not t.errors, "client %s saw errors across the takeover: %s" % (t.name, t.errors[:3]))
    pid = after_upgrade(kvd)
    st = kvd.stats()
    check(pid != kvd.proc.pid and st["version"] == "1.1.0", "the new release does not serve")
    check(st["baton_generation"] == "1" and st["baton_state_from"] == "1.0.0", "origin")
    check_live_clients(cl, "1.1.0")
    check(verify_all(kvd, n) == 0, "keys lost in the takeover")
    for c in (cl["idle"], cl["half"], cl["halfline"], cl["pipe"]):
        c.close()


def baton(args, *argv, want=None):
    """Runs a baton command; returns (exit code, output, parsed JSON or None)."""
    p = subprocess.run([args.baton, *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=60)
    out = p.stdout.decode(errors="replace")
    log("$ baton %s  -> exit %d\n%s" % (" ".join(argv), p.returncode, out.rstrip()[:3000]))
    if want is not None:
        check(p.returncode == want, "baton %s exited %d, not %d" % (argv[0], p.returncode, want))
    doc = None
    if "--json" in argv:
        doc = json.loads(out)
    return p.returncode, out, doc


def version_status(doc, version):
    for v in doc["versions"]:
        if v["contract_name"] == "kvd.cache" and v["version"] == version:
            return v
    raise Fail("retire lists no kvd.cache version %d" % version)


def case_history(args, procs):
    hist = args.history
    k10, k11 = kvd_exe(args, "1.0.0"), kvd_exe(args, "1.1.0")
    _, out, _ = baton(args, "check", "--history", hist, k11, want=0)
    check("kvd 1.0.0 -> kvd 1.1.0: allowed" in out, "1.0.0 -> 1.1.0 not checked")
    check("not checked: 0.9.0" in out, "0.9.0 -> 1.1.0 not reported as unsupported")
    _, out, _ = baton(args, "check", "--history", hist, k10, want=0)
    check("kvd 0.9.0 -> kvd 1.0.0: allowed" in out, "0.9.0 -> 1.0.0 not checked")
    _, _, doc = baton(args, "retire", "--json", hist, k11, want=0)
    v1 = version_status(doc, 1)
    check(v1["status"] == "needed" and v1["releases"] == ["1.0.0"], "kvd.cache v1 not needed")
    _, _, doc = baton(args, "plan", "--json", hist, "0.9.0", k11, want=0)
    check(doc["ok"] and doc["path"] == ["0.9.0", "1.0.0", "1.1.0"], "plan 0.9.0 -> 1.1.0")

    # Rule 7 on kvd's own history, with catalogs derived from 1.1.0's.
    with open(os.path.join(hist, "kvd-1.1.0.json")) as f:
        base = json.load(f)

    def variant(name, release, cache_reads):
        cat = json.loads(json.dumps(base))
        cat["release"] = release
        cat["build_id"] = None
        for h in cat["handlers"]:
            if h["name"] == "kvd.cache":
                h["reads"][0]["versions"] = cache_reads
        path = os.path.join(procs.tmp, name)
        with open(path, "w") as f:
            json.dump(cat, f, indent=2)
        return path

    dropped = variant("kvd-1.1.0-drops-v1.json", "1.1.0", [2])
    _, out, _ = baton(args, "check", "--history", hist, dropped, want=1)
    check("kvd 1.0.0 -> kvd 1.1.0: refused" in out, "dropping v1 did not break 1.0.0 -> 1.1.0")
    _, _, doc = baton(args, "retire", "--json", hist, dropped, want=1)
    check(version_status(doc, 1)["status"] == "missing", "v1 not reported missing")
    # 1.2.0 accepts 1.1.x only (next-minor): no accepted release writes v1 any more.
    later = variant("kvd-1.2.0.json", "1.2.0", [1, 2])
    _, _, doc = baton(args, "retire", "--json", hist, later, want=0)
    v1 = version_status(doc, 1)
    check(v1["status"] == "removable" and "1.0.0" in v1["releases"], "v1 not removable in 1.2.0")
    if not args.variants:
        return

    # The same with real programs, and what their golden-image restores say.
    nov1 = os.path.join(args.variants, "kvd-1.1.0-no-v1")
    k12 = os.path.join(args.variants, "kvd-1.2.0")
    gold = os.path.join(hist, "golden")
    _, out, _ = baton(args, "check", "--history", hist, nov1, want=1)
    check("kvd 1.0.0 -> kvd 1.1.0: refused" in out and "unbound" in out,
          "a 1.1.0 built without the read of v1 passes the 1.0.0 path")
    _, _, doc = baton(args, "retire", "--json", hist, nov1, want=1)
    check(version_status(doc, 1)["status"] == "missing", "v1 not missing in that build")
    rc, rep, _ = dry_run(procs, nov1, os.path.join(gold, "1.0.0", "kvd.image"),
                         os.path.join(gold, "1.0.0", "expected.txt"))
    check(rc == 1 and "unbound" in rules_of(rep["findings"]),
          "that build does not refuse 1.0.0's golden image as unbound")
    # 1.2.0 accepts only 1.1.x: v1 is removable, 1.1.0's golden image restores.
    _, out, _ = baton(args, "check", "--history", hist, k12, want=0)
    check("kvd 1.1.0 -> kvd 1.2.0: allowed" in out, "1.1.0 -> 1.2.0 not checked")
    _, _, doc = baton(args, "retire", "--json", hist, k12, want=0)
    v1 = version_status(doc, 1)
    check(v1["status"] == "removable" and "1.0.0" in v1["releases"],
          "v1 not removable in a built 1.2.0")
    rc, rep, out = dry_run(procs, k12, os.path.join(gold, "1.1.0", "kvd.image"),
                           os.path.join(gold, "1.1.0", "expected.txt"))
    check(rc == 0, "1.2.0 does not restore 1.1.0's golden image: %s" % out[-1500:])
    rc, rep, _ = dry_run(procs, k12, os.path.join(gold, "1.0.0", "kvd.image"))
    check(rc == 1 and "path" in rules_of(rep["findings"]),
          "1.2.0 does not refuse 1.0.0's golden image for its path")


# --------------------------------------------------------------------------
# Golden images (examples/kvd/history/golden): restored by every release that
# accepts them, in a dry run that checks what they hold


def xxh64(data, seed=0):
    """XXH64, as the golden region files' checksum (to forge files that only it would pass)."""
    P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                          0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)
    M = (1 << 64) - 1

    def rotl(x, r):
        return ((x << r) | (x >> (64 - r))) & M

    def rnd(acc, lane):
        return (rotl((acc + lane * P2) & M, 31) * P1) & M

    def merge(acc, val):
        return (((acc ^ rnd(0, val)) * P1) + P4) & M

    n, i = len(data), 0
    if n >= 32:
        v = [(seed + P1 + P2) & M, (seed + P2) & M, seed, (seed - P1) & M]
        while i + 32 <= n:
            for k in range(4):
                v[k] = rnd(v[k], int.from_bytes(data[i + 8 * k:i + 8 * k + 8], "little"))
            i += 32
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & M
        for k in range(4):
            h = merge(h, v[k])
    else:
        h = (seed + P5) & M
    h = (h + n) & M
    while i + 8 <= n:
        h = (rotl(h ^ rnd(0, int.from_bytes(data[i:i + 8], "little")), 27) * P1 + P4) & M
        i += 8
    if i + 4 <= n:
        h = (rotl(h ^ (int.from_bytes(data[i:i + 4], "little") * P1 & M), 23) * P2 + P3) & M
        i += 4
    while i < n:
        h = (rotl(h ^ (data[i] * P5 & M), 11) * P1) & M
        i += 1
    h = ((h ^ (h >> 33)) * P2) & M
    h = ((h ^ (h >> 29)) * P3) & M
    return h ^ (h >> 32)


def golden_dir(args):
    return os.path.join(args.history, "golden")


def golden_releases(args):
    d = golden_dir(args)
    out = sorted(r for r in os.listdir(d) if os.path.exists(os.path.join(d, r, "kvd.image")))
    check(out, "no golden images in %s" % d)
    return out


def readers(args):
    """Every kvd build: the releases, and the test's variants of them."""
    out = {}
    for d in (args.kvd_dir, args.variants):
        for n in sorted(os.listdir(d) if d else []):
            p = os.path.join(d, n)
            if n.startswith("kvd-") and not n.endswith(".p") and os.access(p, os.X_OK) \
                    and os.path.isfile(p):
                out[n] = p
    return out


def dry_run(procs, exe, image, expected=None, name="dry"):
    """kvd --dry-run IMAGE [--verify FILE]; returns (exit status, report, output)."""
    report = os.path.join(procs.tmp, "%s-%d.json" % (name, random.randrange(1 << 30)))
    argv = [exe, "--dry-run", image] + (["--verify", expected] if expected else [])
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                       env=dict(os.environ, BATON_DRY_RUN_REPORT=report),
                       preexec_fn=no_core_dumps)
    out = p.stdout.decode(errors="replace")
    check(p.returncode >= 0, "%s crashed (signal %d) on %s:\n%s"
          % (os.path.basename(exe), -p.returncode, image, out[-2000:]))
    doc = None
    if os.path.exists(report):
        with open(report) as f:
            doc = json.load(f)
    check(doc is not None, "%s wrote no dry-run report for %s:\n%s" % (exe, image, out[-2000:]))
    check(doc["exit_status"] == p.returncode, "the report says %s, kvd exited %d"
          % (doc["exit_status"], p.returncode))
    return p.returncode, doc, out


def rules_of(findings):
    return sorted(set(f["rule"] or "" for f in findings))


def case_golden(args, procs):
    """Every golden image, into every kvd build: restored and verified exactly when the
    reader's policy and catalog accept it, refused with the reason otherwise."""
    gold = golden_releases(args)
    restored = {}
    for g in gold:
        _, _, doc = baton(args, "inspect", "--json", os.path.join(golden_dir(args), g, "kvd.image"),
                          want=0)
        check(doc["program"] == "kvd" and doc["release"] == g,
              "golden/%s holds an image of %s %s" % (g, doc["program"], doc["release"]))
        check(all(os.path.getsize(os.path.join(golden_dir(args), g, f)) < (1 << 20)
                  for f in os.listdir(os.path.join(golden_dir(args), g))),
              "golden/%s: a file of 1 MiB or more" % g)
    for name, exe in readers(args).items():
        _, _, hist = baton(args, "check", "--json", "--history", args.history, exe)
        paths = {p["from"]: p["ok"] for p in hist["paths"]}
        for g in gold:
            image = os.path.join(golden_dir(args), g, "kvd.image")
            expected = os.path.join(golden_dir(args), g, "expected.txt")
            # What the reader's catalog and policy say about this very image.
            rc, _, bind = baton(args, "inspect", "--json", "--catalog", exe, image)
            check(rc in (0, 1), "inspect --catalog %s %s exited %d" % (name, g, rc))
            accepted = bind["ok"]
            if g in paths and g != hist["to"]:
                check(accepted == paths[g], "%s: check --history says %s -> %s %s, the image %s"
                      % (name, g, hist["to"], "passes" if paths[g] else "fails",
                         "binds" if accepted else "does not"))
            rc, rep, out = dry_run(procs, exe, image, expected, "%s-%s" % (name, g))
            log("%s <- golden %s: exit %d (%s)" % (name, g, rc, rep["result"]))
            if accepted:
                check(rc == 0 and rep["ok"], "%s does not restore golden %s (%s): %s"
                      % (name, g, rep["result"], out[-1500:]))
                check(all(o["restored"] for o in rep["objects"]), "an object not restored")
                check({c["name"] for c in rep["checks"]} >= {
                    "kvd.store", "kvd.expect.writer", "kvd.expect.items", "kvd.expect.absent",
                    "kvd.expect.counters", "kvd.expect.header", "kvd.expect.listeners"},
                    "checks missing from the report: %s" % rep["checks"])
                check(rep["writer"]["release"] == g, "the report's writer")
                restored[(name, g)] = rep
            else:
                check(rc == 1 and rep["result"] == "refused",
                      "%s: golden %s is not accepted, but the dry run ended %d (%s)"
                      % (name, g, rc, rep["result"]))
                want = rules_of(bind["findings"])
                check(rules_of(rep["findings"]) == want, "%s <- %s: the dry run refuses for %s, "
                      "inspect for %s" % (name, g, rules_of(rep["findings"]), want))
                check(all(not o["restored"] for o in rep["objects"]), "restored while refused")
    # What the support model says, seen in the results (not vacuous):
    r = restored.get(("kvd-1.1.0", "1.0.0"))
    check(r is not None, "kvd 1.1.0 does not restore 1.0.0's golden image")
    cache = [o for o in r["objects"] if o["contract_name"] == "kvd.cache"][0]
    check(cache["version"] == 1 and cache["restored_version"] == 2 and
          cache["steps"] == [{"from": 1, "to": 2}], "1.0.0 -> 1.1.0 without the v1 -> v2 step")
    check(("kvd-1.0.0", "0.9.0") in restored, "kvd 1.0.0 does not restore 0.9.0's golden image")
    rc, rep, _ = dry_run(procs, kvd_exe(args, "1.1.0"),
                         os.path.join(golden_dir(args), "0.9.0", "kvd.image"))
    check(rc == 1 and "path" in rules_of(rep["findings"]),
          "0.9.0's golden image is not refused by 1.1.0 for its path")
    log("%d golden restores passed" % len(restored))


def copy_golden(args, procs, release, name):
    src = os.path.join(golden_dir(args), release)
    dst = os.path.join(procs.tmp, name)
    shutil.copytree(src, dst)
    return os.path.join(dst, "kvd.image"), os.path.join(dst, "expected.txt")


def region_extents(path):
    """(header, [(offset, length, position in the file)]) of a golden region file."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:16] == b"baton,region-v1\0", "%s is no golden region file" % path)
    n = int.from_bytes(data[32:40], "big")
    pos = 128 + 16 * n
    ext = []
    for i in range(n):
        off = int.from_bytes(data[128 + 16 * i:136 + 16 * i], "big")
        ln = int.from_bytes(data[136 + 16 * i:144 + 16 * i], "big")
        ext.append((off, ln, pos))
        pos += ln
    return data, ext


def forge(path, changes):
    """Writes changes {region offset: bytes} into a region file and reseals its checksum."""
    data, ext = region_extents(path)
    data = bytearray(data)
    for off, b in changes.items():
        for e_off, e_len, pos in ext:
            if e_off <= off and off + len(b) <= e_off + e_len:
                data[pos + off - e_off:pos + off - e_off + len(b)] = b
                break
        else:
            raise Fail("offset %d is not stored in %s" % (off, path))
    data[-8:] = xxh64(bytes(data[:-8])).to_bytes(8, "big")
    with open(path, "wb") as f:
        f.write(data)


def case_golden_damaged(args, procs):
    """Damaged golden images are refused (exit 2) or fail the checks (3, 4); kvd never crashes."""
    k11 = kvd_exe(args, "1.1.0")
    gold = golden_releases(args)
    img, exp = copy_golden(args, procs, "1.0.0", "ok")
    rc, rep, _ = dry_run(procs, k11, img, exp)
    check(rc == 0, "the copy of 1.0.0's golden image does not restore")
    region = img + ".region.0"
    with open(region, "rb") as f:
        pristine = f.read()
    with open(img, "rb") as f:
        pristine_image = f.read()
    data, ext = region_extents(region)

    def restore():
        with open(region, "wb") as f:
            f.write(pristine)
        with open(img, "wb") as f:
            f.write(pristine_image)

    def expect(status, words, what):
        rc, rep, out = dry_run(procs, k11, img, exp)
        # the report, and kvd's own words (a handler's reason is in its log)
        text = json.dumps(rep["findings"]) + json.dumps(rep["checks"]) + out
        check(rc == status, "%s: exit %d (%s), expected %d:\n%s" % (what, rc, rep["result"],
                                                                   status, out[-1500:]))
        check(words in text, "%s: \"%s\" not in the report: %s" % (what, words, text[:600]))
        log("%-42s exit %d (%s)" % (what, rc, rep["result"]))
        restore()

    # The files themselves: refused before anything is restored (2).
    big = max(ext, key=lambda e: e[1])
    with open(region, "r+b") as f:
        f.seek(big[2] + big[1] // 2)
        b = f.read(1)
        f.seek(big[2] + big[1] // 2)
        f.write(bytes([b[0] ^ 0x40]))
    expect(2, "checksum mismatch", "one bit of the region file")
    os.truncate(region, len(pristine) - 1000)
    expect(2, "truncated", "the region file truncated")
    os.unlink(region)
    expect(2, "No such file", "the region file missing")
    other = [g for g in gold if g != "1.0.0"][0]
    shutil.copy(os.path.join(golden_dir(args), other, "kvd.image.region.0"), region)
    expect(2, "mixed", "the region file of golden %s" % other)
    with open(img, "r+b") as f:
        f.seek(len(pristine_image) // 2)
        b = f.read(1)
        f.seek(len(pristine_image) // 2)
        f.write(bytes([b[0] ^ 1]))
    expect(2, "checksum", "one bit of the image")
    os.truncate(img, 100)
    expect(2, img, "the image truncated")

    # Valid files of a damaged cache (checksum resealed): the checks catch it.
    forge(region, {0: b"XXXXXXXX"})
    expect(3, "not a kvd cache", "the cache's magic")
    # A hash bucket pointing into nowhere (the table: 8-byte offsets after the
    # 16 KiB header, 32768 of them with -m 16; store.h).
    hash_off, hash_end, bucket = 16384, 16384 + 32768 * 8, None
    for off, ln, pos in ext:
        for k in range(max(off, hash_off), min(off + ln, hash_end), 8):
            if any(data[pos + k - off:pos + k - off + 8]):
                bucket = k
                break
        if bucket:
            break
    check(bucket, "no stored hash bucket found")
    forge(region, {bucket: (0x7FFFFFFFFFFF0000).to_bytes(8, "little")})
    expect(4, "kvd.store", "a hash chain into nowhere")
    # A bucket pointing at itself would loop: the walk is bounded by the count.
    forge(region, {bucket: bucket.to_bytes(8, "little")})
    expect(4, "kvd.store", "a hash chain into the hash table")
    # Four bytes of a value: found by its digest.
    forge(region, {big[0] + big[1] // 2: b"\x00\xff\x00\xff"})
    expect(4, "differ", "four bytes of the largest value")
    # The expectations themselves: a value the writer never held.
    with open(exp) as f:
        lines = f.read().split("\n")
    bad = [i for i, ln in enumerate(lines) if ln.startswith("item golden:01 ")][0]
    parts = lines[bad].split(" ")
    parts[-1] = "%016x" % (int(parts[-1], 16) ^ 1)
    lines[bad] = " ".join(parts)
    with open(exp, "w") as f:
        f.write("\n".join(lines))
    expect(4, "golden:01", "an expectation the cache does not meet")


def case_golden_save(args, procs):
    """`baton save` from a live kvd with a client mid-request: kvd serves on unchanged, the
    image restores in a dry run with the connection's bytes, and is not overwritten."""
    k11 = kvd_exe(args, "1.1.0")
    kvd = Kvd(procs, k11, mem=16)
    load(kvd, 200)
    half = kvd.client()
    half.send(b"set half 3 0 10\r\nabc")       # the rest after the save
    # kvd accepts in the order of its backlog: once a later client has an
    # answer, this one is a connection of kvd's, saved with the image.
    check(int(kvd.stats()["curr_connections"]) >= 2, "the client was not accepted")
    time.sleep(0.1)
    path = os.path.join(procs.tmp, "live.image")
    rc, out, doc = baton(args, "save", "--json", kvd.control, path, want=0)
    check(doc["ok"] and doc["release"] == "1.1.0" and doc["objects"] >= 3, "save --json")
    check(any(f["kind"] == "socket" and not f["stored"] for f in doc["fds"]),
          "the listener and client sockets are not reported as not stored")
    check(doc["regions"] and all(r["stored"] > 0 for r in doc["regions"]), "regions stored")
    check(doc["freeze_ms"] > 0, "the freeze was not timed")
    # kvd goes on as if nothing happened: the same client finishes its request.
    half.send(b"defghij\r\n")
    check(half.line() == b"STORED", "the half-sent set after the save")
    check(half.get(b"half") == b"abcdefghij", "the value after the save")
    check(verify_all(kvd, 200) == 0, "keys changed by the save")
    check(kvd.stats()["baton_generation"] == "0", "the save changed the generation")
    # Written once: not replaced without --force.
    rc, _, _ = baton(args, "save", kvd.control, path, want=2)
    rc, _, _ = baton(args, "save", "--force", kvd.control, path, want=0)
    half.close()
    # The first save held the client and its 20 pending bytes.
    rc, rep, out = dry_run(procs, k11, path)
    check(rc == 0, "the saved image does not restore: %s" % out[-1500:])
    conns = [o for o in rep["objects"] if o["contract_name"] == "kvd.conn"]
    check(conns and all(o["restored"] for o in conns), "no kvd.conn restored in the dry run")
    check(any(f["stands_in"] == "/dev/null" for f in rep["fds"]), "no placeholder fd")
    # The dry run changed nothing it read.
    rc2, rep2, _ = dry_run(procs, k11, path)
    check(rc2 == 0 and rep2["regions"] == rep["regions"], "a second dry run differs")


def case_golden_fresh(args, procs):
    """make-golden, run now with every release built: each writes and restores its own
    image (make-golden checks that), and the next release restores it too."""
    out = os.path.join(procs.tmp, "golden")
    p = subprocess.run([sys.executable, os.path.join(args.history, "make-golden"),
                        "--kvd-dir", args.kvd_dir, "--baton", args.baton, "--out", out],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=180)
    log(p.stdout.decode(errors="replace")[-3000:])
    check(p.returncode == 0, "make-golden failed")
    for r in os.listdir(out):
        for f in ("kvd.image", "kvd.image.region.0", "expected.txt"):
            check(os.path.getsize(os.path.join(out, r, f)) < (1 << 20), "%s/%s too big" % (r, f))
    rc, rep, o = dry_run(procs, kvd_exe(args, "1.1.0"), os.path.join(out, "1.0.0", "kvd.image"),
                         os.path.join(out, "1.0.0", "expected.txt"))
    check(rc == 0, "1.1.0 does not restore a fresh 1.0.0 image: %s" % o[-1500:])
    # Written once: running it again keeps every folder.
    p = subprocess.run([sys.executable, os.path.join(args.history, "make-golden"),
                        "--kvd-dir", args.kvd_dir, "--baton", args.baton, "--out", out,
                        "--release", "1.0.0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    check(p.returncode == 1 and b"written once" in p.stdout, "make-golden replaced an image")


CASES = {
    "protocol": case_protocol,
    "memccapable": case_memccapable,
    "upgrade": case_upgrade,
    "refusals": case_refusals,
    "rollback": case_rollback,
    "takeover": case_takeover,
    "history": case_history,
    "golden": case_golden,
    "golden-damaged": case_golden_damaged,
    "golden-save": case_golden_save,
    "golden-fresh": case_golden_fresh,
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--kvd-dir", required=True)
    ap.add_argument("--baton")
    ap.add_argument("--history", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "examples", "kvd", "history"))
    ap.add_argument("--variants", help="where the test builds of kvd variants are")
    ap.add_argument("--keep", action="store_true", help="keep the logs folder")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="kvd-test-")
    procs = Procs(tmp)

    def on_signal(signo, frame):
        raise Fail("stopped by signal %d (timeout?)" % signo)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(CASE_TIMEOUT)
    rc = 1
    try:
        rc = CASES[args.case](args, procs) or 0
        if rc == 0:
            log("PASS %s" % args.case)
    except Fail as e:
        log("FAIL %s: %s" % (args.case, e))
    finally:
        signal.alarm(0)
        procs.cleanup()
        if rc != 0 or args.keep:
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log"):
                    with open(os.path.join(tmp, name), errors="replace") as f:
                        text = f.read()
                    if text:
                        log("--- %s\n%s" % (name, text[-4000:].rstrip()))
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
