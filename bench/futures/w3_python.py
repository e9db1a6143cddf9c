"""W3 peer: N trivial callables on ThreadPoolExecutor(2), submit all, then
result() all.  Prints RESULT rate <futures/s>."""
import argparse
import time
from concurrent.futures import ThreadPoolExecutor


def trivial(x):
    return x + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=200000)
    n = ap.parse_args().n
    with ThreadPoolExecutor(max_workers=2) as ex:
        t0 = time.perf_counter()
        fs = [ex.submit(trivial, i) for i in range(n)]
        total = sum(f.result() for f in fs)
        dt = time.perf_counter() - t0
    assert total == n * (n + 1) // 2
    print(f"RESULT rate {n / dt:.1f}")


if __name__ == "__main__":
    main()
