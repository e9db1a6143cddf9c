/* test_taskgroup.c - task groups (semantics of CPython's
 * test_asyncio/test_taskgroups.py) on the virtual clock: waiting for all,
 * first failure cancels siblings and the parent, errors kept, outside
 * cancellation, cancelling the group as a whole, timeouts around groups. */
#include "../task/task_support.h"

typedef struct kid {
  double secs;
  int rc;
  int cancelled;
  double cleanup;   /* seconds of cleanup after a cancellation */
  bool done;
} kid;

static int kid_fn(loom_future *self, void *arg) {
  kid *k = arg;
  int rc = loom_sleep(k->secs);
  if (rc == LOOM_ECANCELLED) {
    k->cancelled++;
    if (k->cleanup > 0) loom_sleep(k->cleanup);
    return LOOM_ECANCELLED;
  }
  k->done = true;
  return k->rc;
}

typedef struct gctx {
  loom_loop *l;
  kid k[4];
  int nk;
  double body_sleep;  /* the parent sleeps this long in its block */
  int body_rc, rc;
  size_t nerr;
  int err_codes[4];
  int cancelling_after;
  double took;
  bool cancel_group_at_body;
  int body_fail;      /* the block fails with this code after one yield */
  int spawn_after_rc, spawn_late_rc;
} gctx;

static void group_cancel_cb(void *arg) { loom_task_group_cancel(arg); }

static int parent_fn(loom_future *self, void *arg) {
  gctx *c = arg;
  loom_task_group *g = NULL;
  double t0 = loom_loop_time(c->l);
  LT_RC(loom_task_group_create(&g), 0);
  for (int i = 0; i < c->nk; i++) LT_RC(loom_task_group_spawn(g, kid_fn, &c->k[i], NULL, NULL), 0);
  if (c->cancel_group_at_body) LT_RC(loom_call_later(c->l, 1.0, group_cancel_cb, g, NULL), 0);
  c->body_rc = c->body_sleep > 0 ? loom_sleep(c->body_sleep) : loom_yield();
  if (c->body_fail && !c->body_rc) c->body_rc = c->body_fail;
  if (c->body_rc == LOOM_ECANCELLED)
    c->spawn_after_rc = loom_task_group_spawn(g, kid_fn, &c->k[0], NULL, NULL);
  c->rc = loom_task_group_wait(g, c->body_rc);
  c->took = loom_loop_time(c->l) - t0;
  c->spawn_late_rc = loom_task_group_spawn(g, kid_fn, &c->k[0], NULL, NULL);
  c->nerr = loom_task_group_error_count(g);
  for (size_t i = 0; i < c->nerr && i < 4; i++) {
    int code = 0;
    loom_future_exception(loom_task_group_error(g, i), &code, NULL);
    c->err_codes[i] = code;
  }
  assert_null(loom_task_group_error(g, c->nerr));
  c->cancelling_after = loom_task_cancelling(self);
  loom_task_group_destroy(g);
  return c->rc;
}

static loom_future *run_parent(gctx *c) {
  c->l = ts_loop(true);
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(c->l, parent_fn, c, "parent", &t), 0);
  ts_until(c->l, t);
  return t;
}

static void finish(gctx *c, loom_future *t) {
  loom_future_exception(t, NULL, NULL);
  loom_future_release(t);
  loom_loop_destroy(c->l);
}

LOOM_TEST(taskgroup, waits_for_all) {
  gctx c = {.nk = 3, .k = {{.secs = 0.3}, {.secs = 0.1}, {.secs = 0.2}}};
  loom_future *t = run_parent(&c);
  LT_RC(c.rc, 0);
  for (int i = 0; i < 3; i++) assert_true(c.k[i].done);
  assert_true(c.took >= 0.3 - 1e-9 && c.took < 0.31);
  assert_int_equal(c.nerr, 0);
  LT_RC(c.spawn_late_rc, LOOM_ECLOSED);
  finish(&c, t);
}

LOOM_TEST(taskgroup, first_failure_cancels_siblings_and_parent) {
  gctx c = {.nk = 3,
            .k = {{.secs = 0.1, .rc = LOOM_ENOENT}, {.secs = 10, .cleanup = 0.2}, {.secs = 20}},
            .body_sleep = 100};
  loom_future *t = run_parent(&c);
  LT_RC(c.body_rc, LOOM_ECANCELLED); /* the parent was woken in its block */
  LT_RC(c.spawn_after_rc, LOOM_EINVALIDSTATE);
  LT_RC(c.rc, LOOM_EFAILED);
  assert_int_equal(c.nerr, 1);
  assert_int_equal(c.err_codes[0], LOOM_ENOENT);
  assert_int_equal(c.k[1].cancelled, 1);
  assert_int_equal(c.k[2].cancelled, 1);
  /* The group waited for the sibling's 0.2 s cleanup. */
  LT_CHECK(c.took >= 0.3 - 1e-9 && c.took < 0.31, "took %.6f", c.took);
  assert_int_equal(c.cancelling_after, 0); /* our request was taken back */
  finish(&c, t);
}

LOOM_TEST(taskgroup, failures_at_once_all_kept) {
  gctx c = {.nk = 3, .k = {{.secs = 0.1, .rc = LOOM_ENOENT}, {.secs = 0.1, .rc = LOOM_EPIPE},
                           {.secs = 5}}};
  loom_future *t = run_parent(&c);
  LT_RC(c.rc, LOOM_EFAILED);
  assert_int_equal(c.nerr, 2);
  assert_true((c.err_codes[0] == LOOM_ENOENT && c.err_codes[1] == LOOM_EPIPE) ||
              (c.err_codes[0] == LOOM_EPIPE && c.err_codes[1] == LOOM_ENOENT));
  assert_int_equal(c.k[2].cancelled, 1);
  finish(&c, t);
}

LOOM_TEST(taskgroup, body_error_cancels_children) {
  /* The block fails: wait(g, error) cancels the children and returns the
   * block's error. */
  gctx c = {.nk = 2, .k = {{.secs = 10}, {.secs = 20}}, .body_fail = LOOM_EPIPE};
  loom_future *t = run_parent(&c);
  LT_RC(c.rc, LOOM_EPIPE);
  assert_int_equal(c.k[0].cancelled, 1);
  assert_int_equal(c.k[1].cancelled, 1);
  assert_int_equal(c.nerr, 0);
  assert_true(c.took < 0.01);
  finish(&c, t);
}

static void cancel_task_cb(void *arg) { loom_task_cancel(arg, "outside"); }

LOOM_TEST(taskgroup, outside_cancel_propagates) {
  gctx c = {.nk = 2, .k = {{.secs = 10}, {.secs = 20}}};
  c.l = ts_loop(true);
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(c.l, parent_fn, &c, "parent", &t), 0);
  LT_RC(loom_call_later(c.l, 1.0, cancel_task_cb, t, NULL), 0);
  ts_until(c.l, t);
  LT_RC(c.rc, LOOM_ECANCELLED);
  assert_int_equal(c.k[0].cancelled, 1);
  assert_int_equal(c.k[1].cancelled, 1);
  assert_true(loom_future_cancelled(t));
  assert_int_equal(c.cancelling_after, 1); /* the outside request stays */
  loom_future_release(t);
  loom_loop_destroy(c.l);
}

LOOM_TEST(taskgroup, cancel_group_as_a_whole) {
  gctx c = {.nk = 2, .k = {{.secs = 10}, {.secs = 20}}, .cancel_group_at_body = true,
            .body_sleep = 50};
  loom_future *t = run_parent(&c);
  LT_RC(c.body_rc, LOOM_ECANCELLED);
  LT_RC(c.rc, LOOM_ECANCELLED);
  assert_int_equal(c.k[0].cancelled, 1);
  assert_int_equal(c.k[1].cancelled, 1);
  assert_int_equal(c.nerr, 0);
  assert_int_equal(c.cancelling_after, 0);
  LT_CHECK(c.took >= 1.0 - 1e-9 && c.took < 1.01, "took %.6f", c.took);
  finish(&c, t);
}

/* A timeout scope around a group: the expiry cancels the parent, the group
 * cancels the children, and the scope reports a timeout. */
typedef struct tg_to {
  loom_loop *l;
  kid k[2];
  int group_rc, rc;
  double took;
} tg_to;

static int group_in_timeout(loom_future *self, void *arg) {
  tg_to *c = arg;
  loom_timeout *to = NULL;
  loom_task_group *g = NULL;
  double t0 = loom_loop_time(c->l);
  LT_RC(loom_timeout_begin(1.0, &to), 0);
  LT_RC(loom_task_group_create(&g), 0);
  for (int i = 0; i < 2; i++) LT_RC(loom_task_group_spawn(g, kid_fn, &c->k[i], NULL, NULL), 0);
  c->group_rc = loom_task_group_wait(g, 0);
  loom_task_group_destroy(g);
  c->rc = loom_timeout_end(to, c->group_rc);
  c->took = loom_loop_time(c->l) - t0;
  return 0;
}

LOOM_TEST(taskgroup, inside_timeout_scope) {
  tg_to c = {.k = {{.secs = 0.5}, {.secs = 30}}};
  c.l = ts_loop(true);
  loom_future *t = ts_run(c.l, group_in_timeout, &c, "timed");
  LT_RC(c.group_rc, LOOM_ECANCELLED);
  LT_RC(c.rc, LOOM_ETIMEDOUT);
  assert_true(c.k[0].done);
  assert_int_equal(c.k[1].cancelled, 1);
  LT_CHECK(c.took >= 1.0 - 1e-9 && c.took < 1.01, "took %.9f", c.took);
  loom_future_release(t);
  loom_loop_destroy(c.l);
}

LOOM_TEST(taskgroup, needs_a_task) {
  loom_task_group *g = (loom_task_group *)1;
  LT_RC(loom_task_group_create(&g), LOOM_ENOTASK);
  assert_null(g);
  loom_task_group_destroy(NULL);
}

/* Children may spawn more children into the group, even while the parent
 * already waits; the group waits for those too. */
typedef struct nest {
  loom_task_group *g;
  int depth, spawned, finished;
} nest;

static int nester(loom_future *self, void *arg) {
  nest *n = arg;
  int rc = loom_sleep(0.1);
  if (rc) return rc;
  if (n->spawned < 7) {
    n->spawned++;
    rc = loom_task_group_spawn(n->g, nester, n, NULL, NULL);
  }
  n->finished++;
  return rc;
}

static int nest_parent(loom_future *self, void *arg) {
  nest *n = arg;
  LT_RC(loom_task_group_create(&n->g), 0);
  n->spawned = 1;
  LT_RC(loom_task_group_spawn(n->g, nester, n, NULL, NULL), 0);
  int rc = loom_task_group_wait(n->g, 0);
  loom_task_group_destroy(n->g);
  return rc;
}

LOOM_TEST(taskgroup, children_spawn_children) {
  loom_loop *l = ts_loop(true);
  nest n = {0};
  double t0 = loom_loop_time(l);
  loom_future *t = ts_run(l, nest_parent, &n, "nest");
  LT_RC(loom_future_result(t, 0, NULL), 0);
  assert_int_equal(n.spawned, 7);
  assert_int_equal(n.finished, 7);
  assert_true(loom_loop_time(l) - t0 >= 0.7 - 1e-9);
  loom_future_release(t);
  loom_loop_destroy(l);
}
