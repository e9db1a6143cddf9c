/* w4_loom.c - W4: 20,000 trivial tasks (x -> 2x) on a 2-process pool.
 *   --mode submit   one future per task (ProcessPoolExecutor.submit)
 *   --mode map      chunked map, chunksize 100 (Pool.map / PPE.map(chunksize=100))
 *   --mode both     (default) both, one after the other
 *   --chunksize K   map chunk size (default 100; 0: multiprocessing's default,
 *                   about n / (4 * workers))
 * The pool is started and warmed (both workers up) before the clock starts,
 * as in the Python peers.  Prints RESULT submit_rate / map_rate (tasks/s).
 */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int twice(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg * 2), NULL);
}

static int run_submit(loom_executor *ex, long n, double *rate) {
  loom_future **fs = malloc((size_t)n * sizeof *fs);
  int64_t t0 = loom_now_ns();
  for (long i = 0; i < n; i++)
    if (loom_executor_submit(ex, twice, (void *)i, &fs[i]) < 0) return 1;
  long bad = 0;
  for (long i = 0; i < n; i++) {
    void *v;
    if (loom_future_result(fs[i], 60, &v) < 0 || (long)v != 2 * i) bad++;
    loom_future_release(fs[i]);
  }
  *rate = (double)n / ((double)(loom_now_ns() - t0) / 1e9);
  free(fs);
  return bad != 0;
}

static long chunksize = 100;

static int run_map(loom_executor *ex, long n, double *rate) {
  void **args = malloc((size_t)n * sizeof *args);
  for (long i = 0; i < n; i++) args[i] = (void *)i;
  int64_t t0 = loom_now_ns();
  loom_process_map *m;
  if (loom_process_pool_map(ex, twice, args, (size_t)n, (size_t)chunksize, 60, &m) < 0) return 1;
  loom_process_item it;
  long bad = 0, got = 0;
  while (loom_process_map_next(m, &it) == 0) {
    if (it.err || (long)it.value != 2 * (long)it.index) bad++;
    got++;
  }
  loom_process_map_destroy(m);
  *rate = (double)n / ((double)(loom_now_ns() - t0) / 1e9);
  free(args);
  return bad != 0 || got != n;
}

int main(int argc, char **argv) {
  long n = 20000;
  const char *mode = "both";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--n") == 0) n = atol(argv[i + 1]);
    if (strcmp(argv[i], "--mode") == 0) mode = argv[i + 1];
    if (strcmp(argv[i], "--chunksize") == 0) chunksize = atol(argv[i + 1]);
  }
  loom_executor *ex;
  if (loom_process_pool_create(&ex, &(loom_process_pool_options){.max_workers = 2}) < 0) return 1;
  double warm;
  if (run_submit(ex, 200, &warm)) return 1; /* both workers up */
  double rate;
  if (strcmp(mode, "map") != 0) {
    if (run_submit(ex, n, &rate)) return 1;
    printf("RESULT submit_rate %.1f\n", rate);
  }
  if (strcmp(mode, "submit") != 0) {
    if (run_map(ex, n, &rate)) return 1;
    printf("RESULT map_rate %.1f\n", rate);
  }
  loom_executor_destroy(ex);
  return 0;
}
