#!/usr/bin/python3
"""loom's benchmark driver: loom and its peers side by side, one table.

Every workload is a JSON file in bench/workloads/ (format in bench/README.md).
Each system of a workload is a program that takes `--n N` and prints lines
`RESULT <key> <number>`.  The driver builds the Go peers, runs every system
`runs` times, alternating systems round-robin (so that machine noise hits
everybody alike), and prints the median, min-max and loom's ratio to each peer.

A peer that is missing, cannot be built or installed, fails or times out is
shown as "unavailable: reason" and never stops the run.  loom's own program
failing is an error (exit 1) so that CI notices a broken benchmark; loom's
program not existing yet is shown as "not built yet".

Standard library only: it runs on Debian's /usr/bin/python3.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

RESULT_RE = re.compile(r"^RESULT\s+(\S+)\s+(\S+)\s*$")
DEFAULT_TIMEOUT_S = 300       # per run, full mode; a workload may say "timeout"
QUICK_TIMEOUT_S = 120         # per run, quick mode
GO_BUILD_TIMEOUT_S = 300


class Unavailable(Exception):
    """A system cannot be run here; the message says why."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def natural_key(s):
    """W2 sorts before W10, W1a before W1b."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def fmt_num(x):
    """Three to four significant digits, thousands separated."""
    ax = abs(x)
    if ax >= 1000:
        return f"{x:,.0f}"
    if ax >= 100:
        return f"{x:.1f}"
    if ax >= 1:
        return f"{x:.2f}"
    if ax == 0:
        return "0"
    return f"{x:.3g}"


def ratio_text(loom, peer, higher_is_better, better="faster", worse="slower"):
    """loom's standing against one peer, as "loom is 2.31x faster"."""
    if loom is None or peer is None:
        return "—"
    if loom <= 0 or peer <= 0:
        return "n/a"
    r = loom / peer if higher_is_better else peer / loom
    if r >= 1:
        return f"loom is {r:.2f}x {better}"
    return f"loom is {1 / r:.2f}x {worse}"


# ---- workloads ------------------------------------------------------------

def load_workloads(src, only):
    wdir = os.path.join(src, "bench", "workloads")
    out = []
    for name in sorted(os.listdir(wdir) if os.path.isdir(wdir) else []):
        if not name.endswith(".json"):
            continue
        path = os.path.join(wdir, name)
        try:
            with open(path) as f:
                w = json.load(f)
            for field in ("id", "key", "systems"):
                if field not in w:
                    raise ValueError(f"missing field {field!r}")
        except (OSError, ValueError) as e:
            log(f"run.py: skipping {path}: {e}")
            continue
        if only and w["id"].lower() not in only:
            continue
        out.append(w)
    out.sort(key=lambda w: natural_key(w["id"]))
    return out


def extra_keys(w):
    """[(key, description, higher_is_better)]; extras default to lower-is-better
    (memory, start time, overhead) unless given as an object."""
    out = []
    for key, spec in (w.get("extra_keys") or {}).items():
        if isinstance(spec, dict):
            out.append((key, spec.get("unit", key), bool(spec.get("higher_is_better", False))))
        else:
            out.append((key, str(spec), False))
    return out


# ---- preparing a system -----------------------------------------------------

def pkg_installed(pkg):
    try:
        p = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                           capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return p.returncode == 0 and "ok installed" in p.stdout


def ensure_packages(pkgs, allow_install):
    missing = [p for p in pkgs if not pkg_installed(p)]
    if not missing:
        return
    if not allow_install or os.geteuid() != 0:
        raise Unavailable("package not installed: " + " ".join(missing))
    log(f"run.py: installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        p = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
                           + missing, capture_output=True, text=True, env=env, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"cannot install {' '.join(missing)}: {e}")
    if p.returncode != 0 or not all(pkg_installed(x) for x in missing):
        raise Unavailable("cannot install " + " ".join(missing))


def go_build(src_file, gobin, build):
    """Build a single-file Go program into gobin; returns the binary path."""
    go = shutil.which("go")
    if not go:
        raise Unavailable("go not installed")
    if not os.path.isfile(src_file):
        raise Unavailable(f"missing Go source {src_file}")
    os.makedirs(gobin, exist_ok=True)
    out = os.path.join(gobin, os.path.splitext(os.path.basename(src_file))[0])
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src_file):
        return out
    gohome = os.path.join(build, "gohome")
    env = dict(os.environ, GO111MODULE="off", GOCACHE=os.path.join(gohome, "cache"),
               GOPATH=os.path.join(gohome, "path"), GOFLAGS="")
    try:
        p = subprocess.run([go, "build", "-o", out, src_file], capture_output=True,
                           text=True, env=env, timeout=GO_BUILD_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Unavailable(f"go build failed: {e}")
    if p.returncode != 0:
        first = (p.stderr.strip().splitlines() or ["?"])[-1]
        raise Unavailable(f"go build failed: {first}")
    return out


def expand(s, ctx):
    for k, v in ctx.items():
        s = s.replace("{" + k + "}", str(v))
    return s


def prepare(system, ctx, allow_install):
    """Resolve a system's command line; raises Unavailable."""
    # Files first: loom's program not built yet is not a missing package.
    for req in system.get("requires", []):
        path = expand(req, ctx)
        if not os.path.exists(path):
            raise Unavailable(f"missing program {path}")
    if system.get("needs"):
        ensure_packages(system["needs"], allow_install)
    if system.get("go"):
        go_build(os.path.join(ctx["src"], system["go"]), ctx["gobin"], ctx["build"])
    cmd = [expand(a, ctx) for a in system["cmd"]]
    prog = cmd[0]
    if "/" in prog:
        if not (os.path.isfile(prog) and os.access(prog, os.X_OK)):
            raise Unavailable(f"missing program {prog}")
    elif not shutil.which(prog):
        raise Unavailable(f"{prog} not found")
    if system.get("taskset"):
        if not shutil.which("taskset"):
            raise Unavailable("taskset not found")
        if max(int(c) for c in re.findall(r"\d+", system["taskset"])) >= (os.cpu_count() or 1):
            raise Unavailable(f"CPU {system['taskset']} not present")
        cmd = ["taskset", "-c", system["taskset"]] + cmd
    return cmd


# ---- running ----------------------------------------------------------------

def kill_group(p):
    """Kill a run's whole process group: wrappers (run_echo.py) start servers."""
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    p.communicate()


def run_once(cmd, env, timeout):
    """Run one measurement; returns {key: value} or raises Unavailable."""
    full_env = dict(os.environ, **(env or {}))
    try:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=full_env, start_new_session=True)
    except OSError as e:
        raise Unavailable(f"cannot start: {e}")
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        raise Unavailable(f"timed out after {timeout:g} s")
    except BaseException:
        kill_group(p)  # Ctrl-C: the child is in its own session, so it did not get it
        raise
    if p.returncode != 0:
        last = (err.strip().splitlines() or ["no message"])[-1][:160]
        raise Unavailable(f"exit status {p.returncode}: {last}")
    res = {}
    for line in out.splitlines():
        m = RESULT_RE.match(line.strip())
        if m:
            try:
                res[m.group(1)] = float(m.group(2))
            except ValueError:
                pass
    return res


class SystemRun:
    """One row of the table: a system's measurements or why it has none."""

    def __init__(self, system):
        self.name = system["name"]
        self.system = system
        self.cmd = None
        self.label = self.name    # the name in the table; says so if the size differs
        self.status = None        # None (ok), "unavailable: ...", "not built yet"
        self.values = {}          # key -> [float]

    def fail(self, why):
        self.status = ("not built yet" if self.name == "loom" and why.startswith("missing program")
                       else "unavailable: " + why)

    def median(self, key):
        v = self.values.get(key)
        return statistics.median(v) if v and not self.status else None


def system_ctx(w, system, ctx, quick):
    """The substitutions for one system: {n} (the workload's size, or the
    system's own "n"/"quick_n" where a slow peer runs a smaller size of a
    per-operation metric) and the workload's "vars" (or "quick_vars")."""
    n = system.get("n", w.get("n"))
    if quick:
        n = system.get("quick_n", min(n, w.get("quick_n", n)))
    out = dict(ctx, n=n)
    out.update(w.get("vars", {}))
    if quick:
        out.update(w.get("quick_vars", {}))
    return out


def run_workload(w, ctx, runs, quick, timeout, allow_install):
    rows = [SystemRun(s) for s in w["systems"]]
    for r in rows:
        try:
            sctx = system_ctx(w, r.system, ctx, quick)
            if sctx["n"] != system_ctx(w, {}, ctx, quick)["n"]:
                r.label = f"{r.name} (n = {int(sctx['n']):,})"
            r.cmd = prepare(r.system, sctx, allow_install)
        except Unavailable as e:
            r.fail(str(e))
    keys = [w["key"]] + [k for k, _, _ in extra_keys(w)]
    live = [r for r in rows if not r.status]
    for i in range(runs):
        # Rotate the starting system each round so no one always goes first.
        order = live[i % len(live):] + live[:i % len(live)] if live else []
        for r in order:
            if r.status:
                continue
            log(f"  {w['id']:4} {r.name:34} run {i + 1}/{runs}")
            try:
                res = run_once(r.cmd, r.system.get("env"), timeout)
                if w["key"] not in res:
                    raise Unavailable(f"no 'RESULT {w['key']}' line")
            except Unavailable as e:
                r.fail(str(e))
                log(f"       -> {r.status}")
                continue
            for k in keys:
                if k in res:
                    r.values.setdefault(k, []).append(res[k])
            log(f"       -> {fmt_num(res[w['key']])} {w.get('unit', '')}")
    return rows


# ---- the table --------------------------------------------------------------

def table_rows(w, rows):
    """Yield the cells of one workload's rows: the main key then each extra."""
    loom = next((r for r in rows if r.name == "loom"), None)
    metrics = [(w["key"], w.get("unit", w["key"]), w.get("higher_is_better", True), True)]
    metrics += [(k, d, h, False) for k, d, h in extra_keys(w)]
    for key, unit, hib, main in metrics:
        label = w["id"] if main else f"{w['id']} {key}"
        lm = loom.median(key) if loom else None
        for r in rows:
            vals = r.values.get(key)
            if r.status:
                if not main:
                    continue
                yield [label, r.label, r.status, "", unit, ""]
                continue
            if not vals:
                continue
            med = statistics.median(vals)
            span = f"{fmt_num(min(vals))}–{fmt_num(max(vals))}" if len(vals) > 1 else ""
            if r is loom:
                ratio = "—"
            elif main:
                ratio = ratio_text(lm, med, hib)
            else:
                ratio = ratio_text(lm, med, hib, "better", "worse")
            yield [label, r.label, fmt_num(med), span, unit, ratio]


def render_table(results):
    head = ["Workload", "System", "Median", "Min–max", "Unit", "loom vs this"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for w, rows in results:
        for cells in table_rows(w, rows):
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def machine_info():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return cpu, platform.release(), os.cpu_count()


def render_report(results, mode, runs, load):
    cpu, kernel, ncpu = machine_info()
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["# loom benchmark results", "",
           f"- Date: {now}",
           f"- CPU: {cpu} ({ncpu} CPUs)",
           f"- Kernel: Linux {kernel}",
           f"- Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f} "
           "(other work on the machine shares the CPUs with the benchmarks)",
           f"- Mode: {mode}; each system run several times, alternating round-robin; "
           "median and min–max over the runs", ""]
    for w, _ in results:
        out.append(f"- **{w['id']}** (n = {runs[w['id']][0]:,}, {runs[w['id']][1]} runs): "
                   f"{w.get('title', '')}")
    out += ["", render_table(results)]
    return "\n".join(out)


def write_json(path, results):
    data = []
    for w, rows in results:
        data.append({"id": w["id"], "key": w["key"], "systems": [
            {"name": r.name, "status": r.status or "ok", "values": r.values,
             "median": {k: statistics.median(v) for k, v in r.values.items()}
             if not r.status else {}} for r in rows]})
    with open(path, "w") as f:
        json.dump(data, f, indent=1)


# ---- main -------------------------------------------------------------------

def parse_args(argv):
    ap = argparse.ArgumentParser(description="Run loom's benchmarks against its peers.")
    ap.add_argument("--build", required=True, help="the CMake build directory")
    ap.add_argument("--src", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="the source root (default: this script's parent)")
    ap.add_argument("--quick", action="store_true",
                    help="one run per system at quick_n; writes <build>/RESULTS.quick.md")
    ap.add_argument("--only", default="", help="comma-separated workload ids, e.g. W3,W7")
    ap.add_argument("--runs", type=int, default=None, help="runs per system (default: the workload's)")
    ap.add_argument("--timeout", type=float, default=None, help="time limit per run, seconds")
    ap.add_argument("--no-install", action="store_true",
                    help="do not apt-get install a system's missing packages")
    return ap.parse_args(argv)


def on_sigterm(signum, frame):
    # Unwind like Ctrl-C, so run_once kills the running benchmark's process group.
    raise KeyboardInterrupt


def main(argv):
    a = parse_args(argv)
    signal.signal(signal.SIGTERM, on_sigterm)
    build = os.path.abspath(a.build)
    src = os.path.abspath(a.src)
    ctx = {"build": build, "src": src, "gobin": os.path.join(build, "go")}
    only = {x.strip().lower() for x in a.only.split(",") if x.strip()}
    workloads = load_workloads(src, only)
    if not workloads:
        log("run.py: no workload found")
        return 1
    results, loom_failed, sizes = [], [], {}
    load0 = os.getloadavg()[0]
    for w in workloads:
        runs = 1 if a.quick else max(1, a.runs if a.runs else int(w.get("runs", 3)))
        n = w.get("quick_n", w.get("n")) if a.quick else w.get("n")
        timeout = a.timeout or (QUICK_TIMEOUT_S if a.quick else w.get("timeout", DEFAULT_TIMEOUT_S))
        log(f"{w['id']}: {w.get('title', '')} (n={n}, {runs} run(s))")
        sizes[w["id"]] = (int(n), runs)
        rows = run_workload(w, ctx, runs, a.quick, timeout, not a.no_install)
        results.append((w, rows))
        for r in rows:
            if r.name == "loom" and r.status and r.status != "not built yet":
                loom_failed.append(f"{w['id']}: {r.status}")
    table = render_table(results)
    print(table)
    mode = "quick" if a.quick else "full"
    report = render_report(results, mode, sizes, (load0, os.getloadavg()[0]))
    # Only a full run of every workload replaces the committed bench/RESULTS.md.
    os.makedirs(build, exist_ok=True)
    if a.quick:
        path = os.path.join(build, "RESULTS.quick.md")
    elif only:
        path = os.path.join(build, "RESULTS.only.md")
    else:
        path = os.path.join(src, "bench", "RESULTS.md")
    with open(path, "w") as f:
        f.write(report)
    write_json(os.path.join(build, f"results.{mode}.json"), results)
    log(f"run.py: table written to {path}")
    if loom_failed:
        log("run.py: loom's own benchmark failed:\n  " + "\n  ".join(loom_failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
