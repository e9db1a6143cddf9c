/* test_run.c - loom_run(), asyncio.run(): result and error of the main task,
 * leftover tasks cancelled and awaited, no nested run, clean under faults. */
#include <stdlib.h>
#include <string.h>

#include "loom_test.h"
#include "loom/run.h"

static int returns_string(loom_future *self, void *arg) {
  LT_RC(loom_sleep(0.01), 0);
  return loom_future_set_result(self, strdup(arg), free);
}

LOOM_TEST(run, result_is_moved_to_the_caller) {
  void *v = NULL;
  loom_destructor d = NULL;
  LT_RC(loom_run(returns_string, "hello", &v, &d), 0);
  assert_string_equal(v, "hello");
  assert_true(d == free);
  d(v);
  assert_null(loom_loop_current());
}

LOOM_TEST(run, dropped_result_is_freed) {
  /* ASan's leak check and the live counters catch a lost value. */
  LT_RC(loom_run(returns_string, "dropped", NULL, NULL), 0);
}

static int fails(loom_future *self, void *arg) {
  return loom_future_set_error(self, LOOM_ENOENT, "no %s", "config");
}

LOOM_TEST(run, error_of_main_is_returned) {
  void *v = (void *)1;
  LT_RC(loom_run(fails, NULL, &v, NULL), LOOM_ENOENT);
  assert_null(v);
}

static int cancels_itself(loom_future *self, void *arg) {
  loom_task_cancel(self, "bye");
  return loom_sleep(1.0); /* LOOM_ECANCELLED: the task ends cancelled */
}

LOOM_TEST(run, cancelled_main) { LT_RC(loom_run(cancels_itself, NULL, NULL, NULL), LOOM_ECANCELLED); }

typedef struct leftover {
  int started, cleaned;
} leftover;

static int sleeper(loom_future *self, void *arg) {
  leftover *lo = arg;
  lo->started++;
  int rc = loom_sleep(3600);
  if (rc == LOOM_ECANCELLED && loom_sleep(0.001) == 0) /* cleanup may await */
    lo->cleaned++;
  return rc;
}

/* No assertions inside tasks: this also runs under fault injection, where
 * every call may fail; errors are returned instead. */
static int spawns_and_leaves(loom_future *self, void *arg) {
  for (int i = 0; i < 5; i++) {
    int rc = loom_task_spawn(loom_task_loop(self), sleeper, arg, "leftover", NULL);
    if (rc < 0) return rc;
  }
  return loom_sleep(0.01); /* the sleepers have started */
}

LOOM_TEST(run, leftover_tasks_are_cancelled_and_awaited) {
  leftover lo = {0, 0};
  double t0 = loom_now();
  LT_RC(loom_run(spawns_and_leaves, &lo, NULL, NULL), 0);
  assert_int_equal(lo.started, 5);
  assert_int_equal(lo.cleaned, 5);
  LT_CHECK(loom_now() - t0 < 60, "leftovers were cancelled, not waited out");
}

static int nested(loom_future *self, void *arg) {
  return loom_run(returns_string, "inner", NULL, NULL);
}

LOOM_TEST(run, nested_run_is_refused) { LT_RC(loom_run(nested, NULL, NULL, NULL), LOOM_EBUSY); }

LOOM_TEST(run, null_function) { LT_RC(loom_run(NULL, NULL, NULL, NULL), LOOM_EINVAL); }

static int run_under_fault(void *ctx) {
  leftover lo = {0, 0};
  int rc = loom_run(spawns_and_leaves, &lo, NULL, NULL);
  return rc > 0 ? 0 : rc;
}

LOOM_TEST(run, faults_end_cleanly) {
  int n = loom_test_fault_sweep(run_under_fault, NULL, LOOM_FAULT_ALL, 400);
  LT_CHECK(n > 5, "only %d fault points were reached", n);
}

static int sleeps_an_hour(loom_future *self, void *arg) {
  int rc = loom_sleep(3600);
  return rc < 0 ? rc : loom_future_set_result(self, (void *)7, NULL);
}

LOOM_TEST(run, options_reach_the_loop) {
  /* On the virtual clock an hour of sleep takes no real time. */
  loom_loop_options o = {.virtual_clock = true};
  void *v = NULL;
  double t0 = loom_now();
  LT_RC(loom_run_ex(sleeps_an_hour, NULL, &o, &v, NULL), 0);
  assert_true(v == (void *)7);
  LT_CHECK(loom_now() - t0 < 60, "the hour was virtual");
}
