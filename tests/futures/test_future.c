/* test_future.c - the future state machine, results, errors, callbacks,
 * timeouts (semantics of CPython's test_concurrent_futures/test_future.py). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loom_test.h"

static loom_future *make(void) {
  loom_future *f = NULL;
  LT_RC(loom_future_create(&f), 0);
  return f;
}

LOOM_TEST(future, initial_state) {
  loom_future *f = make();
  assert_true((loom_future_state_get(f)) == (LOOM_FUTURE_PENDING));
  assert_true(!loom_future_done(f));
  assert_true(!loom_future_running(f));
  assert_true(!loom_future_cancelled(f));
  assert_string_equal(loom_future_state_name(loom_future_state_get(f)), "PENDING");
  loom_future_release(f);
}

LOOM_TEST(future, create_rejects_null) { LT_RC(loom_future_create(NULL), LOOM_EINVAL); }

LOOM_TEST(future, result_value_and_destructor) {
  loom_future *f = make();
  char *s = strdup("hello");
  LT_RC(loom_future_set_result(f, s, free), 0);
  assert_true(loom_future_done(f));
  void *v = NULL;
  LT_RC(loom_future_result(f, 0, &v), 0);
  assert_string_equal(v, "hello");
  /* A second set is refused and does not take the value. */
  char *t = strdup("again");
  LT_RC(loom_future_set_result(f, t, free), LOOM_EINVALIDSTATE);
  free(t);
  LT_RC(loom_future_set_error(f, LOOM_EINVAL, "x"), LOOM_EINVALIDSTATE);
  loom_future_release(f); /* frees s through its destructor (ASan checks) */
}

LOOM_TEST(future, bytes_result) {
  loom_future *f = make();
  LT_RC(loom_future_set_result_bytes(f, "abc\0def", 7), 0);
  const void *d;
  size_t n;
  LT_RC(loom_future_result_bytes(f, 0, &d, &n), 0);
  assert_true((n) == (7));
  assert_true((memcmp(d, "abc\0def", 7)) == (0));
  loom_future_release(f);
}

LOOM_TEST(future, take_result_moves_ownership) {
  loom_future *f = make();
  void *v;
  LT_RC(loom_future_take_result(f, &v, NULL), LOOM_EAGAIN);
  LT_RC(loom_future_set_result(f, strdup("mine"), free), 0);
  loom_destructor d = NULL;
  LT_RC(loom_future_take_result(f, &v, &d), 0);
  assert_true((d) == (free));
  LT_RC(loom_future_take_result(f, &v, &d), LOOM_EINVALIDSTATE);
  loom_future_release(f);
  assert_string_equal(v, "mine");
  free(v);
}

LOOM_TEST(future, error_keeps_code_and_message) {
  loom_future *f = make();
  LT_RC(loom_future_set_error(f, LOOM_ENOENT, "no file %s", "x.txt"), LOOM_ENOENT);
  void *v = (void *)1;
  LT_RC(loom_future_result(f, 0, &v), LOOM_ENOENT);
  assert_null(v);
  const char *msg;
  LT_RC(loom_future_error(f, 0, &msg), LOOM_ENOENT);
  assert_string_equal(msg, "no file x.txt");
  int code;
  LT_RC(loom_future_exception(f, &code, &msg), 0);
  assert_true((code) == (LOOM_ENOENT));
  assert_true((loom_future_state_get(f)) == (LOOM_FUTURE_FINISHED));
  loom_future_release(f);
}

LOOM_TEST(future, error_without_message_uses_strerror) {
  loom_future *f = make();
  LT_RC(loom_future_set_error(f, 0, NULL), LOOM_EFAILED);
  const char *msg;
  LT_RC(loom_future_error(f, 0, &msg), LOOM_EFAILED);
  assert_string_equal(msg, loom_strerror(LOOM_EFAILED));
  loom_future_release(f);
}

LOOM_TEST(future, success_has_no_error) {
  loom_future *f = make();
  loom_future_set_result(f, (void *)42, NULL);
  const char *msg = "x";
  LT_RC(loom_future_error(f, 0, &msg), 0);
  assert_null(msg);
  loom_future_release(f);
}

LOOM_TEST(future, cancel_pending) {
  loom_future *f = make();
  assert_true(loom_future_cancel_msg(f, "stop it"));
  assert_true(loom_future_cancelled(f));
  assert_true(loom_future_done(f));
  LT_CHECK(loom_future_cancel(f), "cancelling twice still says true");
  LT_RC(loom_future_result(f, 0, NULL), LOOM_ECANCELLED);
  const char *msg;
  LT_RC(loom_future_error(f, 0, &msg), LOOM_ECANCELLED);
  assert_string_equal(msg, "stop it");
  LT_RC(loom_future_set_result(f, NULL, NULL), LOOM_EINVALIDSTATE);
  assert_true(!loom_future_set_running_or_notify_cancel(f));
  loom_future_release(f);
}

LOOM_TEST(future, cancel_running_sets_token_only) {
  loom_future *f = make();
  assert_true(loom_future_set_running_or_notify_cancel(f));
  assert_true(loom_future_running(f));
  assert_true(!loom_future_cancel_requested(f));
  assert_true(!loom_future_cancel(f));
  assert_true(loom_future_cancel_requested(f));
  assert_true(loom_future_running(f));
  LT_RC(loom_future_set_result(f, (void *)7, NULL), 0);
  LT_CHECK(!loom_future_cancel(f), "finished futures cannot be cancelled");
  void *v;
  LT_RC(loom_future_result(f, 0, &v), 0);
  assert_true(((intptr_t)v) == (7));
  loom_future_release(f);
}

LOOM_TEST(future, result_timeout) {
  loom_future *f = make();
  double t0 = loom_now();
  LT_RC(loom_future_result(f, 0.05, NULL), LOOM_ETIMEDOUT);
  LT_CHECK((loom_now() - t0) >= (0.049), "too small");
  LT_RC(loom_future_error(f, 0, NULL), LOOM_ETIMEDOUT);
  LT_RC(loom_future_wait(f, 0), LOOM_ETIMEDOUT);
  LT_CHECK(!loom_future_done(f), "a timeout does not affect the future");
  loom_future_release(f);
}

static void *later_set(void *arg) {
  usleep(20000);
  loom_future_set_result(arg, (void *)99, NULL);
  return NULL;
}

static void *later_fail(void *arg) {
  usleep(20000);
  loom_future_set_error(arg, LOOM_EPIPE, "broken");
  return NULL;
}

static void *later_cancel(void *arg) {
  usleep(20000);
  loom_future_cancel(arg);
  return NULL;
}

LOOM_TEST(future, result_wakes_blocked_thread) {
  loom_future *f = make();
  pthread_t t;
  pthread_create(&t, NULL, later_set, f);
  void *v;
  LT_RC(loom_future_result(f, 5, &v), 0);
  assert_true(((intptr_t)v) == (99));
  pthread_join(t, NULL);
  loom_future_release(f);
}

LOOM_TEST(future, error_wakes_blocked_thread) {
  loom_future *f = make();
  pthread_t t;
  pthread_create(&t, NULL, later_fail, f);
  const char *msg;
  LT_RC(loom_future_error(f, 5, &msg), LOOM_EPIPE);
  assert_string_equal(msg, "broken");
  pthread_join(t, NULL);
  loom_future_release(f);
}

LOOM_TEST(future, cancel_wakes_blocked_thread) {
  loom_future *f = make();
  pthread_t t;
  pthread_create(&t, NULL, later_cancel, f);
  LT_RC(loom_future_result(f, 5, NULL), LOOM_ECANCELLED);
  pthread_join(t, NULL);
  loom_future_release(f);
}

/* ---- callbacks ---------------------------------------------------------- */

static int cb_tag(loom_future *f, void *arg) {
  (void)f;
  int *slot = arg;
  (*slot)++;
  return 0;
}

static int cb_fails(loom_future *f, void *arg) {
  (void)f;
  (void)arg;
  return LOOM_EINVAL;
}

LOOM_TEST(future, callbacks_run_in_order) {
  loom_future *f = make();
  int calls[3] = {0};
  for (int i = 0; i < 3; i++) LT_RC(loom_future_add_done_callback(f, cb_tag, &calls[i]), 0);
  assert_true((calls[0] + calls[1] + calls[2]) == (0));
  loom_future_set_result(f, NULL, NULL);
  for (int i = 0; i < 3; i++) assert_true((calls[i]) == (1));
  loom_future_release(f);
}

typedef struct {
  int seen[4];
  int n;
} order_log;
static order_log olog;
static int cb_a(loom_future *f, void *arg) { (void)f; olog.seen[olog.n++] = (int)(intptr_t)arg; return 0; }

LOOM_TEST(future, callbacks_registration_order) {
  olog.n = 0;
  loom_future *f = make();
  for (intptr_t i = 1; i <= 4; i++) loom_future_add_done_callback(f, cb_a, (void *)i);
  loom_future_set_result(f, NULL, NULL);
  assert_true((olog.n) == (4));
  for (int i = 0; i < 4; i++) assert_true((olog.seen[i]) == (i + 1));
  loom_future_release(f);
}

LOOM_TEST(future, callback_added_after_done_runs_at_once) {
  loom_future *f = make();
  loom_future_set_result(f, NULL, NULL);
  int calls = 0;
  LT_RC(loom_future_add_done_callback(f, cb_tag, &calls), 0);
  assert_true((calls) == (1));
  loom_future_release(f);
}

static int reports;
static void count_report(void *ctx, const char *line) {
  (void)ctx;
  (void)line;
  reports++;
}

LOOM_TEST(future, failing_callback_does_not_break_others) {
  loom_set_report_handler(count_report, NULL);
  reports = 0;
  loom_future *f = make();
  int before = 0, after = 0;
  loom_future_add_done_callback(f, cb_tag, &before);
  loom_future_add_done_callback(f, cb_fails, NULL);
  loom_future_add_done_callback(f, cb_tag, &after);
  loom_future_set_error(f, LOOM_EINVAL, "x");
  assert_true((before) == (1));
  assert_true((after) == (1));
  LT_CHECK((reports) == (1), "the failing callback is reported");
  loom_future_release(f);
  loom_set_report_handler(NULL, NULL);
}

LOOM_TEST(future, callbacks_run_on_cancel) {
  loom_future *f = make();
  int calls = 0;
  loom_future_add_done_callback(f, cb_tag, &calls);
  loom_future_cancel(f);
  assert_true((calls) == (1));
  loom_future_release(f);
}

LOOM_TEST(future, remove_done_callback) {
  loom_future *f = make();
  int a = 0, b = 0;
  loom_future_add_done_callback(f, cb_tag, &a);
  loom_future_add_done_callback(f, cb_tag, &b);
  loom_future_add_done_callback(f, cb_tag, &a);
  assert_true((loom_future_remove_done_callback(f, cb_tag, &a)) == (2));
  loom_future_set_result(f, NULL, NULL);
  assert_true((a) == (0));
  assert_true((b) == (1));
  loom_future_release(f);
}

static int cb_release(loom_future *f, void *arg) {
  (void)arg;
  loom_future_release(f);
  return 0;
}

LOOM_TEST(future, callback_may_release_last_reference) {
  loom_future *f = make();
  /* The only reference is handed to the callback, which drops it while the
   * future is being completed: completion must not touch freed memory. */
  loom_future_add_done_callback(f, cb_release, NULL);
  loom_future_retain(f);
  loom_future_set_result(f, strdup("x"), free);
  loom_future_release(f);
}

static int fault_create_and_callback(void *ctx) {
  (void)ctx;
  loom_future *f;
  int rc = loom_future_create(&f);
  if (rc < 0) return rc;
  int calls = 0;
  rc = loom_future_add_done_callback(f, cb_tag, &calls);
  if (rc == 0) {
    rc = loom_future_set_error(f, LOOM_EINVAL, "with %s", "message");
    if (rc == LOOM_EINVAL) rc = 0;
    assert_true((calls) == (1));
  }
  loom_future_release(f);
  return rc;
}

LOOM_TEST(future, allocation_faults_are_clean) {
  int faults = loom_test_fault_sweep(fault_create_and_callback, NULL, LOOM_FAULT_ALLOC, 20);
  LT_CHECK((faults) >= (3), "create, callback node and message each failed once");
}

LOOM_TEST(future, strerror_and_names) {
  assert_string_equal(loom_err_name(LOOM_ECANCELLED), "ECANCELLED");
  assert_string_equal(loom_err_name(LOOM_ENOMEM), "ENOMEM");
  assert_string_equal(loom_strerror(LOOM_ESHUTDOWN), "executor or object has been shut down");
  assert_string_equal(loom_strerror(0), "success");
  assert_string_equal(loom_strerror(-99999), "unknown error");
  assert_string_equal(loom_strerror(LOOM_ENOENT), "No such file or directory");
}
