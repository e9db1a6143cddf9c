#!/usr/bin/python3
"""Tests for bench/run.py, the benchmark driver.

Each case builds a fake source tree in a temporary directory: workloads in
bench/workloads/*.json whose "systems" are tiny Python scripts printing known
RESULT lines (a sequence of values, one per run, kept in a counter file), and
checks what the driver computes and prints: medians, min-max, ratios in both
directions, the unavailable paths (missing program, failing program, timeout,
missing package, broken Go source), "not built yet", the exit status when
loom itself fails, quick mode, --only and the written reports.

Prints one line per check and a last line "N passed, M failed"; exits non-zero
on any failure.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("LOOM_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
RUN_PY = os.path.join(SRC, "bench", "run.py")
PY = sys.executable

# A fake system: prints RESULT lines for run number k (kept in a state file).
# Usage: fake.py STATE KEY v1,v2,v3 [KEY2 w1,w2,w3] --n N
FAKE = r'''
import sys, os
args = sys.argv[1:]
n = args[args.index("--n") + 1]; del args[args.index("--n"):args.index("--n") + 2]
state = args.pop(0)
k = int(open(state).read()) if os.path.exists(state) else 0
open(state, "w").write(str(k + 1))
print("some chatter before the results")
for key, vals in zip(args[0::2], args[1::2]):
    vals = vals.split(",")
    v = n if vals[0] == "N" else vals[k % len(vals)]
    print(f"RESULT {key} {v}")
'''

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {what}")
    else:
        failed += 1
        print(f"FAIL {what}")


class Tree:
    """A fake source tree with workloads and a build dir."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.root = self.tmp.name
        self.src = os.path.join(self.root, "src")
        self.build = os.path.join(self.root, "build")
        os.makedirs(os.path.join(self.src, "bench", "workloads"))
        os.makedirs(self.build)
        self.fake = os.path.join(self.src, "fake.py")
        with open(self.fake, "w") as f:
            f.write(FAKE)
        self.nstate = 0

    def system(self, name, key, values, *extra, **opts):
        self.nstate += 1
        state = os.path.join(self.root, f"state{self.nstate}")
        cmd = [PY, "{src}/fake.py", state, key, values, *extra, "--n", "{n}"]
        return dict({"name": name, "cmd": cmd}, **opts)

    def workload(self, wid, systems, **opts):
        w = dict({"id": wid, "title": f"fake workload {wid}", "key": opts.pop("key", "rate"),
                  "unit": "things/s", "higher_is_better": True, "n": 1000,
                  "quick_n": 10, "runs": 3, "systems": systems}, **opts)
        with open(os.path.join(self.src, "bench", "workloads", wid.lower() + ".json"), "w") as f:
            json.dump(w, f)

    def run(self, *args):
        p = subprocess.run([PY, RUN_PY, "--build", self.build, "--src", self.src,
                            "--no-install", *args], capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def results_md(self):
        with open(os.path.join(self.src, "bench", "RESULTS.md")) as f:
            return f.read()

    def row(self, out, wid, system):
        """The cells of a table row, or None."""
        for line in out.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) == 6 and cells[0] == wid and cells[1] == system:
                return cells
        return None


def test_medians_and_ratios():
    t = Tree()
    t.workload("W1", [t.system("loom", "rate", "10,30,20", "rss_kb", "100,300,200"),
                      t.system("slow peer", "rate", "5,4,6", "rss_kb", "400,400,400"),
                      t.system("fast peer", "rate", "40", "rss_kb", "50")],
               extra_keys={"rss_kb": "peak RSS (KiB)"})
    t.workload("W2", [t.system("loom", "ns", "3,2,4"), t.system("C peer", "ns", "8,8,9")],
               key="ns", unit="ns/op", higher_is_better=False)
    rc, out, err = t.run()
    check(rc == 0, f"full run exits 0 (rc={rc}, {err[-300:]!r})")
    r = t.row(out, "W1", "loom")
    check(r is not None and r[2] == "20.00" and r[3] == "10.00–30.00" and r[5] == "—",
          f"loom median 20 of 10,30,20 and its span: {r}")
    r = t.row(out, "W1", "slow peer")
    check(r is not None and r[2] == "5.00" and r[5] == "loom is 4.00x faster",
          f"higher-is-better ratio against a slower peer: {r}")
    r = t.row(out, "W1", "fast peer")
    check(r is not None and r[5] == "loom is 2.00x slower", f"ratio against a faster peer: {r}")
    r = t.row(out, "W1 rss_kb", "slow peer")
    check(r is not None and r[2] == "400.0" and r[5] == "loom is 2.00x better",
          f"extra key, lower is better by default: {r}")
    r = t.row(out, "W2", "C peer")
    check(r is not None and r[2] == "8.00" and r[5] == "loom is 2.67x faster",
          f"lower-is-better main key: 8 ns vs 3 ns: {r}")
    md = t.results_md()
    check("loom is 4.00x faster" in md and "Kernel: Linux" in md and "CPU:" in md
          and "Date:" in md, "RESULTS.md has the table, date, CPU and kernel")
    with open(os.path.join(t.build, "results.full.json")) as f:
        data = json.load(f)
    loom = data[0]["systems"][0]
    check(loom["values"]["rate"] == [10.0, 30.0, 20.0], f"each run recorded once: {loom}")


def test_unavailable():
    t = Tree()
    fail = os.path.join(t.root, "fail.sh")
    with open(fail, "w") as f:
        f.write("#!/bin/sh\necho 'RESULT rate 1'\necho 'it broke' >&2\nexit 3\n")
    os.chmod(fail, 0o755)
    with open(os.path.join(t.src, "bad.go"), "w") as f:
        f.write("package main\nfunc main() { this is not go }\n")
    t.workload("W3", [
        t.system("loom", "rate", "100"),
        {"name": "missing peer", "cmd": ["{build}/no_such_program", "--n", "{n}"]},
        {"name": "failing peer", "cmd": [fail, "--n", "{n}"]},
        {"name": "slow peer", "cmd": ["/bin/sleep", "30"]},
        t.system("needy peer", "rate", "1", needs=["loom-no-such-package-xyz"]),
        {"name": "go peer", "go": "bad.go", "cmd": ["{gobin}/bad", "--n", "{n}"]},
        t.system("wrong key peer", "speed", "1"),
        t.system("good peer", "rate", "50"),
    ])
    rc, out, err = t.run("--timeout", "2")
    check(rc == 0, f"unavailable peers do not fail the run (rc={rc})")
    r = t.row(out, "W3", "missing peer")
    check(r is not None and r[2].startswith("unavailable: missing program"), f"missing: {r}")
    r = t.row(out, "W3", "failing peer")
    check(r is not None and "exit status 3" in r[2] and "it broke" in r[2], f"failing: {r}")
    r = t.row(out, "W3", "slow peer")
    check(r is not None and "timed out" in r[2], f"timeout: {r}")
    r = t.row(out, "W3", "needy peer")
    check(r is not None and "loom-no-such-package-xyz" in r[2], f"package: {r}")
    r = t.row(out, "W3", "go peer")
    check(r is not None and r[2].startswith("unavailable: go"), f"broken Go source: {r}")
    r = t.row(out, "W3", "wrong key peer")
    check(r is not None and "no 'RESULT rate' line" in r[2], f"missing key: {r}")
    r = t.row(out, "W3", "good peer")
    check(r is not None and r[5] == "loom is 2.00x faster", f"the good peer still compares: {r}")


def test_loom_states():
    t = Tree()
    t.workload("W4", [{"name": "loom", "cmd": ["{build}/bench/bench_x_w4_loom", "--n", "{n}"]},
                      t.system("peer", "rate", "7")])
    rc, out, err = t.run()
    r = t.row(out, "W4", "loom")
    check(rc == 0 and r is not None and r[2] == "not built yet",
          f"loom program missing: not built yet, exit 0 (rc={rc}, {r})")
    r = t.row(out, "W4", "peer")
    check(r is not None and r[2] == "7.00" and r[5] == "—", f"peer without loom: {r}")

    t = Tree()
    t.workload("W5", [{"name": "loom", "cmd": ["/bin/false", "--n", "{n}"]},
                      t.system("peer", "rate", "7")])
    rc, out, err = t.run()
    check(rc != 0 and "loom's own benchmark failed" in err, f"loom failing: exit {rc}")
    rc, out, err = t.run("--quick")
    check(rc != 0, f"loom failing in quick mode: exit {rc}")


def test_quick_and_only():
    t = Tree()
    t.workload("W6", [t.system("loom", "rate", "N"), t.system("peer", "rate", "1,2,3")])
    t.workload("W7", [t.system("loom", "rate", "1")])
    rc, out, err = t.run("--quick")
    r = t.row(out, "W6", "loom")
    check(rc == 0 and r is not None and r[2] == "10.00" and r[3] == "",
          f"quick mode runs once at quick_n=10: {r}")
    r = t.row(out, "W6", "peer")
    check(r is not None and r[2] == "1.00", f"quick mode: the peer ran once: {r}")
    quick = os.path.join(t.build, "RESULTS.quick.md")
    check(os.path.exists(quick) and not os.path.exists(os.path.join(t.src, "bench", "RESULTS.md")),
          "quick mode writes build/RESULTS.quick.md, not bench/RESULTS.md")
    rc, out, err = t.run("--only", "w7", "--runs", "4")
    check(rc == 0 and t.row(out, "W7", "loom") is not None and t.row(out, "W6", "loom") is None,
          "--only selects workloads (case-insensitive)")
    check(os.path.exists(os.path.join(t.build, "RESULTS.only.md"))
          and not os.path.exists(os.path.join(t.src, "bench", "RESULTS.md")),
          "a partial full run writes build/RESULTS.only.md, never bench/RESULTS.md")
    with open(os.path.join(t.build, "results.full.json")) as f:
        data = json.load(f)
    check(len(data[0]["systems"][0]["values"]["rate"]) == 4, "--runs 4 runs four times")


def test_requires_vars_and_sizes():
    """"requires" (a wrapper's server missing -> loom not built yet), "vars" and
    "quick_vars" substitutions, and a peer's own smaller "n" shown in its row."""
    t = Tree()
    t.workload("W8", [
        dict(t.system("loom", "rate", "N"), requires=["{build}/bench/no_such_server"]),
        t.system("peer", "rate", "N"),
        t.system("small peer", "rate", "N", n=100),
        t.system("var peer", "{sleep}", "5"),
    ], vars={"sleep": "rate"}, quick_vars={"sleep": "rate"})
    rc, out, err = t.run()
    r = t.row(out, "W8", "loom")
    check(rc == 0 and r is not None and r[2] == "not built yet",
          f"a missing required file makes loom 'not built yet': {r}")
    r = t.row(out, "W8", "peer")
    check(r is not None and r[2] == "1,000", f"the workload's n reaches the command: {r}")
    r = t.row(out, "W8", "small peer (n = 100)")
    check(r is not None and r[2] == "100.0", f"a peer's own n is used and shown: {r}")
    r = t.row(out, "W8", "var peer")
    check(r is not None and r[2] == "5.00", f"a workload var is substituted: {r}")
    rc, out, err = t.run("--quick")
    r = t.row(out, "W8", "small peer")
    check(r is not None and r[2] == "10.00",
          f"quick mode: the smaller of quick_n and the peer's n, same as the others: {r}")


def test_real_workloads_parse():
    """The project's own workload files are valid and name a loom system."""
    wdir = os.path.join(SRC, "bench", "workloads")
    names = sorted(n for n in os.listdir(wdir) if n.endswith(".json"))
    check(len(names) >= 6, f"at least six workloads in bench/workloads: {names}")
    for n in names:
        with open(os.path.join(wdir, n)) as f:
            w = json.load(f)
        systems = [s["name"] for s in w["systems"]]
        ok = all(k in w for k in ("id", "key", "unit", "n", "quick_n", "runs")) \
            and w["runs"] >= 3 and systems.count("loom") == 1 and len(systems) >= 2 \
            and all("--n" in s["cmd"] or any("{n}" in a for a in s["cmd"]) for s in w["systems"])
        check(ok, f"{n}: complete, runs >= 3, one loom system and peers, every cmd takes --n")


def main():
    for t in (test_medians_and_ratios, test_unavailable, test_loom_states, test_quick_and_only,
              test_requires_vars_and_sizes, test_real_workloads_parse):
        try:
            t()
        except Exception as e:  # a crash in a case is a failure, not a skipped case
            check(False, f"{t.__name__} raised {type(e).__name__}: {e}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
