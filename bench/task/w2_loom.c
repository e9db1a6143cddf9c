/* w2_loom.c - W2: spawn --n trivial tasks (default 1,000,000) that each
 * return a value, then await them all and collect every result.  Prints
 *     RESULT rate X      (tasks per second, spawn to last result)
 *     RESULT rss_kb X    (peak RSS) */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static int work(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg + 1), NULL);
}

int main(int argc, char **argv) {
  int compact = 0; /* --compact 1: compact idle stacks (loom/task.h) */
  long n = 1000000;
  for (int i = 1; i + 1 < argc; i++) {
    if (!strcmp(argv[i], "--compact")) compact = atoi(argv[i + 1]);
    if (!strcmp(argv[i], "--n")) n = atol(argv[i + 1]);
  }
  loom_loop *loop;
  if (loom_loop_create(&loop, NULL) < 0) return 1;
  if (compact && loom_task_set_default_compact(loop, true) < 0) return 1;
  loom_future **t = malloc((size_t)n * sizeof *t);
  if (!t) return 1;
  double t0 = loom_now();
  for (long i = 0; i < n; i++)
    if (loom_task_spawn(loop, work, (void *)i, NULL, &t[i]) < 0) return 1;
  /* Tasks start in spawn order, so the last one finishes last. */
  if (loom_loop_run_until_complete(loop, t[n - 1]) < 0) return 1;
  long sum = 0;
  for (long i = 0; i < n; i++) {
    void *v;
    if (loom_future_result(t[i], 0, &v) < 0) return 1;
    sum += (long)v;
    loom_future_release(t[i]);
  }
  double took = loom_now() - t0;
  if (sum != n * (n + 1) / 2) {
    fprintf(stderr, "w2: wrong sum %ld\n", sum);
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("RESULT rate %.1f\n", (double)n / took);
  printf("RESULT rss_kb %ld\n", ru.ru_maxrss);
  free(t);
  loom_loop_destroy(loop);
  return 0;
}
