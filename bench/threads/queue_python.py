"""queue_python.py - peer for the queue workloads: N items through a
queue.Queue(maxsize=1024) from P producer threads to C consumer threads.
Prints RESULT rate <items/s>."""
import argparse
import queue
import sys
import threading
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000000)
    ap.add_argument("--producers", type=int, default=1)
    ap.add_argument("--consumers", type=int, default=1)
    a = ap.parse_args()
    q = queue.Queue(maxsize=1024)
    per = a.n // a.producers
    total = per * a.producers
    sums = [0] * a.consumers
    done = object()

    def produce(i):
        base = i * per
        for k in range(1, per + 1):
            q.put(base + k)

    def consume(j):
        s = 0
        while True:
            v = q.get()
            if v is done:
                break
            s += v
        sums[j] = s

    t0 = time.perf_counter()
    cs = [threading.Thread(target=consume, args=(j,)) for j in range(a.consumers)]
    ps = [threading.Thread(target=produce, args=(i,)) for i in range(a.producers)]
    for t in cs + ps:
        t.start()
    for t in ps:
        t.join()
    for _ in cs:
        q.put(done)
    for t in cs:
        t.join()
    dt = time.perf_counter() - t0
    if sum(sums) != total * (total + 1) // 2:
        print("bad sum", file=sys.stderr)
        sys.exit(1)
    print(f"RESULT rate {total / dt:.1f}")


if __name__ == "__main__":
    main()
