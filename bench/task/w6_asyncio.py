"""W6 peer: n asyncio tasks each sleeping 10 s at once.  --uvloop runs it on
uvloop.  Prints RESULT start_s (from the first spawn until every task is
asleep), RESULT bytes_per_task (peak RSS / n) and RESULT rss_kb.
"""
import argparse
import asyncio
import resource
import time


async def idle(started, n, all_started, seconds):
    started[0] += 1
    if started[0] == n:
        all_started.set()
    await asyncio.sleep(seconds)


async def main_async(n, seconds):
    started, all_started = [0], asyncio.Event()
    t0 = time.perf_counter()
    tasks = [asyncio.create_task(idle(started, n, all_started, seconds)) for _ in range(n)]
    await all_started.wait()
    start_s = time.perf_counter() - t0
    await asyncio.gather(*tasks)
    return start_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--sleep", type=float, default=10.0)
    ap.add_argument("--uvloop", action="store_true")
    a = ap.parse_args()
    if a.uvloop:
        import uvloop
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    start_s = asyncio.run(main_async(a.n, a.sleep))
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"RESULT start_s {start_s:.4f}")
    print(f"RESULT bytes_per_task {rss_kb * 1024 / a.n:.1f}")
    print(f"RESULT rss_kb {rss_kb}")


if __name__ == "__main__":
    main()
