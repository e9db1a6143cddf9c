/* ex04_fib - CPU-bound Fibonacci, the seeds' "fib" experiment in C.
 *
 * Sections (run all, or one with --only NAME):
 *   sequential  recursive fib(n) for each n of the range, one after another
 *   iterative   the same with the loop version (instant: the recursion is the cost)
 *   processes   the recursive fib over the range in a process pool: each n is
 *               one job; results come back as they complete and are printed
 *               in input order at the end
 * The thread and coroutine sections (recursive fib as coroutines: the cost of
 * switching) belong to the threads and coroutine areas and join this file
 * when those land.
 *
 *   ex04_fib [--from A] [--to B] [--workers W] [--only sequential|iterative|processes]
 */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long fib_rec(long n) { return n < 2 ? n : fib_rec(n - 1) + fib_rec(n - 2); }

static long fib_iter(long n) {
  long a = 0, b = 1;
  for (long i = 0; i < n; i++) {
    long t = a + b;
    a = b;
    b = t;
  }
  return a;
}

/* The process-pool job: fib(arg), arg crossing as an integer. */
static int fib_job(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)fib_rec((long)arg), NULL);
}

typedef struct range {
  long from, to;
} range;

static void section_sequential(range r) {
  int64_t t0 = loom_now_ns();
  for (long n = r.from; n <= r.to; n++) printf("sequential: fib(%ld) = %ld\n", n, fib_rec(n));
  printf("sequential: %.3f s\n", (double)(loom_now_ns() - t0) / 1e9);
}

static void section_iterative(range r) {
  int64_t t0 = loom_now_ns();
  for (long n = r.from; n <= r.to; n++) printf("iterative: fib(%ld) = %ld\n", n, fib_iter(n));
  printf("iterative: %.6f s\n", (double)(loom_now_ns() - t0) / 1e9);
}

static int section_processes(range r, int workers) {
  LOOM_EXECUTOR_SCOPED loom_executor *pool = NULL;
  loom_process_pool_options o = {.max_workers = workers};
  if (loom_process_pool_create(&pool, &o) < 0) return 1;
  size_t n = (size_t)(r.to - r.from + 1);
  loom_future **fs = calloc(n, sizeof *fs);
  int64_t t0 = loom_now_ns();
  for (size_t i = 0; i < n; i++)
    if (loom_executor_submit(pool, fib_job, (void *)(r.from + (long)i), &fs[i]) < 0) return 1;
  loom_as_completed *ac;
  if (loom_as_completed_create(fs, n, 600, &ac) < 0) return 1;
  loom_future *f;
  while (loom_as_completed_next(ac, &f) == 0) {
    size_t i = 0;
    while (fs[i] != f) i++;
    void *v;
    if (loom_future_result(f, 0, &v) == 0)
      printf("processes: done fib(%ld) after %.3f s\n", r.from + (long)i,
             (double)(loom_now_ns() - t0) / 1e9);
  }
  loom_as_completed_destroy(ac);
  int bad = 0;
  for (size_t i = 0; i < n; i++) {
    void *v;
    const char *msg;
    if (loom_future_result(fs[i], 0, &v) == 0) {
      printf("processes: fib(%ld) = %ld\n", r.from + (long)i, (long)v);
    } else {
      loom_future_error(fs[i], 0, &msg);
      printf("processes: fib(%ld) failed: %s\n", r.from + (long)i, msg ? msg : "?");
      bad++;
    }
    loom_future_release(fs[i]);
  }
  free(fs);
  printf("processes: %.3f s with %d workers\n", (double)(loom_now_ns() - t0) / 1e9,
         loom_executor_max_workers(pool));
  return bad != 0;
}

int main(int argc, char **argv) {
  range r = {20, 32};
  int workers = 0;
  const char *only = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--from")) r.from = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--to")) r.to = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  if (r.from < 0 || r.to < r.from || r.to > 45) {
    fprintf(stderr, "usage: ex04_fib [--from A] [--to B (<= 45)] [--workers W] [--only SECTION]\n");
    return 2;
  }
  if (!only || !strcmp(only, "sequential")) section_sequential(r);
  if (!only || !strcmp(only, "iterative")) section_iterative(r);
  if (!only || !strcmp(only, "processes")) return section_processes(r, workers);
  return 0;
}
