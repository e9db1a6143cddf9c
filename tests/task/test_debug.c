/* test_debug.c - errors are never lost and tasks can be inspected: reports
 * of unretrieved errors and of pending tasks at loop close, the task dump
 * with real call stacks, the stall report naming the task, and a stack
 * overflow in a task naming it (in a child process). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task_support.h"

static int fail_task(loom_future *self, void *arg) {
  return loom_future_set_error(self, LOOM_ENOENT, "lost file %s", "a.txt");
}

LOOM_TEST(debug, unretrieved_error_is_reported) {
  ts_capture_reports();
  loom_loop *l = ts_loop(false);
  loom_future *t = ts_run(l, fail_task, NULL, "careless");
  int before = ts_rep.n;
  loom_future_release(t); /* nobody read the error */
  assert_int_equal(ts_rep.n, before + 1);
  LT_CHECK(strstr(ts_rep.text, "careless") && strstr(ts_rep.text, "lost file a.txt"),
           "report: %s", ts_rep.text);
  /* Reading it (result, error or exception) retrieves it: no report. */
  t = ts_run(l, fail_task, NULL, "careful");
  LT_RC(loom_future_result(t, 0, NULL), LOOM_ENOENT);
  loom_future_release(t);
  /* A fire-and-forget task that fails is reported when it ends. */
  LT_RC(loom_task_spawn(l, fail_task, NULL, "forgotten", NULL), 0);
  loom_future *last = ts_run(l, fail_task, NULL, "last");
  LT_RC(loom_future_exception(last, NULL, NULL), 0);
  loom_future_release(last);
  assert_int_equal(ts_rep.n, before + 2);
  LT_CHECK(strstr(ts_rep.text, "forgotten") != NULL, "report: %s", ts_rep.text);
  loom_loop_destroy(l);
  ts_restore_reports();
}

typedef struct sleeper_state {
  bool cleaned_up;
  int rc;
} sleeper_state;

static int sleep_and_clean(loom_future *self, void *arg) {
  sleeper_state *s = arg;
  s->rc = loom_sleep(1000);
  s->cleaned_up = true;
  return s->rc;
}

static int quick(loom_future *self, void *arg) { return 0; }

LOOM_TEST(debug, close_cancels_pending_tasks) {
  ts_capture_reports();
  loom_loop *l = ts_loop(false);
  sleeper_state s = {false, 0};
  loom_future *sleeper, *never_started;
  LT_RC(loom_task_spawn(l, sleep_and_clean, &s, "sleeper", &sleeper), 0);
  loom_future *q = ts_run(l, quick, NULL, NULL); /* the sleeper starts sleeping */
  LT_RC(loom_task_spawn(l, quick, NULL, "late", &never_started), 0);
  LT_RC(loom_loop_close(l), 0);
  /* The sleeper was woken with a cancellation, cleaned up and ended. */
  assert_true(s.cleaned_up);
  LT_RC(s.rc, LOOM_ECANCELLED);
  assert_true(loom_future_cancelled(sleeper));
  assert_true(loom_future_cancelled(never_started));
  LT_CHECK(strstr(ts_rep.text, "'sleeper' still pending") != NULL, "reports: %s", ts_rep.text);
  assert_int_equal(loom_live_count(LOOM_LIVE_STACKS), 0);
  loom_future_release(sleeper);
  loom_future_release(never_started);
  loom_future_release(q);
  loom_loop_destroy(l);
  ts_restore_reports();
}

/* ---- dump ------------------------------------------------------------------ */

__attribute__((noinline)) int dump_marker_wait(double s);
__attribute__((noinline)) int dump_marker_wait(double s) {
  int rc = loom_sleep(s);
  __asm__ volatile("" ::: "memory"); /* keep the frame (no tail call) */
  return rc;
}

static int dumped(loom_future *self, void *arg) { return dump_marker_wait(50); }

static int awaits_other(loom_future *self, void *arg) {
  return loom_future_wait(arg, LOOM_FOREVER);
}

static int dumper(loom_future *self, void *arg) {
  char **out = arg;
  size_t len;
  loom_sleep(0.01);
  FILE *f = open_memstream(out, &len);
  loom_task_dump(loom_task_loop(self), f);
  fclose(f);
  return 0;
}

LOOM_TEST(debug, dump_shows_names_states_and_stacks) {
  loom_loop *l = ts_loop(true);
  char *text = NULL;
  loom_future *a, *d, *w;
  LT_RC(loom_task_spawn(l, dumped, NULL, "napper", &a), 0);
  LT_RC(loom_task_spawn(l, awaits_other, a, "follower", &w), 0);
  LT_RC(loom_task_spawn(l, dumper, &text, "inspector", &d), 0);
  LT_RC(loom_loop_run_until_complete(l, d), 0);
  assert_non_null(text);
  LT_CHECK(strstr(text, "task 'napper': suspended") != NULL, "%s", text);
  LT_CHECK(strstr(text, "awaits: sleep, ") != NULL, "%s", text);
  LT_CHECK(strstr(text, "task 'follower': suspended\n  awaits: task 'napper', no deadline") != NULL,
           "%s", text);
  LT_CHECK(strstr(text, "dump_marker_wait") != NULL, "%s", text);
  LT_CHECK(strstr(text, "task 'inspector': running") != NULL, "%s", text);
  free(text);
  /* Outside the loop, the same from the outside. */
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_int_equal(loom_task_dump(l, f), 2);
  int frames = loom_task_print_stack(a, f);
  fclose(f);
  LT_CHECK(frames >= 3, "%d frames: %s", frames, buf);
  free(buf);
  loom_task_cancel(a, NULL);
  ts_until(l, a);
  ts_until(l, w);
  LT_RC(loom_future_result(w, 0, NULL), 0); /* its wait ended: a is done */
  loom_future_release(w);
  loom_future_release(a);
  loom_future_release(d);
  loom_loop_destroy(l);
}

/* ---- stall reports ------------------------------------------------------------ */

static int hog(loom_future *self, void *arg) {
  double end = loom_now() + 0.03;
  while (loom_now() < end) {
  }
  return loom_yield();
}

LOOM_TEST(debug, stall_report_names_the_task) {
  ts_capture_reports();
  loom_loop *l = ts_loop(false);
  LT_RC(loom_loop_set_slow_callback_threshold(l, 0.01), 0);
  loom_future *t = ts_run(l, hog, NULL, "hog");
  LT_CHECK(loom_loop_slow_callback_count(l) >= 1, "no slow step seen");
  LT_CHECK(strstr(ts_rep.text, "hog") != NULL, "reports: %s", ts_rep.text);
  loom_future_release(t);
  loom_loop_destroy(l);
  ts_restore_reports();
}

/* ---- stack overflow in a task ------------------------------------------------- */

static volatile long forever_limit = -1;
static long __attribute__((noinline)) forever(long n) {
  volatile char pad[512];
  pad[0] = (char)n;
  if (n == forever_limit) return 0;
  return forever(n + 1) + pad[0];
}

static int overflow_task(loom_future *self, void *arg) { return (int)forever(0); }

static void overflow_child(void *arg) {
  loom_loop *l = NULL;
  if (loom_loop_create(&l, NULL) < 0) _exit(3);
  loom_future *t;
  if (loom_task_spawn(l, overflow_task, NULL, "bottomless", &t) < 0) _exit(3);
  loom_loop_run_until_complete(l, t);
  _exit(4);
}

LOOM_TEST(debug, overflow_in_task_names_it) {
  char err[8192];
  int st = loom_test_run_child(overflow_child, NULL, err, sizeof err);
  LT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "status 0x%x: %s", st, err);
  LT_CHECK(strstr(err, "loom: stack overflow in task 'bottomless' (stack size 131072)"),
           "stderr: %s", err);
}
