/* test_cancel.c - task cancellation, asyncio's rules: delivered at the next
 * suspension point, handled or not, during cleanup, before start, counted
 * with cancelling()/uncancel(), on a task waiting for a future or a sleep
 * (semantics of CPython's test_asyncio/test_tasks.py cancel tests). */
#include "task_support.h"

typedef struct probe {
  int first_rc;       /* what the first wait returned */
  int cleanup_rc;     /* what the wait during cleanup returned */
  int ran;            /* the function started */
  int cancelling;     /* cancelling() seen inside */
  bool handle;        /* swallow the cancellation and go on */
  bool cancel_again;  /* (test) cancel once more during cleanup */
  loom_future *wait_on; /* wait on this future instead of sleeping */
} probe;

static int wait_once(probe *p) {
  if (p->wait_on) return loom_future_wait(p->wait_on, LOOM_FOREVER);
  return loom_sleep(10);
}

static int cancellable(loom_future *self, void *arg) {
  probe *p = arg;
  p->ran++;
  p->first_rc = wait_once(p);
  p->cancelling = loom_task_cancelling(self);
  if (p->first_rc != LOOM_ECANCELLED) return p->first_rc;
  if (p->handle) return loom_future_set_result(self, (void *)99L, NULL);
  /* Clean up: a wait during cleanup works (unless cancelled again). */
  p->cleanup_rc = loom_sleep(0.01);
  return LOOM_ECANCELLED;
}

static void cancel_cb(void *arg) { loom_task_cancel(arg, "from a callback"); }

LOOM_TEST(cancel, delivered_to_sleeping_task) {
  loom_loop *l = ts_loop(true);
  probe p = {0};
  loom_future *t;
  LT_RC(loom_task_spawn(l, cancellable, &p, "victim", &t), 0);
  LT_RC(loom_call_later(l, 0.5, cancel_cb, t, NULL), 0);
  double t0 = loom_loop_time(l);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  LT_CHECK(loom_loop_time(l) - t0 < 1.0, "the 10 s sleep was not cut short");
  LT_RC(p.first_rc, LOOM_ECANCELLED);
  LT_RC(p.cleanup_rc, 0);
  assert_int_equal(p.cancelling, 1);
  assert_true(loom_future_cancelled(t));
  const char *msg = NULL;
  LT_RC(loom_future_error(t, 0, &msg), LOOM_ECANCELLED);
  assert_string_equal(msg, "from a callback");
  assert_false(loom_task_cancel(t, NULL)); /* done: nothing to cancel */
  loom_future_release(t);
  loom_loop_destroy(l);
}

LOOM_TEST(cancel, handled_task_goes_on) {
  loom_loop *l = ts_loop(true);
  probe p = {.handle = true};
  loom_future *t;
  LT_RC(loom_task_spawn(l, cancellable, &p, NULL, &t), 0);
  LT_RC(loom_call_later(l, 0.1, cancel_cb, t, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  assert_false(loom_future_cancelled(t));
  void *v;
  LT_RC(loom_future_result(t, 0, &v), 0);
  assert_int_equal((long)v, 99);
  assert_int_equal(loom_task_cancelling(t), 1);
  loom_future_release(t);
  loom_loop_destroy(l);
}

static void cancel_again_cb(void *arg) { loom_task_cancel(arg, "again"); }

LOOM_TEST(cancel, cancelled_again_during_cleanup) {
  loom_loop *l = ts_loop(true);
  probe p = {0};
  loom_future *t;
  LT_RC(loom_task_spawn(l, cancellable, &p, NULL, &t), 0);
  LT_RC(loom_call_later(l, 0.1, cancel_cb, t, NULL), 0);
  /* Lands while the cleanup sleep (0.01 s from t=0.1) is in progress. */
  LT_RC(loom_call_later(l, 0.105, cancel_again_cb, t, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  LT_RC(p.first_rc, LOOM_ECANCELLED);
  LT_RC(p.cleanup_rc, LOOM_ECANCELLED);
  assert_int_equal(loom_task_cancelling(t), 2);
  assert_true(loom_future_cancelled(t));
  loom_future_release(t);
  loom_loop_destroy(l);
}

LOOM_TEST(cancel, before_start_never_runs) {
  loom_loop *l = ts_loop(false);
  probe p = {0};
  loom_future *t, *other;
  LT_RC(loom_task_spawn(l, cancellable, &p, NULL, &t), 0);
  assert_true(loom_task_cancel(t, "too early"));
  assert_true(loom_future_cancel(t)); /* the future API routes to the task */
  assert_int_equal(loom_task_cancelling(t), 2);
  LT_RC(loom_task_spawn(l, cancellable, &(probe){0}, NULL, &other), 0);
  loom_task_cancel(other, NULL);
  ts_until(l, t);
  ts_until(l, other);
  assert_int_equal(p.ran, 0);
  assert_true(loom_future_cancelled(t));
  const char *msg;
  LT_RC(loom_future_error(t, 0, &msg), LOOM_ECANCELLED);
  assert_string_equal(msg, "too early");
  loom_future_release(t);
  loom_future_release(other);
  loom_loop_destroy(l);
}

LOOM_TEST(cancel, waiting_on_a_future) {
  loom_loop *l = ts_loop(true);
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  probe p = {.wait_on = f};
  loom_future *t;
  LT_RC(loom_task_spawn(l, cancellable, &p, NULL, &t), 0);
  LT_RC(loom_call_later(l, 0.2, cancel_cb, t, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  LT_RC(p.first_rc, LOOM_ECANCELLED);
  assert_true(loom_future_cancelled(t));
  /* The awaited future was left alone and can still complete. */
  assert_false(loom_future_done(f));
  LT_RC(loom_future_set_result(f, NULL, NULL), 0);
  loom_future_release(f);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* A task cancels itself while running: delivered at its next suspension. */
static int self_cancel(loom_future *self, void *arg) {
  int *seen = arg;
  assert_true(loom_task_cancel(self, "myself"));
  seen[0] = loom_task_cancelling(self);
  seen[1] = loom_yield();  /* delivered here */
  seen[2] = loom_yield();  /* and only once */
  return 0;
}

LOOM_TEST(cancel, self_cancel_at_next_suspension) {
  loom_loop *l = ts_loop(false);
  int seen[3] = {0, 0, 0};
  loom_future *t = ts_run(l, self_cancel, seen, NULL);
  assert_int_equal(seen[0], 1);
  LT_RC(seen[1], LOOM_ECANCELLED);
  LT_RC(seen[2], 0);
  assert_false(loom_future_cancelled(t)); /* it handled it and returned 0 */
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* uncancel(): a timeout scope cancels, catches its own cancellation and
 * withdraws it; an outside cancellation is still counted and still pending. */
static int uncancel_body(loom_future *self, void *arg) {
  int *out = arg;
  loom_task_cancel(self, NULL);
  loom_task_cancel(self, NULL);
  out[0] = loom_task_cancelling(self);   /* 2 */
  out[1] = loom_task_uncancel(self);     /* 1: still one pending */
  out[2] = loom_sleep(0.01);             /* delivered */
  out[3] = loom_task_uncancel(self);     /* 0 */
  out[4] = loom_task_uncancel(self);     /* stays 0 */
  loom_task_cancel(self, NULL);
  out[5] = loom_task_uncancel(self);     /* 0: the pending request is dropped */
  out[6] = loom_sleep(0.01);             /* so this sleep completes */
  return 0;
}

LOOM_TEST(cancel, uncancel_counts) {
  loom_loop *l = ts_loop(true);
  int out[7];
  loom_future *t = ts_run(l, uncancel_body, out, NULL);
  assert_int_equal(out[0], 2);
  assert_int_equal(out[1], 1);
  LT_RC(out[2], LOOM_ECANCELLED);
  assert_int_equal(out[3], 0);
  assert_int_equal(out[4], 0);
  assert_int_equal(out[5], 0);
  LT_RC(out[6], 0);
  assert_int_equal(loom_task_cancelling(t), 0);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* Cancel arriving when the wait's event already happened (the task is
 * scheduled to resume): the event is kept, the cancellation waits for the
 * next suspension point - nothing is lost. */
typedef struct race {
  loom_future *f, *task;
  int first, second;
} race;

static void complete_then_cancel(void *arg) {
  race *r = arg;
  loom_future_set_result(r->f, (void *)3L, NULL);
  loom_task_cancel(r->task, NULL);
}

static int race_body(loom_future *self, void *arg) {
  race *r = arg;
  r->first = loom_future_wait(r->f, LOOM_FOREVER);
  r->second = loom_yield();
  return 0;
}

LOOM_TEST(cancel, event_and_cancel_both_kept) {
  loom_loop *l = ts_loop(true);
  race r = {0};
  LT_RC(loom_future_create(&r.f), 0);
  LT_RC(loom_task_spawn(l, race_body, &r, NULL, &r.task), 0);
  LT_RC(loom_call_later(l, 0.1, complete_then_cancel, &r, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, r.task), 0);
  LT_RC(r.first, 0);
  LT_RC(r.second, LOOM_ECANCELLED);
  loom_future_release(r.f);
  loom_future_release(r.task);
  loom_loop_destroy(l);
}

LOOM_TEST(cancel, non_task_and_null) {
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  assert_false(loom_task_cancel(f, NULL));
  assert_false(loom_task_cancel(NULL, NULL));
  assert_int_equal(loom_task_cancelling(f), 0);
  assert_int_equal(loom_task_uncancel(f), 0);
  loom_future_release(f);
}
