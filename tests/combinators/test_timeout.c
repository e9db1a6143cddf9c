/* test_timeout.c - timeout scopes (semantics of CPython's
 * test_asyncio/test_timeouts.py) on the virtual clock: expiry, nesting,
 * rescheduling, and outside cancellations that must not be lost. */
#include "../task/task_support.h"

typedef struct tctx {
  loom_loop *l;
  double scope, sleep, inner_scope;
  int rc, inner_rc;
  int cancelling_after;
  double took;
  bool expired;
} tctx;

static int one_scope(loom_future *self, void *arg) {
  tctx *c = arg;
  loom_timeout *t = NULL;
  double t0 = loom_loop_time(c->l);
  int rc = loom_timeout_begin(c->scope, &t);
  if (rc) return rc;
  rc = loom_sleep(c->sleep);
  c->expired = loom_timeout_expired(t);
  c->rc = loom_timeout_end(t, rc);
  c->took = loom_loop_time(c->l) - t0;
  c->cancelling_after = loom_task_cancelling(self);
  return 0;
}

static tctx run(loom_fn fn, tctx c) {
  c.l = ts_loop(true);
  loom_future *t = ts_run(c.l, fn, &c, "scoped");
  LT_RC(loom_future_result(t, 0, NULL), 0);
  loom_future_release(t);
  loom_loop_destroy(c.l);
  return c;
}

LOOM_TEST(timeout, expires) {
  tctx c = run(one_scope, (tctx){.scope = 1.0, .sleep = 10.0});
  LT_RC(c.rc, LOOM_ETIMEDOUT);
  assert_true(c.expired);
  /* Virtual time is exact: the real time the callbacks took does not count. */
  LT_CHECK(c.took > 1.0 - 1e-6 && c.took < 1.0 + 1e-6, "took %.9f", c.took);
  assert_int_equal(c.cancelling_after, 0);
}

LOOM_TEST(timeout, not_reached) {
  tctx c = run(one_scope, (tctx){.scope = 5.0, .sleep = 1.0});
  LT_RC(c.rc, 0);
  assert_false(c.expired);
  assert_true(c.took < 1.01);
  assert_int_equal(c.cancelling_after, 0);
}

LOOM_TEST(timeout, forever_and_not_in_task) {
  tctx c = run(one_scope, (tctx){.scope = LOOM_FOREVER, .sleep = 3600});
  LT_RC(c.rc, 0);
  loom_timeout *t = NULL;
  LT_RC(loom_timeout_begin(1.0, &t), LOOM_ENOTASK);
}

/* Nested: the inner scope expires first; the outer goes on untouched. */
static int nested_inner_first(loom_future *self, void *arg) {
  tctx *c = arg;
  loom_timeout *outer = NULL, *inner = NULL;
  double t0 = loom_loop_time(c->l);
  LT_RC(loom_timeout_begin(c->scope, &outer), 0);
  LT_RC(loom_timeout_begin(c->inner_scope, &inner), 0);
  c->inner_rc = loom_timeout_end(inner, loom_sleep(c->sleep));
  /* Propagate what the inner block gave, else sleep on (the outer scope
   * still allows it). */
  int rc = c->inner_rc == LOOM_ECANCELLED ? c->inner_rc : loom_sleep(0.5);
  c->rc = loom_timeout_end(outer, rc);
  c->took = loom_loop_time(c->l) - t0;
  c->cancelling_after = loom_task_cancelling(self);
  return 0;
}

LOOM_TEST(timeout, nested_inner_expires) {
  tctx c = run(nested_inner_first, (tctx){.scope = 5.0, .inner_scope = 1.0, .sleep = 10});
  LT_RC(c.inner_rc, LOOM_ETIMEDOUT);
  LT_RC(c.rc, 0);
  assert_true(c.took >= 1.5 - 1e-9 && c.took < 1.6);
  assert_int_equal(c.cancelling_after, 0);
}

LOOM_TEST(timeout, nested_outer_expires) {
  /* The outer deadline comes first: the inner scope must hand the
   * cancellation on (LOOM_ECANCELLED), the outer turns it into a timeout. */
  tctx c = run(nested_inner_first, (tctx){.scope = 1.0, .inner_scope = 5.0, .sleep = 10});
  LT_RC(c.inner_rc, LOOM_ECANCELLED);
  LT_RC(c.rc, LOOM_ETIMEDOUT);
  assert_int_equal(c.cancelling_after, 0);
}

/* Outside cancellation at t=1 while the scope would expire at t=2: the
 * cancellation is not the scope's and must come out as LOOM_ECANCELLED. */
static void cancel_task_cb(void *arg) { loom_task_cancel(arg, "outside"); }

static int scope_then_report(loom_future *self, void *arg) {
  tctx *c = arg;
  one_scope(self, c);
  return c->rc;
}

LOOM_TEST(timeout, outside_cancel_not_lost) {
  loom_loop *l = ts_loop(true);
  tctx c = {.l = l, .scope = 2.0, .sleep = 10};
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(l, scope_then_report, &c, "victim", &t), 0);
  LT_RC(loom_call_later(l, 1.0, cancel_task_cb, t, NULL), 0);
  ts_until(l, t);
  LT_RC(c.rc, LOOM_ECANCELLED);
  assert_false(c.expired);
  assert_true(loom_future_cancelled(t));
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* Both at once: the scope expired and an outside cancel came too. */
static void cancel_and_expire(void *arg) { loom_task_cancel(arg, "outside"); }

LOOM_TEST(timeout, expiry_and_outside_cancel_together) {
  loom_loop *l = ts_loop(true);
  tctx c = {.l = l, .scope = 1.0, .sleep = 10};
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(l, scope_then_report, &c, "victim", &t), 0);
  /* Same deadline as the scope, created later: fires right after it. */
  LT_RC(loom_call_later(l, 1.0, cancel_and_expire, t, NULL), 0);
  ts_until(l, t);
  LT_RC(c.rc, LOOM_ECANCELLED);
  assert_true(c.expired);
  loom_future_release(t);
  loom_loop_destroy(l);
}

static int reschedule_fn(loom_future *self, void *arg) {
  tctx *c = arg;
  loom_timeout *t = NULL;
  double t0 = loom_loop_time(c->l);
  LT_RC(loom_timeout_begin(LOOM_FOREVER, &t), 0);
  int rc = loom_sleep(1.0);
  LT_RC(loom_timeout_reschedule(t, 0.5), 0);
  if (!rc) rc = loom_sleep(10);
  c->rc = loom_timeout_end(t, rc);
  c->took = loom_loop_time(c->l) - t0;
  return 0;
}

LOOM_TEST(timeout, reschedule) {
  tctx c = run(reschedule_fn, (tctx){0});
  LT_RC(c.rc, LOOM_ETIMEDOUT);
  assert_true(c.took >= 1.5 - 1e-9 && c.took < 1.6);
}

/* The block finished before the expiry's cancellation was delivered: the
 * result stands, and the request is withdrawn. */
static int busy_past_deadline(loom_future *self, void *arg) {
  tctx *c = arg;
  loom_timeout *t = NULL;
  LT_RC(loom_timeout_begin(0, &t), 0); /* due at once */
  c->rc = loom_timeout_end(t, 0);      /* no await: nothing delivered */
  c->cancelling_after = loom_task_cancelling(self);
  c->inner_rc = loom_sleep(0);         /* and no stray cancellation later */
  return 0;
}
LOOM_TEST(timeout, undelivered_expiry_withdrawn) {
  tctx c = run(busy_past_deadline, (tctx){0});
  LT_RC(c.rc, 0);
  assert_int_equal(c.cancelling_after, 0);
  LT_RC(c.inner_rc, 0);
}
