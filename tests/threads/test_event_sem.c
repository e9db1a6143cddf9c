/* test_event_sem.c - Event, Semaphore and BoundedSemaphore: the semantics of
 * CPython's test_threading / lock_tests.py (EventTests, SemaphoreTests,
 * BoundedSemaphoreTests) and asyncio's test_locks (fairness, cancellation). */
#include "threads_util.h"

typedef struct {
  loom_event *e;
  loom_sem *s;
  double timeout;
  int rc;
  double took;
  fake_task *task;
  int slot, *order;
  _Atomic int *next;
  _Atomic long *held;
} w_arg;

static void *event_waiter(void *p) {
  w_arg *a = p;
  if (a->task) ft_enter(a->task);
  double t0 = loom_now();
  a->rc = loom_event_wait(a->e, a->timeout);
  a->took = loom_now() - t0;
  if (a->task) ft_leave();
  return NULL;
}

LOOM_TEST(event, flag) {
  loom_event *e;
  LT_RC(loom_event_create(NULL), LOOM_EINVAL);
  LT_RC(loom_event_create(&e), 0);
  assert_false(loom_event_is_set(e));
  LT_RC(loom_event_wait(e, 0), LOOM_ETIMEDOUT);
  LT_RC(loom_event_set(e), 0);
  assert_true(loom_event_is_set(e));
  LT_RC(loom_event_wait(e, 0), 0);
  LT_RC(loom_event_wait(e, LOOM_FOREVER), 0);
  LT_RC(loom_event_set(e), 0); /* idempotent */
  LT_RC(loom_event_clear(e), 0);
  assert_false(loom_event_is_set(e));
  LT_RC(loom_event_destroy(e), 0);
}

LOOM_TEST(event, wait_timeout_then_set_wakes_all) {
  enum { N = 5 };
  loom_event *e;
  LT_RC(loom_event_create(&e), 0);
  w_arg a = {.e = e, .timeout = 0.05};
  pthread_join(spawn(event_waiter, &a), NULL);
  LT_RC(a.rc, LOOM_ETIMEDOUT);
  LT_CHECK(a.took >= 0.049, "50 ms timeout took %.3f", a.took);
  w_arg w[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    w[i] = (w_arg){.e = e, .timeout = 10};
    t[i] = spawn(event_waiter, &w[i]);
  }
  assert_true(WAIT_UNTIL(loom__event_n_waiters(e) == N, 5));
  LT_RC(loom_event_destroy(e), LOOM_EBUSY);
  LT_RC(loom_event_set(e), 0);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) LT_RC(w[i].rc, 0);
  LT_RC(loom_event_destroy(e), 0);
}

LOOM_TEST(event, set_and_clear_still_wakes_waiters) {
  /* CPython test_set_and_clear: waiters woken by set() succeed even though
   * the flag is cleared before they run. */
  enum { N = 5 };
  loom_event *e;
  LT_RC(loom_event_create(&e), 0);
  w_arg w[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    w[i] = (w_arg){.e = e, .timeout = 10};
    t[i] = spawn(event_waiter, &w[i]);
  }
  assert_true(WAIT_UNTIL(loom__event_n_waiters(e) == N, 5));
  loom_event_set(e);
  loom_event_clear(e);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) LT_RC(w[i].rc, 0);
  assert_false(loom_event_is_set(e));
  LT_RC(loom_event_destroy(e), 0);
}

LOOM_TEST(event, cancelled_task_waiter) {
  loom_event *e;
  LT_RC(loom_event_create(&e), 0);
  fake_task ft;
  ft_init(&ft);
  w_arg a = {.e = e, .timeout = 10, .task = &ft};
  pthread_t t = spawn(event_waiter, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&ft), 5));
  assert_true(ft_cancel(&ft));
  pthread_join(t, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  assert_int_equal(loom__event_n_waiters(e), 0);
  LT_RC(loom_event_destroy(e), 0);
}

/* ---- semaphores ------------------------------------------------------- */

static void *sem_taker(void *p) {
  w_arg *a = p;
  if (a->task) ft_enter(a->task);
  a->rc = loom_sem_acquire(a->s, a->timeout);
  if (a->rc == 0 && a->order) a->order[atomic_fetch_add(a->next, 1)] = a->slot;
  if (a->task) ft_leave();
  return NULL;
}

LOOM_TEST(sem, constructor_and_counting) {
  loom_sem *s;
  LT_RC(loom_sem_create(&s, -1), LOOM_EINVAL);
  LT_RC(loom_sem_create(NULL, 1), LOOM_EINVAL);
  LT_RC(loom_sem_create(&s, 2), 0);
  assert_int_equal(loom_sem_value(s), 2);
  LT_RC(loom_sem_acquire(s, 0), 0);
  LT_RC(loom_sem_acquire(s, LOOM_FOREVER), 0);
  LT_RC(loom_sem_acquire(s, 0), LOOM_ETIMEDOUT);
  double t0 = loom_now();
  LT_RC(loom_sem_acquire(s, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms timeout too short");
  LT_RC(loom_sem_release(s, 0), LOOM_EINVAL);
  LT_RC(loom_sem_release(s, 3), 0); /* plain semaphore: may exceed start */
  assert_int_equal(loom_sem_value(s), 3);
  LT_RC(loom_sem_destroy(s), 0);
}

LOOM_TEST(sem, bounded_release_overflow) {
  loom_sem *s;
  LT_RC(loom_bounded_sem_create(&s, 2), 0);
  LT_RC(loom_sem_release(s, 1), LOOM_EOVERFLOW);
  LT_RC(loom_sem_acquire(s, 0), 0);
  LT_RC(loom_sem_release(s, 2), LOOM_EOVERFLOW); /* nothing released */
  assert_int_equal(loom_sem_value(s), 1);
  LT_RC(loom_sem_release(s, 1), 0);
  LT_RC(loom_sem_release(s, 1), LOOM_EOVERFLOW);
  assert_int_equal(loom_sem_value(s), 2);
  LT_RC(loom_sem_destroy(s), 0);
}

LOOM_TEST(sem, release_n_wakes_n_in_fifo_order) {
  enum { N = 6 };
  loom_sem *s;
  LT_RC(loom_sem_create(&s, 0), 0);
  int order[N];
  _Atomic int next = 0;
  w_arg w[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    w[i] = (w_arg){.s = s, .timeout = 10, .slot = i, .order = order, .next = &next};
    t[i] = spawn(sem_taker, &w[i]);
    assert_true(WAIT_UNTIL(loom__sem_n_waiters(s) == (size_t)i + 1, 5));
  }
  LT_RC(loom_sem_destroy(s), LOOM_EBUSY);
  LT_RC(loom_sem_release(s, 2), 0);
  /* Fairness: the permits went to waiters 0 and 1, not to a newcomer. */
  LT_RC(loom_sem_acquire(s, 0), LOOM_ETIMEDOUT);
  assert_true(WAIT_UNTIL(atomic_load(&next) == 2, 5));
  assert_int_equal(loom__sem_n_waiters(s), N - 2);
  LT_RC(loom_sem_release(s, N - 2), 0);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) LT_RC(w[i].rc, 0);
  /* Waiters 0 and 1 were served by the first release, in order. */
  LT_CHECK((order[0] == 0 && order[1] == 1) || (order[0] == 1 && order[1] == 0),
           "first two served: %d %d", order[0], order[1]);
  assert_int_equal(loom_sem_value(s), 0);
  LT_RC(loom_sem_destroy(s), 0);
}

static void *sem_churn(void *p) {
  w_arg *a = p;
  unsigned seed = (unsigned)(uintptr_t)p;
  for (int i = 0; i < 3000; i++) {
    int rc = loom_sem_acquire(a->s, (rand_r(&seed) % 200) * 1e-6);
    if (rc == 0) {
      long h = atomic_fetch_add(a->held, 1) + 1;
      if (h > 2) a->rc = -1; /* more holders than permits */
      atomic_fetch_sub(a->held, 1);
      loom_sem_release(a->s, 1);
    } else if (rc != LOOM_ETIMEDOUT) {
      a->rc = rc;
    }
  }
  return NULL;
}

LOOM_TEST(sem, timeouts_racing_handoff_conserve_permits) {
  enum { N = 6 };
  loom_sem *s;
  LT_RC(loom_bounded_sem_create(&s, 2), 0);
  _Atomic long held = 0;
  w_arg w[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    w[i] = (w_arg){.s = s, .held = &held};
    t[i] = spawn(sem_churn, &w[i]);
  }
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) LT_RC(w[i].rc, 0);
  /* Every permit came back: none was handed to a waiter that left. */
  assert_int_equal(loom_sem_value(s), 2);
  LT_RC(loom_sem_destroy(s), 0);
}

LOOM_TEST(sem, cancelled_and_handed_then_cancelled) {
  loom_sem *s;
  LT_RC(loom_sem_create(&s, 0), 0);
  fake_task fa, fb, fc;
  ft_init(&fa);
  ft_init(&fb);
  ft_init(&fc);
  /* A is cancelled while waiting: takes nothing. */
  w_arg a = {.s = s, .timeout = 10, .task = &fa};
  pthread_t ta = spawn(sem_taker, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&fa), 5));
  assert_true(ft_cancel(&fa));
  pthread_join(ta, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  /* B is handed a permit but reports a cancellation: C must get it. */
  ft_set_override(&fb, LOOM_ECANCELLED);
  w_arg b = {.s = s, .timeout = 10, .task = &fb};
  w_arg c = {.s = s, .timeout = 10, .task = &fc};
  pthread_t tb = spawn(sem_taker, &b);
  assert_true(WAIT_UNTIL(loom__sem_n_waiters(s) == 1, 5));
  pthread_t tc = spawn(sem_taker, &c);
  assert_true(WAIT_UNTIL(loom__sem_n_waiters(s) == 2, 5));
  LT_RC(loom_sem_release(s, 1), 0);
  pthread_join(tb, NULL);
  pthread_join(tc, NULL);
  LT_RC(b.rc, LOOM_ECANCELLED);
  LT_RC(c.rc, 0);
  assert_int_equal(loom_sem_value(s), 0);
  LT_RC(loom_sem_destroy(s), 0);
}

static int create_sync_sweep(void *ctx) {
  (void)ctx;
  loom_sem *s;
  loom_event *e;
  int rc = loom_bounded_sem_create(&s, 1);
  if (rc < 0) return rc;
  rc = loom_event_create(&e);
  if (rc == 0) loom_event_destroy(e);
  loom_sem_destroy(s);
  return rc;
}

LOOM_TEST(sem, fault_sweep_create) {
  assert_true(loom_test_fault_sweep(create_sync_sweep, NULL, LOOM_FAULT_ALL, 10) >= 2);
}
