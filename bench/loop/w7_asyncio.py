"""W7 peer: n timers with random delays in [0, 1 s] (asyncio call_later),
--uvloop on uvloop.  Prints RESULT rate (timers/s: n over the time from the
first call_later to the last callback) and RESULT overhead_ms (that time
beyond 1 s).  Delays are seeded, so every run and system sees one schedule.
"""
import argparse
import asyncio
import random
import time


async def fire_all(n):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    rng = random.Random(42)
    count = [0]

    def fired():
        count[0] += 1
        if count[0] == n:
            done.set_result(None)

    delays = [rng.random() for _ in range(n)]
    t0 = time.perf_counter()
    for d in delays:
        loop.call_later(d, fired)
    await done
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--uvloop", action="store_true")
    a = ap.parse_args()
    if a.uvloop:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    elapsed = asyncio.run(fire_all(a.n))
    print(f"RESULT rate {a.n / elapsed:.1f}")
    print(f"RESULT overhead_ms {(elapsed - 1.0) * 1000:.1f}")


if __name__ == "__main__":
    main()
