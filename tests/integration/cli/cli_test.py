#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""CLI tests: the real `baton` binary against real programs and images.

Usage: cli_test.py CASE
The environment names the binaries (set by tests/integration/cli/meson.build):
  BATON            the baton command
  MKIMAGE          writes the image app 1.0.0 would hand over
  BATON_PROGRAM_x  each test program, x its name underscored (app_1_0_0 ...)

Every case asserts exit codes, the rule names of --json output and what a
person reads; a crash (a signal) fails every case.
"""
import json
import os
import subprocess
import sys
import tempfile

BATON = os.environ["BATON"]
MKIMAGE = os.environ.get("MKIMAGE", "")
FAILURES = []


def prog(name):
    key = "BATON_PROGRAM_" + name.replace("-", "_").replace(".", "_")
    return os.environ[key]


def run(*args, stdin=None):
    p = subprocess.run([BATON, *args], capture_output=True, text=True, input=stdin,
                       timeout=60)
    if p.returncode < 0:
        fail(f"baton {' '.join(args)} was killed by signal {-p.returncode}\n{p.stderr}")
    return p


def fail(msg):
    FAILURES.append(msg)
    print("FAIL: " + msg, file=sys.stderr)


def expect(cond, msg):
    if not cond:
        fail(msg)
    return cond


def expect_rc(p, rc, what):
    return expect(p.returncode == rc,
                  f"{what}: exit {p.returncode}, expected {rc}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")


def as_json(p, what):
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        fail(f"{what}: output is not JSON ({e}):\n{p.stdout}")
        return {}


# ---------------------------------------------------------------------------
# help and usage

def case_help():
    top = run("--help")
    expect_rc(top, 0, "baton --help")
    for cmd in ["catalog", "check", "inspect"]:
        expect(cmd in top.stdout, f"baton --help does not list {cmd}")
        p = run(cmd, "--help")
        expect_rc(p, 0, f"baton {cmd} --help")
        for word in ["usage: baton " + cmd, "exit status", "example", "--json"]:
            expect(word in p.stdout, f"baton {cmd} --help lacks {word!r}:\n{p.stdout}")
        p = run(cmd, "--no-such-option", "x")
        expect_rc(p, 2, f"baton {cmd} with an unknown option")
        expect("usage:" in p.stderr, f"baton {cmd}: a usage error prints the usage")
    expect_rc(run("check"), 2, "baton check without arguments")
    expect_rc(run("check", prog("app-1.0.0")), 2, "baton check with one argument")
    expect_rc(run("check", "a", "b", "c"), 2, "baton check with three arguments")
    expect_rc(run("catalog"), 2, "baton catalog without FILE")
    expect_rc(run("inspect"), 2, "baton inspect without IMAGE")


# ---------------------------------------------------------------------------
# baton catalog

def case_catalog():
    p = run("catalog", prog("app-1.1.0"))
    expect_rc(p, 0, "baton catalog app-1.1.0")
    for word in ["app", "1.1.0", "app.cache", "app.listener",
                 "a3c1f0e2-5b6d-4e7f-8a9b-0c1d2e3f4a5b", "next-minor", "capacity"]:
        expect(word in p.stdout, f"baton catalog app-1.1.0 does not mention {word!r}:\n{p.stdout}")
    expect(p.stderr == "", f"a clean catalog has no warnings: {p.stderr}")

    p = run("catalog", "--json", prog("app-1.1.0"))
    expect_rc(p, 0, "baton catalog --json app-1.1.0")
    c = as_json(p, "baton catalog --json")
    expect(c.get("format") == "baton-catalog-1", f"format: {c.get('format')}")
    expect(c.get("program") == "app", f"program: {c.get('program')}")
    expect(c.get("release") == "1.1.0", f"release: {c.get('release')}")
    expect(c.get("policy") == ["same-build", "patch", "next-minor"], f"policy: {c.get('policy')}")
    expect(len(c.get("build_id", "")) == 40, f"build id of a real program: {c.get('build_id')}")
    handlers = {h["name"]: h for h in c.get("handlers", [])}
    expect(set(handlers) == {"app.cache", "app.listener"}, f"handlers: {sorted(handlers)}")
    cache = handlers.get("app.cache", {})
    expect(cache.get("writes", {}).get("version") == 2, f"app.cache writes: {cache.get('writes')}")
    expect([r.get("versions") for r in cache.get("reads", [])] == [[1, 2]],
           f"app.cache reads: {cache.get('reads')}")
    schemas = {(s["name"], s["version"]) for s in c.get("schemas", [])}
    expect(schemas == {("app.cache", 1), ("app.cache", 2), ("app.listener", 1)},
           f"schemas: {sorted(schemas)}")
    for s in c.get("schemas", []):
        expect(len(s.get("fingerprint", "")) == 32, f"fingerprint of {s.get('name')}")

    # a JSON catalog prints the same as the program it came from
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "app-1.1.0.json")
        with open(path, "w") as f:
            f.write(p.stdout)
        q = run("catalog", "--json", path)
        expect_rc(q, 0, "baton catalog --json of a JSON catalog")
        expect(q.stdout == p.stdout, "the canonical JSON of a JSON catalog is the same text")
        h1, h2 = run("catalog", prog("app-1.1.0")), run("catalog", path)
        expect(h1.stdout == h2.stdout, "the human form of a JSON catalog is the same text")

    # violations of one catalog are warnings here, findings in check
    p = run("catalog", prog("app-1.0.3-ambiguous"))
    expect_rc(p, 0, "baton catalog of an ambiguous program")
    expect("warning: ambiguous: app.cache" in p.stderr, f"ambiguity warned about:\n{p.stderr}")
    p = run("catalog", prog("app-1.0.4-noschema"))
    expect("warning: schema: handler app.listener" in p.stderr, f"missing schema:\n{p.stderr}")


# ---------------------------------------------------------------------------
# baton check

ALLOWED = [
    ("app-1.0.0", "app-1.0.0", "same-build"),
    ("app-1.0.0", "app-1.0.1", "patch"),
    ("app-1.0.0", "app-1.1.0", "next-minor"),
    ("app-1.0.1", "app-1.1.0", "next-minor"),
    ("app-1.1.0", "app-1.2.0", "next-minor"),
    ("app-1.2.0", "app-2.0.0", "from 1.2"),
    ("app-2.0.0", "app-2.0.0", "same-build"),
    ("app-0.9.0", "app-0.9.0", "same-build"),
]

REFUSED = [
    # old, new, the rules of the findings in order
    ("app-0.9.0", "app-1.0.0", ["path"]),
    ("app-1.0.0", "app-1.2.0", ["path", "unbound"]),
    ("app-1.1.0", "app-2.0.0", ["path"]),
    ("app-1.1.0", "app-1.0.1", ["downgrade", "unbound"]),
    ("app-2.0.0", "app-1.2.0", ["downgrade", "unbound"]),
    ("app-1.0.0", "other-1.0.0", ["path"]),
    ("app-1.0.1", "app-1.1.0-drops-v1", ["unbound"]),
    ("app-1.0.1", "app-1.0.2-layout", ["layout"]),
    ("app-1.0.1", "app-1.0.3-ambiguous", ["ambiguous"]),
    ("app-1.0.1", "app-1.0.4-noschema", ["schema"]),
    ("app-1.1.0-drops-v1", "app-1.1.0", ["path"]),  # same release, another build
]


def check_json(old, new):
    p = run("check", "--json", old, new)
    return p, as_json(p, f"baton check --json {old} {new}")


def case_check_allowed():
    for old, new, rule in ALLOWED:
        what = f"baton check {old} {new}"
        p = run("check", prog(old), prog(new))
        expect_rc(p, 0, what)
        summary = f"app {old.split('-')[1]} -> app {new.split('-')[1]}: allowed (path accepted by {rule}; "
        expect(p.stdout.startswith(summary), f"{what}: summary {p.stdout!r}, expected {summary!r}")
        p, j = check_json(prog(old), prog(new))
        expect_rc(p, 0, what + " --json")
        expect(j.get("ok") is True and j.get("findings") == [], f"{what} --json: {j}")
        expect(j.get("accepted_by") == rule, f"{what} --json: accepted_by {j.get('accepted_by')}")
        expect(j.get("from") == old.split("-")[1] and j.get("to") == new.split("-")[1],
               f"{what} --json: from/to {j.get('from')}/{j.get('to')}")


def case_check_refused():
    for old, new, rules in REFUSED:
        what = f"baton check {old} {new}"
        p = run("check", prog(old), prog(new))
        expect_rc(p, 1, what)
        lines = p.stdout.splitlines()
        expect([ln.split(":")[0] for ln in lines[:-1]] == rules,
               f"{what}: finding lines {lines[:-1]}, expected rules {rules}")
        n = len(rules)
        expect(lines and lines[-1].endswith(f": refused, {n} finding{'s' if n > 1 else ''}"),
               f"{what}: summary {lines[-1:]}")
        p, j = check_json(prog(old), prog(new))
        expect_rc(p, 1, what + " --json")
        expect(j.get("ok") is False, f"{what} --json: ok is {j.get('ok')}")
        got = [f.get("rule") for f in j.get("findings", [])]
        expect(got == rules, f"{what} --json: rules {got}, expected {rules}")
        for f in j.get("findings", []):
            expect(f.get("message", "").startswith(f["rule"] + ": "),
                   f"{what}: a message starts with its rule: {f.get('message')}")
            if f["rule"] in ("unbound", "layout", "ambiguous", "schema"):
                expect(len(f.get("contract", "")) == 36 and f.get("contract_name", "").startswith("app."),
                       f"{what}: {f['rule']} names the contract: {f}")
                expect(f.get("contract") in f["message"] and f["contract_name"] in f["message"],
                       f"{what}: the message names the contract: {f['message']}")
                expect(f.get("version", 0) >= 1, f"{what}: {f['rule']} names the version: {f}")
            expect(f"app {j['from']}" in f["message"] or f"app {j['to']}" in f["message"],
                   f"{what}: the message names a release: {f['message']}")


def case_check_details():
    # what a person needs, for each rule
    p, j = check_json(prog("app-1.0.1"), prog("app-1.1.0-drops-v1"))
    f = j["findings"][0]
    expect(f.get("writer_handler") == "app.cache" and f.get("version") == 1, f"unbound details: {f}")
    expect("written by handler app.cache of app 1.0.1, is read by no handler of app 1.1.0 "
           "(app.cache reads version 2)" in f["message"], f"unbound message: {f['message']}")
    expect("add version 1 back" in f["message"], "unbound says what to do")

    p, j = check_json(prog("app-1.0.1"), prog("app-1.0.2-layout"))
    f = j["findings"][0]
    expect(f.get("writer_handler") == "app.cache" and f.get("reader_handler") == "app.cache",
           f"layout handlers: {f}")
    for part in ["layout changed without a version bump", "field nitems changed from u64 to u32",
                 "field name changed from string(max 32) to string(max 64)"]:
        expect(part in f["message"], f"layout message lacks {part!r}: {f['message']}")

    p, j = check_json(prog("app-1.0.1"), prog("app-1.0.3-ambiguous"))
    f = j["findings"][0]
    expect({f.get("reader_handler"), f.get("other_handler")} == {"app.cache", "app.import"}
           and f.get("side") == "new", f"ambiguous details: {f}")

    p, j = check_json(prog("app-0.9.0"), prog("app-1.0.0"))
    f = j["findings"][0]
    expect("contract" not in f and f.get("writer_release") == "0.9.0"
           and f.get("reader_release") == "1.0.0", f"path details: {f}")

    # the optional stats of 1.0 are dropped by 1.1 without a finding
    p, j = check_json(prog("app-1.0.1"), prog("app-1.1.0"))
    expect(j.get("ok") is True, "an optional contract the new release does not read is no finding")


def case_roundtrip():
    names = ["app-0.9.0", "app-1.0.0", "app-1.0.1", "app-1.1.0", "app-1.2.0", "app-2.0.0",
             "app-1.1.0-drops-v1", "app-1.0.2-layout", "app-1.0.3-ambiguous",
             "app-1.0.4-noschema", "other-1.0.0"]
    with tempfile.TemporaryDirectory() as d:
        js = {}
        for n in names:
            p = run("catalog", "--json", prog(n))
            expect_rc(p, 0, f"baton catalog --json {n}")
            js[n] = os.path.join(d, n + ".json")
            with open(js[n], "w") as f:
                f.write(p.stdout)
        # a program checked against its own JSON catalog: as against itself
        for n in names:
            a, ja = check_json(prog(n), prog(n))
            b, jb = check_json(js[n], prog(n))
            c, jc = check_json(prog(n), js[n])
            expect(a.returncode == b.returncode == c.returncode,
                   f"{n}: check P P exits {a.returncode}, check p.json P {b.returncode}, "
                   f"check P p.json {c.returncode}")
            expect(ja == jb == jc, f"{n}: JSON output differs:\n{ja}\n{jb}\n{jc}")
        # and every pair, through JSON only
        for old, new, _ in ALLOWED + [(o, n, None) for o, n, _ in REFUSED]:
            a, ja = check_json(prog(old), prog(new))
            b, jb = check_json(js[old], js[new])
            expect(a.returncode == b.returncode and ja == jb,
                   f"{old} -> {new}: programs and JSON catalogs disagree:\n{ja}\n{jb}")


def case_unreadable():
    with tempfile.TemporaryDirectory() as d:
        good = prog("app-1.0.0")
        missing = os.path.join(d, "missing")
        garbage = os.path.join(d, "garbage")
        with open(garbage, "wb") as f:
            f.write(b"\x00\x01not a catalog at all\xff" * 10)
        truncated = os.path.join(d, "truncated.json")
        text = run("catalog", "--json", good).stdout
        with open(truncated, "w") as f:
            f.write(text[: len(text) // 2])
        for bad in [missing, d, garbage, truncated]:
            for args in [("check", bad, good), ("check", good, bad), ("catalog", bad),
                         ("check", "--json", bad, good)]:
                p = run(*args)
                expect_rc(p, 2, "baton " + " ".join(args))
                expect(bad in p.stderr, f"baton {' '.join(args)}: the message names the file:\n{p.stderr}")
                expect(p.stdout == "", f"baton {' '.join(args)}: nothing on stdout:\n{p.stdout}")
        p = run("check", missing, good)
        expect("No such file" in p.stderr or "cannot open" in p.stderr,
               f"the reason is given: {p.stderr}")


# ---------------------------------------------------------------------------
# baton inspect

def make_image(d, *flags):
    path = os.path.join(d, "app.image" + "".join(flags).replace("-", "_"))
    p = subprocess.run([MKIMAGE, path, *flags], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"mkimage failed: {p.stderr}")
    return path


def case_inspect():
    with tempfile.TemporaryDirectory() as d:
        img = make_image(d)
        p = run("inspect", img)
        expect_rc(p, 0, "baton inspect of a good image")
        for part in ["program:     app", "release:     1.0.0", "build id:    b07a1000deadbeef",
                     "generation:  3", "object 0: cache/main", "object 1: listener/tcp:11211",
                     "object 2: stats", "flags:       optional", "nitems = 42", 'name = "main"',
                     "port = 11211", "fd 0: socket listener", "fd 1: memfd cache-data",
                     "region 0: fd 1, 1048576 bytes, cache-data"]:
            expect(part in p.stdout, f"baton inspect lacks {part!r}:\n{p.stdout}")

        p = run("inspect", "--json", img)
        expect_rc(p, 0, "baton inspect --json")
        j = as_json(p, "baton inspect --json")
        expect((j.get("program"), j.get("release"), j.get("generation"), j.get("build_id"))
               == ("app", "1.0.0", 3, "b07a1000deadbeef"), f"header: {j}")
        objs = j.get("objects", [])
        expect([o.get("key") for o in objs] == ["cache/main", "listener/tcp:11211", "stats"],
               f"objects: {objs}")
        if len(objs) == 3:
            expect(objs[0]["fields"] == {"nitems": 42, "name": "main"}, f"raw cache fields: {objs[0]}")
            expect(objs[0]["contract"] == "a3c1f0e2-5b6d-4e7f-8a9b-0c1d2e3f4a5b"
                   and objs[0]["version"] == 1 and objs[0]["handler"] == "app.cache",
                   f"cache object: {objs[0]}")
            expect(objs[1]["fds"] == [0] and objs[1]["fields"] == {"sock": 0, "port": 11211},
                   f"listener: {objs[1]}")
            expect(objs[2]["optional"] is True and objs[0]["optional"] is False, "flags")
        expect(j.get("fds") == [{"kind": "socket", "name": "listener"},
                                {"kind": "memfd", "name": "cache-data"}], f"fds: {j.get('fds')}")
        expect(j.get("regions") == [{"fd": 1, "size": 1048576, "name": "cache-data"}],
               f"regions: {j.get('regions')}")


def case_inspect_catalog():
    with tempfile.TemporaryDirectory() as d:
        img = make_image(d)
        # the successor 1.1.0 binds it: the cache upgraded, the stats dropped
        p = run("inspect", "--catalog", prog("app-1.1.0"), img)
        expect_rc(p, 0, "baton inspect --catalog app-1.1.0")
        for part in ["contract:    a3c1f0e2-5b6d-4e7f-8a9b-0c1d2e3f4a5b (app.cache)",
                     "binds to:    handler app.cache (restores version 2)",
                     "binds to:    none; optional, dropped",
                     "fields (by schema app.cache version 1):", "nitems = 42 (u64)",
                     'name = "main" (string)', "sock = fd 0 (socket listener) (fd)",
                     "app 1.0.0 -> app 1.1.0: the image binds (3 objects)"]:
            expect(part in p.stdout, f"inspect --catalog lacks {part!r}:\n{p.stdout}")
        p = run("inspect", "--json", "--catalog", prog("app-1.1.0"), img)
        j = as_json(p, "inspect --json --catalog")
        expect(j.get("ok") is True and j.get("findings") == [], f"bound: {j.get('findings')}")
        objs = j.get("objects", [])
        if len(objs) == 3:
            expect(objs[0].get("decoded") is True, f"decoded: {objs[0]}")
            expect(objs[0]["binding"] == {"handler": "app.cache", "target_version": 2,
                                          "dropped": False}, f"binding: {objs[0]['binding']}")
            expect(objs[1]["fields"]["sock"] == {"fd": 0}, f"typed fd: {objs[1]['fields']}")
            expect(objs[2]["binding"] == {"dropped": True}, f"dropped: {objs[2]['binding']}")

        # refusals: by path, by layout, by fields
        for catalog, rules in [("app-1.2.0", ["path", "unbound"]),
                               ("app-1.0.2-layout", ["layout"]),
                               ("other-1.0.0", ["path"]),
                               ("app-1.0.0", ["path"])]:  # same release, another build
            p = run("inspect", "--json", "--catalog", prog(catalog), img)
            expect_rc(p, 1, f"inspect --catalog {catalog}")
            j = as_json(p, f"inspect --catalog {catalog}")
            got = [f.get("rule") for f in j.get("findings", [])]
            expect(got == rules and j.get("ok") is False, f"inspect --catalog {catalog}: {got}")
        p = run("inspect", "--catalog", prog("app-1.0.2-layout"), img)
        expect("fields (by size; the catalog's schema of version 1 has another layout)" in p.stdout,
               f"a layout mismatch is decoded by size:\n{p.stdout}")
        expect("layout: object cache/main" in p.stdout, p.stdout)

        bad = make_image(d, "--bad-fields")
        expect_rc(run("inspect", bad), 0, "inspect without a catalog cannot know the field is too long")
        p = run("inspect", "--catalog", prog("app-1.0.1"), bad)
        expect_rc(p, 1, "inspect --catalog of an image whose field breaks its schema")
        expect("schema: object cache/main" in p.stdout and "name" in p.stdout, p.stdout)
        expect_rc(run("inspect", "--catalog", os.path.join(d, "missing"), img), 2,
                  "inspect with an unreadable catalog")


def case_inspect_hostile():
    with tempfile.TemporaryDirectory() as d:
        img = make_image(d)
        data = open(img, "rb").read()
        bad = os.path.join(d, "bad.image")

        def refused(blob, what):
            with open(bad, "wb") as f:
                f.write(blob)
            p = run("inspect", bad)
            ok = expect_rc(p, 1, what)
            if ok:
                ok = expect(p.stderr.startswith("baton inspect: ") and p.stdout == "",
                            f"{what}: one reason on stderr, nothing else:\n{p.stdout}\n{p.stderr}")
            return ok

        # The codec's own tests cut at every length and flip every bit in
        # process; here the command must refuse a fair sample of them, each
        # with one reason and without a crash: every cut and flip in the
        # header, then every few bytes (a prime stride, so every field and
        # every bit position is hit somewhere).
        cuts = list(range(min(len(data), 128))) + list(range(128, len(data), 13))
        for n in cuts:
            if not refused(data[:n], f"image truncated to {n} of {len(data)} bytes"):
                break
        flips = list(range(min(len(data), 64))) + list(range(64, len(data), 7))
        for i in flips:
            blob = bytearray(data)
            blob[i] ^= 1 << (i % 8)
            if not refused(bytes(blob), f"image with bit {i % 8} of byte {i} flipped"):
                break
        # trailing garbage, a wrong magic, nothing at all
        refused(data + b"\0" * 8, "image with trailing bytes")
        refused(b"\xd0\x0d\xfe\xed" + b"\xff" * 60, "a header claiming huge sizes")
        refused(b"", "an empty file")
        # larger than any image may be: refused before it is read
        with open(bad, "wb") as f:
            f.truncate(64 * 1024 * 1024 + 1)
        p = run("inspect", bad)
        expect_rc(p, 1, "a 64 MiB + 1 file")
        expect("larger than an image may be" in p.stderr, p.stderr)
        # not a file at all
        expect_rc(run("inspect", os.path.join(d, "missing")), 2, "inspect of a missing file")
        expect_rc(run("inspect", d), 2, "inspect of a directory")


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print(f"usage: {sys.argv[0]} {'|'.join(CASES)}", file=sys.stderr)
        sys.exit(2)
    CASES[sys.argv[1]]()
    if FAILURES:
        print(f"{len(FAILURES)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("ok")
