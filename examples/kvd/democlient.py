#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""memcached-protocol clients for demo.sh (standard library only).

  democlient.py load PORT N        N keys of about 1 KiB, pipelined noreply sets
  democlient.py verify PORT N      every key and value byte for byte
  democlient.py stats PORT NAME..  the named `stats` values, "name value" each
  democlient.py clients PORT N     N connections issuing requests without pause,
                                   plus one with a set half sent; reads commands
                                   on stdin: "status", "finish-half", "quit"
"""
import hashlib
import socket
import sys
import threading
import time


def value_for(i):
    h = hashlib.blake2b(b"demo:%d" % i, digest_size=32).digest()
    return (h * 33)[:1024]


def key_for(i):
    return b"demo:%08d" % i


class Conn:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.local = self.sock.getsockname()
        self.buf = bytearray()

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return out
            b = self.sock.recv(1 << 20)
            if not b:
                raise ConnectionError("closed by the server")
            self.buf += b

    def exact(self, n):
        while len(self.buf) < n:
            b = self.sock.recv(1 << 20)
            if not b:
                raise ConnectionError("closed by the server")
            self.buf += b
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def get_multi(self, keys):
        self.sock.sendall(b"get " + b" ".join(keys) + b"\r\n")
        out = {}
        while True:
            head = self.line()
            if head == b"END":
                return out
            _, key, _, n = head.split(b" ")[:4]
            out[key] = self.exact(int(n) + 2)[:-2]

    def stats(self):
        self.sock.sendall(b"stats\r\n")
        out = {}
        while True:
            ln = self.line().decode()
            if ln == "END":
                return out
            parts = ln.split(" ", 2)
            out[parts[1]] = parts[2] if len(parts) > 2 else ""


def cmd_load(port, n):
    c = Conn(port)
    t = time.monotonic()
    batch = []
    for i in range(n):
        batch.append(b"set %s 0 0 1024 noreply\r\n%s\r\n" % (key_for(i), value_for(i)))
        if len(batch) == 1000:
            c.sock.sendall(b"".join(batch))
            batch = []
    c.sock.sendall(b"".join(batch) + b"version\r\n")
    c.line()
    dt = time.monotonic() - t
    print("loaded %d keys (%.1f MiB of values) with pipelined noreply sets in %.2f s"
          % (n, n * 1024 / 2**20, dt))


def cmd_verify(port, n):
    c = Conn(port)
    bad = 0
    for s in range(0, n, 200):
        keys = [key_for(i) for i in range(s, min(n, s + 200))]
        got = c.get_multi(keys)
        bad += sum(1 for i, k in zip(range(s, n), keys) if got.get(k) != value_for(i))
    if bad:
        print("%d of %d keys missing or changed" % (bad, n))
        return 1
    print("all %d keys present, byte for byte" % n)
    return 0


def cmd_stats(port, names):
    st = Conn(port).stats()
    print("  ".join("%s %s" % (k, st.get(k, "?")) for k in names))


class Worker(threading.Thread):
    def __init__(self, port, n):
        super().__init__(daemon=True)
        self.c = Conn(port)
        self.n = n
        self.requests = 0
        self.errors = 0
        self.worst = 0.0
        self.last_error = ""
        self.running = True

    def run(self):
        i = 0
        while self.running:
            k = key_for(i % self.n)
            t = time.monotonic()
            try:
                got = self.c.get_multi([k])
                if got.get(k) != value_for(i % self.n):
                    self.errors += 1
                    self.last_error = "wrong value for %r" % k
            except (OSError, ConnectionError, ValueError) as e:
                self.errors += 1
                self.last_error = str(e)
                return
            self.worst = max(self.worst, time.monotonic() - t)
            self.requests += 1
            i += 7919


def cmd_clients(port, nclients, nkeys):
    workers = [Worker(port, nkeys) for _ in range(nclients)]
    half = Conn(port)
    half.sock.sendall(b"set demo:half 0 0 11\r\nhello ")
    for w in workers:
        w.start()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "status":
            alive = sum(1 for w in workers if w.is_alive())
            reqs = sum(w.requests for w in workers)
            errs = sum(w.errors for w in workers)
            worst = max(w.worst for w in workers) * 1000
            ports = ",".join(str(w.c.local[1]) for w in workers)
            print("%d of %d clients connected (local ports %s: the same sockets, never "
                  "reconnected), %d requests, "
                  "%d errors, worst latency %.1f ms%s"
                  % (alive, nclients, ports, reqs, errs, worst,
                     "" if not errs else " (last: %s)" % workers[0].last_error), flush=True)
        elif cmd == "finish-half":
            half.sock.sendall(b"world\r\n")
            r1 = half.line().decode()
            got = half.get_multi([b"demo:half"]).get(b"demo:half")
            print("the set half sent before the upgrade, finished after it: %s, value %r"
                  % (r1, got.decode() if got else None), flush=True)
        elif cmd == "quit":
            break
    for w in workers:
        w.running = False
    for w in workers:
        w.join(5)


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        return 2
    what, port = sys.argv[1], int(sys.argv[2])
    if what == "load":
        return cmd_load(port, int(sys.argv[3]))
    if what == "verify":
        return cmd_verify(port, int(sys.argv[3]))
    if what == "stats":
        return cmd_stats(port, sys.argv[3:])
    if what == "clients":
        return cmd_clients(port, int(sys.argv[3]), int(sys.argv[4]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main() or 0)
