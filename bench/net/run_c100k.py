#!/usr/bin/python3
"""W5c wrapper: hold --n concurrent loopback connections on an echo server.

Every process needs a descriptor per connection (plus --margin for the
rest), and RLIMIT_NOFILE caps that per process.  The runner raises its own
soft limit (hard too, with CAP_SYS_RESOURCE; its children inherit it) and
then chooses, and says on stderr which:

- one process each side, when the limit is >= n + margin;
- else prefork: the server command gets `--procs P` (P processes, a loop
  each, one SO_REUSEPORT port; it prints "ready <pid>..." once all listen)
  with P = ceil(1.25 n / (limit - margin)) - the kernel spreads connections
  by hash, so each process gets headroom - and C = ceil(n / (limit -
  margin)) client processes, each with its share of the connections and its
  own range of source addresses (127.0.0.x: ~2,500 connections each).
  --procs / --client-procs force the counts (--procs 0: automatic; --procs 1
  forces the single-process server).

The server (all its processes) runs on CPU 0, the clients on CPU 1.  Each
client (bench_net_c100k_client --sync 1) opens its connections, says
"established" and waits; when all have, the runner reads the server's
memory, counts the connections each server process holds (sockets in
/proc/<pid>/fd), shows /proc/sys/fs/file-nr and `ss -s`'s TCP line on
stderr, and tells every client to go: one echo on every connection, all at
once.  It reads the memory again while the connections are still open
(each client says "done" and waits), lets the clients close, and prints

    RESULT conns            connections held (sum over clients)
    RESULT establish_s      time to establish (max over clients)
    RESULT echo_round_s     one echo on every connection (max over clients)
    RESULT server_rss_kb    server memory after the round: the sum of the
                            serving processes' Pss (smaps_rollup; shared
                            pages split between them, not counted P times;
                            VmRSS when smaps_rollup is missing)
    RESULT bytes_per_conn   growth of that sum over the run / conns
    RESULT server_procs, client_procs, conns_per_proc_min/_max (the spread)

Bounded: 15 s for the server to start, --timeout (default 300 s) for the
clients, 30 s to stop the server.

    run_c100k.py --client build/bench/bench_net_c100k_client --n 100000 -- \\
        build/bench/bench_net_w5_loom --port {port} --buf 4096
"""
import argparse
import math
import os
import resource
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_echo import free_port, pinned, wait_listening  # noqa: E402

PER_ADDR = 2500  # connections per source address (c100k_client's default)


def raise_nofile(want):
    """Raise RLIMIT_NOFILE towards want (past the hard limit if privileged);
    returns the soft limit reached."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    for lim in ((want, max(want, hard)), (hard, hard)):
        if soft >= want:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, lim)
        except (ValueError, OSError):
            continue
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    return soft


def mem_kb(pid):
    """Pss of pid in KiB (VmRSS if smaps_rollup is missing), or 0."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(key):
                        return int(line.split()[1])
        except OSError:
            continue
    return 0


def sockets(pid):
    """How many sockets pid holds."""
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
            except OSError:
                pass
    except OSError:
        pass
    return n


def read_line(proc, deadline):
    """The next stdout line of proc, or None at EOF or past deadline.  Reads
    a byte at a time from the unbuffered pipe (the lines are few and short),
    so that select never misses a line sitting in a Python buffer."""
    fd, line = proc.stdout.fileno(), b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            if proc.poll() is not None:
                return None
            continue
        b = os.read(fd, 1)
        if not b:
            return None
        line += b
        if b == b"\n":
            return line.decode()
    return None


def start_server(cmd, procs):
    """Start the server; returns (proc, serving pids) or (proc, None)."""
    if procs <= 1:
        proc = subprocess.Popen(pinned(cmd, "0"), stdout=subprocess.DEVNULL)
        return proc, [proc.pid] if wait_listening(int(cmd_port(cmd)), proc, 15) else None
    proc = subprocess.Popen(pinned(cmd + ["--procs", str(procs)], "0"),
                            stdout=subprocess.PIPE, bufsize=0)
    line = read_line(proc, time.monotonic() + 15)
    if not line or not line.startswith("ready "):
        return proc, None
    return proc, [int(p) for p in line.split()[1:]]


def cmd_port(cmd):
    return cmd[cmd.index("--port") + 1]


def stop(proc):
    """SIGTERM, then SIGKILL after 30 s (a prefork parent waits for its
    children, each closing thousands of connections)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_clients(a, port, nclients):
    """nclients c100k_client processes sharing a.n, disjoint addresses."""
    clients, base = [], 0
    for i in range(nclients):
        share = a.n // nclients + (i < a.n % nclients)
        addrs = share // PER_ADDR + 1
        cmd = [a.client, "--port", str(port), "--conns", str(share), "--addrs", str(addrs),
               "--addr-base", str(base), "--sync", "1", "--timeout", str(a.timeout)]
        clients.append(subprocess.Popen(pinned(cmd, "1"), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, bufsize=0))
        base += addrs
    if base > 250:
        raise SystemExit(f"run_c100k: {base} source addresses needed, 250 at most")
    return clients


def show_counts(pids):
    """Per-process connection counts (stderr too), file-nr and ss -s."""
    counts = [max(sockets(p) - 1, 0) for p in pids]  # minus the listening socket
    print(f"run_c100k: connections per server process: {counts} (pids {pids})",
          file=sys.stderr)
    with open("/proc/sys/fs/file-nr") as f:
        print(f"run_c100k: fs.file-nr (allocated, free, max): {f.read().strip()}",
              file=sys.stderr)
    try:
        ss = subprocess.run(["ss", "-s"], capture_output=True, text=True, timeout=30).stdout
        tcp = [l for l in ss.splitlines() if l.startswith("TCP:")]
        print(f"run_c100k: ss -s: {tcp[0] if tcp else '?'}", file=sys.stderr)
    except (OSError, subprocess.TimeoutExpired):
        pass
    return counts


def read_results(c, deadline):
    """A client's RESULT lines up to its "done", as a dict, or None."""
    res = {}
    while True:
        line = read_line(c, deadline)
        if line is None:
            print("run_c100k: a client failed or timed out", file=sys.stderr)
            return None
        if line == "done\n":
            return res
        if line.startswith("RESULT "):
            res[line.split()[1]] = float(line.split()[2])


def run_clients(clients, pids, deadline):
    """Establish, count, go, collect, measure while the connections are
    still open.  Returns (results, counts, server memory) or None."""
    for c in clients:
        if read_line(c, deadline) != "established\n":
            print("run_c100k: a client failed to establish its connections", file=sys.stderr)
            return None
    counts = show_counts(pids)
    for c in clients:
        c.stdin.write(b"go\n")
    results = [read_results(c, deadline) for c in clients]
    if None in results:
        return None
    rss1 = sum(mem_kb(p) for p in pids)
    for c in clients:
        c.stdin.close()  # EOF: close the connections and exit
    for c in clients:
        c.wait(timeout=max(deadline - time.monotonic(), 1))
    return results, counts, rss1


def plan(a):
    """(server procs, client procs), after raising the descriptor limit."""
    limit = raise_nofile(a.n + a.margin)
    cap = limit - a.margin
    if cap < 1:
        raise SystemExit(f"run_c100k: RLIMIT_NOFILE {limit} leaves no room for connections")
    procs = a.procs or (1 if cap >= a.n else max(2, math.ceil(1.25 * a.n / cap)))
    nclients = a.client_procs or math.ceil(a.n / cap)
    how = "one process" if procs == 1 else f"prefork, {procs} processes"
    print(f"run_c100k: RLIMIT_NOFILE {limit} per process, {a.n} connections: server {how}, "
          f"{nclients} client process(es)", file=sys.stderr)
    return procs, nclients


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000, help="connections")
    ap.add_argument("--client", required=True)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--margin", type=int, default=1000, help="descriptors kept for other uses")
    ap.add_argument("--procs", type=int, default=0, help="server processes (0: automatic)")
    ap.add_argument("--client-procs", type=int, default=0, help="client processes (0: auto)")
    ap.add_argument("server", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    server = a.server[1:] if a.server[:1] == ["--"] else a.server
    if not server or "--port" not in server:
        ap.error("no server command (with --port {port}) after --")
    procs, nclients = plan(a)
    port = free_port()
    server = [s.replace("{port}", str(port)) for s in server]
    proc, pids = start_server(server, procs)
    clients = []
    try:
        if not pids:
            print(f"run_c100k: server {server[0]} did not start", file=sys.stderr)
            return 1
        rss0 = sum(mem_kb(p) for p in pids)
        clients = start_clients(a, port, nclients)
        got = run_clients(clients, pids, time.monotonic() + a.timeout)
        if got is None:
            return 1
        if proc.poll() is not None:
            print(f"run_c100k: server exited with {proc.returncode}", file=sys.stderr)
            return 1
        results, counts, rss1 = got
        conns = sum(r["conns"] for r in results)
        for key, val in (("conns", conns),
                         ("establish_s", max(r["establish_s"] for r in results)),
                         ("echo_round_s", max(r["echo_round_s"] for r in results)),
                         ("server_rss_kb", rss1), ("bytes_per_conn", (rss1 - rss0) * 1024 / conns),
                         ("server_procs", len(pids)), ("client_procs", len(clients)),
                         ("conns_per_proc_min", min(counts)), ("conns_per_proc_max", max(counts))):
            print(f"RESULT {key} {val:.6g}")
        return 0
    finally:
        for c in clients:
            if c.poll() is None:
                c.kill()
                c.wait()
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
