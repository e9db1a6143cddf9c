"""W1b peer: two asyncio tasks ping-pong n hops through the event loop.

--mode future: each hop completes a fresh Future the other task awaits
(the lowest-level asyncio hand-off).  --mode queue: two asyncio.Queue(1).
--uvloop runs the same code on uvloop.  A hop is one value handed from one
task to the other; prints RESULT ns_per_hop.
"""
import argparse
import asyncio
import time


async def pingpong_future(n):
    loop = asyncio.get_running_loop()
    box = [loop.create_future(), loop.create_future()]   # box[i]: what task i awaits
    rounds = n // 2

    async def pinger():
        for i in range(rounds):
            box[1].set_result(i)
            await box[0]
            box[0] = loop.create_future()

    async def ponger():
        for _ in range(rounds):
            v = await box[1]
            box[1] = loop.create_future()
            box[0].set_result(v)

    t0 = time.perf_counter()
    await asyncio.gather(pinger(), ponger())
    return time.perf_counter() - t0, rounds * 2


async def pingpong_queue(n):
    a, b = asyncio.Queue(1), asyncio.Queue(1)
    rounds = n // 2

    async def pinger():
        for i in range(rounds):
            await a.put(i)
            await b.get()

    async def ponger():
        for _ in range(rounds):
            await b.put(await a.get())

    t0 = time.perf_counter()
    await asyncio.gather(pinger(), ponger())
    return time.perf_counter() - t0, rounds * 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--mode", choices=["future", "queue"], default="future")
    ap.add_argument("--uvloop", action="store_true")
    a = ap.parse_args()
    body = pingpong_future if a.mode == "future" else pingpong_queue
    if a.uvloop:
        import uvloop
        elapsed, hops = uvloop.run(body(a.n)) if hasattr(uvloop, "run") else \
            _run_uvloop(body(a.n), uvloop)
    else:
        elapsed, hops = asyncio.run(body(a.n))
    print(f"RESULT ns_per_hop {elapsed * 1e9 / hops:.2f}")


def _run_uvloop(coro, uvloop):
    uvloop.install()
    return asyncio.run(coro)


if __name__ == "__main__":
    main()
