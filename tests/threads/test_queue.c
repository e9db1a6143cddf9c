/* test_queue.c - loom_queue: the semantics of CPython's test_queue (FIFO,
 * LIFO, priority order, maxsize, blocking with timeout, task_done/join,
 * Python 3.13 shutdown) and asyncio's test_queues (FIFO-fair waiters, a
 * cancelled getter or putter loses nothing). */
#include "threads_util.h"

#define IV(x) ((void *)(uintptr_t)(x))
#define VI(p) ((long)(uintptr_t)(p))

static loom_queue *make(loom_queue_kind kind, size_t maxsize);
static int cmp_long(const void *a, const void *b, void *ctx) {
  (void)ctx;
  long x = VI(a), y = VI(b);
  return (x > y) - (x < y);
}
static int cmp_tens(const void *a, const void *b, void *ctx) {
  (void)ctx; /* priority = value / 10: ties keep put order */
  long x = VI(a) / 10, y = VI(b) / 10;
  return (x > y) - (x < y);
}

static loom_queue *make(loom_queue_kind kind, size_t maxsize) {
  loom_queue *q = NULL;
  loom_queue_options o = {.kind = kind, .maxsize = maxsize, .cmp = cmp_long};
  LT_RC(loom_queue_create(&q, &o), 0);
  return q;
}

LOOM_TEST(queue, create_rejects_bad_options) {
  loom_queue *q;
  LT_RC(loom_queue_create(NULL, NULL), LOOM_EINVAL);
  loom_queue_options o = {.kind = LOOM_QUEUE_PRIORITY};
  LT_RC(loom_queue_create(&q, &o), LOOM_EINVAL); /* no comparator */
  o.kind = (loom_queue_kind)7;
  LT_RC(loom_queue_create(&q, &o), LOOM_EINVAL);
  LT_RC(loom_queue_create(&q, NULL), 0);
  assert_int_equal(loom_queue_maxsize(q), 0);
  assert_true(loom_queue_empty(q));
  assert_false(loom_queue_full(q));
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_queue_destroy(NULL), 0);
}

static void check_order(loom_queue_kind kind, const long *want) {
  static const long in[] = {111, 333, 222, 444, 0, 555};
  loom_queue *q = make(kind, 0);
  for (int i = 0; i < 6; i++) LT_RC(loom_queue_put(q, IV(in[i]), 0), 0);
  assert_int_equal(loom_queue_qsize(q), 6);
  for (int i = 0; i < 6; i++) {
    void *v;
    LT_RC(loom_queue_get(q, &v, 0), 0);
    LT_CHECK(VI(v) == want[i], "kind %d item %d: %ld, want %ld", kind, i, VI(v), want[i]);
  }
  void *v;
  LT_RC(loom_queue_get_nowait(q, &v), LOOM_EEMPTY);
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, fifo_lifo_priority_order) {
  check_order(LOOM_QUEUE_FIFO, (long[]){111, 333, 222, 444, 0, 555});
  check_order(LOOM_QUEUE_LIFO, (long[]){555, 0, 444, 222, 333, 111});
  check_order(LOOM_QUEUE_PRIORITY, (long[]){0, 111, 222, 333, 444, 555});
}

LOOM_TEST(queue, priority_is_fifo_among_equals) {
  loom_queue *q;
  loom_queue_options o = {.kind = LOOM_QUEUE_PRIORITY, .cmp = cmp_tens};
  LT_RC(loom_queue_create(&q, &o), 0);
  static const long in[] = {31, 11, 32, 12, 33, 13, 1, 34};
  for (int i = 0; i < 8; i++) LT_RC(loom_queue_put(q, IV(in[i]), 0), 0);
  static const long want[] = {1, 11, 12, 13, 31, 32, 33, 34};
  for (int i = 0; i < 8; i++) {
    void *v;
    LT_RC(loom_queue_get(q, &v, 0), 0);
    LT_CHECK(VI(v) == want[i], "item %d: %ld want %ld", i, VI(v), want[i]);
  }
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, ring_wraps_and_grows) {
  /* Interleave puts and gets so the ring wraps, then grow it while wrapped. */
  loom_queue *q = make(LOOM_QUEUE_FIFO, 0);
  long next_in = 0, next_out = 0;
  for (int round = 0; round < 50; round++) {
    for (int i = 0; i < 13; i++) LT_RC(loom_queue_put(q, IV(next_in++), 0), 0);
    for (int i = 0; i < 9; i++) {
      void *v;
      LT_RC(loom_queue_get(q, &v, 0), 0);
      LT_CHECK(VI(v) == next_out, "got %ld want %ld", VI(v), next_out);
      next_out++;
    }
  }
  while (next_out < next_in) {
    void *v;
    LT_RC(loom_queue_get(q, &v, 0), 0);
    LT_CHECK(VI(v) == next_out, "got %ld want %ld", VI(v), next_out);
    next_out++;
  }
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, maxsize_full_nowait_and_timeout) {
  loom_queue *q = make(LOOM_QUEUE_FIFO, 3);
  for (int i = 0; i < 3; i++) LT_RC(loom_queue_put_nowait(q, IV(i)), 0);
  assert_true(loom_queue_full(q));
  LT_RC(loom_queue_put_nowait(q, IV(9)), LOOM_EFULL);
  double t0 = loom_now();
  LT_RC(loom_queue_put(q, IV(9), 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms put timeout too short");
  void *v;
  for (int i = 0; i < 3; i++) {
    LT_RC(loom_queue_get(q, &v, LOOM_FOREVER), 0);
    assert_int_equal(VI(v), i);
  }
  t0 = loom_now();
  LT_RC(loom_queue_get(q, &v, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms get timeout too short");
  LT_RC(loom_queue_get(q, NULL, 0), LOOM_EINVAL);
  LT_RC(loom_queue_destroy(q), 0);
}

typedef struct {
  loom_queue *q;
  double timeout;
  long item;
  int rc;
  void *got;
  fake_task *task;
  int n;
} q_arg;

static void *getter(void *p) {
  q_arg *a = p;
  if (a->task) ft_enter(a->task);
  a->rc = loom_queue_get(a->q, &a->got, a->timeout);
  if (a->task) ft_leave();
  return NULL;
}

static void *putter(void *p) {
  q_arg *a = p;
  if (a->task) ft_enter(a->task);
  a->rc = loom_queue_put(a->q, IV(a->item), a->timeout);
  if (a->task) ft_leave();
  return NULL;
}

LOOM_TEST(queue, blocking_put_and_get_are_fifo_fair) {
  enum { N = 4 };
  loom_queue *q = make(LOOM_QUEUE_FIFO, 1);
  /* getters queue up in order and receive items in that order */
  q_arg g[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    g[i] = (q_arg){.q = q, .timeout = 10};
    t[i] = spawn(getter, &g[i]);
    assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 0) == (size_t)i + 1, 5));
  }
  LT_RC(loom_queue_destroy(q), LOOM_EBUSY);
  for (int i = 0; i < N; i++) LT_RC(loom_queue_put(q, IV(100 + i), 1), 0);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) {
    LT_RC(g[i].rc, 0);
    LT_CHECK(VI(g[i].got) == 100 + i, "getter %d got %ld", i, VI(g[i].got));
  }
  /* putters queue up on a full queue and are admitted in order */
  LT_RC(loom_queue_put(q, IV(0), 0), 0);
  q_arg p[N];
  for (int i = 0; i < N; i++) {
    p[i] = (q_arg){.q = q, .timeout = 10, .item = 1 + i};
    t[i] = spawn(putter, &p[i]);
    assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 1) == (size_t)i + 1, 5));
  }
  for (int i = 0; i <= N; i++) {
    void *v;
    LT_RC(loom_queue_get(q, &v, 5), 0);
    LT_CHECK(VI(v) == i, "item %d is %ld", i, VI(v));
  }
  for (int i = 0; i < N; i++) {
    pthread_join(t[i], NULL);
    LT_RC(p[i].rc, 0);
  }
  LT_RC(loom_queue_destroy(q), 0);
}

static void *worker(void *p) {
  q_arg *a = p;
  for (;;) {
    void *v;
    int rc = loom_queue_get(a->q, &v, 10);
    if (rc < 0) {
      a->rc = rc == LOOM_ECLOSED ? 0 : rc;
      return NULL;
    }
    a->n += (int)VI(v);
    sleep_ms(0.1);
    loom_queue_task_done(a->q);
  }
}

LOOM_TEST(queue, task_done_and_join) {
  loom_queue *q = make(LOOM_QUEUE_FIFO, 0);
  LT_RC(loom_queue_task_done(q), LOOM_EINVAL); /* too many: ValueError */
  LT_RC(loom_queue_join(q, 0), 0);             /* nothing unfinished */
  q_arg w[2] = {{.q = q}, {.q = q}};
  pthread_t t[2] = {spawn(worker, &w[0]), spawn(worker, &w[1])};
  for (int i = 1; i <= 100; i++) LT_RC(loom_queue_put(q, IV(i), 0), 0);
  LT_RC(loom_queue_join(q, 30), 0);
  assert_int_equal(loom_queue_unfinished(q), 0);
  assert_int_equal(w[0].n + w[1].n, 5050);
  LT_RC(loom_queue_shutdown(q, false), 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++) LT_RC(w[i].rc, 0);
  LT_RC(loom_queue_task_done(q), LOOM_EINVAL);
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, join_times_out_while_unfinished) {
  loom_queue *q = make(LOOM_QUEUE_LIFO, 0);
  LT_RC(loom_queue_put(q, IV(1), 0), 0);
  void *v;
  LT_RC(loom_queue_get(q, &v, 0), 0);
  LT_RC(loom_queue_join(q, 0), LOOM_ETIMEDOUT);
  double t0 = loom_now();
  LT_RC(loom_queue_join(q, 0.05), LOOM_ETIMEDOUT);
  LT_CHECK(loom_now() - t0 >= 0.049, "50 ms join too short");
  LT_RC(loom_queue_task_done(q), 0);
  LT_RC(loom_queue_join(q, 0), 0);
  LT_RC(loom_queue_destroy(q), 0);
}

static _Atomic int freed_items;
static void count_free(void *p) {
  atomic_fetch_add(&freed_items, 1);
  free(p);
}

LOOM_TEST(queue, shutdown_drains_then_closes) {
  loom_queue *q = make(LOOM_QUEUE_FIFO, 2);
  LT_RC(loom_queue_put(q, IV(1), 0), 0);
  LT_RC(loom_queue_put(q, IV(2), 0), 0);
  q_arg p = {.q = q, .timeout = 10, .item = 3};
  pthread_t t = spawn(putter, &p);
  assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 1) == 1, 5));
  assert_false(loom_queue_is_shutdown(q));
  LT_RC(loom_queue_shutdown(q, false), 0);
  assert_true(loom_queue_is_shutdown(q));
  pthread_join(t, NULL);
  LT_RC(p.rc, LOOM_ECLOSED); /* the blocked putter is told */
  LT_RC(loom_queue_put(q, IV(4), 0), LOOM_ECLOSED);
  void *v;
  LT_RC(loom_queue_get(q, &v, 0), 0);
  assert_int_equal(VI(v), 1);
  LT_RC(loom_queue_get(q, &v, LOOM_FOREVER), 0);
  assert_int_equal(VI(v), 2);
  LT_RC(loom_queue_get(q, &v, LOOM_FOREVER), LOOM_ECLOSED);
  LT_RC(loom_queue_task_done(q), 0);
  LT_RC(loom_queue_task_done(q), 0);
  LT_RC(loom_queue_join(q, 0), 0);
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, shutdown_wakes_blocked_getters) {
  loom_queue *q = make(LOOM_QUEUE_PRIORITY, 0);
  q_arg g = {.q = q, .timeout = 10};
  pthread_t t = spawn(getter, &g);
  assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 0) == 1, 5));
  LT_RC(loom_queue_shutdown(q, false), 0);
  pthread_join(t, NULL);
  LT_RC(g.rc, LOOM_ECLOSED);
  LT_RC(loom_queue_destroy(q), 0);
}

static void *joiner(void *p) {
  q_arg *a = p;
  a->rc = loom_queue_join(a->q, a->timeout);
  return NULL;
}

LOOM_TEST(queue, immediate_shutdown_drops_items_and_releases_join) {
  loom_queue *q;
  loom_queue_options o = {.maxsize = 0, .item_dtor = count_free};
  LT_RC(loom_queue_create(&q, &o), 0);
  atomic_store(&freed_items, 0);
  for (int i = 0; i < 5; i++) LT_RC(loom_queue_put(q, malloc(8), 0), 0);
  q_arg j = {.q = q, .timeout = 10};
  pthread_t t = spawn(joiner, &j);
  assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 2) == 1, 5));
  LT_RC(loom_queue_shutdown(q, true), 0);
  pthread_join(t, NULL);
  LT_RC(j.rc, 0); /* dropped items count as done */
  assert_int_equal(atomic_load(&freed_items), 5);
  assert_int_equal(loom_queue_qsize(q), 0);
  void *v;
  LT_RC(loom_queue_get(q, &v, 0), LOOM_ECLOSED);
  LT_RC(loom_queue_put(q, NULL, 0), LOOM_ECLOSED);
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, destroy_frees_leftover_items) {
  loom_queue *q;
  loom_queue_options o = {.kind = LOOM_QUEUE_LIFO, .item_dtor = count_free};
  LT_RC(loom_queue_create(&q, &o), 0);
  atomic_store(&freed_items, 0);
  for (int i = 0; i < 40; i++) LT_RC(loom_queue_put(q, malloc(16), 0), 0);
  void *v;
  LT_RC(loom_queue_get(q, &v, 0), 0);
  free(v);
  LT_RC(loom_queue_destroy(q), 0); /* ASan reports a leak if any is missed */
  assert_int_equal(atomic_load(&freed_items), 39);
}

/* ---- tasks (fake park context): cancellation loses nothing ------------- */

LOOM_TEST(queue, cancelled_getter_loses_no_item) {
  loom_queue *q = make(LOOM_QUEUE_FIFO, 0);
  fake_task fa;
  ft_init(&fa);
  q_arg a = {.q = q, .timeout = 10, .task = &fa};
  q_arg b = {.q = q, .timeout = 10};
  pthread_t ta = spawn(getter, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&fa), 5));
  pthread_t tb = spawn(getter, &b);
  assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 0) == 2, 5));
  assert_true(ft_cancel(&fa));
  pthread_join(ta, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  LT_RC(loom_queue_put(q, IV(42), 0), 0); /* goes to b, not to the cancelled a */
  pthread_join(tb, NULL);
  LT_RC(b.rc, 0);
  assert_int_equal(VI(b.got), 42);
  assert_int_equal(loom_queue_qsize(q), 0);
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, cancelled_putter_keeps_its_item_out) {
  loom_queue *q = make(LOOM_QUEUE_FIFO, 1);
  LT_RC(loom_queue_put(q, IV(1), 0), 0);
  fake_task fa;
  ft_init(&fa);
  q_arg a = {.q = q, .timeout = 10, .item = 2, .task = &fa};
  q_arg b = {.q = q, .timeout = 10, .item = 3};
  pthread_t ta = spawn(putter, &a);
  assert_true(WAIT_UNTIL(ft_is_parked(&fa), 5));
  pthread_t tb = spawn(putter, &b);
  assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 1) == 2, 5));
  assert_true(ft_cancel(&fa));
  pthread_join(ta, NULL);
  LT_RC(a.rc, LOOM_ECANCELLED);
  void *v;
  LT_RC(loom_queue_get(q, &v, 0), 0);
  assert_int_equal(VI(v), 1);
  pthread_join(tb, NULL);
  LT_RC(b.rc, 0);
  LT_RC(loom_queue_get(q, &v, 0), 0);
  assert_int_equal(VI(v), 3); /* the slot went to b; a's item never entered */
  LT_RC(loom_queue_get(q, &v, 0), LOOM_EEMPTY);
  assert_int_equal(loom_queue_unfinished(q), 2);
  LT_RC(loom_queue_destroy(q), 0);
}

LOOM_TEST(queue, handed_item_survives_late_cancel) {
  /* A getter task is handed an item and then told it was cancelled: the
   * item is still delivered (the get happened), never dropped. */
  loom_queue *q = make(LOOM_QUEUE_FIFO, 0);
  fake_task fa;
  ft_init(&fa);
  ft_set_override(&fa, LOOM_ECANCELLED);
  q_arg a = {.q = q, .timeout = 10, .task = &fa};
  pthread_t ta = spawn(getter, &a);
  assert_true(WAIT_UNTIL(loom__queue_n_waiters(q, 0) == 1, 5));
  LT_RC(loom_queue_put(q, IV(7), 0), 0);
  pthread_join(ta, NULL);
  LT_RC(a.rc, 0);
  assert_int_equal(VI(a.got), 7);
  LT_RC(loom_queue_destroy(q), 0);
}

/* ---- fault injection ----------------------------------------------------- */

static int create_put_sweep(void *ctx) {
  (void)ctx;
  loom_queue *q;
  loom_queue_options o = {.kind = LOOM_QUEUE_PRIORITY, .cmp = cmp_long, .item_dtor = free};
  int rc = loom_queue_create(&q, &o);
  if (rc < 0) return rc;
  for (int i = 0; i < 40 && rc == 0; i++) {
    long *item = malloc(sizeof *item);
    rc = loom_queue_put(q, item, 0);
    if (rc < 0) free(item); /* a failed put leaves the item with the caller */
  }
  if (rc == 0) rc = loom_queue_qsize(q) == 40 ? 0 : LOOM_EINVALIDSTATE;
  loom_queue_destroy(q);
  return rc == LOOM_EINVALIDSTATE ? 1 : rc;
}

LOOM_TEST(queue, fault_sweep_create_and_put) {
  assert_true(loom_test_fault_sweep(create_put_sweep, NULL, LOOM_FAULT_ALL, 20) >= 3);
  loom_queue *q = make(LOOM_QUEUE_FIFO, 0);
  for (int i = 0; i < 16; i++) LT_RC(loom_queue_put(q, IV(i), 0), 0);
  loom_fault_arm(1, 0, LOOM_FAULT_ALLOC);
  LT_RC(loom_queue_put(q, IV(16), 0), LOOM_ENOMEM); /* ring growth fails */
  loom_fault_disarm();
  assert_int_equal(loom_queue_qsize(q), 16);
  LT_RC(loom_queue_put(q, IV(16), 0), 0);
  for (int i = 0; i <= 16; i++) {
    void *v;
    LT_RC(loom_queue_get(q, &v, 0), 0);
    assert_int_equal(VI(v), i);
  }
  LT_RC(loom_queue_destroy(q), 0);
}

static loom_queue *dtor_queue;
static _Atomic long dtor_seen_size;
static void dtor_peeks(void *p) {
  /* Runs without the queue's lock held: using the queue here must not
   * deadlock. */
  atomic_store(&dtor_seen_size, (long)loom_queue_qsize(dtor_queue));
  free(p);
}

LOOM_TEST(queue, immediate_shutdown_destructor_may_use_the_queue) {
  loom_queue_options o = {.item_dtor = dtor_peeks};
  LT_RC(loom_queue_create(&dtor_queue, &o), 0);
  atomic_store(&dtor_seen_size, -1);
  for (int i = 0; i < 3; i++) LT_RC(loom_queue_put(dtor_queue, malloc(4), 0), 0);
  LT_RC(loom_queue_shutdown(dtor_queue, true), 0);
  assert_int_equal(atomic_load(&dtor_seen_size), 0); /* items already detached */
  assert_int_equal(loom_queue_unfinished(dtor_queue), 0);
  LT_RC(loom_queue_shutdown(dtor_queue, true), 0); /* idempotent */
  LT_RC(loom_queue_destroy(dtor_queue), 0);
}
