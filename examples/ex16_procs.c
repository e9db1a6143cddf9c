/* ex16_procs - processes next to threads.
 *
 *   busy     one busy process per CPU, then the same work in as many threads:
 *            in C both run truly in parallel (no GIL), so both take about the
 *            time of one worker's share
 *   factors  prime factors of 20 random numbers with a process-pool map
 *
 * (The seeds' other ex16 parts - a thread reading input while main computes,
 * threads fetching a value for ten cities - live with the threads area.)
 *
 *   ex16_procs [--spin N] [--seed S] [--workers W] [--only busy|factors]
 */
#include <loom.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long spin_count = 100000000;

static long spin(long n) {
  volatile long x = 0;
  for (long i = 0; i < n; i++) x += i & 3;
  return x;
}

/* A loom_process child: spins, exits 0 if the sum is the expected one. */
static int busy_child(const void *arg, size_t len) {
  long n;
  memcpy(&n, arg, sizeof n);
  return spin(n) == (n / 4) * 6 + (n % 4 > 1 ? 1 : 0) + (n % 4 > 2 ? 2 : 0) ? 0 : 1;
}

static void *busy_thread(void *arg) {
  spin(*(long *)arg);
  return NULL;
}

static int section_busy(int workers) {
  loom_process **ps = calloc((size_t)workers, sizeof *ps);
  int64_t t0 = loom_now_ns();
  for (int i = 0; i < workers; i++)
    if (loom_process_start(&ps[i], busy_child, &spin_count, sizeof spin_count, NULL, 0) < 0)
      return 1;
  int bad = 0;
  for (int i = 0; i < workers; i++) {
    loom_process_join(ps[i], LOOM_FOREVER);
    int code = -1;
    bad += loom_process_exitcode(ps[i], &code) != 0 || code != 0;
    loom_process_destroy(ps[i]);
  }
  double tp = (double)(loom_now_ns() - t0) / 1e9;
  free(ps);
  pthread_t *th = calloc((size_t)workers, sizeof *th);
  t0 = loom_now_ns();
  for (int i = 0; i < workers; i++) pthread_create(&th[i], NULL, busy_thread, &spin_count);
  for (int i = 0; i < workers; i++) pthread_join(th[i], NULL);
  double tt = (double)(loom_now_ns() - t0) / 1e9;
  free(th);
  t0 = loom_now_ns();
  spin(spin_count);
  double t1 = (double)(loom_now_ns() - t0) / 1e9;
  printf("busy: one worker alone: %.2f s\n", t1);
  printf("busy: %d processes: %.2f s (%s)\n", workers, tp, bad ? "FAILED" : "all exited 0");
  printf("busy: %d threads:   %.2f s\n", workers, tt);
  return bad != 0;
}

/* The pool job: the factors of arg as text "p1 * p2 * ...". */
static int factor_job(loom_future *self, void *arg) {
  unsigned long n = (unsigned long)arg;
  char buf[256];
  size_t len = 0;
  for (unsigned long p = 2; p * p <= n; p += (p == 2 ? 1 : 2)) {
    while (n % p == 0) {
      len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lu", len ? " * " : "", p);
      n /= p;
    }
  }
  if (n > 1) len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lu", len ? " * " : "", n);
  return loom_future_set_result_bytes(self, buf, len);
}

static int section_factors(unsigned seed, int workers) {
  LOOM_EXECUTOR_SCOPED loom_executor *pool = NULL;
  if (loom_process_pool_create(&pool, &(loom_process_pool_options){.max_workers = workers}) < 0)
    return 1;
  void *nums[20];
  srand(seed);
  for (int i = 0; i < 20; i++) {
    unsigned long r = ((unsigned long)rand() << 16) ^ (unsigned long)rand();
    nums[i] = (void *)(100000000000UL + r % 900000000000UL);
  }
  loom_process_map *m;
  if (loom_process_pool_map(pool, factor_job, nums, 20, 2, 60, &m) < 0) return 1;
  loom_process_item it;
  int bad = 0;
  while (loom_process_map_next(m, &it) == 0) {
    if (it.err) {
      printf("factors: %lu failed: %s\n", (unsigned long)nums[it.index], it.msg ? it.msg : "?");
      bad++;
      continue;
    }
    printf("factors: %lu = %.*s\n", (unsigned long)nums[it.index], (int)it.len,
           (const char *)it.data);
  }
  loom_process_map_destroy(m);
  return bad != 0;
}

int main(int argc, char **argv) {
  unsigned seed = 16;
  int workers = loom_cpu_count();
  const char *only = NULL;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--spin")) spin_count = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) seed = (unsigned)atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--workers")) workers = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--only")) only = argv[i + 1];
  }
  if (workers < 1 || spin_count < 1) {
    fprintf(stderr, "usage: ex16_procs [--spin N] [--seed S] [--workers W] [--only busy|factors]\n");
    return 2;
  }
  int rc = 0;
  if (!only || !strcmp(only, "busy")) rc |= section_busy(workers);
  if (!only || !strcmp(only, "factors")) rc |= section_factors(seed, workers);
  return rc;
}
