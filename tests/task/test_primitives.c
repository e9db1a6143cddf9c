/* test_primitives.c - tasks blocked in loom's primitives (queue, lock,
 * event): the wait suspends only the task, cancellation wakes it with
 * LOOM_ECANCELLED, and the primitive stays consistent (the item or the lock
 * goes to the next waiter). */
#include "task_support.h"

typedef struct getter {
  loom_queue *q;
  int rc;
  void *item;
} getter;

static int get_one(loom_future *self, void *arg) {
  getter *g = arg;
  g->rc = loom_queue_get(g->q, &g->item, LOOM_FOREVER);
  return 0;
}

static void cancel_cb(void *arg) { loom_task_cancel(arg, NULL); }

static void put_cb(void *arg) { loom_queue_put_nowait(arg, (void *)77L); }

LOOM_TEST(primitives, queue_get_cancelled_item_goes_to_next) {
  loom_loop *l = ts_loop(true);
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  getter g1 = {q, 1, NULL}, g2 = {q, 1, NULL};
  loom_future *t1, *t2;
  LT_RC(loom_task_spawn(l, get_one, &g1, "first", &t1), 0);
  LT_RC(loom_task_spawn(l, get_one, &g2, "second", &t2), 0);
  LT_RC(loom_call_later(l, 0.1, cancel_cb, t1, NULL), 0);
  LT_RC(loom_call_later(l, 0.2, put_cb, q, NULL), 0);
  ts_until(l, t1);
  ts_until(l, t2);
  LT_RC(g1.rc, LOOM_ECANCELLED);
  LT_RC(g2.rc, 0);
  assert_int_equal((long)g2.item, 77);
  assert_true(loom_queue_empty(q));
  loom_future_release(t1);
  loom_future_release(t2);
  loom_queue_destroy(q);
  loom_loop_destroy(l);
}

/* The item arrives and the getter is cancelled in the same callback: the
 * item is not lost - the getter keeps it or hands it on. */
typedef struct both {
  loom_queue *q;
  loom_future *task;
} both;

static void put_and_cancel(void *arg) {
  both *b = arg;
  loom_queue_put_nowait(b->q, (void *)5L);
  loom_task_cancel(b->task, NULL);
}

LOOM_TEST(primitives, queue_item_and_cancel_together) {
  loom_loop *l = ts_loop(true);
  loom_queue *q;
  LT_RC(loom_queue_create(&q, NULL), 0);
  getter g = {q, 1, NULL};
  both b = {q, NULL};
  LT_RC(loom_task_spawn(l, get_one, &g, NULL, &b.task), 0);
  LT_RC(loom_call_later(l, 0.1, put_and_cancel, &b, NULL), 0);
  ts_until(l, b.task);
  void *left = NULL;
  int rc = loom_queue_get_nowait(q, &left);
  if (g.rc == 0) {
    assert_int_equal((long)g.item, 5); /* got it: the cancel waits for later */
    LT_RC(rc, LOOM_EEMPTY);
  } else {
    LT_RC(g.rc, LOOM_ECANCELLED);      /* cancelled: the item is still there */
    LT_RC(rc, 0);
    assert_int_equal((long)left, 5);
  }
  loom_future_release(b.task);
  loom_queue_destroy(q);
  loom_loop_destroy(l);
}

typedef struct locker {
  loom_lock *lock;
  double hold;
  int rc;
  int order;
  int *counter;
} locker;

static int take_lock(loom_future *self, void *arg) {
  locker *k = arg;
  k->rc = loom_lock_acquire(k->lock, LOOM_FOREVER);
  if (k->rc < 0) return 0;
  k->order = ++*k->counter;
  loom_sleep(k->hold);
  loom_lock_release(k->lock);
  return 0;
}

LOOM_TEST(primitives, lock_waiter_cancelled_lock_passes_on) {
  loom_loop *l = ts_loop(true);
  loom_lock *lock;
  LT_RC(loom_lock_create(&lock), 0);
  int counter = 0;
  locker a = {lock, 0.3, 1, 0, &counter}, b = {lock, 0, 1, 0, &counter},
         c = {lock, 0, 1, 0, &counter};
  loom_future *ta, *tb, *tc;
  LT_RC(loom_task_spawn(l, take_lock, &a, "holder", &ta), 0);
  LT_RC(loom_task_spawn(l, take_lock, &b, "cancelled", &tb), 0);
  LT_RC(loom_task_spawn(l, take_lock, &c, "next", &tc), 0);
  LT_RC(loom_call_later(l, 0.1, cancel_cb, tb, NULL), 0);
  ts_until(l, ta);
  ts_until(l, tb);
  ts_until(l, tc);
  LT_RC(a.rc, 0);
  LT_RC(b.rc, LOOM_ECANCELLED);
  LT_RC(c.rc, 0);
  assert_int_equal(a.order, 1);
  assert_int_equal(c.order, 2);
  assert_false(loom_lock_locked(lock));
  loom_future_release(ta);
  loom_future_release(tb);
  loom_future_release(tc);
  loom_lock_destroy(lock);
  loom_loop_destroy(l);
}

typedef struct ev_waiter {
  loom_event *ev;
  int rc;
} ev_waiter;

static int wait_event(loom_future *self, void *arg) {
  ev_waiter *w = arg;
  w->rc = loom_event_wait(w->ev, 5.0);
  return 0;
}

static void set_cb(void *arg) { loom_event_set(arg); }

LOOM_TEST(primitives, event_wakes_tasks_and_cancel) {
  loom_loop *l = ts_loop(true);
  loom_event *ev;
  LT_RC(loom_event_create(&ev), 0);
  ev_waiter w[3] = {{ev, 1}, {ev, 1}, {ev, 1}};
  loom_future *t[3];
  for (int i = 0; i < 3; i++) LT_RC(loom_task_spawn(l, wait_event, &w[i], NULL, &t[i]), 0);
  LT_RC(loom_call_later(l, 0.1, cancel_cb, t[1], NULL), 0);
  LT_RC(loom_call_later(l, 0.2, set_cb, ev, NULL), 0);
  for (int i = 0; i < 3; i++) ts_until(l, t[i]);
  LT_RC(w[0].rc, 0);
  LT_RC(w[1].rc, LOOM_ECANCELLED);
  LT_RC(w[2].rc, 0);
  for (int i = 0; i < 3; i++) loom_future_release(t[i]);
  loom_event_destroy(ev);
  loom_loop_destroy(l);
}
