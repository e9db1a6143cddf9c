/* test_gather.c - gather, wait (three modes) from a task, wait_for and
 * shield, on the virtual clock (semantics of CPython's test_tasks.py gather
 * and shield parts, and test_waitfor.py). */
#include "../task/task_support.h"

typedef struct sleeper {
  double secs;
  int rc;          /* returned after the sleep */
  int cleanup;     /* set when the sleeper saw a cancellation */
  double extra;    /* sleep this long during cleanup */
  bool refuse;     /* swallow the cancellation and finish normally */
  double woke_at;
} sleeper;

static int sleeper_fn(loom_future *self, void *arg) {
  sleeper *s = arg;
  int rc = loom_sleep(s->secs);
  if (rc == LOOM_ECANCELLED) {
    s->cleanup++;
    if (s->extra > 0) loom_sleep(s->extra);
    s->woke_at = loom_loop_time(loom_task_loop(self));
    if (s->refuse) return loom_future_set_result(self, (void *)7L, NULL);
    return LOOM_ECANCELLED;
  }
  s->woke_at = loom_loop_time(loom_task_loop(self));
  if (s->rc) return s->rc;
  return loom_future_set_result(self, (void *)(long)(s->secs * 1000), NULL);
}

static loom_future *spawn(loom_loop *l, sleeper *s) {
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(l, sleeper_fn, s, NULL, &t), 0);
  return t;
}

/* ---- gather ---------------------------------------------------------------- */

LOOM_TEST(gather, all_succeed) {
  loom_loop *l = ts_loop(true);
  sleeper s[3] = {{.secs = 0.3}, {.secs = 0.1}, {.secs = 0.2}};
  loom_future *t[3], *g = NULL;
  for (int i = 0; i < 3; i++) t[i] = spawn(l, &s[i]);
  double t0 = loom_loop_time(l);
  LT_RC(loom_gather(l, t, 3, 0, &g), 0);
  ts_until(l, g);
  LT_RC(loom_future_result(g, 0, NULL), 0);
  assert_true(loom_loop_time(l) - t0 >= 0.3 - 1e-9);
  for (int i = 0; i < 3; i++) {
    void *v;
    LT_RC(loom_future_result(t[i], 0, &v), 0);
    assert_int_equal((long)v, (long)(s[i].secs * 1000));
    loom_future_release(t[i]);
  }
  loom_future_release(g);
  loom_loop_destroy(l);
}

LOOM_TEST(gather, empty_and_already_done) {
  loom_loop *l = ts_loop(true);
  loom_future *g = NULL;
  LT_RC(loom_gather(l, NULL, 0, 0, &g), 0);
  assert_true(loom_future_done(g));
  loom_future_release(g);
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  LT_RC(loom_future_set_result(f, NULL, NULL), 0);
  loom_future *two[2] = {f, f}; /* a duplicate is fine */
  LT_RC(loom_gather(l, two, 2, 0, &g), 0);
  ts_until(l, g);
  LT_RC(loom_future_result(g, 0, NULL), 0);
  loom_future_release(g);
  loom_future_release(f);
  LT_RC(loom_gather(l, NULL, 1, 0, &g), LOOM_EINVAL);
  loom_loop_destroy(l);
}

LOOM_TEST(gather, first_failure_fails_gather_others_keep_running) {
  loom_loop *l = ts_loop(true);
  sleeper s[3] = {{.secs = 0.1, .rc = LOOM_ENOENT}, {.secs = 0.5}, {.secs = 0.2, .rc = LOOM_EPIPE}};
  loom_future *t[3], *g = NULL;
  for (int i = 0; i < 3; i++) t[i] = spawn(l, &s[i]);
  LT_RC(loom_gather(l, t, 3, 0, &g), 0);
  ts_until(l, g);
  LT_RC(loom_future_result(g, 0, NULL), LOOM_ENOENT);
  assert_false(loom_future_done(t[1])); /* not cancelled: still running */
  ts_until(l, t[1]);
  LT_RC(loom_future_result(t[1], 0, NULL), 0);
  assert_int_equal(s[1].cleanup, 0);
  ts_until(l, t[2]);
  for (int i = 0; i < 3; i++) loom_future_release(t[i]);
  loom_future_release(g);
  loom_loop_destroy(l);
}

LOOM_TEST(gather, return_exceptions) {
  loom_loop *l = ts_loop(true);
  sleeper s[2] = {{.secs = 0.1, .rc = LOOM_ENOENT}, {.secs = 0.2}};
  loom_future *t[2], *g = NULL;
  for (int i = 0; i < 2; i++) t[i] = spawn(l, &s[i]);
  LT_RC(loom_gather(l, t, 2, LOOM_GATHER_RETURN_EXCEPTIONS, &g), 0);
  ts_until(l, g);
  LT_RC(loom_future_result(g, 0, NULL), 0);
  assert_true(loom_future_done(t[1]));
  int code = 0;
  LT_RC(loom_future_exception(t[0], &code, NULL), 0);
  assert_int_equal(code, LOOM_ENOENT);
  for (int i = 0; i < 2; i++) loom_future_release(t[i]);
  loom_future_release(g);
  loom_loop_destroy(l);
}

static void cancel_cb(void *arg) { loom_future_cancel(arg); }

LOOM_TEST(gather, cancel_gather_cancels_children) {
  loom_loop *l = ts_loop(true);
  sleeper s[2] = {{.secs = 10}, {.secs = 20, .extra = 0.5}};
  loom_future *t[2], *g = NULL;
  for (int i = 0; i < 2; i++) t[i] = spawn(l, &s[i]);
  LT_RC(loom_gather(l, t, 2, 0, &g), 0);
  LT_RC(loom_call_later(l, 1.0, cancel_cb, g, NULL), 0);
  ts_until(l, g);
  assert_true(loom_future_cancelled(g));
  for (int i = 0; i < 2; i++) {
    assert_true(loom_future_cancelled(t[i]));
    assert_int_equal(s[i].cleanup, 1);
  }
  /* The gather ends only after the slow child finished its cleanup. */
  assert_true(loom_loop_time(l) >= s[1].woke_at);
  for (int i = 0; i < 2; i++) loom_future_release(t[i]);
  loom_future_release(g);
  loom_loop_destroy(l);
}

/* ---- wait (asyncio.wait) from a task ------------------------------------------ */

typedef struct waitctx {
  loom_loop *l;
  sleeper s[2];
  size_t n_done, n_pending;
  double took;
} waitctx;

static int wait_first(loom_future *self, void *arg) {
  waitctx *c = arg;
  loom_future *t[2] = {spawn(c->l, &c->s[0]), spawn(c->l, &c->s[1])};
  loom_future *done[2], *pending[2];
  double t0 = loom_loop_time(c->l);
  int rc = loom_wait(t, 2, 5.0, LOOM_FIRST_COMPLETED, done, &c->n_done, pending, &c->n_pending);
  c->took = loom_loop_time(c->l) - t0;
  for (size_t i = 0; i < c->n_pending; i++) loom_future_cancel(pending[i]);
  for (int i = 0; i < 2; i++) {
    loom_future_wait(t[i], LOOM_FOREVER);
    loom_future_release(t[i]);
  }
  return rc;
}

LOOM_TEST(gather, wait_first_completed_in_task) {
  loom_loop *l = ts_loop(true);
  waitctx c = {.l = l, .s = {{.secs = 1.0}, {.secs = 3.0}}};
  loom_future *t = ts_run(l, wait_first, &c, "waiter");
  LT_RC(loom_future_result(t, 0, NULL), 0);
  assert_int_equal(c.n_done, 1);
  assert_int_equal(c.n_pending, 1);
  assert_true(c.took >= 1.0 - 1e-9 && c.took < 2.0);
  assert_int_equal(c.s[1].cleanup, 1);
  loom_future_release(t);
  loom_loop_destroy(l);
}

static int wait_timeout(loom_future *self, void *arg) {
  waitctx *c = arg;
  loom_future *t[2] = {spawn(c->l, &c->s[0]), spawn(c->l, &c->s[1])};
  double t0 = loom_loop_time(c->l);
  int rc = loom_wait(t, 2, 0.5, LOOM_ALL_COMPLETED, NULL, &c->n_done, NULL, &c->n_pending);
  c->took = loom_loop_time(c->l) - t0;
  for (int i = 0; i < 2; i++) {
    loom_future_cancel(t[i]);
    loom_future_wait(t[i], LOOM_FOREVER);
    loom_future_release(t[i]);
  }
  return rc;
}

LOOM_TEST(gather, wait_timeout_in_task) {
  loom_loop *l = ts_loop(true);
  waitctx c = {.l = l, .s = {{.secs = 0.25}, {.secs = 3.0}}};
  loom_future *t = ts_run(l, wait_timeout, &c, "waiter");
  LT_RC(loom_future_result(t, 0, NULL), 0);
  assert_int_equal(c.n_done, 1);
  assert_int_equal(c.n_pending, 1);
  assert_true(c.took >= 0.5 - 1e-9 && c.took < 1.0);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* ---- wait_for ------------------------------------------------------------------ */

typedef struct wf {
  loom_loop *l;
  sleeper inner;
  double timeout;
  int rc;
  double took;
  loom_future *inner_task;
} wf;

static int wait_for_fn(loom_future *self, void *arg) {
  wf *c = arg;
  c->inner_task = spawn(c->l, &c->inner);
  double t0 = loom_loop_time(c->l);
  c->rc = loom_wait_for(c->inner_task, c->timeout);
  c->took = loom_loop_time(c->l) - t0;
  return 0;
}

static wf run_wait_for(sleeper inner, double timeout) {
  loom_loop *l = ts_loop(true);
  wf c = {.l = l, .inner = inner, .timeout = timeout};
  loom_future *t = ts_run(l, wait_for_fn, &c, "wait_for");
  loom_future_release(t);
  assert_true(loom_future_done(c.inner_task));
  loom_future_release(c.inner_task);
  loom_loop_destroy(l);
  return c;
}

LOOM_TEST(wait_for, completes_in_time) {
  wf c = run_wait_for((sleeper){.secs = 0.1}, 1.0);
  LT_RC(c.rc, 0);
  assert_int_equal(c.inner.cleanup, 0);
  assert_true(c.took >= 0.1 - 1e-9 && c.took < 1.0);
}

LOOM_TEST(wait_for, timeout_cancels_and_waits_for_inner) {
  wf c = run_wait_for((sleeper){.secs = 10, .extra = 0.5}, 1.0);
  LT_RC(c.rc, LOOM_ETIMEDOUT);
  assert_int_equal(c.inner.cleanup, 1);
  /* 1 s of timeout plus the inner task's 0.5 s cleanup. */
  LT_CHECK(c.took > 1.5 - 1e-6 && c.took < 1.5 + 1e-6, "took %.9f", c.took);
}

LOOM_TEST(wait_for, inner_refusing_cancellation_gives_result) {
  wf c = run_wait_for((sleeper){.secs = 10, .refuse = true}, 1.0);
  LT_RC(c.rc, 0);
  assert_int_equal(c.inner.cleanup, 1);
}

LOOM_TEST(wait_for, zero_timeout_on_done_future) {
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  LT_RC(loom_future_set_result(f, NULL, NULL), 0);
  LT_RC(loom_wait_for(f, 0), 0);
  loom_future_release(f);
  LT_RC(loom_wait_for(NULL, 0), LOOM_EINVAL);
}

static int outer_wait_for(loom_future *self, void *arg) {
  wf *c = arg;
  c->inner_task = spawn(c->l, &c->inner);
  c->rc = loom_wait_for(c->inner_task, 100.0);
  return c->rc;
}

static void cancel_task_cb(void *arg) { loom_task_cancel(arg, "stop"); }

LOOM_TEST(wait_for, caller_cancelled_cancels_inner) {
  loom_loop *l = ts_loop(true);
  wf c = {.l = l, .inner = {.secs = 50, .extra = 0.25}};
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(l, outer_wait_for, &c, "outer", &t), 0);
  LT_RC(loom_call_later(l, 1.0, cancel_task_cb, t, NULL), 0);
  ts_until(l, t);
  LT_RC(c.rc, LOOM_ECANCELLED);
  assert_true(loom_future_cancelled(t));
  assert_true(loom_future_cancelled(c.inner_task));
  assert_int_equal(c.inner.cleanup, 1);
  loom_future_release(c.inner_task);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* ---- shield ---------------------------------------------------------------------- */

LOOM_TEST(shield, outer_cancel_does_not_reach_inner) {
  loom_loop *l = ts_loop(true);
  sleeper s = {.secs = 1.0};
  loom_future *t = spawn(l, &s), *sh = NULL;
  LT_RC(loom_shield(t, &sh), 0);
  assert_true(loom_future_cancel(sh));
  assert_true(loom_future_cancelled(sh));
  ts_until(l, t);
  void *v;
  LT_RC(loom_future_result(t, 0, &v), 0);
  assert_int_equal((long)v, 1000);
  assert_int_equal(s.cleanup, 0);
  loom_future_release(sh);
  loom_future_release(t);
  loom_loop_destroy(l);
}

LOOM_TEST(shield, mirrors_result_and_error) {
  loom_loop *l = ts_loop(true);
  sleeper ok = {.secs = 0.5}, bad = {.secs = 0.2, .rc = LOOM_EPIPE};
  loom_future *t1 = spawn(l, &ok), *t2 = spawn(l, &bad), *s1, *s2;
  LT_RC(loom_shield(t1, &s1), 0);
  LT_RC(loom_shield(t2, &s2), 0);
  loom_future_release(t1); /* the shield keeps the inner alive */
  ts_until(l, s1);
  ts_until(l, s2);
  void *v;
  LT_RC(loom_future_result(s1, 0, &v), 0);
  assert_int_equal((long)v, 500);
  LT_RC(loom_future_result(s2, 0, &v), LOOM_EPIPE);
  LT_RC(loom_future_result(t2, 0, &v), LOOM_EPIPE);
  loom_future_release(s1);
  loom_future_release(s2);
  loom_future_release(t2);
  loom_loop_destroy(l);
}

/* ---- fault sweep -------------------------------------------------------------- */

static int fault_gather(void *ctx) {
  loom_loop *l = NULL;
  int rc = loom_loop_create(&l, NULL);
  if (rc) return rc;
  loom_future *f[2] = {NULL, NULL}, *g = NULL, *sh = NULL;
  rc = loom_future_create(&f[0]);
  if (!rc) rc = loom_future_create(&f[1]);
  if (!rc) rc = loom_gather(l, f, 2, 0, &g);
  if (!rc) rc = loom_shield(f[0], &sh);
  for (int i = 0; i < 2; i++)
    if (f[i]) loom_future_set_result(f[i], NULL, NULL);
  if (g) rc = loom_loop_run_until_complete(l, g);
  loom_future_release(sh);
  loom_future_release(g);
  loom_future_release(f[0]);
  loom_future_release(f[1]);
  loom_loop_destroy(l);
  return rc;
}

LOOM_TEST(gather, fault_sweep) {
  int faults = loom_test_fault_sweep(fault_gather, NULL, LOOM_FAULT_ALL, 40);
  LT_CHECK(faults >= 4, "only %d runs hit a fault", faults);
}

/* wait_for on a future completed by another thread (real clock). */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct wft {
  loom_future *f;
  int rc_short, rc_long;
  _Atomic bool short_done; /* the 1 ms wait has returned */
} wft;

/* Completes the future only once the task's short wait is over, so that
 * wait timing out does not depend on the task starting within 20 ms (it
 * did not under valgrind or a loaded machine). */
static void *complete_after_short_wait(void *arg) {
  wft *c = arg;
  for (int i = 0; i < 30000 && !atomic_load(&c->short_done); i++) usleep(1000);
  usleep(20000);
  loom_future_set_result(c->f, (void *)3L, NULL);
  return NULL;
}

static int wait_for_thread(loom_future *self, void *arg) {
  wft *c = arg;
  c->rc_short = loom_future_wait(c->f, 0.001); /* plain wait: no cancel */
  atomic_store(&c->short_done, true);
  c->rc_long = loom_wait_for(c->f, 10.0);
  return 0;
}

LOOM_TEST(wait_for, future_of_other_thread) {
  loom_loop *l = ts_loop(false);
  wft c = {0};
  LT_RC(loom_future_create(&c.f), 0);
  pthread_t th;
  pthread_create(&th, NULL, complete_after_short_wait, &c);
  loom_future *t = ts_run(l, wait_for_thread, &c, "wft");
  pthread_join(th, NULL);
  LT_RC(c.rc_short, LOOM_ETIMEDOUT);
  LT_RC(c.rc_long, 0);
  void *v;
  LT_RC(loom_future_result(c.f, 0, &v), 0);
  assert_int_equal((long)v, 3);
  loom_future_release(t);
  loom_future_release(c.f);
  loom_loop_destroy(l);
}

/* as_completed from a task on the virtual clock: yields in finishing order
 * and reports the overall timeout. */
typedef struct acx {
  loom_loop *l;
  sleeper s[3];
  long order[3];
  int n, last_rc;
} acx;

static int as_completed_fn(loom_future *self, void *arg) {
  acx *c = arg;
  loom_future *t[3];
  for (int i = 0; i < 3; i++) t[i] = spawn(c->l, &c->s[i]);
  loom_as_completed *it = NULL;
  int rc = loom_as_completed_create(t, 3, 2.5, &it);
  loom_future *f;
  while (rc == 0 && (rc = loom_as_completed_next(it, &f)) == 0) {
    void *v = NULL;
    loom_future_result(f, 0, &v);
    c->order[c->n++] = (long)v;
  }
  c->last_rc = rc;
  loom_as_completed_destroy(it);
  for (int i = 0; i < 3; i++) {
    loom_future_cancel(t[i]);
    loom_future_wait(t[i], LOOM_FOREVER);
    loom_future_release(t[i]);
  }
  return 0;
}

LOOM_TEST(gather, as_completed_in_task) {
  loom_loop *l = ts_loop(true);
  acx c = {.l = l, .s = {{.secs = 2.0}, {.secs = 9.0}, {.secs = 0.5}}};
  loom_future *t = ts_run(l, as_completed_fn, &c, "as_completed");
  assert_int_equal(c.n, 2);
  assert_int_equal(c.order[0], 500);
  assert_int_equal(c.order[1], 2000);
  LT_RC(c.last_rc, LOOM_ETIMEDOUT);
  assert_int_equal(c.s[1].cleanup, 1);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* gather mixes producers: a task and a thread-pool job. */
static int pool_job(loom_future *self, void *arg) {
  usleep(10000);
  return loom_future_set_result(self, (void *)99L, NULL);
}

LOOM_TEST(gather, task_and_pool_job) {
  loom_loop *l = ts_loop(false);
  loom_executor *ex = NULL;
  LT_RC(loom_thread_pool_create(&ex, NULL), 0);
  sleeper s = {.secs = 0.02};
  loom_future *fs[2] = {spawn(l, &s), NULL}, *g = NULL;
  LT_RC(loom_executor_submit(ex, pool_job, NULL, &fs[1]), 0);
  LT_RC(loom_gather(l, fs, 2, 0, &g), 0);
  ts_until(l, g);
  LT_RC(loom_future_result(g, 0, NULL), 0);
  void *v;
  LT_RC(loom_future_result(fs[1], 0, &v), 0);
  assert_int_equal((long)v, 99);
  LT_RC(loom_future_result(fs[0], 0, &v), 0);
  assert_int_equal((long)v, 20);
  loom_future_release(g);
  loom_future_release(fs[0]);
  loom_future_release(fs[1]);
  loom_loop_destroy(l);
  loom_executor_destroy(ex);
}
