/* ex04_fib - CPU-bound Fibonacci, the seeds' "fib" experiment in C.
 *
 * Sections (run all, or one with --only NAME):
 *   sequential  recursive fib(n) for each n of the range, one after another
 *   threads     the same range in 1 loom thread, then in 2: in C, unlike
 *               CPython with its GIL, threads really run in parallel, so 2
 *               threads take about half the time on a machine with 2 free cores
 *   coroutines  recursive fib where every call is a task that spawns and
 *               awaits its children: the same arithmetic plus a spawn and two
 *               switches per call, which shows what switching costs (kept to
 *               n <= --coro-to, default 20: fib(n) makes ~2*fib(n+1) tasks)
 *   iterative   the same with the loop version (instant: the recursion is the cost)
 *   processes   the recursive fib over the range in a process pool: each n is
 *               one job; results come back as they complete and are printed
 *               in input order at the end
 *
 *   ex04_fib [--from A] [--to B] [--workers W] [--coro-to C]
 *            [--only sequential|threads|coroutines|iterative|processes]
 */
#include <loom.h>
#include <stdatomic.h>
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

typedef struct range {
  long from, to;
} range;

/* ---- threads: the range shared by T threads ------------------------------ */

typedef struct shared_range {
  range r;
  long reps;        /* each n is computed reps times (enough work to time) */
  atomic_long next; /* next job to claim, counting down: big jobs first balance */
  long *out;        /* out[n - r.from] = fib(n), written by repetition 0 only */
} shared_range;

static int thread_worker(loom_future *self, void *arg) {
  (void)self;
  shared_range *sr = arg;
  volatile long sink = 0; /* keeps the compiler from dropping repetitions */
  for (long j; (j = atomic_fetch_sub(&sr->next, 1)) >= 0;) {
    long n = sr->r.from + j / sr->reps, v = fib_rec(n);
    sink = sink + v;
    if (j % sr->reps == 0) sr->out[n - sr->r.from] = v;
  }
  return 0;
}

/* Runs the range `reps` times in `nthreads` threads; returns the time in
 * seconds, or a negative loom code. */
static double run_in_threads(range r, long reps, int nthreads, long *out) {
  shared_range sr = {.r = r, .reps = reps, .out = out};
  atomic_init(&sr.next, (r.to - r.from + 1) * reps - 1);
  loom_thread *t[2] = {NULL, NULL};
  int rc = 0;
  int64_t t0 = loom_now_ns();
  for (int i = 0; i < nthreads && rc == 0; i++)
    rc = loom_thread_start(&t[i], "fib", thread_worker, &sr);
  for (int i = 0; i < nthreads; i++) {
    if (!t[i]) continue;
    int jrc = loom_thread_join(t[i], LOOM_FOREVER);
    if (jrc < 0 && rc == 0) rc = jrc;
    loom_thread_destroy(t[i]);
  }
  return rc < 0 ? rc : (double)(loom_now_ns() - t0) / 1e9;
}

/* 1 thread, then 2, on the same work: the range repeated until one thread
 * needs at least 0.25 s, so that starting threads is noise. */
static int section_threads(range r) {
  size_t n = (size_t)(r.to - r.from + 1);
  long *one = calloc(n, sizeof *one), *two = calloc(n, sizeof *two), reps = 1;
  double t1 = -1, t2 = -1;
  while (one && two && (t1 = run_in_threads(r, reps, 1, one)) >= 0 && t1 < 0.25 &&
         reps < (1L << 20))
    reps *= 2;
  if (t1 >= 0) t2 = run_in_threads(r, reps, 2, two);
  int bad = t1 < 0 || t2 < 0;
  for (size_t i = 0; !bad && i < n; i++) {
    if (one[i] != two[i]) bad = 1;
    else printf("threads: fib(%ld) = %ld\n", r.from + (long)i, two[i]);
  }
  free(one);
  free(two);
  if (bad) return printf("threads: failed\n"), 1;
  printf("threads: the range %ld time(s), 1 thread  %.3f s\n", reps, t1);
  printf("threads: the range %ld time(s), 2 threads %.3f s (speed-up %.2fx; 2.00 = fully\n"
         "         parallel, which CPython's GIL never allows; needs 2 idle cores)\n",
         reps, t2, t1 / t2);
  return 0;
}

/* ---- coroutines: every call of the recursion is a task --------------------- */

static long coro_tasks; /* tasks spawned; only the loop thread touches it */

static int fib_task(loom_future *self, void *arg);

/* Spawn fib(n) as a child task and await its result (asyncio's
 * `await create_task(fib(n))`).  One child at a time: awaiting the first
 * before spawning the second keeps at most n tasks alive, where spawning
 * both first would keep a whole level of the tree (thousands) alive. */
static int await_child(loom_future *self, long n, long *value) {
  loom_future *child;
  int rc = loom_task_spawn(loom_task_loop(self), fib_task, (void *)n, "fib", &child);
  if (rc) return rc;
  coro_tasks++;
  void *v = NULL;
  rc = loom_future_result(child, LOOM_FOREVER, &v);
  loom_future_release(child);
  *value = (long)v;
  return rc;
}

static int fib_task(loom_future *self, void *arg) {
  long n = (long)arg, a = n, b = 0;
  int rc = 0;
  if (n >= 2) {
    rc = await_child(self, n - 1, &a);
    if (rc == 0) rc = await_child(self, n - 2, &b);
  }
  return rc ? rc : loom_future_set_result(self, (void *)(a + b), NULL);
}

/* fib(n) on a fresh loop (loom_run: asyncio.run); *tasks gets the number of
 * tasks it took. */
static int coro_fib(long n, long *value, long *tasks) {
  void *v = NULL;
  coro_tasks = 1;
  int rc = loom_run(fib_task, (void *)n, &v, NULL);
  *value = (long)v;
  *tasks = coro_tasks;
  return rc;
}

static int section_coroutines(range r, long coro_to) {
  long to = r.to < coro_to ? r.to : coro_to, total_tasks = 0;
  if (to < r.from) return printf("coroutines: skipped (range above --coro-to %ld)\n", coro_to), 0;
  int64_t t0 = loom_now_ns();
  for (long n = r.from; n <= to; n++) {
    long v = 0, tasks = 0;
    int rc = coro_fib(n, &v, &tasks);
    if (rc) return printf("coroutines: fib(%ld) failed: %s\n", n, loom_strerror(rc)), 1;
    printf("coroutines: fib(%ld) = %ld (%ld tasks)\n", n, v, tasks);
    total_tasks += tasks;
  }
  double tc = (double)(loom_now_ns() - t0) / 1e9;
  t0 = loom_now_ns();
  volatile long sink = 0;
  for (long n = r.from; n <= to; n++) sink += fib_rec(n);
  double ts = (double)(loom_now_ns() - t0) / 1e9;
  printf("coroutines: %.3f s for %ld tasks, %.0f ns per call (plain recursion: %.2f ns "
         "per call)\n",
         tc, total_tasks, tc * 1e9 / (double)total_tasks, ts * 1e9 / (double)total_tasks);
  return 0;
}

/* The process-pool job: fib(arg), arg crossing as an integer. */
static int fib_job(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)fib_rec((long)arg), NULL);
}

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
  long coro_to = 20;
  const char *only = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--from")) r.from = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--to")) r.to = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
    else if (!strcmp(argv[i], "--coro-to")) coro_to = atol(argv[i + 1]);
  }
  if (r.from < 0 || r.to < r.from || r.to > 45) {
    fprintf(stderr, "usage: ex04_fib [--from A] [--to B (<= 45)] [--workers W] "
                    "[--coro-to C] [--only SECTION]\n");
    return 2;
  }
  int bad = 0;
  if (!only || !strcmp(only, "sequential")) section_sequential(r);
  if (!only || !strcmp(only, "threads")) bad |= section_threads(r);
  if (!only || !strcmp(only, "coroutines")) bad |= section_coroutines(r, coro_to);
  if (!only || !strcmp(only, "iterative")) section_iterative(r);
  if (!only || !strcmp(only, "processes")) bad |= section_processes(r, workers);
  return bad;
}
