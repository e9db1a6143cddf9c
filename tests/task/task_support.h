/* task_support.h - helpers shared by the task tests: loops, running a task
 * to completion, capturing reports. */
#ifndef LOOM_TESTS_TASK_SUPPORT_H
#define LOOM_TESTS_TASK_SUPPORT_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loom_test.h"

static inline loom_loop *ts_loop(bool virtual_clock) {
  loom_loop_options o = {.virtual_clock = virtual_clock};
  loom_loop *l = NULL;
  LT_RC(loom_loop_create(&l, &o), 0);
  return l;
}

/* Spawn fn(arg) as `name`, run the loop until it is done, return its future
 * (one reference, the caller releases). */
static inline loom_future *ts_run(loom_loop *l, loom_fn fn, void *arg, const char *name) {
  loom_future *t = NULL;
  LT_RC(loom_task_spawn(l, fn, arg, name, &t), 0);
  LT_RC(loom_loop_run_until_complete(l, t), 0);
  assert_true(loom_future_done(t));
  return t;
}

/* Run the loop until f is done (at once if it already is).  The NULL check
 * ends the paths where the optimiser supposes f NULL (from NULL tests in the
 * calls that produced it), which under LTO it otherwise follows into
 * loom_future_done and warns about. */
static inline void ts_until(loom_loop *l, loom_future *f) {
  LT_CHECK(f, "no future to run until");
  if (!loom_future_done(f)) LT_RC(loom_loop_run_until_complete(l, f), 0);
  assert_true(loom_future_done(f));
}

/* Reports captured while a test runs. */
typedef struct ts_reports {
  pthread_mutex_t mu;
  int n;
  char text[8192];
} ts_reports;

static ts_reports ts_rep = {.mu = PTHREAD_MUTEX_INITIALIZER};

static inline void ts_report_fn(void *ctx, const char *line) {
  (void)ctx;
  pthread_mutex_lock(&ts_rep.mu);
  ts_rep.n++;
  size_t len = strlen(ts_rep.text);
  snprintf(ts_rep.text + len, sizeof ts_rep.text - len, "%s\n", line);
  pthread_mutex_unlock(&ts_rep.mu);
}

static inline void ts_capture_reports(void) {
  ts_rep.n = 0;
  ts_rep.text[0] = 0;
  loom_set_report_handler(ts_report_fn, NULL);
}

static inline void ts_restore_reports(void) { loom_set_report_handler(NULL, NULL); }

#endif
