/* test_wait.c - wait() and as_completed() over pool futures and plain ones
 * (semantics of CPython's test_wait.py and test_as_completed.py): the three
 * modes with and without timeout, inputs already done, duplicates, empty
 * input, futures mixed from two pools, 100,000 futures. */
#include "pool_util.h"

/* The fixed futures of CPython's tests. */
typedef struct fixed {
  loom_future *ok, *cancelled, *failed;
} fixed;

static fixed fixed_make(void) {
  fixed x = {plain(), plain(), plain()};
  loom_future_set_result(x.ok, (void *)42, NULL);
  loom_future_cancel(x.cancelled);
  loom_future_set_error(x.failed, LOOM_EPERM, "boom");
  return x;
}

static void fixed_free(fixed x) {
  loom_future_release(x.ok);
  loom_future_release(x.cancelled);
  loom_future_release(x.failed);
}

static bool has(loom_future **set, size_t n, loom_future *f) {
  for (size_t i = 0; i < n; i++)
    if (set[i] == f) return true;
  return false;
}

typedef struct sets {
  loom_future *done[16], *not_done[16];
  size_t nd, nn;
} sets;

static int wait_on(loom_future **fs, size_t n, double timeout, loom_wait_mode mode, sets *s) {
  return loom_wait(fs, n, timeout, mode, s->done, &s->nd, s->not_done, &s->nn);
}

LOOM_TEST(wait, first_completed) {
  loom_executor *ex = pool_new(2);
  fixed x = fixed_make();
  loom_future *gate = plain();
  loom_future *f1 = submit(ex, job_mul2, (void *)21);
  loom_future *f2 = submit(ex, job_gate, gate);
  LT_RC(loom_future_wait(f1, 10.0), 0);
  loom_future *fs[] = {x.cancelled, f1, f2};
  sets s;
  LT_RC(wait_on(fs, 3, 10.0, LOOM_FIRST_COMPLETED, &s), 0);
  assert_int_equal(s.nd, 2);
  assert_true(has(s.done, s.nd, x.cancelled) && has(s.done, s.nd, f1));
  assert_int_equal(s.nn, 1);
  assert_ptr_equal(s.not_done[0], f2);
  loom_future_set_result(gate, NULL, NULL);
  loom_future *only[] = {f2};
  LT_RC(wait_on(only, 1, 10.0, LOOM_FIRST_COMPLETED, &s), 0); /* blocks until f2 */
  assert_int_equal(s.nd, 1);
  loom_future_release(f1);
  loom_future_release(f2);
  fixed_free(x);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(wait, first_exception) {
  loom_executor *ex = pool_new(3);
  loom_future *gate = plain();
  loom_future *f1 = submit(ex, job_mul2, (void *)2);
  LT_RC(loom_future_wait(f1, 10.0), 0);
  loom_future *f2 = submit(ex, job_fail, (void *)1);
  loom_future *f3 = submit(ex, job_gate, gate);
  loom_future *fs[] = {f1, f2, f3};
  sets s;
  LT_RC(wait_on(fs, 3, 10.0, LOOM_FIRST_EXCEPTION, &s), 0);
  assert_int_equal(s.nd, 2);
  assert_true(has(s.done, s.nd, f1) && has(s.done, s.nd, f2));
  assert_int_equal(s.nn, 1);
  assert_ptr_equal(s.not_done[0], f3);
  loom_future_set_result(gate, NULL, NULL);
  loom_future_release(f1);
  loom_future_release(f2);
  loom_future_release(f3);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(wait, first_exception_some_already_complete) {
  loom_executor *ex = pool_new(2);
  fixed x = fixed_make();
  loom_future *gate = plain();
  loom_future *f1 = submit(ex, job_gate, gate);
  loom_future *fs[] = {x.ok, x.cancelled, x.failed, f1};
  sets s;
  LT_RC(wait_on(fs, 4, 10.0, LOOM_FIRST_EXCEPTION, &s), 0);
  assert_int_equal(s.nd, 3);
  assert_int_equal(s.nn, 1);
  assert_ptr_equal(s.not_done[0], f1);
  loom_future_set_result(gate, NULL, NULL);
  loom_future_release(f1);
  fixed_free(x);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(wait, first_exception_cancelled_is_not_a_failure) {
  loom_executor *ex = pool_new(2);
  fixed x = fixed_make();
  loom_future *f1 = submit(ex, job_sleep_ms, (void *)50);
  loom_future *fs[] = {x.cancelled, f1};
  sets s;
  LT_RC(wait_on(fs, 2, 10.0, LOOM_FIRST_EXCEPTION, &s), 0);
  assert_int_equal(s.nd, 2); /* waited for f1: ALL_COMPLETED in effect */
  loom_future_release(f1);
  fixed_free(x);
  loom_executor_destroy(ex);
}

LOOM_TEST(wait, all_completed) {
  loom_executor *ex = pool_new(2);
  fixed x = fixed_make();
  loom_future *f1 = submit(ex, job_sleep_ms, (void *)30);
  loom_future *f2 = submit(ex, job_mul2, (void *)3);
  loom_future *fs[] = {x.ok, x.cancelled, x.failed, f1, f2};
  sets s;
  LT_RC(wait_on(fs, 5, 10.0, LOOM_ALL_COMPLETED, &s), 0);
  assert_int_equal(s.nd, 5);
  assert_int_equal(s.nn, 0);
  loom_future_release(f1);
  loom_future_release(f2);
  fixed_free(x);
  loom_executor_destroy(ex);
}

LOOM_TEST(wait, timeout) {
  loom_executor *ex = pool_new(2);
  fixed x = fixed_make();
  loom_future *gate = plain();
  loom_future *f1 = submit(ex, job_gate, gate);
  loom_future *fs[] = {x.ok, x.cancelled, x.failed, f1};
  sets s;
  for (int mode = LOOM_FIRST_EXCEPTION; mode <= LOOM_ALL_COMPLETED; mode++) {
    if (mode == LOOM_FIRST_EXCEPTION) continue; /* satisfied by x.failed */
    double t0 = loom_now();
    LT_RC(wait_on(fs, 4, 0.1, mode, &s), 0);
    double took = loom_now() - t0;
    LT_CHECK(took >= 0.099, "timed out after %.3f s", took);
    assert_int_equal(s.nd, 3);
    assert_int_equal(s.nn, 1);
    assert_ptr_equal(s.not_done[0], f1);
  }
  loom_future *pending[] = {f1};
  LT_RC(wait_on(pending, 1, 0.05, LOOM_FIRST_COMPLETED, &s), 0);
  assert_int_equal(s.nd, 0);
  assert_int_equal(s.nn, 1);
  LT_RC(wait_on(pending, 1, 0, LOOM_ALL_COMPLETED, &s), 0); /* poll */
  assert_int_equal(s.nn, 1);
  loom_future_set_result(gate, NULL, NULL);
  loom_future_release(f1);
  fixed_free(x);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(wait, empty_and_duplicates) {
  sets s = {.nd = 9, .nn = 9};
  LT_RC(wait_on(NULL, 0, 1.0, LOOM_ALL_COMPLETED, &s), 0);
  assert_int_equal(s.nd, 0);
  assert_int_equal(s.nn, 0);
  fixed x = fixed_make();
  loom_future *p = plain();
  loom_future *fs[] = {x.ok, p, x.ok, p, x.ok};
  LT_RC(wait_on(fs, 5, 0.01, LOOM_ALL_COMPLETED, &s), 0);
  assert_int_equal(s.nd, 1);
  assert_int_equal(s.nn, 1);
  loom_future *bad[] = {x.ok, NULL};
  LT_RC(wait_on(bad, 2, 0, LOOM_ALL_COMPLETED, &s), LOOM_EINVAL);
  LT_RC(wait_on(fs, 5, 0, (loom_wait_mode)77, &s), LOOM_EINVAL);
  loom_future_release(p);
  fixed_free(x);
}

LOOM_TEST(wait, futures_from_two_pools_and_plain) {
  loom_executor *a = pool_new(2), *b = pool_new(2);
  loom_future *p = plain();
  loom_future *fs[7];
  for (long i = 0; i < 3; i++) fs[i] = submit(a, job_sleep_ms, (void *)(10 * i));
  for (long i = 3; i < 6; i++) fs[i] = submit(b, job_sleep_ms, (void *)(10 * (i - 3)));
  fs[6] = p;
  sets s;
  LT_RC(wait_on(fs, 7, 0.02, LOOM_ALL_COMPLETED, &s), 0);
  LT_CHECK(has(s.not_done, s.nn, p), "the plain future is still pending");
  loom_future_set_result(p, NULL, NULL);
  LT_RC(wait_on(fs, 7, 10.0, LOOM_ALL_COMPLETED, &s), 0);
  assert_int_equal(s.nd, 7);
  for (int i = 0; i < 6; i++) loom_future_release(fs[i]);
  loom_future_release(p);
  loom_executor_destroy(a);
  loom_executor_destroy(b);
}

typedef struct many {
  loom_future **fs;
  size_t n;
} many;

static void *complete_all(void *arg) {
  many *m = arg;
  sleep_ms(10);
  for (size_t i = 0; i < m->n; i++) loom_future_set_result(m->fs[m->n - 1 - i], NULL, NULL);
  return NULL;
}

LOOM_TEST(wait, hundred_thousand_futures) {
  enum { N = 100000 };
  many m = {calloc(N, sizeof(loom_future *)), N};
  for (size_t i = 0; i < N; i++) m.fs[i] = plain();
  loom_future **done = calloc(N, sizeof *done);
  size_t nd = 0, nn = 0;
  pthread_t th;
  pthread_create(&th, NULL, complete_all, &m);
  LT_RC(loom_wait(m.fs, N, 60.0, LOOM_ALL_COMPLETED, done, &nd, NULL, &nn), 0);
  pthread_join(th, NULL);
  assert_int_equal(nd, N);
  assert_int_equal(nn, 0);
  /* The same through as_completed. */
  loom_as_completed *it;
  LT_RC(loom_as_completed_create(m.fs, N, 60.0, &it), 0);
  size_t k = 0;
  loom_future *f;
  while (loom_as_completed_next(it, &f) == 0) k++;
  assert_int_equal(k, N);
  loom_as_completed_destroy(it);
  for (size_t i = 0; i < N; i++) loom_future_release(m.fs[i]);
  free(m.fs);
  free(done);
}

/* ---- as_completed ----------------------------------------------------------- */

LOOM_TEST(as_completed, yields_each_once_done_ones_first) {
  loom_executor *ex = pool_new(2);
  fixed x = fixed_make();
  loom_future *g1 = plain(), *g2 = plain();
  loom_future *f1 = submit(ex, job_gate, g1);
  loom_future *f2 = submit(ex, job_gate, g2);
  loom_future *fs[] = {x.cancelled, x.failed, x.ok, f1, f2};
  loom_as_completed *it;
  LT_RC(loom_as_completed_create(fs, 5, 10.0, &it), 0);
  loom_future *got[5];
  for (int i = 0; i < 3; i++) LT_RC(loom_as_completed_next(it, &got[i]), 0);
  assert_ptr_equal(got[0], x.cancelled); /* already done: input order */
  assert_ptr_equal(got[1], x.failed);
  assert_ptr_equal(got[2], x.ok);
  loom_future_set_result(g2, NULL, NULL); /* f2 finishes before f1 */
  LT_RC(loom_as_completed_next(it, &got[3]), 0);
  assert_ptr_equal(got[3], f2);
  loom_future_set_result(g1, NULL, NULL);
  LT_RC(loom_as_completed_next(it, &got[4]), 0);
  assert_ptr_equal(got[4], f1);
  LT_RC(loom_as_completed_next(it, &got[0]), LOOM_ESTOP);
  loom_as_completed_destroy(it);
  loom_future *rel[] = {f1, f2, g1, g2};
  for (int i = 0; i < 4; i++) loom_future_release(rel[i]);
  fixed_free(x);
  loom_executor_destroy(ex);
}

LOOM_TEST(as_completed, zero_timeout) {
  loom_executor *ex = pool_new(1);
  fixed x = fixed_make();
  loom_future *gate = plain();
  loom_future *f1 = submit(ex, job_gate, gate);
  loom_future *fs[] = {x.failed, x.ok, f1};
  loom_as_completed *it;
  LT_RC(loom_as_completed_create(fs, 3, 0, &it), 0);
  loom_future *f;
  LT_RC(loom_as_completed_next(it, &f), 0);
  LT_RC(loom_as_completed_next(it, &f), 0);
  LT_RC(loom_as_completed_next(it, &f), LOOM_ETIMEDOUT);
  assert_int_equal(loom_as_completed_remaining(it), 1);
  loom_as_completed_destroy(it);
  loom_future_set_result(gate, NULL, NULL);
  loom_future_release(f1);
  fixed_free(x);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(as_completed, timeout_after_some) {
  loom_executor *ex = pool_new(2);
  loom_future *gate = plain();
  loom_future *f1 = submit(ex, job_sleep_ms, (void *)5);
  loom_future *f2 = submit(ex, job_gate, gate);
  loom_future *fs[] = {f2, f1};
  double t0 = loom_now();
  loom_as_completed *it;
  LT_RC(loom_as_completed_create(fs, 2, 1.0, &it), 0); /* f1 is done well before */
  loom_future *f;
  LT_RC(loom_as_completed_next(it, &f), 0);
  assert_ptr_equal(f, f1);
  LT_RC(loom_as_completed_next(it, &f), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.999, "timed out after %.3f s", loom_now() - t0);
  LT_RC(loom_as_completed_next(it, &f), LOOM_ETIMEDOUT);
  loom_as_completed_destroy(it);
  loom_future_set_result(gate, NULL, NULL);
  loom_future_release(f1);
  loom_future_release(f2);
  loom_executor_destroy(ex);
  loom_future_release(gate); /* after the jobs that wait on it */
}

LOOM_TEST(as_completed, duplicates_yield_once) {
  loom_executor *ex = pool_new(2);
  loom_future *f1 = submit(ex, job_sleep_ms, (void *)10);
  loom_future *fs[] = {f1, f1, f1};
  loom_as_completed *it;
  LT_RC(loom_as_completed_create(fs, 3, 10.0, &it), 0);
  loom_future *f;
  LT_RC(loom_as_completed_next(it, &f), 0);
  assert_ptr_equal(f, f1);
  LT_RC(loom_as_completed_next(it, &f), LOOM_ESTOP);
  loom_as_completed_destroy(it);
  LT_RC(loom_as_completed_create(NULL, 0, 1.0, &it), 0); /* empty */
  LT_RC(loom_as_completed_next(it, &f), LOOM_ESTOP);
  loom_as_completed_destroy(it);
  loom_future_release(f1);
  loom_executor_destroy(ex);
}

LOOM_TEST(as_completed, mixed_pools_and_plain_futures) {
  loom_executor *a = pool_new(2), *b = pool_new(3);
  loom_future *p = plain();
  enum { N = 41 };
  loom_future *fs[N];
  for (long i = 0; i < 20; i++) fs[i] = submit(a, job_sleep_ms, (void *)(i % 5));
  for (long i = 20; i < 40; i++) fs[i] = submit(b, job_sleep_ms, (void *)(i % 3));
  fs[40] = p;
  loom_as_completed *it;
  LT_RC(loom_as_completed_create(fs, N, 30.0, &it), 0);
  bool seen[N] = {0};
  loom_future *f;
  for (int k = 0; k < 40; k++) {
    LT_RC(loom_as_completed_next(it, &f), 0);
    assert_ptr_not_equal(f, p);
    for (int i = 0; i < N; i++)
      if (fs[i] == f) {
        LT_CHECK(!seen[i], "future %d yielded twice", i);
        seen[i] = true;
      }
  }
  loom_future_set_result(p, NULL, NULL);
  LT_RC(loom_as_completed_next(it, &f), 0);
  assert_ptr_equal(f, p);
  LT_RC(loom_as_completed_next(it, &f), LOOM_ESTOP);
  loom_as_completed_destroy(it);
  for (int i = 0; i < N; i++) loom_future_release(fs[i]);
  loom_executor_destroy(a);
  loom_executor_destroy(b);
}
