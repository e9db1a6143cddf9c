#!/usr/bin/python3
"""W8 wrapper: measure one HTTP server serving a small file with wrk.

Writes the file (`flag.gif`, --size bytes of fixed pseudo-random content,
like a small flag image) into a fresh document root, starts the server
command (after `--`; `{port}` and `{root}` in it are replaced) pinned to
CPU 0, waits until it answers, runs `wrk -t1 -c100 -d<n>s` pinned to CPU 1
against http://127.0.0.1:<port>/flag.gif, stops the server and prints
RESULT rate (requests/s) and RESULT server_us_per_req (CPU of the server's
whole process tree, e.g. nginx's master and worker, per request).  A run
with any non-2xx answer or socket error fails: a fast error page is not a
fast server.  Bounded: 15 s for the server to start, n + 30 s for wrk.
"""
import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "net"))
# Same port, pinning and stopping rules as W5.  The server stays in this
# process group, so when run.py kills the group on a timeout it goes too.
from run_echo import free_port, pinned, stop  # noqa: E402


def tree_cpu_s(root_pid):
    """utime + stime of root_pid and all its descendants, seconds."""
    stats = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        stats[int(d)] = (int(rest[1]), int(rest[11]) + int(rest[12]))  # ppid, ticks
    keep, total, changed = {root_pid}, 0, True
    while changed:
        changed = False
        for pid, (ppid, _) in stats.items():
            if ppid in keep and pid not in keep:
                keep.add(pid)
                changed = True
    for pid in keep:
        total += stats.get(pid, (0, 0))[1]
    return total / os.sysconf("SC_CLK_TCK")


def wait_serving(url, proc, limit_s):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def parse_wrk(out):
    """(requests/s, total requests, errors) from wrk's report."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(bad.group(1)) if bad else 0) + (sum(map(int, sock.groups())) if sock else 0)
    if not rate or not total:
        return None, 0, errors
    return float(rate.group(1)), int(total.group(1)), errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10, help="seconds of load")
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--size", type=int, default=1500, help="bytes of the served file")
    ap.add_argument("server", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    server = a.server[1:] if a.server[:1] == ["--"] else a.server
    if not server or not shutil.which("wrk"):
        print("run_wrk: need a server command after -- and wrk installed", file=sys.stderr)
        return 2
    root = tempfile.mkdtemp(prefix="loom-w8-")
    os.chmod(root, 0o755)  # nginx's worker may run as an unprivileged user
    with open(os.path.join(root, "flag.gif"), "wb") as f:
        f.write(random.Random(8).randbytes(a.size))
    os.chmod(os.path.join(root, "flag.gif"), 0o644)
    port = free_port()
    server = [s.replace("{port}", str(port)).replace("{root}", root) for s in server]
    url = f"http://127.0.0.1:{port}/flag.gif"
    proc = subprocess.Popen(pinned(server, "0"), stdout=subprocess.DEVNULL)
    try:
        if not wait_serving(url, proc, 15):
            print(f"run_wrk: server {server[0]} did not serve {url}", file=sys.stderr)
            return 1
        cpu0 = tree_cpu_s(proc.pid)
        cmd = pinned(["wrk", "-t1", f"-c{a.conns}", f"-d{a.n}s", url], "1")
        try:
            w = subprocess.run(cmd, capture_output=True, text=True, timeout=a.n + 30)
        except subprocess.TimeoutExpired:
            print("run_wrk: wrk timed out", file=sys.stderr)
            return 1
        cpu1 = tree_cpu_s(proc.pid)
        rate, total, errors = parse_wrk(w.stdout)
        if w.returncode != 0 or rate is None or total == 0 or errors:
            print(f"run_wrk: wrk failed or saw {errors} errors:\n{w.stdout}{w.stderr}",
                  file=sys.stderr)
            return 1
        print(f"RESULT rate {rate}")
        print(f"RESULT server_us_per_req {(cpu1 - cpu0) * 1e6 / total:.3f}")
        return 0
    finally:
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
