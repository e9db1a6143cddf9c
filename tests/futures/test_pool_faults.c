/* test_pool_faults.c - fault injection over the thread pool: every
 * allocation and every pthread_create of create + submit + map + shutdown
 * fails in turn; each run must end in clean errors with nothing leaked (the
 * sweep checks the live counters after each run). */
#include "pool_util.h"

/* One scenario: returns 0 or the first negative code it met. */
static int scenario(void *ctx) {
  loom_map_options *mo = ctx;
  loom_executor *ex = NULL;
  loom_thread_pool_options o = {.max_workers = 2, .thread_name_prefix = "fault"};
  int rc = loom_thread_pool_create(&ex, &o);
  if (rc < 0) return rc;
  int first = 0;
  loom_future *fs[4] = {0};
  for (long i = 0; i < 4; i++) {
    rc = i == 3 ? loom_executor_submit_bytes(ex, job_ident, "abc", 3, &fs[i])
                : loom_executor_submit(ex, i == 2 ? job_fail : job_mul2, (void *)i, &fs[i]);
    if (rc < 0 && !first) first = rc;
  }
  void *items[10];
  for (long i = 0; i < 10; i++) items[i] = (void *)i;
  loom_map *m = NULL;
  rc = loom_executor_map(ex, job_mul2, items, 10, 30.0, mo, &m);
  if (rc < 0 && !first) first = rc;
  for (int k = 0; m && k < 12; k++) {
    void *v;
    rc = loom_map_next(m, &v);
    if (rc == LOOM_ESTOP) break;
    if (rc == 0 && (long)v != 2 * (long)loom_map_index(m)) return LOOM_EFAILED; /* wrong */
    if (rc < 0 && !first) first = rc;
  }
  loom_map_destroy(m);
  for (int i = 0; i < 4; i++) {
    if (!fs[i]) continue;
    rc = loom_future_wait(fs[i], 30.0);
    if (rc < 0) return LOOM_EFAILED; /* a hang would be a bug */
    loom_future_release(fs[i]);
  }
  rc = loom_executor_shutdown(ex, true, true);
  if (rc < 0 && !first) first = rc;
  loom_executor_destroy(ex);
  return first;
}

LOOM_TEST_T(pool_faults, sweep_allocations_and_thread_creation, 300) {
  loom_map_options plain_map = {0};
  loom_map_options chunked = {.chunksize = 3, .buffersize = 2};
  int a = loom_test_fault_sweep(scenario, &plain_map, LOOM_FAULT_ALL, 500);
  int b = loom_test_fault_sweep(scenario, &chunked, LOOM_FAULT_ALL, 500);
  print_message("faults injected in %d and %d runs\n", a, b);
  LT_CHECK(a > 10 && b > 10, "faults injected: %d and %d runs", a, b);
  /* And the scenario passes cleanly without faults. */
  LT_RC(scenario(&chunked), 0);
}

LOOM_TEST(pool_faults, thread_creation_failure_on_first_submit) {
  loom_executor *ex = pool_new(2);
  loom_fault_arm(1, 0, LOOM_FAULT_SYSCALL);
  loom_future *f = NULL;
  LT_RC(loom_executor_submit(ex, job_ident, NULL, &f), LOOM_EAGAIN);
  loom_fault_disarm();
  assert_null(f);
  f = submit(ex, job_mul2, (void *)4); /* the pool still works */
  void *v;
  LT_RC(loom_future_result(f, 10.0, &v), 0);
  assert_int_equal((long)v, 8);
  loom_future_release(f);
  loom_executor_destroy(ex);
}
