/* w3_loom.c - workload W3: submit N trivial callables to a 2-worker loom
 * thread pool and collect every result.  Prints RESULT rate <futures/s>.
 *
 * Usage: bench_futures_w3_loom [--n N] [--window W]
 *
 * W = 0 (the default) submits all N, then collects them in order: every
 * future is live at once, as in the Python peer and the futures-style Go pool.
 * W > 0 keeps at most W futures in flight (future i is collected when i + W
 * is submitted), the shape of the Go pool with bounded job and result
 * channels: its 1,024-slot channels hold at most ~2,000 jobs in flight. */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int trivial(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg + 1), NULL);
}

/* Wait for f, add its result to *sum and let it go; false on failure. */
static int collect(loom_future *f, long *sum) {
  void *v;
  if (loom_future_result(f, LOOM_FOREVER, &v) < 0) return 0;
  *sum += (long)v;
  loom_future_release(f);
  return 1;
}

int main(int argc, char **argv) {
  long n = 200000, window = 0;
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--n")) n = atol(argv[i + 1]);
    if (!strcmp(argv[i], "--window")) window = atol(argv[i + 1]);
  }
  if (window <= 0 || window > n) window = n;
  loom_future **fs = malloc((size_t)window * sizeof *fs); /* a ring of W */
  loom_executor *pool;
  loom_thread_pool_options o = {.max_workers = 2};
  if (!fs || loom_thread_pool_create(&pool, &o) < 0) return 1;
  long sum = 0;
  double t0 = loom_now();
  for (long i = 0; i < n; i++) {
    loom_future **slot = &fs[i % window];
    if (i >= window && !collect(*slot, &sum)) return 1;
    if (loom_executor_submit(pool, trivial, (void *)i, slot) < 0) return 1;
  }
  for (long i = n > window ? n - window : 0; i < n; i++)
    if (!collect(fs[i % window], &sum)) return 1;
  double dt = loom_now() - t0;
  loom_executor_destroy(pool);
  free(fs);
  if (sum != n * (n + 1) / 2) {
    fprintf(stderr, "wrong sum %ld\n", sum);
    return 1;
  }
  printf("RESULT rate %.1f\n", (double)n / dt);
  return 0;
}
