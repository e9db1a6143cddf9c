#!/usr/bin/python3
"""W5 wrapper: measure one TCP echo server with the shared load generator.

Starts the server command (after `--`; `{port}` in it becomes a free
loopback port) pinned to --server-cpus (default CPU 0), waits until it
accepts connections, runs loadgen pinned to --client-cpu (default CPU 1) for
--n seconds with --conns connections and --size byte messages, stops the
server, and prints loadgen's RESULT lines (rate in requests/s,
server_us_per_req).  Every server gets the same treatment: same pinning,
same client, same size and connection count, same warm-up (loadgen's).
Pinning a Go server to one CPU makes its runtime use GOMAXPROCS=1; the
all-core rows pin the server to "0-1" (loom with --loops 2, Go with its
default GOMAXPROCS=2) and then share CPU 1 with the client.

With --perf, `perf stat` counts the server's instructions and cycles over
the whole loadgen run (the server is idle before and after it) and the
lines RESULT server_instr_per_req / server_cycles_per_req are added: these
hardly move with machine load, unlike rates.  Exits non-zero if the server
never comes up, dies, or loadgen fails.  Bounded: the server gets 15 s to
start, loadgen --n + 30 s to finish.

    run_echo.py --loadgen build/bench/bench_net_loadgen --n 10 -- \
        build/bench/bench_net_echo_epoll --port {port}
"""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cmd, cpus):
    """Prefix with taskset when every CPU of the list exists."""
    top = max(int(x) for x in cpus.replace("-", ",").split(","))
    if shutil.which("taskset") and (os.cpu_count() or 1) > top:
        return ["taskset", "-c", cpus] + cmd
    return cmd


def start_perf(pid):
    """perf stat attached to pid (every thread it has now), or None."""
    if not shutil.which("perf"):
        return None, None
    out = f"/tmp/run_echo_perf.{os.getpid()}"
    p = subprocess.Popen(["perf", "stat", "-x,", "-e", "instructions,cycles",
                          "-p", str(pid), "-o", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.2)  # let it attach before the load starts
    return p, out


def stop_perf(p, out, requests):
    """Print the per-request counts of a finished perf stat."""
    if p is None:
        return
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        return
    counts = {}
    try:
        with open(out) as f:
            for line in f:
                parts = line.strip().split(",")
                if len(parts) > 2 and parts[0].replace(".", "").isdigit():
                    counts[parts[2].split(":")[0]] = float(parts[0])
        os.unlink(out)
    except OSError:
        return
    if requests > 0:
        for ev in ("instructions", "cycles"):
            if ev in counts:
                print(f"RESULT server_{ev[:5] if ev == 'instructions' else ev}_per_req "
                      f"{counts[ev] / requests:.1f}")


def wait_listening(port, proc, limit_s):
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10, help="measured seconds")
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("--conns", type=int, default=100)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--server-cpus", default="0", help="taskset CPU list for the server")
    ap.add_argument("--client-cpu", default="1", help="taskset CPU list for loadgen")
    ap.add_argument("--perf", action="store_true", help="count server instructions")
    ap.add_argument("server", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    server = a.server[1:] if a.server[:1] == ["--"] else a.server
    if not server:
        ap.error("no server command after --")
    port = free_port()
    server = [s.replace("{port}", str(port)) for s in server]
    proc = subprocess.Popen(pinned(server, a.server_cpus), stdout=subprocess.DEVNULL)
    try:
        if not wait_listening(port, proc, 15):
            print(f"run_echo: server {server[0]} did not start", file=sys.stderr)
            return 1
        cmd = pinned([a.loadgen, "--port", str(port), "--conns", str(a.conns),
                      "--size", str(a.size), "--duration", str(a.n),
                      "--server-pid", str(proc.pid)], a.client_cpu)
        perf, perf_out = start_perf(proc.pid) if a.perf else (None, None)
        try:
            lg = subprocess.run(cmd, capture_output=True, text=True, timeout=a.n + 30)
        except subprocess.TimeoutExpired:
            if perf:
                perf.kill()
            print("run_echo: loadgen timed out", file=sys.stderr)
            return 1
        sys.stdout.write(lg.stdout)
        total = [float(l.split()[2]) for l in lg.stdout.splitlines()
                 if l.startswith("RESULT requests_total ")]
        stop_perf(perf, perf_out, total[0] if total else 0)
        sys.stderr.write(lg.stderr)
        if proc.poll() is not None:
            print(f"run_echo: server exited with {proc.returncode}", file=sys.stderr)
            return 1
        return lg.returncode
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
