"""W1b peer: Python generator send() ping-pong, the cheapest switch Python
has (no event loop).  Each send() hands a value into the generator and its
yield hands one back: two hops.  Prints RESULT ns_per_hop.
"""
import argparse
import time


def echo():
    v = yield
    while True:
        v = yield v + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    n = ap.parse_args().n
    g = echo()
    next(g)
    send = g.send
    v = 0
    t0 = time.perf_counter()
    for _ in range(n // 2):
        v = send(v)
    elapsed = time.perf_counter() - t0
    assert v == n // 2
    print(f"RESULT ns_per_hop {elapsed * 1e9 / (n // 2 * 2):.2f}")


if __name__ == "__main__":
    main()
