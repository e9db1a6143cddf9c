/* test_same_loop_fire.c - the same-loop claim of a task waiter
 * (loom__waiter_fire_locked): a task that wakes another task of its own loop
 * through a queue claims the waiter with a load and a store instead of a
 * compare-and-swap.  These tests drive the cases where that claim must lose
 * or must still be exclusive:
 *  - the waiter was already fired by a cancellation in the same step (the
 *    item must go to the next getter, not vanish);
 *  - the getter's deadline passed but its timer has not run yet (the put
 *    wins, the item is delivered once, the late timer does nothing);
 *  - a plain thread (compare-and-swap claims) and a task of the loop (plain
 *    claims) feed the same queue at once: nothing lost, each producer's
 *    items in order. */
#include "threads_util.h"

typedef struct {
  loom_queue *q;
  loom_future *victim; /* for the canceller */
  double timeout;
  int rc;
  long got;
  long n, bad;
} f_arg;

static int getter_task(loom_future *self, void *p) {
  (void)self;
  f_arg *a = p;
  void *v = NULL;
  a->rc = loom_queue_get(a->q, &v, a->timeout);
  a->got = (long)(uintptr_t)v;
  return 0;
}

/* Cancel the first getter and put at once, in one step: the getter's waiter
 * is already READY (cancelled) when the put looks at it. */
static int cancel_and_put_same_step(loom_future *self, void *p) {
  (void)self;
  f_arg *a = p;
  loom_yield(); /* both getters are parked now */
  if (!loom_task_cancel(a->victim, NULL)) return LOOM_EFAILED;
  return loom_queue_put(a->q, (void *)(uintptr_t)42, 0);
}

LOOM_TEST(same_loop_fire, cancelled_in_same_step_item_goes_to_next) {
  loom_loop *l = tu_make_loop();
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  f_arg g1 = {.q = q, .timeout = 10}, g2 = {.q = q, .timeout = 10}, ctl = {.q = q};
  loom_future *t[3];
  LT_RC(loom_task_spawn(l, getter_task, &g1, "g1", &t[0]), 0);
  LT_RC(loom_task_spawn(l, getter_task, &g2, "g2", &t[1]), 0);
  ctl.victim = t[0];
  LT_RC(loom_task_spawn(l, cancel_and_put_same_step, &ctl, "ctl", &t[2]), 0);
  tu_run_all(l, t, 3);
  LT_RC(g1.rc, LOOM_ECANCELLED);
  LT_RC(g2.rc, 0);
  assert_int_equal(g2.got, 42);
  LT_RC(loom_future_result(t[2], 0, NULL), 0);
  assert_int_equal(loom_queue_qsize(q), 0);
  assert_int_equal(loom__queue_n_waiters(q, 0), 0);
  for (int i = 0; i < 3; i++) loom_future_release(t[i]);
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

/* Hold the loop (no suspension) past the getter's deadline, then put: the
 * getter's timer is due but cannot have run. */
static int overstay_then_put(loom_future *self, void *p) {
  (void)self;
  f_arg *a = p;
  loom_yield(); /* the getter is parked with its timer armed */
  int64_t until = loom_now_ns() + (int64_t)(a->timeout * 2e9);
  while (loom_now_ns() < until) loom__cpu_relax();
  return loom_queue_put(a->q, (void *)(uintptr_t)7, 0);
}

LOOM_TEST(same_loop_fire, put_beats_a_due_timer) {
  loom_loop *l = tu_make_loop();
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  f_arg g = {.q = q, .timeout = 0.02}, ctl = {.q = q, .timeout = 0.02};
  loom_future *t[2];
  LT_RC(loom_task_spawn(l, getter_task, &g, "g", &t[0]), 0);
  LT_RC(loom_task_spawn(l, overstay_then_put, &ctl, "ctl", &t[1]), 0);
  tu_run_all(l, t, 2);
  LT_RC(loom_future_result(t[1], 0, NULL), 0);
  /* The put ran first: the getter has the item, and the late timer found
   * its waiter already fired (and was stopped). */
  LT_RC(g.rc, 0);
  assert_int_equal(g.got, 7);
  assert_int_equal(loom_queue_qsize(q), 0);
  for (int i = 0; i < 2; i++) loom_future_release(t[i]);
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}

/* Items are (producer << 32 | sequence); the consumer checks each
 * producer's sequence is increasing. */
enum { PER_PRODUCER = 20000, TASK_TAG = 1, THREAD_TAG = 2 };

static int task_producer(loom_future *self, void *p) {
  (void)self;
  f_arg *a = p;
  for (long i = 1; i <= PER_PRODUCER; i++) {
    int rc = loom_queue_put(a->q, (void *)(uintptr_t)(((long)TASK_TAG << 32) | i), 10);
    if (rc < 0) return rc;
    if (i % 64 == 0) loom_yield(); /* let the thread's puts interleave */
  }
  return 0;
}

static void *thread_producer(void *p) {
  f_arg *a = p;
  for (long i = 1; i <= PER_PRODUCER; i++)
    if (loom_queue_put(a->q, (void *)(uintptr_t)(((long)THREAD_TAG << 32) | i), 10) < 0) {
      a->rc = -1;
      return NULL;
    }
  return NULL;
}

static int consumer_task(loom_future *self, void *p) {
  (void)self;
  f_arg *a = p;
  long last[3] = {0, 0, 0};
  for (long k = 0; k < 2L * PER_PRODUCER; k++) {
    void *v;
    int rc = loom_queue_get(a->q, &v, 10);
    if (rc < 0) return rc;
    long x = (long)(uintptr_t)v, tag = x >> 32, seq = x & 0xffffffffL;
    if (tag != TASK_TAG && tag != THREAD_TAG) {
      a->bad++;
      continue;
    }
    if (seq != last[tag] + 1) a->bad++;
    last[tag] = seq;
    a->n++;
  }
  return 0;
}

LOOM_TEST(same_loop_fire, thread_and_task_feed_one_queue) {
  loom_loop *l = tu_make_loop();
  loom_queue *q;
  loom_queue_options o = {.maxsize = 4};
  LT_RC(loom_queue_create(&q, &o), 0);
  f_arg cons = {.q = q}, tp = {.q = q}, hp = {.q = q};
  loom_future *t[2];
  LT_RC(loom_task_spawn(l, consumer_task, &cons, "consumer", &t[0]), 0);
  LT_RC(loom_task_spawn(l, task_producer, &tp, "producer", &t[1]), 0);
  pthread_t th = spawn(thread_producer, &hp);
  tu_run_all(l, t, 2);
  pthread_join(th, NULL);
  LT_RC(hp.rc, 0);
  for (int i = 0; i < 2; i++) LT_RC(loom_future_result(t[i], 0, NULL), 0);
  assert_int_equal(cons.n, 2L * PER_PRODUCER);
  assert_int_equal(cons.bad, 0);
  assert_int_equal(loom_queue_qsize(q), 0);
  for (int i = 0; i < 2; i++) loom_future_release(t[i]);
  LT_RC(loom_queue_destroy(q), 0);
  LT_RC(loom_loop_close(l), 0);
  loom_loop_destroy(l);
}
