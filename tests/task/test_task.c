/* test_task.c - tasks: spawn, results and errors, names, the current task,
 * awaiting tasks and futures, sleep and yield order, done callbacks
 * (semantics of CPython's test_asyncio/test_tasks.py). */
#include <unistd.h>

#include "task_support.h"

/* ---- results, errors, return codes ---------------------------------------- */

static int returns_value(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((long)arg * 2), NULL);
}

LOOM_TEST(task, spawn_and_result) {
  loom_loop *l = ts_loop(false);
  loom_future *t = ts_run(l, returns_value, (void *)21L, "doubler");
  void *v = NULL;
  LT_RC(loom_future_result(t, 0, &v), 0);
  assert_int_equal((long)v, 42);
  assert_true(loom_is_task(t));
  assert_int_equal(loom_future_state_get(t), LOOM_FUTURE_FINISHED);
  loom_future_release(t);
  loom_loop_destroy(l);
}

static int returns_code(loom_future *self, void *arg) { return (int)(long)arg; }

LOOM_TEST(task, return_code_sets_outcome) {
  loom_loop *l = ts_loop(false);
  loom_future *ok = ts_run(l, returns_code, (void *)0L, NULL);
  void *v = (void *)1;
  LT_RC(loom_future_result(ok, 0, &v), 0);
  assert_null(v);
  loom_future *bad = ts_run(l, returns_code, (void *)(long)LOOM_ENOENT, NULL);
  LT_RC(loom_future_result(bad, 0, &v), LOOM_ENOENT);
  loom_future *cx = ts_run(l, returns_code, (void *)(long)LOOM_ECANCELLED, NULL);
  assert_true(loom_future_cancelled(cx));
  loom_future_release(ok);
  loom_future_release(bad);
  loom_future_release(cx);
  loom_loop_destroy(l);
}

static int fails_with_message(loom_future *self, void *arg) {
  return loom_future_set_error(self, LOOM_EINVAL, "bad input %d", 7);
}

LOOM_TEST(task, error_with_message) {
  loom_loop *l = ts_loop(false);
  loom_future *t = ts_run(l, fails_with_message, NULL, NULL);
  const char *msg = NULL;
  LT_RC(loom_future_error(t, 0, &msg), LOOM_EINVAL);
  assert_string_equal(msg, "bad input 7");
  loom_future_release(t);
  loom_loop_destroy(l);
}

LOOM_TEST(task, spawn_rejects_bad_arguments) {
  loom_loop *l = ts_loop(false);
  loom_future *t = (loom_future *)1;
  LT_RC(loom_task_spawn(NULL, returns_code, NULL, NULL, &t), LOOM_EINVAL);
  assert_null(t);
  LT_RC(loom_task_spawn(l, NULL, NULL, NULL, &t), LOOM_EINVAL);
  LT_RC(loom_loop_close(l), 0);
  LT_RC(loom_task_spawn(l, returns_code, NULL, NULL, &t), LOOM_ECLOSED);
  loom_loop_destroy(l);
}

/* ---- names, current task ------------------------------------------------------ */

static loom_future *seen_current;
static int record_current(loom_future *self, void *arg) {
  seen_current = loom_task_current();
  return 0;
}

LOOM_TEST(task, names_and_current) {
  loom_loop *l = ts_loop(false);
  assert_null(loom_task_current());
  loom_future *a = NULL, *b = NULL;
  LT_RC(loom_task_spawn(l, record_current, NULL, NULL, &a), 0);
  LT_RC(loom_task_spawn(l, record_current, NULL, "custom", &b), 0);
  LT_CHECK(strncmp(loom_task_name(a), "Task-", 5) == 0, "name %s", loom_task_name(a));
  assert_string_equal(loom_task_name(b), "custom");
  LT_RC(loom_task_set_name(b, "renamed"), 0);
  assert_string_equal(loom_task_name(b), "renamed");
  LT_RC(loom_loop_run_until_complete(l, b), 0);
  assert_ptr_equal(seen_current, b);
  assert_null(loom_task_current());
  assert_ptr_equal(loom_task_loop(a), l);
  loom_future *plain;
  LT_RC(loom_future_create(&plain), 0);
  assert_false(loom_is_task(plain));
  assert_null(loom_task_name(plain));
  LT_RC(loom_task_set_name(plain, "x"), LOOM_EINVAL);
  loom_future_release(plain);
  ts_until(l, a);
  loom_future_release(a);
  loom_future_release(b);
  loom_loop_destroy(l);
}

/* ---- awaiting ------------------------------------------------------------------ */

static int inner(loom_future *self, void *arg) {
  loom_sleep(0.001);
  return loom_future_set_result(self, (void *)7L, NULL);
}

static int outer(loom_future *self, void *arg) {
  loom_future *in = NULL;
  int rc = loom_task_spawn(loom_task_loop(self), inner, NULL, "inner", &in);
  if (rc < 0) return rc;
  void *v = NULL;
  rc = loom_future_result(in, LOOM_FOREVER, &v); /* suspends only this task */
  loom_future_release(in);
  if (rc < 0) return rc;
  return loom_future_set_result(self, (void *)((long)v + 1), NULL);
}

LOOM_TEST(task, await_another_task) {
  loom_loop *l = ts_loop(false);
  loom_future *t = ts_run(l, outer, NULL, "outer");
  void *v;
  LT_RC(loom_future_result(t, 0, &v), 0);
  assert_int_equal((long)v, 8);
  loom_future_release(t);
  loom_loop_destroy(l);
}

static void complete_later(void *arg) { loom_future_set_result(arg, (void *)5L, NULL); }

static int await_plain(loom_future *self, void *arg) {
  loom_future *f = arg;
  LT_RC(loom_call_later(loom_task_loop(self), 0.01, complete_later, f, NULL), 0);
  void *v;
  int rc = loom_future_result(f, 5.0, &v);
  if (rc < 0) return rc;
  return loom_future_set_result(self, v, NULL);
}

LOOM_TEST(task, await_future_completed_by_callback) {
  loom_loop *l = ts_loop(true);
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  loom_future *t = ts_run(l, await_plain, f, NULL);
  void *v;
  LT_RC(loom_future_result(t, 0, &v), 0);
  assert_int_equal((long)v, 5);
  loom_future_release(t);
  loom_future_release(f);
  loom_loop_destroy(l);
}

static int wait_times_out(loom_future *self, void *arg) {
  loom_future *f = arg;
  double t0 = loom_now();
  int rc = loom_future_wait(f, 0.05);
  double took = loom_now() - t0;
  LT_RC(rc, LOOM_ETIMEDOUT);
  LT_CHECK(took >= 0.049, "a 50 ms timeout took %.4f s", took);
  return 0;
}

LOOM_TEST(task, wait_timeout_in_task) {
  loom_loop *l = ts_loop(false);
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  loom_future *t = ts_run(l, wait_times_out, f, NULL);
  LT_RC(loom_future_result(t, 0, NULL), 0);
  assert_false(loom_future_done(f));
  loom_future_release(t);
  loom_future_release(f);
  loom_loop_destroy(l);
}

/* ---- order: sleep and yield ------------------------------------------------------ */

typedef struct order_log {
  char buf[64];
  int n;
} order_log;

typedef struct sleeper {
  order_log *log;
  char tag;
  double delay;
  int yields;
} sleeper;

static int sleep_then_log(loom_future *self, void *arg) {
  sleeper *s = arg;
  int rc = loom_sleep(s->delay);
  if (rc < 0) return rc;
  s->log->buf[s->log->n++] = s->tag;
  return 0;
}

LOOM_TEST(task, sleeps_finish_in_deadline_order) {
  loom_loop *l = ts_loop(true); /* virtual clock: instant and exact */
  order_log log = {{0}, 0};
  sleeper s[3] = {{&log, 'c', 0.3, 0}, {&log, 'a', 0.1, 0}, {&log, 'b', 0.2, 0}};
  loom_future *t[3];
  for (int i = 0; i < 3; i++) LT_RC(loom_task_spawn(l, sleep_then_log, &s[i], NULL, &t[i]), 0);
  double t0 = loom_loop_time(l);
  LT_RC(loom_loop_run_until_complete(l, t[0]), 0);
  assert_string_equal(log.buf, "abc");
  LT_CHECK(loom_loop_time(l) - t0 >= 0.2999, "virtual time advanced %.3f", loom_loop_time(l) - t0);
  for (int i = 0; i < 3; i++) loom_future_release(t[i]);
  loom_loop_destroy(l);
}

LOOM_TEST(task, real_sleep_lasts_at_least_its_time) {
  loom_loop *l = ts_loop(false);
  order_log log = {{0}, 0};
  sleeper s = {&log, 'x', 0.05, 0};
  double t0 = loom_now();
  loom_future *t = ts_run(l, sleep_then_log, &s, NULL);
  double took = loom_now() - t0;
  LT_CHECK(took >= 0.049, "a 50 ms sleep took %.4f s", took);
  assert_string_equal(log.buf, "x");
  loom_future_release(t);
  loom_loop_destroy(l);
}

static int yield_and_log(loom_future *self, void *arg) {
  sleeper *s = arg;
  for (int i = 0; i < s->yields; i++) {
    s->log->buf[s->log->n++] = s->tag;
    int rc = i % 2 ? loom_yield() : loom_sleep(0);
    if (rc < 0) return rc;
  }
  return 0;
}

LOOM_TEST(task, yield_interleaves_fifo) {
  loom_loop *l = ts_loop(false);
  order_log log = {{0}, 0};
  sleeper a = {&log, 'A', 0, 3}, b = {&log, 'B', 0, 3};
  loom_future *ta, *tb;
  LT_RC(loom_task_spawn(l, yield_and_log, &a, NULL, &ta), 0);
  LT_RC(loom_task_spawn(l, yield_and_log, &b, NULL, &tb), 0);
  LT_RC(loom_loop_run_until_complete(l, tb), 0);
  assert_string_equal(log.buf, "ABABAB");
  assert_true(loom_future_done(ta));
  LT_RC(loom_yield(), LOOM_ENOTASK);
  loom_future_release(ta);
  loom_future_release(tb);
  loom_loop_destroy(l);
}

/* ---- done callbacks ------------------------------------------------------------------ */

static int cb_calls;
static loom_future *cb_seen;
static int on_done(loom_future *f, void *arg) {
  cb_calls++;
  cb_seen = f;
  return 0;
}

LOOM_TEST(task, done_callbacks) {
  loom_loop *l = ts_loop(false);
  cb_calls = 0;
  loom_future *t;
  LT_RC(loom_task_spawn(l, returns_value, (void *)1L, NULL, &t), 0);
  LT_RC(loom_future_add_done_callback(t, on_done, NULL), 0);
  assert_int_equal(cb_calls, 0);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  assert_int_equal(cb_calls, 1);
  assert_ptr_equal(cb_seen, t);
  LT_RC(loom_future_add_done_callback(t, on_done, NULL), 0); /* already done: runs now */
  assert_int_equal(cb_calls, 2);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* ---- all tasks ----------------------------------------------------------------------- */

static int sleep_long(loom_future *self, void *arg) { return loom_sleep(100); }

LOOM_TEST(task, all_tasks_lists_unfinished) {
  loom_loop *l = ts_loop(true);
  loom_future *t[3];
  for (int i = 0; i < 3; i++) LT_RC(loom_task_spawn(l, sleep_long, NULL, NULL, &t[i]), 0);
  loom_future *done = ts_run(l, returns_code, NULL, NULL);
  loom_future *all[8];
  int n = loom_task_all(l, all, 8);
  assert_int_equal(n, 3);
  for (int i = 0; i < n; i++) {
    assert_true(all[i] == t[0] || all[i] == t[1] || all[i] == t[2]);
    loom_future_release(all[i]);
  }
  assert_int_equal(loom_task_all(l, NULL, 0), 3);
  for (int i = 0; i < 3; i++) loom_task_cancel(t[i], NULL);
  for (int i = 0; i < 3; i++) ts_until(l, t[i]);
  assert_int_equal(loom_task_all(l, NULL, 0), 0);
  for (int i = 0; i < 3; i++) {
    assert_true(loom_future_cancelled(t[i]));
    loom_future_release(t[i]);
  }
  loom_future_release(done);
  loom_loop_destroy(l);
}

/* ---- per-task stack size ------------------------------------------------------------- */

static long __attribute__((noinline)) use_stack(int depth) {
  volatile char pad[1024];
  pad[0] = (char)depth;
  if (depth == 0) return 0;
  return use_stack(depth - 1) + 1 + pad[0] - (char)depth;
}

static int deep_task(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)use_stack((int)(long)arg), NULL);
}

LOOM_TEST(task, per_task_and_per_loop_stack_size) {
  loom_loop *l = ts_loop(false);
  LT_RC(loom_task_set_default_stack_size(l, 1024), LOOM_EINVAL);
  LT_RC(loom_task_set_default_stack_size(l, 256 * 1024), 0);
  loom_task_options o = {.name = "big", .stack_size = 4 << 20};
  loom_future *t;
  /* ~1.5 KiB a frame (more under sanitizers): 1000 frames need the 4 MiB. */
  LT_RC(loom_task_spawn_ex(l, deep_task, (void *)1000L, &o, &t), 0);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  void *v;
  LT_RC(loom_future_result(t, 0, &v), 0);
  assert_int_equal((long)v, 1000);
  loom_future_release(t);
  loom_loop_destroy(l);
}

/* ---- fault injection ----------------------------------------------------------- */

static int sweep_child(loom_future *self, void *arg) {
  int rc = loom_sleep(0.001);
  if (rc < 0) return rc;
  return loom_future_set_result(self, (void *)1L, NULL);
}

static int sweep_parent(loom_future *self, void *arg) {
  loom_future *c = NULL;
  int rc = loom_task_spawn_ex(loom_task_loop(self), sweep_child, NULL,
                              &(loom_task_options){.name = "child"}, &c);
  if (rc < 0) return rc;
  rc = loom_future_result(c, 5.0, NULL);
  loom_future_release(c);
  return rc;
}

/* Spawn, nested spawn, sleep, await, finish, close: every allocation and
 * system call failing in turn ends in a clean error, nothing leaked. */
static int sweep_once(void *ctx) {
  loom_loop *l = NULL;
  int rc = loom_loop_create(&l, NULL);
  if (rc < 0) return rc;
  loom_future *t = NULL;
  rc = loom_task_spawn(l, sweep_parent, NULL, "parent", &t);
  if (rc == 0) {
    rc = loom_loop_run_until_complete(l, t);
    if (rc == 0) rc = loom_future_result(t, 0, NULL);
    loom_future_release(t);
  }
  loom_loop_destroy(l);
  return rc > 0 ? 0 : rc;
}

LOOM_TEST_T(task, fault_sweep_spawn_run_close, 120) {
  ts_capture_reports(); /* failed tasks are reported: keep the log quiet */
  int fired = loom_test_fault_sweep(sweep_once, NULL, LOOM_FAULT_ALL, 200);
  ts_restore_reports();
  print_message("    %d fault runs\n", fired);
  LT_CHECK(fired > 3, "only %d runs hit a fault", fired);
}

/* A task cannot await itself (asyncio raises RuntimeError): it would wait
 * forever, so the wait fails at once. */
static int await_self(loom_future *self, void *arg) {
  int *rc = arg;
  rc[0] = loom_future_wait(self, LOOM_FOREVER);
  rc[1] = loom_future_result(self, 1.0, NULL);
  return 0;
}

LOOM_TEST(task, awaiting_itself_is_refused) {
  loom_loop *l = ts_loop(false);
  int rc[2] = {0, 0};
  loom_future *t = ts_run(l, await_self, rc, NULL);
  LT_RC(rc[0], LOOM_EDEADLOCK);
  LT_RC(rc[1], LOOM_EDEADLOCK);
  loom_future_release(t);
  loom_loop_destroy(l);
}

LOOM_TEST(task, describe_like_asyncio_repr) {
  loom_loop *l = ts_loop(false);
  char buf[160];
  loom_future *ok, *bad, *cx;
  LT_RC(loom_task_spawn(l, returns_value, (void *)21L, "ok", &ok), 0);
  LT_RC(loom_task_spawn(l, fails_with_message, NULL, "bad", &bad), 0);
  LT_RC(loom_task_spawn(l, returns_value, NULL, "cx", &cx), 0);
  loom_task_cancel(cx, NULL);
  int n = loom_task_describe(ok, buf, sizeof buf);
  assert_string_equal(buf, "<Task pending name='ok' state=scheduled (not started)>");
  assert_int_equal(n, (int)strlen(buf));
  ts_until(l, ok);
  ts_until(l, bad);
  ts_until(l, cx);
  loom_task_describe(ok, buf, sizeof buf);
  assert_string_equal(buf, "<Task finished name='ok' result=0x2a>");
  loom_task_describe(bad, buf, sizeof buf);
  assert_string_equal(buf, "<Task finished name='bad' error=EINVAL 'bad input 7'>");
  loom_task_describe(cx, buf, sizeof buf);
  assert_string_equal(buf, "<Task cancelled name='cx'>");
  char small[8];
  LT_CHECK(loom_task_describe(ok, small, sizeof small) > 8, "length of the whole text");
  assert_string_equal(small, "<Task f");
  LT_RC(loom_future_error(bad, 0, NULL), LOOM_EINVAL); /* retrieved: no report */
  loom_future *plain;
  LT_RC(loom_future_create(&plain), 0);
  LT_RC(loom_task_describe(plain, buf, sizeof buf), LOOM_EINVAL);
  loom_future_release(plain);
  loom_future_release(ok);
  loom_future_release(bad);
  loom_future_release(cx);
  loom_loop_destroy(l);
}
