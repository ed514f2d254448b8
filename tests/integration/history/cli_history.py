#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The history commands, end to end: `baton check --history`, `baton retire`
and `baton plan` over the small JSON histories in data/ and over a history
made at test time from the real test programs (tests/programs).

data/svc is the shipped history of a pretend service: 1.0.0 and 1.0.1 write
svc.cache v1 (and optional svc.stats); 1.1.x and 1.2.0 write v2 and still
read v1; 1.3.0 reads only v2. data/new holds releases under test, outside
the history. The other folders are broken on purpose.

Usage: cli_history.py CASE; the environment names the baton command
(BATON) and the test programs (BATON_PROGRAM_app_1_0_0, ...).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
BATON = os.environ["BATON"]


def run(*args, want=None):
    """Runs baton ARGS in data/; checks the exit status when want is given."""
    p = subprocess.run([BATON, *args], cwd=DATA, capture_output=True, text=True,
                       timeout=60)
    if want is not None and p.returncode != want:
        raise AssertionError("baton %s: exit %d, wanted %d\nstdout:\n%s\nstderr:\n%s"
                             % (" ".join(args), p.returncode, want, p.stdout, p.stderr))
    return p


def run_json(*args, want=None):
    p = run(*args, "--json", want=want)
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise AssertionError("baton %s --json: not JSON (%s):\n%s" % (" ".join(args), e, p.stdout))


def expect(cond, what):
    if not cond:
        raise AssertionError(what)


def contains(text, piece):
    expect(piece in text, "expected %r in:\n%s" % (piece, text))


def versions_by_key(doc):
    return {(v["contract_name"], v["version"]): v for v in doc["versions"]}


def program(name):
    path = os.environ.get("BATON_PROGRAM_" + name.replace("-", "_").replace(".", "_"))
    expect(path and os.path.exists(path), "test program %s not built" % name)
    return path


def app_history(tmp, releases):
    """A history folder made with `baton catalog --json` of real programs."""
    folder = os.path.join(tmp, "history")
    os.makedirs(folder, exist_ok=True)
    for r in releases:
        p = run("catalog", "--json", program("app-" + r), want=0)
        with open(os.path.join(folder, "app-%s.json" % r), "w") as f:
            f.write(p.stdout)
    return folder


# ---------------------------------------------------------------------------
# check --history

def case_check_history_ok():
    p = run("check", "--history", "svc", "new/svc-1.4.0.json", want=0)
    contains(p.stdout, "svc 1.3.0 -> svc 1.4.0: allowed (path accepted by next-minor")
    contains(p.stdout, "every supported path from svc passes (1 path)")
    contains(p.stdout, "not checked: 1.0.0, 1.0.1, 1.1.0, 1.1.1, 1.2.0")
    doc = run_json("check", "--history", "svc", "new/svc-1.4.0.json", want=0)
    expect(doc["ok"] is True and doc["findings"] == [], doc)
    expect(doc["program"] == "svc" and doc["to"] == "1.4.0", doc)
    expect([(p["from"], p["ok"], p["findings"]) for p in doc["paths"]] == [("1.3.0", True, [])],
           doc["paths"])
    expect([u["from"] for u in doc["unsupported"]] == ["1.0.0", "1.0.1", "1.1.0", "1.1.1", "1.2.0"],
           doc["unsupported"])


def case_check_history_findings():
    # 1.1.2 accepts 1.0.x (next-minor) but no longer reads svc.cache v1
    p = run("check", "--history", "svc", "new/svc-1.1.2-drops-v1.json", want=1)
    contains(p.stdout, "unbound: ")
    contains(p.stdout, "svc 1.0.0 -> svc 1.1.2: refused")
    contains(p.stdout, "svc 1.1.1 -> svc 1.1.2: allowed")
    contains(p.stdout, "2 of 4 supported paths from svc refused")
    doc = run_json("check", "--history", "svc", "new/svc-1.1.2-drops-v1.json", want=1)
    expect(doc["ok"] is False, doc)
    paths = {p["from"]: p for p in doc["paths"]}
    expect(sorted(paths) == ["1.0.0", "1.0.1", "1.1.0", "1.1.1"], paths.keys())
    for r in ("1.0.0", "1.0.1"):
        expect(not paths[r]["ok"], paths[r])
        expect([f["rule"] for f in paths[r]["findings"]] == ["unbound"], paths[r]["findings"])
        expect(paths[r]["findings"][0]["version"] == 1, paths[r]["findings"])
    for r in ("1.1.0", "1.1.1"):
        expect(paths[r]["ok"] and paths[r]["findings"] == [], paths[r])
    # the top level holds every finding once
    expect([f["rule"] for f in doc["findings"]] == ["unbound", "unbound"], doc["findings"])


def case_check_history_no_path():
    # a new major without a from rule: nothing to check, and it says so
    p = run("check", "--history", "svc", "new/svc-2.0.0.json", want=0)
    contains(p.stdout, "no release in svc is on a supported path into it")
    doc = run_json("check", "--history", "svc", "new/svc-2.0.0.json", want=0)
    expect(doc["paths"] == [] and len(doc["unsupported"]) == 6, doc)


def case_check_history_programs():
    with tempfile.TemporaryDirectory() as tmp:
        folder = app_history(tmp, ["0.9.0", "1.0.0", "1.0.1", "1.1.0", "1.2.0"])
        run("check", "--history", folder, program("app-2.0.0"), want=0)
        p = run("check", "--history", folder, program("app-1.1.0-drops-v1"), want=1)
        contains(p.stdout, "app 1.0.0 -> app 1.1.0: refused")
        contains(p.stdout, "app 1.0.1 -> app 1.1.0: refused")
        # NEW may also be a release of the folder
        run("check", "--history", folder, "1.1.0", want=0)
        # NEW's own problems show on every path, and once at the top
        doc = run_json("check", "--history", folder, program("app-1.0.3-ambiguous"), want=1)
        expect([f["rule"] for f in doc["findings"]] == ["ambiguous"], doc["findings"])
        expect([(p["from"], [f["rule"] for f in p["findings"]]) for p in doc["paths"]]
               == [("1.0.0", ["ambiguous"]), ("1.0.1", ["ambiguous"])], doc["paths"])
    with tempfile.TemporaryDirectory() as tmp:
        # ... and fail the check even when no path into NEW is supported
        folder = app_history(tmp, ["1.1.0"])
        p = run("check", "--history", folder, program("app-1.0.3-ambiguous"), want=1)
        contains(p.stdout, "ambiguous: ")
        contains(p.stdout, "its own catalog has findings")


# ---------------------------------------------------------------------------
# retire

def case_retire_needed_and_removable():
    p = run("retire", "svc", "1.2.0", want=0)
    contains(p.stdout, "svc 1.2.0 accepts 2 of the 6 releases in svc: 1.1.0 1.1.1")
    contains(p.stdout, "removable: svc 1.2.0 reads svc.cache")
    contains(p.stdout, "last written by 1.0.1")
    contains(p.stdout, "svc 1.2.0: 2 needed, 1 removable, 0 missing")
    doc = run_json("retire", "svc", "1.2.0", want=0)
    expect(doc["ok"] is True and doc["accepted"] == ["1.1.0", "1.1.1"], doc)
    v = versions_by_key(doc)
    expect(set(v) == {("svc.cache", 1), ("svc.cache", 2), ("svc.listener", 1)}, v.keys())
    expect(v[("svc.cache", 1)]["status"] == "removable", v)
    expect(v[("svc.cache", 1)]["releases"] == ["1.0.1"], v)
    expect(v[("svc.cache", 1)]["contract"] == "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f", v)
    expect(v[("svc.cache", 2)]["status"] == "needed", v)
    expect(v[("svc.cache", 2)]["releases"] == ["1.1.0", "1.1.1", "1.2.0"], v)
    expect(v[("svc.listener", 1)]["status"] == "needed", v)


def case_retire_missing():
    # dropped too early: 1.1.2 accepts 1.0.x, which still writes v1
    p = run("retire", "svc", "new/svc-1.1.2-drops-v1.json", want=1)
    contains(p.stdout, "missing: 1.0.0 and 1.0.1 write svc.cache")
    contains(p.stdout, "dropped: 1.0.0 and 1.0.1 write svc.stats")
    doc = run_json("retire", "svc", "new/svc-1.1.2-drops-v1.json", want=1)
    expect(doc["ok"] is False, doc)
    v = versions_by_key(doc)
    expect(v[("svc.cache", 1)]["status"] == "missing", v)
    expect(v[("svc.cache", 1)]["releases"] == ["1.0.0", "1.0.1"], v)
    # optional objects are not an error, and not among the fixed statuses
    expect(("svc.stats", 1) not in v, v)
    expect([(d["contract_name"], d["status"]) for d in doc["dropped"]] == [("svc.stats", "dropped")],
           doc["dropped"])


def case_retire_out_of_policy():
    # the same v1, once 1.0.x falls out of the policy: removable
    doc = run_json("retire", "svc", "new/svc-1.1.2-patch-only.json", want=0)
    v = versions_by_key(doc)
    expect(doc["accepted"] == ["1.1.0", "1.1.1"], doc)
    expect(v[("svc.cache", 1)]["status"] == "removable", v)
    expect(v[("svc.cache", 1)]["releases"] == ["1.0.1"], v)


def case_retire_programs():
    with tempfile.TemporaryDirectory() as tmp:
        folder = app_history(tmp, ["0.9.0", "1.0.0", "1.0.1", "1.1.0"])
        doc = run_json("retire", folder, program("app-1.1.0"), want=0)
        v = versions_by_key(doc)
        expect(doc["accepted"] == ["1.0.0", "1.0.1"], doc)
        expect(v[("app.cache", 1)]["status"] == "needed", v)
        expect(v[("app.cache", 1)]["releases"] == ["1.0.0", "1.0.1"], v)
        doc = run_json("retire", folder, program("app-1.2.0"), want=0)
        v = versions_by_key(doc)
        expect(doc["accepted"] == ["1.1.0"], doc)
        expect(("app.cache", 1) not in v, v)
        expect(v[("app.cache", 2)]["releases"] == ["1.1.0", "1.2.0"], v)


# ---------------------------------------------------------------------------
# plan

def case_plan_chain():
    p = run("plan", "svc", "1.0.0", "1.3.0", want=0)
    contains(p.stdout, "1.0.0 -> 1.1.1 -> 1.2.0 -> 1.3.0: 3 hops")
    contains(p.stdout, "svc 1.0.0 -> svc 1.1.1: allowed (path accepted by next-minor")
    doc = run_json("plan", "svc", "1.0.0", "1.3.0", want=0)
    expect(doc["ok"] is True and doc["path"] == ["1.0.0", "1.1.1", "1.2.0", "1.3.0"], doc)
    expect([h["ok"] for h in doc["hops"]] == [True, True, True], doc["hops"])


def case_plan_deterministic():
    # the same history under other file names (another order): the same plan
    with tempfile.TemporaryDirectory() as tmp:
        names = sorted(os.listdir(os.path.join(DATA, "svc")))
        for i, name in enumerate(names):
            shutil.copy(os.path.join(DATA, "svc", name),
                        os.path.join(tmp, "%02d-%s" % (len(names) - i, name)))
        doc = run_json("plan", tmp, "1.0.0", "1.3.0", want=0)
        expect(doc["path"] == ["1.0.0", "1.1.1", "1.2.0", "1.3.0"], doc)


def case_plan_around_broken_hop():
    # 1.0.x -> 1.1.2 fails the check; 1.0.0 -> 1.1.1 -> 1.1.2 does not
    doc = run_json("plan", "svc", "1.0.0", "new/svc-1.1.2-drops-v1.json", want=0)
    expect(doc["path"] == ["1.0.0", "1.1.1", "1.1.2"], doc)


def case_plan_across_major():
    doc = run_json("plan", "svc", "1.0.1", "new/svc-2.0.0-from-1.3.json", want=0)
    expect(doc["path"] == ["1.0.1", "1.1.1", "1.2.0", "1.3.0", "2.0.0"], doc)


def case_plan_no_path():
    p = run("plan", "svc", "1.0.0", "new/svc-2.0.0.json", want=1)
    contains(p.stdout, "no supported path from 1.0.0 to 2.0.0")
    contains(p.stdout, "the route gets as far as: 1.0.0 -> 1.1.1 -> 1.2.0 -> 1.3.0")
    doc = run_json("plan", "svc", "1.0.0", "new/svc-2.0.0.json", want=1)
    expect(doc["ok"] is False and doc["nearest"] is None, doc)
    expect(doc["path"] == ["1.0.0", "1.1.1", "1.2.0", "1.3.0"], doc)
    expect(doc["break"]["from"] == "1.3.0" and doc["break"]["to"] == "2.0.0", doc["break"])
    expect([f["rule"] for f in doc["break"]["findings"]] == ["path"], doc["break"])
    contains(doc["reason"], "no release between 1.0.0 and 2.0.0 reaches 2.0.0")


def case_plan_gap():
    # 1.1.x is missing from the history: 1.2.0 is the nearest release that gets there
    p = run("plan", "gap", "1.0.0", "1.3.0", want=1)
    contains(p.stdout, "nearest release that reaches 1.3.0: 1.2.0")
    doc = run_json("plan", "gap", "1.0.0", "1.3.0", want=1)
    expect(doc["nearest"] == "1.2.0" and doc["path"] == ["1.0.0"], doc)
    expect(doc["break"]["to"] == "1.2.0", doc["break"])
    contains(doc["break"]["reason"], "next-minor (1.1.*)")


def case_plan_downgrade():
    doc = run_json("plan", "svc", "1.3.0", "1.0.0", want=1)
    expect(doc["break"]["findings"][0]["rule"] == "downgrade", doc["break"])
    contains(doc["reason"], "downgrade")


def case_plan_programs():
    with tempfile.TemporaryDirectory() as tmp:
        folder = app_history(tmp, ["0.9.0", "1.0.0", "1.0.1", "1.1.0", "1.2.0"])
        doc = run_json("plan", folder, "1.0.0", program("app-2.0.0"), want=0)
        expect(doc["path"] == ["1.0.0", "1.1.0", "1.2.0", "2.0.0"], doc)
        # 0.9.0 accepts only itself and nothing accepts 0.9.0
        doc = run_json("plan", folder, "0.9.0", program("app-2.0.0"), want=1)
        expect(doc["path"] == ["0.9.0"], doc)


# ---------------------------------------------------------------------------
# usage and unreadable input

def case_errors():
    for cmd in (["retire"], ["plan"], ["retire", "svc"], ["plan", "svc", "1.0.0"]):
        run(*cmd, want=2)
    for cmd in ("retire", "plan"):
        p = run(cmd, "--help", want=0)
        contains(p.stdout, "usage: baton " + cmd)
    p = run("retire", "no-such-folder", "1.0.0", want=2)
    contains(p.stderr, "no-such-folder: cannot read the history folder")
    p = run("retire", "empty", "1.0.0", want=2)
    contains(p.stderr, "empty holds no *.json catalogs")
    p = run("plan", "broken", "1.0.0", "1.0.0", want=2)
    contains(p.stderr, "svc-1.0.0.json")
    p = run("retire", "dup", "1.0.0", want=2)
    contains(p.stderr, "dup/a.json and dup/b.json")
    p = run("retire", "mixed", "1.0.0", want=2)
    contains(p.stderr, "is a release of program")
    p = run("plan", "svc", "1.0.0", "1.9.0", want=2)
    contains(p.stderr, "release 1.9.0 is not in svc")
    contains(p.stderr, "1.0.0 1.0.1 1.1.0 1.1.1 1.2.0 1.3.0")
    p = run("retire", "svc", "no-such-file.json", want=2)
    contains(p.stderr, "no-such-file.json")
    # nothing on stdout for machines when the input is bad
    p = run("retire", "--json", "dup", "1.0.0", want=2)
    expect(p.stdout == "", p.stdout)


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    fn = globals().get("case_" + name)
    if not fn:
        print("unknown case %r" % name, file=sys.stderr)
        return 2
    fn()
    return 0


if __name__ == "__main__":
    sys.exit(main())
