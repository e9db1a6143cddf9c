"""W2 peer: spawn n trivial asyncio tasks that return a value, await all
(create_task + gather).  --uvloop runs it on uvloop.
Prints RESULT rate (tasks/s, spawn to last result) and RESULT rss_kb (peak).
"""
import argparse
import asyncio
import resource
import time


async def work(i):
    return i * 2


async def spawn_all(n):
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(work(i)) for i in range(n)]
    results = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - t0
    assert sum(results) == n * (n - 1)
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--uvloop", action="store_true")
    a = ap.parse_args()
    if a.uvloop:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    elapsed = asyncio.run(spawn_all(a.n))
    print(f"RESULT rate {a.n / elapsed:.1f}")
    print(f"RESULT rss_kb {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")


if __name__ == "__main__":
    main()
