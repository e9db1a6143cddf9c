#!/usr/bin/python3
"""Tests for W5c's runner (bench/net/run_c100k.py) with the loom echo server
(bench/net/w5_loom.c) and c100k_client, at a few hundred connections.  The
test builds do not build benchmarks, so this compiles both into a temporary
directory with the build's compiler and sanitizers, linking the build's
libloom.so.

Checks that the runner picks one process each side when RLIMIT_NOFILE holds
N + margin, and the prefork server plus several clients when it does not
(the limit is lowered for the runner's process tree with a preexec
setrlimit, so the per-process cap is real: the run can only hold every
connection if they are spread); that forced counts are obeyed; that the
RESULT lines add up (conns = N, the per-process spread brackets N / P,
memory grew); and that the server's processes are gone afterwards.

Prints one line per check and a last line "N passed, M failed"; exits
non-zero on any failure.  Bounded: 120 s per run.
"""

import os
import resource
import shutil
import subprocess
import sys
import tempfile

SRC = os.environ.get("LOOM_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("LOOM_BUILD_DIR", os.path.join(SRC, "build", "asan"))
RUNNER = os.path.join(SRC, "bench", "net", "run_c100k.py")
TMP = tempfile.mkdtemp(prefix="test_c100k.")
SERVER = os.path.join(TMP, "bench_net_w5_loom")
CLIENT = os.path.join(TMP, "bench_net_c100k_client")
failed = passed = 0


def cache(key, dflt):
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return dflt


def build():
    """Compile the server and client; returns an error text or None."""
    cc = cache("CMAKE_C_COMPILER", "cc")
    san = cache("LOOM_SANITIZE", "")
    flags = ["-g", "-O1"] + ([f"-fsanitize={san}"] if san else [])
    net = os.path.join(SRC, "bench", "net")
    for cmd in ([cc, *flags, "-I", os.path.join(SRC, "include"), os.path.join(net, "w5_loom.c"),
                 "-o", SERVER, os.path.join(BUILD, "libloom.so"), f"-Wl,-rpath,{BUILD}",
                 "-lpthread"],
                [cc, *flags, os.path.join(net, "c100k_client.c"), "-o", CLIENT]):
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            return p.stderr
    return None


def check(name, cond, detail=""):
    global failed, passed
    print(f"{'ok  ' if cond else 'FAIL'} {name} {detail if not cond else ''}")
    passed += bool(cond)
    failed += not cond


def run(n, extra=(), nofile=None):
    """Run the runner; returns (returncode, {key: value}, stderr)."""
    def limit():
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
    cmd = [sys.executable, RUNNER, "--client", CLIENT, "--n", str(n), "--timeout", "100",
           *extra, "--", SERVER, "--port", "{port}", "--buf", "4096"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, preexec_fn=limit)
    res = {l.split()[1]: float(l.split()[2]) for l in p.stdout.splitlines()
           if l.startswith("RESULT ")}
    return p.returncode, res, p.stderr


def gone(stderr):
    """Every server pid the runner named is gone once it returned."""
    line = [l for l in stderr.splitlines() if "(pids [" in l]
    if not line:
        return False
    for pid in line[0].split("(pids [")[1].rstrip("])").split(","):
        try:
            os.kill(int(pid), 0)
            return False
        except ProcessLookupError:
            pass
    return True


def common(label, rc, res, err, n, procs, clients):
    check(f"{label}: exit 0", rc == 0, err[-2000:])
    check(f"{label}: held every connection", res.get("conns") == n, str(res))
    check(f"{label}: {procs} server process(es)", res.get("server_procs") == procs, str(res))
    check(f"{label}: {clients} client process(es)", res.get("client_procs") == clients, str(res))
    lo, hi = res.get("conns_per_proc_min", -1), res.get("conns_per_proc_max", -1)
    check(f"{label}: spread brackets N/P", 0 < lo <= n / procs <= hi, f"{lo}..{hi}")
    check(f"{label}: memory grew", res.get("bytes_per_conn", 0) > 0, str(res))
    check(f"{label}: timings present", res.get("establish_s", 0) > 0 and
          res.get("echo_round_s", 0) > 0, str(res))
    check(f"{label}: server processes all stopped", gone(err), err[-2000:])


def main():
    why = build()
    if why:
        print(f"FAIL cannot build the server and client: {why}")
        return 1
    rc, res, err = run(300)
    common("single", rc, res, err, 300, 1, 1)
    check("single: says one process", "server one process" in err, err)
    # Limit 1,400 and margin 1,000 leave 400 per process: 800 connections
    # need ceil(1.25 * 800 / 400) = 3 servers and 2 clients.
    rc, res, err = run(800, nofile=1400)
    common("auto prefork", rc, res, err, 800, 3, 2)
    check("auto prefork: says prefork", "prefork, 3 processes" in err, err)
    check("auto prefork: no process over its limit", res.get("conns_per_proc_max", 1e9) <= 400,
          str(res))
    rc, res, err = run(600, ("--procs", "2", "--client-procs", "3"))
    common("forced", rc, res, err, 600, 2, 3)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    sys.exit(rc)
