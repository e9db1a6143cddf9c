/* test_cond_barrier.c - Condition and Barrier: the semantics of CPython's
 * lock_tests.py (ConditionTests, BarrierTests) and asyncio's test_locks
 * (a cancelled condition waiter passes its notification on). */
#include "threads_util.h"

typedef struct {
  loom_cond *c;
  loom_barrier *b;
  double timeout;
  int rc;
  bool held_after;        /* lock held when wait returned */
  int *state;             /* for wait_for predicates */
  fake_task *task;
  _Atomic int *woken;
} c_arg;

static void *cond_waiter(void *p) {
  c_arg *a = p;
  if (a->task) ft_enter(a->task);
  loom_lock *l = loom_cond_lock(a->c);
  loom_lock_acquire(l, LOOM_FOREVER);
  a->rc = loom_cond_wait(a->c, a->timeout);
  a->held_after = loom_lock_owned(l);
  if (a->rc == 0 && a->woken) atomic_fetch_add(a->woken, 1);
  loom_lock_release(l);
  if (a->task) ft_leave();
  return NULL;
}

LOOM_TEST(cond, requires_the_lock) {
  loom_cond *c;
  LT_RC(loom_cond_create(&c, NULL), 0);
  LT_RC(loom_cond_wait(c, 0), LOOM_EPERM);
  LT_RC(loom_cond_notify(c, 1), LOOM_EPERM);
  LT_RC(loom_cond_notify_all(c), LOOM_EPERM);
  loom_lock *l = loom_cond_lock(c);
  LT_RC(loom_lock_acquire(l, 0), 0);
  LT_RC(loom_cond_notify(c, 1), 0); /* nobody waits */
  double t0 = loom_now();
  LT_RC(loom_cond_wait(c, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms timeout too short");
  assert_true(loom_lock_owned(l)); /* reacquired after the timeout */
  LT_RC(loom_lock_release(l), 0);
  LT_RC(loom_cond_destroy(c), 0);
}

LOOM_TEST(cond, user_lock_and_recursive_depth_restored) {
  loom_lock *l;
  LT_RC(loom_rlock_create(&l), 0);
  loom_cond *c;
  LT_RC(loom_cond_create(&c, l), 0);
  assert_ptr_equal(loom_cond_lock(c), l);
  LT_RC(loom_lock_acquire(l, 0), 0);
  LT_RC(loom_lock_acquire(l, 0), 0); /* depth 2 */
  LT_RC(loom_cond_wait(c, 0.01), LOOM_ETIMEDOUT);
  LT_RC(loom_lock_release(l), 0);
  assert_true(loom_lock_owned(l)); /* still depth 1 */
  LT_RC(loom_lock_release(l), 0);
  assert_false(loom_lock_locked(l));
  LT_RC(loom_cond_destroy(c), 0);
  LT_RC(loom_lock_destroy(l), 0); /* the condition did not own it */
}

LOOM_TEST(cond, notify_n_then_notify_all) {
  enum { N = 5 };
  loom_cond *c;
  LT_RC(loom_cond_create(&c, NULL), 0);
  loom_lock *l = loom_cond_lock(c);
  _Atomic int woken = 0;
  c_arg a[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    a[i] = (c_arg){.c = c, .timeout = 10, .woken = &woken};
    t[i] = spawn(cond_waiter, &a[i]);
  }
  assert_true(WAIT_UNTIL(loom__cond_n_waiters(c) == N, 5));
  LT_RC(loom_cond_destroy(c), LOOM_EBUSY);
  loom_lock_acquire(l, LOOM_FOREVER);
  LT_RC(loom_cond_notify(c, 2), 2);
  loom_lock_release(l);
  assert_true(WAIT_UNTIL(atomic_load(&woken) == 2, 5));
  sleep_ms(20);
  assert_int_equal(atomic_load(&woken), 2); /* exactly two */
  loom_lock_acquire(l, LOOM_FOREVER);
  LT_RC(loom_cond_notify_all(c), N - 2);
  loom_lock_release(l);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) {
    LT_RC(a[i].rc, 0);
    assert_true(a[i].held_after);
  }
  LT_RC(loom_cond_destroy(c), 0);
}

static bool state_ready(void *arg) { return *(int *)arg >= 3; }

static void *cond_wait_for(void *p) {
  c_arg *a = p;
  loom_lock *l = loom_cond_lock(a->c);
  loom_lock_acquire(l, LOOM_FOREVER);
  a->rc = loom_cond_wait_for(a->c, state_ready, a->state, a->timeout);
  a->held_after = loom_lock_owned(l);
  loom_lock_release(l);
  return NULL;
}

LOOM_TEST(cond, wait_for_predicate) {
  loom_cond *c;
  LT_RC(loom_cond_create(&c, NULL), 0);
  loom_lock *l = loom_cond_lock(c);
  int state = 0;
  c_arg a = {.c = c, .timeout = 10, .state = &state};
  pthread_t t = spawn(cond_wait_for, &a);
  for (int i = 0; i < 3; i++) {
    assert_true(WAIT_UNTIL(loom__cond_n_waiters(c) == 1, 5));
    loom_lock_acquire(l, LOOM_FOREVER);
    state++;
    loom_cond_notify(c, 1);
    loom_lock_release(l);
  }
  pthread_join(t, NULL);
  LT_RC(a.rc, 0);
  assert_true(a.held_after);
  /* Timeout with the predicate still false. */
  state = 0;
  a = (c_arg){.c = c, .timeout = 0.05, .state = &state};
  double t0 = loom_now();
  pthread_join(spawn(cond_wait_for, &a), NULL);
  LT_RC(a.rc, LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms wait_for too short");
  assert_true(a.held_after);
  LT_RC(loom_cond_destroy(c), 0);
}

LOOM_TEST(cond, cancelled_waiter_passes_notification_on) {
  /* Task A is notified but reports a cancellation; the notification must
   * reach waiter B (asyncio 3.13 semantics), and A still returns holding the
   * lock. */
  loom_cond *c;
  LT_RC(loom_cond_create(&c, NULL), 0);
  loom_lock *l = loom_cond_lock(c);
  fake_task fa;
  ft_init(&fa);
  ft_set_override(&fa, LOOM_ECANCELLED);
  _Atomic int woken = 0;
  c_arg a = {.c = c, .timeout = 10, .task = &fa, .woken = &woken};
  c_arg b = {.c = c, .timeout = 10, .woken = &woken};
  pthread_t ta = spawn(cond_waiter, &a);
  assert_true(WAIT_UNTIL(loom__cond_n_waiters(c) == 1, 5));
  pthread_t tb = spawn(cond_waiter, &b);
  assert_true(WAIT_UNTIL(loom__cond_n_waiters(c) == 2, 5));
  loom_lock_acquire(l, LOOM_FOREVER);
  LT_RC(loom_cond_notify(c, 1), 1);
  loom_lock_release(l);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  assert_true(a.held_after);
  LT_RC(b.rc, 0);
  LT_RC(loom_cond_destroy(c), 0);
}

LOOM_TEST(cond, cancelled_plain_waiter) {
  loom_cond *c;
  LT_RC(loom_cond_create(&c, NULL), 0);
  fake_task fa;
  ft_init(&fa);
  c_arg a = {.c = c, .timeout = 10, .task = &fa};
  pthread_t ta = spawn(cond_waiter, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&fa), 5));
  assert_true(ft_cancel(&fa));
  pthread_join(ta, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  assert_true(a.held_after);
  assert_int_equal(loom__cond_n_waiters(c), 0);
  LT_RC(loom_cond_destroy(c), 0);
}

/* ---- barrier ------------------------------------------------------------ */

enum { PARTIES = 5, CYCLES = 4 };
typedef struct {
  loom_barrier *b;
  _Atomic int *per_cycle; /* arrivals counted per cycle */
  int idx[CYCLES];
  int rc;
  double timeout;
} b_arg;

static void *barrier_runner(void *p) {
  b_arg *a = p;
  for (int c = 0; c < CYCLES; c++) {
    atomic_fetch_add(&a->per_cycle[c], 1);
    int r = loom_barrier_wait(a->b, a->timeout);
    if (r < 0) {
      a->rc = r;
      return NULL;
    }
    a->idx[c] = r;
    /* Nobody passes cycle c before everyone has arrived at it. */
    if (atomic_load(&a->per_cycle[c]) != PARTIES) a->rc = -1;
  }
  return NULL;
}

static _Atomic int actions_run;
static int count_action(void *arg) {
  (void)arg;
  atomic_fetch_add(&actions_run, 1);
  return 0;
}

LOOM_TEST(barrier, cycles_indices_and_action) {
  loom_barrier *b;
  LT_RC(loom_barrier_create(&b, 0, NULL, NULL), LOOM_EINVAL);
  LT_RC(loom_barrier_create(&b, PARTIES, count_action, NULL), 0);
  assert_int_equal(loom_barrier_parties(b), PARTIES);
  atomic_store(&actions_run, 0);
  _Atomic int per_cycle[CYCLES] = {0};
  b_arg a[PARTIES];
  pthread_t t[PARTIES];
  for (int i = 0; i < PARTIES; i++) {
    a[i] = (b_arg){.b = b, .per_cycle = per_cycle, .timeout = 10};
    t[i] = spawn(barrier_runner, &a[i]);
  }
  for (int i = 0; i < PARTIES; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < PARTIES; i++) LT_RC(a[i].rc, 0);
  for (int c = 0; c < CYCLES; c++) {
    int seen = 0;
    for (int i = 0; i < PARTIES; i++) seen |= 1 << a[i].idx[c];
    LT_CHECK(seen == (1 << PARTIES) - 1, "cycle %d indices mask %x", c, seen);
  }
  assert_int_equal(atomic_load(&actions_run), CYCLES);
  assert_int_equal(loom_barrier_n_waiting(b), 0);
  assert_false(loom_barrier_broken(b));
  LT_RC(loom_barrier_destroy(b), 0);
}

LOOM_TEST(barrier, single_party) {
  loom_barrier *b;
  LT_RC(loom_barrier_create(&b, 1, NULL, NULL), 0);
  for (int i = 0; i < 3; i++) LT_RC(loom_barrier_wait(b, 0), 0);
  LT_RC(loom_barrier_destroy(b), 0);
}

static void *barrier_once(void *p) {
  c_arg *a = p;
  if (a->task) ft_enter(a->task);
  a->rc = loom_barrier_wait(a->b, a->timeout);
  if (a->task) ft_leave();
  return NULL;
}

LOOM_TEST(barrier, timeout_breaks_it_for_everyone) {
  loom_barrier *b;
  LT_RC(loom_barrier_create(&b, 3, NULL, NULL), 0);
  c_arg slow = {.b = b, .timeout = 10};
  pthread_t t = spawn(barrier_once, &slow);
  assert_true(WAIT_UNTIL(loom_barrier_n_waiting(b) == 1, 5));
  double t0 = loom_now();
  LT_RC(loom_barrier_wait(b, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms timeout too short");
  pthread_join(t, NULL);
  LT_RC(slow.rc, LOOM_EBROKENBARRIER);
  assert_true(loom_barrier_broken(b));
  LT_RC(loom_barrier_wait(b, 1), LOOM_EBROKENBARRIER);
  LT_RC(loom_barrier_reset(b), 0);
  assert_false(loom_barrier_broken(b));
  LT_RC(loom_barrier_destroy(b), 0);
}

LOOM_TEST(barrier, abort_and_reset) {
  loom_barrier *b;
  LT_RC(loom_barrier_create(&b, 2, NULL, NULL), 0);
  c_arg w = {.b = b, .timeout = 10};
  pthread_t t = spawn(barrier_once, &w);
  assert_true(WAIT_UNTIL(loom_barrier_n_waiting(b) == 1, 5));
  LT_RC(loom_barrier_destroy(b), LOOM_EBUSY);
  LT_RC(loom_barrier_abort(b), 0);
  pthread_join(t, NULL);
  LT_RC(w.rc, LOOM_EBROKENBARRIER);
  LT_RC(loom_barrier_wait(b, 0), LOOM_EBROKENBARRIER);
  /* reset while someone waits: that waiter gets BROKEN, the barrier works */
  LT_RC(loom_barrier_reset(b), 0);
  t = spawn(barrier_once, &w);
  assert_true(WAIT_UNTIL(loom_barrier_n_waiting(b) == 1, 5));
  LT_RC(loom_barrier_reset(b), 0);
  pthread_join(t, NULL);
  LT_RC(w.rc, LOOM_EBROKENBARRIER);
  assert_false(loom_barrier_broken(b));
  t = spawn(barrier_once, &w);
  int mine = loom_barrier_wait(b, 10);
  pthread_join(t, NULL);
  LT_CHECK(mine >= 0 && w.rc >= 0 && mine + w.rc == 1, "indices %d %d", mine, w.rc);
  LT_RC(loom_barrier_destroy(b), 0);
}

static int failing_action(void *arg) {
  (void)arg;
  return LOOM_EINVAL;
}

LOOM_TEST(barrier, failing_action_breaks_it) {
  loom_barrier *b;
  LT_RC(loom_barrier_create(&b, 2, failing_action, NULL), 0);
  c_arg w = {.b = b, .timeout = 10};
  pthread_t t = spawn(barrier_once, &w);
  assert_true(WAIT_UNTIL(loom_barrier_n_waiting(b) == 1, 5));
  LT_RC(loom_barrier_wait(b, 10), LOOM_EINVAL); /* we ran the action */
  pthread_join(t, NULL);
  LT_RC(w.rc, LOOM_EBROKENBARRIER);
  assert_true(loom_barrier_broken(b));
  LT_RC(loom_barrier_destroy(b), 0);
}

LOOM_TEST(barrier, cancelled_task_leaves_without_breaking) {
  loom_barrier *b;
  LT_RC(loom_barrier_create(&b, 2, NULL, NULL), 0);
  fake_task ft;
  ft_init(&ft);
  c_arg w = {.b = b, .timeout = 10, .task = &ft};
  pthread_t t = spawn(barrier_once, &w);
  assert_true(WAIT_UNTIL(ft_is_parked(&ft), 5));
  assert_true(ft_cancel(&ft));
  pthread_join(t, NULL);
  LT_RC(w.rc, LOOM_ECANCELLED);
  assert_false(loom_barrier_broken(b));
  assert_int_equal(loom_barrier_n_waiting(b), 0);
  c_arg w2 = {.b = b, .timeout = 10};
  t = spawn(barrier_once, &w2);
  int mine = loom_barrier_wait(b, 10);
  pthread_join(t, NULL);
  LT_CHECK(mine >= 0 && w2.rc >= 0 && mine + w2.rc == 1, "indices %d %d", mine, w2.rc);
  LT_RC(loom_barrier_destroy(b), 0);
}

static int create_cb_sweep(void *ctx) {
  (void)ctx;
  loom_cond *c;
  loom_barrier *b;
  int rc = loom_cond_create(&c, NULL);
  if (rc < 0) return rc;
  rc = loom_barrier_create(&b, 2, NULL, NULL);
  if (rc == 0) loom_barrier_destroy(b);
  loom_cond_destroy(c);
  return rc;
}

LOOM_TEST(cond, fault_sweep_create) {
  assert_true(loom_test_fault_sweep(create_cb_sweep, NULL, LOOM_FAULT_ALL, 10) >= 3);
}
