/* test_future_alloc.c - future storage (future_alloc.c): distinct slots,
 * frees from other threads, threads that exit with cached slots, the ALLOC
 * fault point.  Under ThreadSanitizer and in plain builds this exercises the
 * per-thread slot cache; under AddressSanitizer futures use malloc. */
#include <pthread.h>
#include <stdlib.h>

#include "loom_test.h"

static int cmp_ptr(const void *a, const void *b) {
  uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
  return x < y ? -1 : x > y;
}

LOOM_TEST(future_alloc, slots_are_distinct_and_reused) {
  enum { N = 20000 };
  loom_future **fs = calloc(N, sizeof *fs);
  for (int i = 0; i < N; i++) LT_RC(loom_future_create(&fs[i]), 0);
  uintptr_t *sorted = calloc(N, sizeof *sorted);
  for (int i = 0; i < N; i++) sorted[i] = (uintptr_t)fs[i];
  qsort(sorted, N, sizeof *sorted, cmp_ptr);
  for (int i = 1; i < N; i++) LT_CHECK(sorted[i] - sorted[i - 1] >= 120, "slots overlap");
#ifndef LOOM_ASAN
  for (int i = 0; i < N; i++) LT_CHECK(sorted[i] % 64 == 0, "slot not cache-line aligned");
#endif
  for (int i = 0; i < N; i++) {
    loom_future_set_result(fs[i], (void *)(intptr_t)i, NULL);
    loom_future_release(fs[i]);
  }
  /* Freed slots come back; every new future starts pending and clean. */
  for (int i = 0; i < N; i++) {
    LT_RC(loom_future_create(&fs[i]), 0);
    assert_false(loom_future_done(fs[i]));
    assert_false(loom_future_cancel_requested(fs[i]));
  }
  for (int i = 0; i < N; i++) loom_future_release(fs[i]);
  free(sorted);
  free(fs);
}

typedef struct handoff {
  loom_future **fs;
  int n;
} handoff;

static void *make_many(void *arg) {
  handoff *h = arg;
  for (int i = 0; i < h->n; i++)
    if (loom_future_create(&h->fs[i]) < 0) h->fs[i] = NULL;
  return NULL; /* exits with a warm slot cache */
}

static void *release_many(void *arg) {
  handoff *h = arg;
  for (int i = 0; i < h->n; i++) {
    if (!h->fs[i]) continue;
    loom_future_set_result(h->fs[i], NULL, NULL);
    loom_future_release(h->fs[i]); /* freed by a thread that did not allocate */
  }
  return NULL;
}

LOOM_TEST(future_alloc, created_in_one_thread_freed_in_another) {
  enum { T = 4, N = 5000 };
  handoff h[T];
  pthread_t th[T];
  for (int round = 0; round < 3; round++) {
    for (int t = 0; t < T; t++) {
      h[t] = (handoff){calloc(N, sizeof(loom_future *)), N};
      pthread_create(&th[t], NULL, make_many, &h[t]);
    }
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++) {
      for (int i = 0; i < N; i++) LT_CHECK(h[t].fs[i] != NULL, "thread %d future %d", t, i);
      pthread_create(&th[t], NULL, release_many, &h[(t + 1) % T]);
    }
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++) free(h[t].fs);
  }
  assert_int_equal(loom_live_count(LOOM_LIVE_FUTURES), 0);
}

LOOM_TEST(future_alloc, allocation_fault) {
  loom_future *f = (loom_future *)1;
  loom_fault_arm(1, 0, LOOM_FAULT_ALLOC);
  LT_RC(loom_future_create(&f), LOOM_ENOMEM);
  loom_fault_disarm();
  assert_null(f);
  LT_RC(loom_future_create(&f), 0);
  loom_future_release(f);
}
