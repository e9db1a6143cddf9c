/* test_queue_stress.c - many producers and consumers through one bounded
 * queue: nothing lost, nothing duplicated (a sum and a bitmap), in bounded
 * time; and the same while waiters keep timing out, which exercises the
 * hand-off to a waiter that already left. */
#include "threads_util.h"

enum { PRODUCERS = 8, CONSUMERS = 8 };

typedef struct {
  loom_queue *q;
  long first, count;          /* producer: items first+1 .. first+count */
  bool tiny_timeouts;         /* retry with 0..200 us timeouts */
  _Atomic uint64_t *bitmap;
  long sum, got;
  int rc;
} s_arg;

static int put_retry(s_arg *a, void *item, unsigned *seed) {
  for (;;) {
    double to = a->tiny_timeouts ? (rand_r(seed) % 200) * 1e-6 : 10.0;
    int rc = loom_queue_put(a->q, item, to);
    if ((rc != LOOM_ETIMEDOUT && rc != LOOM_EFULL) || !a->tiny_timeouts) return rc;
  }
}

static void *producer(void *p) {
  s_arg *a = p;
  unsigned seed = (unsigned)a->first;
  for (long i = 1; i <= a->count; i++) {
    int rc = put_retry(a, (void *)(uintptr_t)(a->first + i), &seed);
    if (rc < 0) {
      a->rc = rc;
      return NULL;
    }
  }
  return NULL;
}

static void *consumer(void *p) {
  s_arg *a = p;
  unsigned seed = (unsigned)(uintptr_t)p;
  for (;;) {
    void *v;
    double to = a->tiny_timeouts ? (rand_r(&seed) % 200) * 1e-6 : 10.0;
    int rc = loom_queue_get(a->q, &v, to);
    if ((rc == LOOM_ETIMEDOUT || rc == LOOM_EEMPTY) && a->tiny_timeouts) continue;
    if (rc == LOOM_ECLOSED) return NULL;
    if (rc < 0) {
      a->rc = rc;
      return NULL;
    }
    long x = (long)(uintptr_t)v;
    uint64_t bit = 1ull << (x % 64);
    if (atomic_fetch_or(&a->bitmap[x / 64], bit) & bit) a->rc = -1; /* duplicate */
    a->sum += x;
    a->got++;
    loom_queue_task_done(a->q);
  }
}

static int cmp_ptr(const void *a, const void *b, void *ctx) {
  (void)ctx;
  return (a > b) - (a < b);
}

static void run_stress_n(loom_queue_kind kind, long total, size_t maxsize, bool tiny, int np,
                         int nc) {
  loom_queue *q;
  loom_queue_options o = {.kind = kind, .maxsize = maxsize, .cmp = cmp_ptr};
  LT_RC(loom_queue_create(&q, &o), 0);
  _Atomic uint64_t *bitmap = calloc((size_t)total / 64 + 2, sizeof *bitmap);
  s_arg pa[PRODUCERS], ca[CONSUMERS];
  pthread_t pt[PRODUCERS], ct[CONSUMERS];
  long per = total / np;
  for (int i = 0; i < nc; i++) {
    ca[i] = (s_arg){.q = q, .bitmap = bitmap, .tiny_timeouts = tiny};
    ct[i] = spawn(consumer, &ca[i]);
  }
  for (int i = 0; i < np; i++) {
    pa[i] = (s_arg){.q = q, .first = i * per, .count = per, .tiny_timeouts = tiny};
    pt[i] = spawn(producer, &pa[i]);
  }
  for (int i = 0; i < np; i++) pthread_join(pt[i], NULL);
  LT_RC(loom_queue_join(q, 60), 0); /* every item consumed and marked done */
  LT_RC(loom_queue_shutdown(q, false), 0);
  for (int i = 0; i < nc; i++) pthread_join(ct[i], NULL);
  long n = per * np, sum = 0, got = 0;
  for (int i = 0; i < np; i++) LT_RC(pa[i].rc, 0);
  for (int i = 0; i < nc; i++) {
    LT_RC(ca[i].rc, 0);
    sum += ca[i].sum;
    got += ca[i].got;
  }
  LT_CHECK(got == n, "received %ld of %ld items", got, n);
  LT_CHECK(sum == n * (n + 1) / 2, "sum %ld, want %ld", sum, n * (n + 1) / 2);
  for (long x = 1; x <= n; x++)
    LT_CHECK(atomic_load(&bitmap[x / 64]) & (1ull << (x % 64)), "item %ld lost", x);
  free(bitmap);
  LT_RC(loom_queue_destroy(q), 0);
}

static void run_stress(loom_queue_kind kind, long total, size_t maxsize, bool tiny) {
  run_stress_n(kind, total, maxsize, tiny, PRODUCERS, CONSUMERS);
}

/* One producer, one consumer: the two keep meeting at "full" and "empty",
 * where a lost wake-up would leave both parked (and fail on the 10 s
 * timeouts). */
LOOM_TEST_T(queue_stress, spsc_300k_small_queue, 180) {
  run_stress_n(LOOM_QUEUE_FIFO, 300000, 8, false, 1, 1);
}

LOOM_TEST_T(queue_stress, fifo_200k_bounded_8x8, 180) {
  run_stress(LOOM_QUEUE_FIFO, 200000, 64, false);
}

LOOM_TEST_T(queue_stress, lifo_50k_bounded_8x8, 180) {
  run_stress(LOOM_QUEUE_LIFO, 50000, 16, false);
}

LOOM_TEST_T(queue_stress, priority_50k_bounded_8x8, 180) {
  run_stress(LOOM_QUEUE_PRIORITY, 50000, 32, false);
}

LOOM_TEST_T(queue_stress, timeouts_racing_handoff_lose_nothing, 180) {
  run_stress(LOOM_QUEUE_FIFO, 40000, 4, true);
}
