"""Example 21: the sort service, checked by an independent client written with
Python's asyncio: several requests on one connection, 20 concurrent clients,
integers beyond 2**53, mixed reals, 100,000 numbers, bad JSON, a non-array, a
non-number element, an oversized length (refused, connection closed), and a
clean shutdown on SIGTERM."""
import asyncio
import json
import os
import random
import signal
import struct
import subprocess
import sys

BIN = os.path.join(os.environ["LOOM_BUILD_DIR"], "examples", "ex21_sort_service")
PORT = 0  # chosen in run(): below the ephemeral range, retried if taken


async def request(reader, writer, body: bytes):
    writer.write(struct.pack(">Q", len(body)) + body)
    await writer.drain()
    (n,) = struct.unpack(">Q", await reader.readexactly(8))
    return json.loads(await reader.readexactly(n))


async def sort_remote(numbers):
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    try:
        return await request(reader, writer, json.dumps(numbers).encode())
    finally:
        writer.close()
        await writer.wait_closed()


async def main():
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    cases = [
        [3, 1, 2],
        [],
        [5],
        [-1.5, 2, -7, 0.25, 2],
        [9007199254740993, 9007199254740992, -(2**63)],  # exact beyond 2**53
        [random.randint(-10**9, 10**9) for _ in range(1000)],
    ]
    for numbers in cases:  # several requests on one connection
        got = await request(reader, writer, json.dumps(numbers).encode())
        assert got == sorted(numbers), (numbers[:10], got[:10])
    for bad, why in [(b"[1, 2", "not valid JSON"), (b'{"a": 1}', "not a JSON array"),
                     (b'[1, "x"]', "not a number")]:
        got = await request(reader, writer, bad)
        assert "error" in got and why in got["error"], got
    # the connection is still usable after bad requests
    assert await request(reader, writer, b"[2,1]") == [1, 2]
    writer.close()
    await writer.wait_closed()

    # 20 concurrent clients, one of them large
    lists = [[random.uniform(-1e6, 1e6) for _ in range(random.randint(0, 500))]
             for _ in range(19)]
    lists.append([random.randint(-10**12, 10**12) for _ in range(100_000)])
    results = await asyncio.gather(*(sort_remote(x) for x in lists))
    for x, got in zip(lists, results):
        assert got == sorted(x)

    # a length over the limit is refused and the connection closed
    reader, writer = await asyncio.open_connection("127.0.0.1", PORT)
    writer.write(struct.pack(">Q", 1 << 40))
    await writer.drain()
    (n,) = struct.unpack(">Q", await reader.readexactly(8))
    assert "too large" in json.loads(await reader.readexactly(n))["error"]
    assert await reader.read() == b""
    writer.close()
    print("sort service: all checks passed")


def start():
    global PORT
    for _ in range(5):
        PORT = random.randrange(10000, 30000)
        proc = subprocess.Popen([BIN, "--port", str(PORT)], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        line = proc.stdout.readline()
        if f"listening on 127.0.0.1:{PORT}" in line:
            return proc
        proc.wait()
    raise AssertionError("could not start the server on a free port")


def run():
    proc = start()
    try:
        asyncio.run(asyncio.wait_for(main(), 60))
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, proc.returncode
        assert "22 connections, 30 requests, 4 bad" in out, out
        print(out.strip())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    run()
    sys.exit(0)
