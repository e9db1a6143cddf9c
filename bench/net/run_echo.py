#!/usr/bin/python3
"""W5 wrapper: measure one TCP echo server with the shared load generator.

Starts the server command (after `--`; `{port}` in it becomes a free
loopback port) pinned to CPU 0, waits until it accepts connections, runs
loadgen pinned to CPU 1 for --n seconds with --conns connections and
--size byte messages, stops the server, and prints loadgen's RESULT lines
(rate in requests/s, server_us_per_req).  Exits non-zero if the server
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


def pinned(cmd, cpu):
    """Prefix with taskset when the CPU exists (2-core machines and up)."""
    if shutil.which("taskset") and (os.cpu_count() or 1) > cpu:
        return ["taskset", "-c", str(cpu)] + cmd
    return cmd


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
    ap.add_argument("server", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    server = a.server[1:] if a.server[:1] == ["--"] else a.server
    if not server:
        ap.error("no server command after --")
    port = free_port()
    server = [s.replace("{port}", str(port)) for s in server]
    proc = subprocess.Popen(pinned(server, 0), stdout=subprocess.DEVNULL)
    try:
        if not wait_listening(port, proc, 15):
            print(f"run_echo: server {server[0]} did not start", file=sys.stderr)
            return 1
        cmd = pinned([a.loadgen, "--port", str(port), "--conns", str(a.conns),
                      "--size", str(a.size), "--duration", str(a.n),
                      "--server-pid", str(proc.pid)], 1)
        try:
            lg = subprocess.run(cmd, capture_output=True, text=True, timeout=a.n + 30)
        except subprocess.TimeoutExpired:
            print("run_echo: loadgen timed out", file=sys.stderr)
            return 1
        sys.stdout.write(lg.stdout)
        sys.stderr.write(lg.stderr)
        if proc.poll() is not None:
            print(f"run_echo: server exited with {proc.returncode}", file=sys.stderr)
            return 1
        return lg.returncode
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
