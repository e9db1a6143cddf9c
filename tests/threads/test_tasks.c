/* test_tasks.c - the primitives used from real coroutine tasks (asyncio's
 * test_locks / test_queues semantics): a waiting task suspends and the loop
 * keeps running others; FIFO wake-up among tasks; a cancelled task leaves
 * the primitive consistent; the same queue/event connects threads and tasks
 * (janus's use case). */
#include "threads_util.h"

/* ---- lock: FIFO among tasks, cancellation ------------------------------ */

typedef struct {
  loom_lock *lock;
  loom_sem *sem;
  loom_event *ev;
  loom_queue *q;
  loom_cond *cond;
  loom_barrier *bar;
  int *order;
  int *next;
  int id;
  int rc;
  double hold;
  long sum;
  int n;
} t_arg;

static int lock_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  a->rc = loom_lock_acquire(a->lock, 10);
  if (a->rc < 0) return 0;
  a->order[(*a->next)++] = a->id;
  loom_sleep(a->hold); /* hold the lock across a suspension */
  return loom_lock_release(a->lock);
}

LOOM_TEST(tasks, lock_is_fifo_among_tasks) {
  enum { N = 5 };
  loom_loop *l = tu_make_loop();
  loom_lock *lock;
  LT_RC(loom_lock_create(&lock), 0);
  int order[N], next = 0;
  t_arg a[N];
  loom_future *t[N];
  for (int i = 0; i < N; i++) {
    a[i] = (t_arg){.lock = lock, .order = order, .next = &next, .id = i, .hold = 0.005};
    LT_RC(loom_task_spawn(l, lock_task, &a[i], NULL, &t[i]), 0);
  }
  tu_run_all(l, t, N);
  for (int i = 0; i < N; i++) {
    LT_RC(a[i].rc, 0);
    LT_CHECK(order[i] == i, "slot %d: task %d", i, order[i]);
    loom_future_release(t[i]);
  }
  assert_false(loom_lock_locked(lock));
  LT_RC(loom_lock_destroy(lock), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

static int holder(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  int rc = loom_lock_acquire(a->lock, 10);
  if (rc < 0) return rc;
  a->order[(*a->next)++] = a->id;
  rc = loom_event_wait(a->ev, 10); /* hold the lock until the canceller is done */
  loom_lock_release(a->lock);
  return rc;
}

typedef struct {
  loom_future *victim;
  loom_event *done;
} canceller_arg;

static int canceller(loom_future *self, void *p) {
  (void)self;
  canceller_arg *c = p;
  loom_yield(); /* everybody else has parked by now */
  bool ok = loom_task_cancel(c->victim, "stop waiting");
  loom_yield();
  loom_event_set(c->done);
  return ok ? 0 : LOOM_EFAILED;
}

LOOM_TEST(tasks, cancelled_lock_waiter_skipped) {
  loom_loop *l = tu_make_loop();
  loom_lock *lock;
  loom_event *ev;
  LT_RC(loom_lock_create(&lock), 0);
  LT_RC(loom_event_create(&ev), 0);
  int order[3], next = 0;
  t_arg a[3];
  loom_future *t[4];
  a[0] = (t_arg){.lock = lock, .ev = ev, .order = order, .next = &next, .id = 0};
  LT_RC(loom_task_spawn(l, holder, &a[0], "holder", &t[0]), 0);
  for (int i = 1; i < 3; i++) {
    a[i] = (t_arg){.lock = lock, .order = order, .next = &next, .id = i};
    LT_RC(loom_task_spawn(l, lock_task, &a[i], NULL, &t[i]), 0);
  }
  /* task 1 is cancelled while it waits behind the holder */
  canceller_arg c = {t[1], ev};
  LT_RC(loom_task_spawn(l, canceller, &c, "canceller", &t[3]), 0);
  tu_run_all(l, t, 4);
  LT_RC(loom_future_result(t[0], 0, NULL), 0);
  LT_RC(loom_future_result(t[3], 0, NULL), 0);
  LT_RC(a[1].rc, LOOM_ECANCELLED);
  LT_RC(a[2].rc, 0);
  assert_int_equal(next, 2);
  assert_int_equal(order[0], 0);
  assert_int_equal(order[1], 2);
  assert_false(loom_lock_locked(lock));
  for (int i = 0; i < 4; i++) loom_future_release(t[i]);
  LT_RC(loom_event_destroy(ev), 0);
  LT_RC(loom_lock_destroy(lock), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

/* ---- event set from a thread; the loop keeps running ------------------- */

static int event_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  a->rc = loom_event_wait(a->ev, 10);
  return 0;
}

static _Atomic int ticks; /* how many times the ticker task ran */

static int ticker(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  while (!loom_event_is_set(a->ev) && atomic_load(&ticks) < 1000000) {
    atomic_fetch_add(&ticks, 1);
    loom_sleep(0.001);
  }
  return 0;
}

/* Sets the event only once the ticker task has run 5 times: the waiting
 * task gets its event only if the loop kept running while it waited. */
static void *set_after_ticks(void *p) {
  while (atomic_load(&ticks) < 5) sleep_ms(0.5);
  loom_event_set(p);
  return NULL;
}

LOOM_TEST(tasks, event_set_by_thread_wakes_task_without_blocking_loop) {
  loom_loop *l = tu_make_loop();
  loom_event *ev;
  LT_RC(loom_event_create(&ev), 0);
  t_arg w = {.ev = ev}, tk = {.ev = ev};
  loom_future *t[2];
  LT_RC(loom_task_spawn(l, event_task, &w, "waiter", &t[0]), 0);
  LT_RC(loom_task_spawn(l, ticker, &tk, "ticker", &t[1]), 0);
  atomic_store(&ticks, 0);
  pthread_t th = spawn(set_after_ticks, ev);
  tu_run_all(l, t, 2);
  pthread_join(th, NULL);
  LT_RC(w.rc, 0); /* a blocked loop would have left it waiting until its 10 s timeout */
  LT_CHECK(atomic_load(&ticks) >= 5, "ticker ran %d times", atomic_load(&ticks));
  for (int i = 0; i < 2; i++) loom_future_release(t[i]);
  LT_RC(loom_event_destroy(ev), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

/* ---- queue between threads and tasks ------------------------------------ */

static int consumer_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  for (;;) {
    void *v;
    int rc = loom_queue_get(a->q, &v, 10);
    if (rc == LOOM_ECLOSED) return 0;
    if (rc < 0) {
      a->rc = rc;
      return 0;
    }
    a->sum += (long)(uintptr_t)v;
    a->n++;
    loom_queue_task_done(a->q);
  }
}

static void *thread_producer(void *p) {
  t_arg *a = p;
  for (long i = 1; i <= 5000; i++)
    if (loom_queue_put(a->q, (void *)(uintptr_t)i, 10) < 0) a->rc = -1;
  if (loom_queue_join(a->q, 30) < 0) a->rc = -2;
  loom_queue_shutdown(a->q, false);
  return NULL;
}

LOOM_TEST(tasks, queue_from_threads_to_tasks) {
  loom_loop *l = tu_make_loop();
  loom_queue *q;
  loom_queue_options o = {.maxsize = 8};
  LT_RC(loom_queue_create(&q, &o), 0);
  t_arg c[3], prod = {.q = q};
  loom_future *t[3];
  for (int i = 0; i < 3; i++) {
    c[i] = (t_arg){.q = q};
    LT_RC(loom_task_spawn(l, consumer_task, &c[i], NULL, &t[i]), 0);
  }
  pthread_t th = spawn(thread_producer, &prod);
  tu_run_all(l, t, 3);
  pthread_join(th, NULL);
  LT_RC(prod.rc, 0);
  long sum = 0;
  int n = 0;
  for (int i = 0; i < 3; i++) {
    LT_RC(c[i].rc, 0);
    sum += c[i].sum;
    n += c[i].n;
    loom_future_release(t[i]);
  }
  assert_int_equal(n, 5000);
  assert_int_equal(sum, 5000L * 5001 / 2);
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

static int producer_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  for (long i = 1; i <= 3000; i++) {
    int rc = loom_queue_put(a->q, (void *)(uintptr_t)i, 10);
    if (rc < 0) return rc;
  }
  return 0;
}

static void *thread_consumer(void *p) {
  t_arg *a = p;
  for (int i = 0; i < 3000; i++) {
    void *v;
    if (loom_queue_get(a->q, &v, 10) < 0) {
      a->rc = -1;
      return NULL;
    }
    a->sum += (long)(uintptr_t)v;
  }
  return NULL;
}

LOOM_TEST(tasks, queue_from_a_task_to_a_thread) {
  loom_loop *l = tu_make_loop();
  loom_queue *q;
  loom_queue_options o = {.kind = LOOM_QUEUE_LIFO, .maxsize = 4};
  LT_RC(loom_queue_create(&q, &o), 0);
  t_arg c = {.q = q}, p = {.q = q};
  pthread_t th = spawn(thread_consumer, &c);
  loom_future *t;
  LT_RC(loom_task_spawn(l, producer_task, &p, "producer", &t), 0);
  tu_run_all(l, &t, 1);
  pthread_join(th, NULL);
  LT_RC(loom_future_result(t, 0, NULL), 0);
  LT_RC(c.rc, 0);
  assert_int_equal(c.sum, 3000L * 3001 / 2);
  loom_future_release(t);
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

static int getter_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  void *v = NULL;
  a->rc = loom_queue_get(a->q, &v, 10);
  a->sum = (long)(uintptr_t)v;
  return 0;
}

static int cancel_then_put(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  loom_yield();
  loom_task_cancel(*(loom_future **)a->order, NULL);
  loom_yield();
  return loom_queue_put(a->q, (void *)(uintptr_t)42, 0);
}

LOOM_TEST(tasks, cancelled_getter_task_loses_no_item) {
  loom_loop *l = tu_make_loop();
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  t_arg g1 = {.q = q}, g2 = {.q = q}, ctl = {.q = q};
  loom_future *t[3];
  LT_RC(loom_task_spawn(l, getter_task, &g1, "g1", &t[0]), 0);
  LT_RC(loom_task_spawn(l, getter_task, &g2, "g2", &t[1]), 0);
  ctl.order = (int *)&t[0];
  LT_RC(loom_task_spawn(l, cancel_then_put, &ctl, "ctl", &t[2]), 0);
  tu_run_all(l, t, 3);
  LT_RC(g1.rc, LOOM_ECANCELLED);
  LT_RC(g2.rc, 0);
  assert_int_equal(g2.sum, 42);
  LT_RC(loom_future_result(t[2], 0, NULL), 0);
  for (int i = 0; i < 3; i++) loom_future_release(t[i]);
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

static int timed_getter(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  void *v;
  double t0 = loom_now();
  a->rc = loom_queue_get(a->q, &v, 0.05);
  a->hold = loom_now() - t0;
  a->n = atomic_load(&ticks); /* the ticker ran while we were suspended */
  return 0;
}

LOOM_TEST(tasks, queue_get_timeout_in_a_task) {
  loom_loop *l = tu_make_loop();
  loom_queue *q;
  loom_event *ev;
  LT_RC(loom_queue_create(&q, NULL), 0);
  LT_RC(loom_event_create(&ev), 0);
  t_arg g = {.q = q}, tk = {.ev = ev};
  loom_future *t[2];
  atomic_store(&ticks, 0);
  LT_RC(loom_task_spawn(l, timed_getter, &g, "g", &t[0]), 0);
  LT_RC(loom_task_spawn(l, ticker, &tk, "ticker", &t[1]), 0);
  tu_run_all(l, t, 1);
  loom_event_set(ev);
  tu_run_all(l, t + 1, 1);
  LT_RC(g.rc, LOOM_ETIMEDOUT);
  LT_CHECK(g.hold >= 0.049, "a 50 ms get timeout took %.3f s", g.hold);
  LT_CHECK(g.n >= 1, "the ticker never ran while the getter waited");
  assert_int_equal(loom__queue_n_waiters(q, 0), 0);
  for (int i = 0; i < 2; i++) loom_future_release(t[i]);
  LT_RC(loom_event_destroy(ev), 0);
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

/* ---- semaphore bounds tasks in flight; condition; barrier ---------------- */

static int bounded_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  int rc = loom_sem_acquire(a->sem, 10);
  if (rc < 0) return rc;
  (*a->next)++;
  if (*a->next > *a->order) *a->order = *a->next;
  loom_sleep(0.002);
  (*a->next)--;
  return loom_sem_release(a->sem, 1);
}

LOOM_TEST(tasks, semaphore_bounds_tasks_in_flight) {
  enum { N = 20 };
  loom_loop *l = tu_make_loop();
  loom_sem *s;
  LT_RC(loom_bounded_sem_create(&s, 3), 0);
  int in_flight = 0, peak = 0;
  t_arg a[N];
  loom_future *t[N];
  for (int i = 0; i < N; i++) {
    a[i] = (t_arg){.sem = s, .next = &in_flight, .order = &peak};
    LT_RC(loom_task_spawn(l, bounded_task, &a[i], NULL, &t[i]), 0);
  }
  tu_run_all(l, t, N);
  for (int i = 0; i < N; i++) {
    LT_RC(loom_future_result(t[i], 0, NULL), 0);
    loom_future_release(t[i]);
  }
  assert_int_equal(peak, 3);
  assert_int_equal(loom_sem_value(s), 3);
  LT_RC(loom_sem_destroy(s), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

static int cond_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  loom_lock *lk = loom_cond_lock(a->cond);
  int rc = loom_lock_acquire(lk, 10);
  if (rc < 0) return rc;
  rc = loom_cond_wait(a->cond, 10);
  if (rc == 0) a->order[(*a->next)++] = a->id;
  loom_lock_release(lk);
  return rc;
}

static int notifier(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  loom_lock *lk = loom_cond_lock(a->cond);
  for (int i = 0; i < a->n; i++) {
    while (loom__cond_n_waiters(a->cond) < (size_t)(a->n - i)) loom_yield();
    loom_lock_acquire(lk, 10);
    loom_cond_notify(a->cond, 1);
    loom_lock_release(lk);
    loom_yield();
  }
  return 0;
}

LOOM_TEST(tasks, condition_notifies_tasks_in_order) {
  enum { N = 4 };
  loom_loop *l = tu_make_loop();
  loom_cond *c;
  LT_RC(loom_cond_create(&c, NULL), 0);
  int order[N], next = 0;
  t_arg a[N + 1];
  loom_future *t[N + 1];
  for (int i = 0; i < N; i++) {
    a[i] = (t_arg){.cond = c, .order = order, .next = &next, .id = i};
    LT_RC(loom_task_spawn(l, cond_task, &a[i], NULL, &t[i]), 0);
  }
  a[N] = (t_arg){.cond = c, .n = N};
  LT_RC(loom_task_spawn(l, notifier, &a[N], "notifier", &t[N]), 0);
  tu_run_all(l, t, N + 1);
  for (int i = 0; i <= N; i++) {
    LT_RC(loom_future_result(t[i], 0, NULL), 0);
    loom_future_release(t[i]);
  }
  for (int i = 0; i < N; i++) LT_CHECK(order[i] == i, "slot %d: task %d", i, order[i]);
  LT_RC(loom_cond_destroy(c), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

static int barrier_task(loom_future *self, void *p) {
  (void)self;
  t_arg *a = p;
  for (int i = 0; i < 3; i++) {
    int rc = loom_barrier_wait(a->bar, 10);
    if (rc < 0) return rc;
    a->sum |= 1L << (rc + 4 * i);
  }
  return 0;
}

LOOM_TEST(tasks, barrier_among_tasks_and_a_thread) {
  loom_loop *l = tu_make_loop();
  loom_barrier *b;
  LT_RC(loom_barrier_create(&b, 3, NULL, NULL), 0);
  t_arg a[3];
  loom_future *t[2];
  for (int i = 0; i < 3; i++) a[i] = (t_arg){.bar = b};
  LT_RC(loom_task_spawn(l, barrier_task, &a[0], NULL, &t[0]), 0);
  LT_RC(loom_task_spawn(l, barrier_task, &a[1], NULL, &t[1]), 0);
  loom_thread *th;
  LT_RC(loom_thread_start(&th, "third", barrier_task, &a[2]), 0);
  tu_run_all(l, t, 2);
  LT_RC(loom_thread_join(th, 10), 0);
  LT_RC(loom_future_result(loom_thread_future(th), 0, NULL), 0);
  for (int i = 0; i < 2; i++) {
    LT_RC(loom_future_result(t[i], 0, NULL), 0);
    loom_future_release(t[i]);
  }
  for (int c = 0; c < 3; c++) {
    long mask = 0;
    for (int i = 0; i < 3; i++) mask |= (a[i].sum >> (4 * c)) & 0xf;
    LT_CHECK(mask == 7, "cycle %d indices %lx", c, mask);
  }
  loom_thread_destroy(th);
  LT_RC(loom_barrier_destroy(b), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}
