#!/usr/bin/python3
"""W5c wrapper: hold --n concurrent loopback connections on one echo server.

Raises RLIMIT_NOFILE for itself (and so for the server and client it
starts) to what --n connections need: n + 1000 descriptors in each process
(the servers of W5c copy through a buffer of their own; Go's io.Copy would
also hold a splice pipe pair per connection).  With CAP_SYS_RESOURCE it
goes past the hard limit (up to fs.nr_open).  If it cannot, it says so on
stderr, naming the `ulimit -n` and sysctls to raise (docs/net.md, "100,000
connections"), and runs with as many connections as the limit allows -
the RESULT conns line shows how many were held.  Then it
starts the server command (after `--`, `{port}` replaced) pinned to CPU 0,
waits until it listens, runs c100k_client pinned to CPU 1 with the server's
pid, and prints the client's RESULT lines.  Bounded: 15 s for the server
to start, --timeout (default 300 s) for the client.

    run_c100k.py --client build/bench/bench_net_c100k_client --n 100000 -- \
        build/bench/bench_net_w5_loom --port {port} --buf 4096
"""
import argparse
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_echo import free_port, pinned, stop, wait_listening  # noqa: E402


def raise_nofile(want):
    """Soft and hard RLIMIT_NOFILE >= want, or an explanation why not."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return None
    try:
        with open("/proc/sys/fs/nr_open") as f:
            nr_open = int(f.read())
    except OSError:
        nr_open = want
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
        return None
    except (ValueError, OSError):
        pass
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass
    if hard >= want:
        return None
    return (f"run_c100k: {want} descriptors needed, hard limit {hard} (fs.nr_open "
            f"{nr_open}): run as root, or raise the hard limit (limits.conf nofile, "
            f"`ulimit -Hn {want}`) and fs.nr_open / fs.file-max - docs/net.md")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000, help="connections")
    ap.add_argument("--client", required=True)
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("server", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    server = a.server[1:] if a.server[:1] == ["--"] else a.server
    if not server:
        ap.error("no server command after --")
    why = raise_nofile(a.n + 1000)
    if why:
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        a.n = hard - 1000
        print(f"{why}\nrun_c100k: running with {a.n} connections instead", file=sys.stderr)
        if a.n < 1:
            return 2
    port = free_port()
    server = [s.replace("{port}", str(port)) for s in server]
    proc = subprocess.Popen(pinned(server, "0"), stdout=subprocess.DEVNULL)
    try:
        if not wait_listening(port, proc, 15):
            print(f"run_c100k: server {server[0]} did not start", file=sys.stderr)
            return 1
        cmd = pinned([a.client, "--port", str(port), "--conns", str(a.n),
                      "--server-pid", str(proc.pid), "--timeout", str(a.timeout)], "1")
        try:
            cl = subprocess.run(cmd, capture_output=True, text=True, timeout=a.timeout + 30)
        except subprocess.TimeoutExpired:
            print("run_c100k: client timed out", file=sys.stderr)
            return 1
        sys.stdout.write(cl.stdout)
        sys.stderr.write(cl.stderr)
        if proc.poll() is not None:
            print(f"run_c100k: server exited with {proc.returncode}", file=sys.stderr)
            return 1
        return cl.returncode
    finally:
        stop(proc)


if __name__ == "__main__":
    sys.exit(main())
