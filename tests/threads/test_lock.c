/* test_lock.c - Lock and RLock: the semantics of CPython's lock tests
 * (test_threading / lock_tests.py) and asyncio's test_locks (FIFO fairness,
 * cancellation leaves the lock consistent). */
#include "threads_util.h"

typedef struct {
  loom_lock *l;
  double timeout;
  int rc;
  int order_slot;
  int *order;
  _Atomic int *next;
  fake_task *task;
} lock_arg;

static void *acquire_release(void *p) {
  lock_arg *a = p;
  if (a->task) ft_enter(a->task);
  a->rc = loom_lock_acquire(a->l, a->timeout);
  if (a->rc == 0) {
    if (a->order) a->order[atomic_fetch_add(a->next, 1)] = a->order_slot;
    loom_lock_release(a->l);
  }
  if (a->task) ft_leave();
  return NULL;
}

LOOM_TEST(lock, create_acquire_release) {
  loom_lock *l;
  LT_RC(loom_lock_create(NULL), LOOM_EINVAL);
  LT_RC(loom_lock_create(&l), 0);
  assert_false(loom_lock_locked(l));
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  assert_true(loom_lock_locked(l));
  assert_true(loom_lock_owned(l));
  LT_RC(loom_lock_destroy(l), LOOM_EBUSY); /* held: refused */
  LT_RC(loom_lock_release(l), 0);
  assert_false(loom_lock_locked(l));
  LT_RC(loom_lock_release(l), LOOM_EPERM); /* release unlocked: RuntimeError */
  LT_RC(loom_lock_destroy(l), 0);
  LT_RC(loom_lock_destroy(NULL), 0);
  LT_RC(loom_lock_acquire(NULL, 0), LOOM_EINVAL);
}

LOOM_TEST(lock, non_recursive_reacquire_is_deadlock) {
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, 0), 0);
  LT_RC(loom_lock_acquire(l, 0), LOOM_EDEADLOCK);
  LT_RC(loom_lock_acquire(l, 1.0), LOOM_EDEADLOCK);
  LT_RC(loom_lock_release(l), 0);
  LT_RC(loom_lock_destroy(l), 0);
}

LOOM_TEST(lock, try_acquire_and_timeout_from_other_thread) {
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  lock_arg a = {.l = l, .timeout = 0};
  pthread_join(spawn(acquire_release, &a), NULL);
  LT_RC(a.rc, LOOM_ETIMEDOUT);
  a.timeout = 0.05;
  double t0 = loom_now();
  pthread_join(spawn(acquire_release, &a), NULL);
  double took = loom_now() - t0;
  LT_RC(a.rc, LOOM_ETIMEDOUT);
  LT_CHECK(took >= 0.049, "a 50 ms timeout took %.3f s", took);
  LT_RC(loom_lock_release(l), 0);
  a.timeout = 0;
  pthread_join(spawn(acquire_release, &a), NULL);
  LT_RC(a.rc, 0);
  LT_RC(loom_lock_destroy(l), 0);
}

static void *release_other(void *p) {
  lock_arg *a = p;
  a->rc = loom_lock_release(a->l);
  return NULL;
}

LOOM_TEST(lock, release_by_non_owner_is_eperm) {
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  lock_arg a = {.l = l};
  pthread_join(spawn(release_other, &a), NULL);
  LT_RC(a.rc, LOOM_EPERM);
  assert_true(loom_lock_locked(l));
  LT_RC(loom_lock_release(l), 0);
  LT_RC(loom_lock_destroy(l), 0);
}

LOOM_TEST(lock, blocked_acquire_wakes_on_release) {
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  lock_arg a = {.l = l, .timeout = 10};
  pthread_t t = spawn(acquire_release, &a);
  assert_true(WAIT_UNTIL(loom__lock_n_waiters(l) == 1, 5));
  LT_RC(loom_lock_destroy(l), LOOM_EBUSY);
  LT_RC(loom_lock_release(l), 0);
  pthread_join(t, NULL);
  LT_RC(a.rc, 0);
  assert_false(loom_lock_locked(l));
  LT_RC(loom_lock_destroy(l), 0);
}

LOOM_TEST(lock, fifo_fairness) {
  /* Waiters queue up in a known order; each release hands the lock to the
   * longest waiter (asyncio's test_lock fairness), even if the releaser
   * tries to grab it again at once. */
  enum { N = 6 };
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  int order[N];
  _Atomic int next = 0;
  lock_arg a[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    a[i] = (lock_arg){.l = l, .timeout = 10, .order_slot = i, .order = order, .next = &next};
    t[i] = spawn(acquire_release, &a[i]);
    assert_true(WAIT_UNTIL(loom__lock_n_waiters(l) == (size_t)i + 1, 5));
  }
  LT_RC(loom_lock_release(l), 0);
  /* Barging attempt: the lock went to waiter 0, not to us. */
  int barge = loom_lock_acquire(l, 0);
  if (barge == 0) {
    /* Only possible once every waiter is through. */
    LT_CHECK(atomic_load(&next) == N, "barged past %d waiters", N - atomic_load(&next));
    loom_lock_release(l);
  }
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) LT_CHECK(order[i] == i, "slot %d got waiter %d", i, order[i]);
  LT_RC(loom_lock_destroy(l), 0);
}

static long shared_counter;
static void *count_many(void *p) {
  lock_arg *a = p;
  for (int i = 0; i < 20000; i++) {
    if (loom_lock_acquire(a->l, LOOM_FOREVER) != 0) {
      a->rc = -1;
      return NULL;
    }
    shared_counter++;
    loom_lock_release(a->l);
  }
  return NULL;
}

LOOM_TEST(lock, mutual_exclusion_stress) {
  enum { N = 8 };
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  shared_counter = 0;
  lock_arg a[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    a[i] = (lock_arg){.l = l};
    t[i] = spawn(count_many, &a[i]);
  }
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) LT_RC(a[i].rc, 0);
  LT_CHECK(shared_counter == N * 20000L, "counter %ld", shared_counter);
  LT_RC(loom_lock_destroy(l), 0);
}

static void *timeout_churn(void *p) {
  lock_arg *a = p;
  unsigned seed = (unsigned)(uintptr_t)p;
  for (int i = 0; i < 3000; i++) {
    double to = (rand_r(&seed) % 200) * 1e-6; /* 0..200 us: races the hand-off */
    int rc = loom_lock_acquire(a->l, to);
    if (rc == 0) {
      shared_counter++;
      loom_lock_release(a->l);
    } else if (rc != LOOM_ETIMEDOUT) {
      a->rc = rc;
    }
  }
  return NULL;
}

LOOM_TEST(lock, timeouts_racing_handoff_never_strand_the_lock) {
  /* Waiters time out while releases hand them the lock: a hand-off to a
   * waiter that already gave up must go to the next one, or the lock
   * would stay owned by nobody. */
  enum { N = 6 };
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  shared_counter = 0;
  lock_arg a[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    a[i] = (lock_arg){.l = l};
    t[i] = spawn(timeout_churn, &a[i]);
  }
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) LT_RC(a[i].rc, 0);
  assert_false(loom_lock_locked(l));
  LT_RC(loom_lock_acquire(l, 0), 0);
  LT_RC(loom_lock_release(l), 0);
  LT_CHECK(shared_counter > 0, "nobody ever got the lock");
  LT_RC(loom_lock_destroy(l), 0);
}

/* ---- RLock --------------------------------------------------------------- */

LOOM_TEST(rlock, recursion_and_ownership) {
  loom_lock *l;
  LT_RC(loom_rlock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, 0), 0);
  LT_RC(loom_lock_acquire(l, 0), 0);
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  lock_arg a = {.l = l, .timeout = 0};
  pthread_join(spawn(acquire_release, &a), NULL);
  LT_RC(a.rc, LOOM_ETIMEDOUT);
  pthread_join(spawn(release_other, &a), NULL);
  LT_RC(a.rc, LOOM_EPERM);
  LT_RC(loom_lock_release(l), 0);
  LT_RC(loom_lock_release(l), 0);
  assert_true(loom_lock_locked(l));
  LT_RC(loom_lock_release(l), 0);
  assert_false(loom_lock_locked(l));
  LT_RC(loom_lock_release(l), LOOM_EPERM);
  pthread_join(spawn(acquire_release, &a), NULL);
  LT_RC(a.rc, 0);
  LT_RC(loom_lock_destroy(l), 0);
}

/* ---- tasks (fake park context) ------------------------------------------ */

LOOM_TEST(lock, cancelled_waiter_leaves_lock_consistent) {
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  fake_task ft;
  ft_init(&ft);
  lock_arg a = {.l = l, .timeout = 10, .task = &ft};
  pthread_t t = spawn(acquire_release, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&ft), 5));
  assert_true(ft_cancel(&ft));
  pthread_join(t, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  assert_int_equal(loom__lock_n_waiters(l), 0);
  LT_RC(loom_lock_release(l), 0);
  assert_false(loom_lock_locked(l)); /* not handed to the cancelled task */
  LT_RC(loom_lock_destroy(l), 0);
}

LOOM_TEST(lock, handed_then_cancelled_passes_lock_on) {
  /* Task A is handed the lock, but reports a cancellation: the lock must go
   * on to waiter B, not stay with A nor be lost. */
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  LT_RC(loom_lock_acquire(l, LOOM_FOREVER), 0);
  fake_task fa, fb;
  ft_init(&fa);
  ft_init(&fb);
  ft_set_override(&fa, LOOM_ECANCELLED);
  lock_arg a = {.l = l, .timeout = 10, .task = &fa};
  lock_arg b = {.l = l, .timeout = 10, .task = &fb};
  pthread_t ta = spawn(acquire_release, &a);
  assert_true(WAIT_UNTIL(loom__lock_n_waiters(l) == 1, 5));
  pthread_t tb = spawn(acquire_release, &b);
  assert_true(WAIT_UNTIL(loom__lock_n_waiters(l) == 2, 5));
  LT_RC(loom_lock_release(l), 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  LT_RC(b.rc, 0);
  assert_false(loom_lock_locked(l));
  LT_RC(loom_lock_destroy(l), 0);
}

LOOM_TEST(lock, tasks_of_one_thread_are_distinct_owners) {
  /* As in asyncio, the owner is the task: two tasks on one thread exclude
   * each other, and one cannot release the other's lock. */
  loom_lock *l;
  LT_RC(loom_lock_create(&l), 0);
  fake_task f1, f2;
  ft_init(&f1);
  ft_init(&f2);
  ft_enter(&f1);
  LT_RC(loom_lock_acquire(l, 0), 0);
  ft_enter(&f2);
  LT_RC(loom_lock_acquire(l, 0), LOOM_ETIMEDOUT);
  LT_RC(loom_lock_release(l), LOOM_EPERM);
  ft_enter(&f1);
  LT_RC(loom_lock_release(l), 0);
  ft_leave();
  LT_RC(loom_lock_destroy(l), 0);
}

static int create_lock_sweep(void *ctx) {
  (void)ctx;
  loom_lock *l;
  int rc = loom_rlock_create(&l);
  if (rc < 0) return rc;
  return loom_lock_destroy(l);
}

LOOM_TEST(lock, fault_sweep_create) {
  assert_true(loom_test_fault_sweep(create_lock_sweep, NULL, LOOM_FAULT_ALL, 10) >= 1);
}
