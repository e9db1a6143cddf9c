#!/usr/bin/python3
"""W4 peers: 20,000 trivial tasks (x -> 2x) on 2 worker processes.

  --mode submit       ProcessPoolExecutor.submit, one future per task
  --mode ppe_map100   ProcessPoolExecutor.map(chunksize=100)
  --mode pool_map1    multiprocessing.Pool.map(chunksize=1)
  --mode pool_map     multiprocessing.Pool.map (default chunksize)

The pool is created and warmed (both workers up) before timing, like loom's.
Prints RESULT submit_rate (submit) or RESULT map_rate (the maps), tasks/s.
"""
import argparse
import concurrent.futures as cf
import multiprocessing as mp
import time


def twice(x):
    return 2 * x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--mode", default="submit",
                    choices=["submit", "ppe_map100", "pool_map1", "pool_map"])
    a = ap.parse_args()
    xs = range(a.n)
    if a.mode in ("submit", "ppe_map100"):
        with cf.ProcessPoolExecutor(max_workers=2) as ex:
            list(ex.map(twice, range(200)))
            t0 = time.perf_counter()
            if a.mode == "submit":
                fs = [ex.submit(twice, x) for x in xs]
                out = [f.result() for f in fs]
            else:
                out = list(ex.map(twice, xs, chunksize=100))
            dt = time.perf_counter() - t0
    else:
        with mp.Pool(2) as pool:
            pool.map(twice, range(200))
            t0 = time.perf_counter()
            if a.mode == "pool_map1":
                out = pool.map(twice, xs, chunksize=1)
            else:
                out = pool.map(twice, xs)
            dt = time.perf_counter() - t0
    assert out == [2 * x for x in xs]
    key = "submit_rate" if a.mode == "submit" else "map_rate"
    print(f"RESULT {key} {a.n / dt:.1f}")


if __name__ == "__main__":
    main()
