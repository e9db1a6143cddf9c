/* test_map.c - Executor.map over the thread pool: input order, laziness,
 * the overall timeout, chunks, buffersize over an endless generator,
 * failing items, generator errors, early destroy (semantics of CPython's
 * executor.py map tests and Python 3.14's buffersize). */
#include "pool_util.h"

static void *items_upto(long n, void **buf) {
  for (long i = 0; i < n; i++) buf[i] = (void *)i;
  return buf;
}

LOOM_TEST(map, results_in_input_order) {
  loom_executor *ex = pool_new(4);
  void *items[40];
  /* Early items sleep longest, so they finish last. */
  for (long i = 0; i < 40; i++) items[i] = (void *)(40 - i);
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_sleep_ms, items, 40, 30.0, NULL, &m), 0);
  for (long i = 0; i < 40; i++) {
    void *v;
    LT_RC(loom_map_next(m, &v), 0);
    LT_CHECK((long)v == 40 - i, "item %ld gave %ld", i, (long)v);
    assert_int_equal(loom_map_index(m), i);
  }
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  loom_executor_destroy(ex);
}

LOOM_TEST(map, empty_input) {
  loom_executor *ex = pool_new(2);
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_ident, NULL, 0, LOOM_FOREVER, NULL, &m), 0);
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  LT_RC(loom_executor_map(NULL, job_ident, NULL, 0, LOOM_FOREVER, NULL, &m), LOOM_EINVAL);
  LT_RC(loom_executor_map(ex, job_ident, NULL, 3, LOOM_FOREVER, NULL, &m), LOOM_EINVAL);
  LT_RC(loom_map_next(NULL, NULL), LOOM_EINVAL);
  loom_executor_destroy(ex);
}

/* Item 0 waits for a gate; the rest are instant. */
static int job_gate_or_ident(loom_future *self, void *arg) {
  static loom_future *gate;
  if (!self) { /* setup call */
    gate = arg;
    return 0;
  }
  if (arg == (void *)0) return job_gate(self, gate);
  return job_ident(self, arg);
}

LOOM_TEST(map, lazy_results_while_work_runs) {
  loom_executor *ex = pool_new(2);
  loom_future *gate = plain();
  job_gate_or_ident(NULL, gate);
  void *items[3] = {(void *)5, (void *)6, (void *)0};
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_gate_or_ident, items, 3, 30.0, NULL, &m), 0);
  void *v;
  LT_RC(loom_map_next(m, &v), 0); /* yielded while item 2 still blocks */
  assert_int_equal((long)v, 5);
  LT_RC(loom_map_next(m, &v), 0);
  assert_int_equal((long)v, 6);
  loom_future_set_result(gate, NULL, NULL);
  LT_RC(loom_map_next(m, &v), 0);
  assert_int_equal((long)v, 1);
  LT_RC(loom_map_next(m, &v), LOOM_ESTOP);
  loom_map_destroy(m);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

static _Atomic int cancelled_seen;

static int job_item_or_wait_cancel(loom_future *self, void *arg) {
  if (arg == (void *)0) return job_ident(self, (void *)100);
  int rc = job_until_cancelled(self, arg);
  if (rc == LOOM_ECANCELLED) atomic_fetch_add(&cancelled_seen, 1);
  return rc;
}

LOOM_TEST(map, timeout_is_overall_and_cancels_the_rest) {
  loom_executor *ex = pool_new(1);
  atomic_store(&cancelled_seen, 0);
  void *items[4] = {(void *)0, (void *)1, (void *)2, (void *)3};
  double t0 = loom_now();
  loom_map *m;
  /* 1 s: item 0 must finish within the deadline even on a loaded machine. */
  LT_RC(loom_executor_map(ex, job_item_or_wait_cancel, items, 4, 1.0, NULL, &m), 0);
  void *v;
  LT_RC(loom_map_next(m, &v), 0);
  assert_int_equal((long)v, 100);
  LT_RC(loom_map_next(m, &v), LOOM_ETIMEDOUT);
  double took = loom_now() - t0;
  LT_CHECK(took >= 0.99, "timed out after %.3f s", took);
  LT_RC(loom_map_next(m, &v), LOOM_ETIMEDOUT); /* stays over */
  loom_map_destroy(m);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  /* Item 1 was running and saw the cancel request; items 2 and 3 were
   * cancelled while queued and never ran. */
  assert_int_equal(atomic_load(&cancelled_seen), 1);
  loom_executor_destroy(ex);
}

static _Atomic long calls;

static int job_count_calls(loom_future *self, void *arg) {
  atomic_fetch_add(&calls, 1);
  if ((long)arg == 13) return job_fail(self, arg);
  return job_mul2(self, arg);
}

static void check_chunked(size_t chunk, long n) {
  loom_executor *ex = pool_new(3);
  void **items = calloc((size_t)n, sizeof *items);
  items_upto(n, items);
  atomic_store(&calls, 0);
  loom_map_options o = {.chunksize = chunk};
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_count_calls, items, (size_t)n, 30.0, &o, &m), 0);
  for (long i = 0; i < n; i++) {
    void *v;
    int rc = loom_map_next(m, &v);
    if (i == 13) {
      LT_RC(rc, LOOM_ENOENT);
      assert_string_equal(loom_map_message(m), "item 13 failed");
      assert_int_equal(loom_map_index(m), 13);
      continue;
    }
    LT_RC(rc, 0);
    LT_CHECK((long)v == 2 * i, "chunk %zu item %ld gave %ld", chunk, i, (long)v);
    assert_null(loom_map_message(m));
  }
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  loom_thread_pool_stats st;
  LT_RC(loom_thread_pool_stats_get(ex, &st), 0);
  long jobs = (n + (long)chunk - 1) / (long)chunk;
  LT_CHECK((long)st.completed == jobs, "chunk %zu: %llu jobs, want %ld", chunk,
           (unsigned long long)st.completed, jobs);
  assert_int_equal(atomic_load(&calls), n);
  free(items);
  loom_executor_destroy(ex);
}

LOOM_TEST(map, chunks_keep_order_and_per_item_errors) {
  check_chunked(1, 50);
  check_chunked(7, 100);
  check_chunked(100, 250); /* larger than the on-stack batch buffer */
}

LOOM_TEST(map, failing_item_does_not_end_iteration) {
  loom_executor *ex = pool_new(2);
  void *items[5];
  items_upto(5, items);
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_count_calls, items, 5, 30.0, NULL, &m), 0);
  for (int i = 0; i < 5; i++) LT_RC(loom_map_next(m, NULL), 0);
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  /* Item 13 of 20 fails with its code and message, the rest follow. */
  void *more[20];
  items_upto(20, more);
  LT_RC(loom_executor_map(ex, job_count_calls, more, 20, 30.0, NULL, &m), 0);
  int ok = 0, failed = 0;
  int rc;
  while ((rc = loom_map_next(m, NULL)) != LOOM_ESTOP) {
    if (rc == 0) ok++;
    else if (rc == LOOM_ENOENT && loom_map_index(m) == 13) failed++;
  }
  assert_int_equal(ok, 19);
  assert_int_equal(failed, 1);
  loom_map_destroy(m);
  loom_executor_destroy(ex);
}

typedef struct counter_gen {
  long next, stop_at, fail_at;
} counter_gen;

static int gen_count(void *ctx, void **item) {
  counter_gen *g = ctx;
  if (g->fail_at >= 0 && g->next == g->fail_at) return LOOM_EPERM;
  if (g->stop_at >= 0 && g->next == g->stop_at) return LOOM_ESTOP;
  *item = (void *)g->next++;
  return 0;
}

LOOM_TEST(map, buffersize_bounds_an_endless_generator) {
  loom_executor *ex = pool_new(2);
  counter_gen g = {0, -1, -1}; /* endless */
  loom_map_options o = {.buffersize = 4};
  loom_map *m;
  LT_RC(loom_executor_map_gen(ex, job_mul2, gen_count, &g, 30.0, &o, &m), 0);
  LT_CHECK(g.next == 4, "the call read %ld items, want 4", g.next);
  for (long i = 0; i < 50; i++) {
    void *v;
    LT_RC(loom_map_next(m, &v), 0);
    assert_int_equal((long)v, 2 * i);
    LT_CHECK(g.next <= 4 + i + 1, "after %ld results %ld items read", i + 1, g.next);
  }
  loom_map_destroy(m); /* cancels what is in flight */
  loom_executor_destroy(ex);
}

LOOM_TEST(map, buffersize_with_chunks) {
  loom_executor *ex = pool_new(2);
  counter_gen g = {0, 95, -1};
  loom_map_options o = {.buffersize = 2, .chunksize = 10};
  loom_map *m;
  LT_RC(loom_executor_map_gen(ex, job_mul2, gen_count, &g, 30.0, &o, &m), 0);
  LT_CHECK(g.next == 20, "two batches of ten read at the call, got %ld", g.next);
  for (long i = 0; i < 95; i++) {
    void *v;
    LT_RC(loom_map_next(m, &v), 0);
    assert_int_equal((long)v, 2 * i);
  }
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  loom_executor_destroy(ex);
}

LOOM_TEST(map, generator_error) {
  loom_executor *ex = pool_new(2);
  /* Without a buffer the generator runs at the call: its error is the
   * call's, and nothing leaks. */
  counter_gen g = {0, -1, 5};
  loom_map *m = (loom_map *)1;
  LT_RC(loom_executor_map_gen(ex, job_mul2, gen_count, &g, 30.0, NULL, &m), LOOM_EPERM);
  assert_null(m);
  /* With a buffer it is reported in place, after the items before it. */
  g = (counter_gen){0, -1, 5};
  loom_map_options o = {.buffersize = 2};
  LT_RC(loom_executor_map_gen(ex, job_mul2, gen_count, &g, 30.0, &o, &m), 0);
  for (long i = 0; i < 5; i++) {
    void *v;
    LT_RC(loom_map_next(m, &v), 0);
    assert_int_equal((long)v, 2 * i);
  }
  LT_RC(loom_map_next(m, NULL), LOOM_EPERM);
  assert_int_equal(loom_map_index(m), 5);
  LT_RC(loom_map_next(m, NULL), LOOM_ESTOP);
  loom_map_destroy(m);
  loom_executor_destroy(ex);
}

LOOM_TEST(map, destroy_early_cancels_what_has_not_started) {
  loom_executor *ex = pool_new(1);
  loom_future *gate = plain();
  loom_future *blocker = submit(ex, job_gate, gate);
  void *items[10];
  items_upto(10, items);
  atomic_store(&calls, 0);
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_count_calls, items, 10, 30.0, NULL, &m), 0);
  loom_map_destroy(m);
  loom_future_set_result(gate, NULL, NULL);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  assert_int_equal(atomic_load(&calls), 0);
  loom_future_release(blocker);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(map, after_shutdown) {
  loom_executor *ex = pool_new(1);
  LT_RC(loom_executor_shutdown(ex, true, false), 0);
  void *items[3] = {0};
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_ident, items, 3, 1.0, NULL, &m), LOOM_ESHUTDOWN);
  loom_executor_destroy(ex);
}

static int job_strdup(loom_future *self, void *arg) {
  char buf[32];
  snprintf(buf, sizeof buf, "s%ld", (long)arg);
  return loom_future_set_result(self, strdup(buf), free);
}

LOOM_TEST(map, take_result_keeps_value) {
  loom_executor *ex = pool_new(2);
  void *items[3];
  items_upto(3, items);
  loom_map_options o = {.chunksize = 2};
  loom_map *m;
  LT_RC(loom_executor_map(ex, job_strdup, items, 3, 30.0, &o, &m), 0);
  char *kept[3];
  for (int i = 0; i < 3; i++) {
    void *v;
    LT_RC(loom_map_next(m, &v), 0);
    loom_destructor d = NULL;
    LT_RC(loom_map_take_result(m, (void **)&kept[i], &d), 0);
    assert_ptr_equal(kept[i], v);
    assert_true(d == free);
    LT_RC(loom_map_take_result(m, &v, NULL), LOOM_EINVALIDSTATE);
  }
  loom_map_destroy(m);
  loom_executor_destroy(ex);
  assert_string_equal(kept[0], "s0");
  assert_string_equal(kept[2], "s2");
  for (int i = 0; i < 3; i++) free(kept[i]);
}
