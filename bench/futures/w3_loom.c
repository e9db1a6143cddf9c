/* w3_loom.c - workload W3: submit N trivial callables to a 2-worker loom
 * thread pool, then collect every result.  Prints RESULT rate <futures/s>.
 * Usage: bench_futures_w3_loom [--n N] */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int trivial(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg + 1), NULL);
}

int main(int argc, char **argv) {
  long n = 200000;
  for (int i = 1; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--n")) n = atol(argv[i + 1]);
  loom_future **fs = malloc((size_t)n * sizeof *fs);
  loom_executor *pool;
  loom_thread_pool_options o = {.max_workers = 2};
  if (!fs || loom_thread_pool_create(&pool, &o) < 0) return 1;
  double t0 = loom_now();
  for (long i = 0; i < n; i++)
    if (loom_executor_submit(pool, trivial, (void *)i, &fs[i]) < 0) return 1;
  long sum = 0;
  for (long i = 0; i < n; i++) {
    void *v;
    if (loom_future_result(fs[i], LOOM_FOREVER, &v) < 0) return 1;
    sum += (long)v;
    loom_future_release(fs[i]);
  }
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
