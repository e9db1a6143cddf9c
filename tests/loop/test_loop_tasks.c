/* test_loop_tasks.c - the loop's features seen from tasks: the stall
 * detector names the task that blocked the loop, the virtual clock runs an
 * hour of task sleeps instantly, and a task awaiting a future completed by
 * another thread wakes the sleeping loop. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "../task/task_support.h"

static void spin(double secs) {
  int64_t end = loom_now_ns() + (int64_t)(secs * 1e9);
  while (loom_now_ns() < end) {
  }
}

static int cruncher(loom_future *self, void *arg) {
  loom_yield();
  spin(0.2); /* blocks the loop */
  return 0;
}

static void slow_cb(void *arg) { spin(0.2); }

LOOM_TEST(loop_tasks, stall_detector_names_the_task) {
  loom_loop *l = ts_loop(false);
  LT_RC(loom_loop_set_slow_callback_threshold(l, 0.05), 0);
  ts_capture_reports();
  loom_future *t = ts_run(l, cruncher, NULL, "cruncher");
  loom_future_release(t);
  assert_true(loom_loop_slow_callback_count(l) >= 1); /* more if preempted */
  LT_CHECK(strstr(ts_rep.text, "cruncher") != NULL, "report: %s", ts_rep.text);
  unsigned long before = loom_loop_slow_callback_count(l);
  /* A plain callback afterwards is not blamed on the task. */
  ts_rep.text[0] = 0;
  LT_RC(loom_call_soon(l, slow_cb, NULL, NULL), 0);
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  LT_RC(loom_future_set_result(f, NULL, NULL), 0);
  LT_RC(loom_loop_run_until_complete(l, f), 0);
  loom_future_release(f);
  assert_true(loom_loop_slow_callback_count(l) > before);
  LT_CHECK(strstr(ts_rep.text, "slow callback") && !strstr(ts_rep.text, "cruncher"),
           "report: %s", ts_rep.text);
  ts_restore_reports();
  loom_loop_destroy(l);
}

typedef struct hour {
  double elapsed;
  int rounds;
} hour;

static int sleep_an_hour(loom_future *self, void *arg) {
  hour *h = arg;
  loom_loop *l = loom_task_loop(self);
  double t0 = loom_loop_time(l);
  for (; h->rounds < 60; h->rounds++)
    if (loom_sleep(60.0)) break;
  h->elapsed = loom_loop_time(l) - t0;
  return 0;
}

LOOM_TEST(loop_tasks, virtual_clock_hour_of_sleeps) {
  loom_loop *l = ts_loop(true);
  hour h = {0};
  double real0 = loom_now();
  loom_future *t = ts_run(l, sleep_an_hour, &h, "sleeper");
  assert_int_equal(h.rounds, 60);
  LT_CHECK(h.elapsed >= 3600.0 - 1e-6 && h.elapsed < 3601.0, "virtual %.6f s", h.elapsed);
  LT_CHECK(loom_now() - real0 < 30.0, "real %.3f s", loom_now() - real0);
  loom_future_release(t);
  loom_loop_destroy(l);
}

static void *finish_later(void *arg) {
  usleep(20000);
  loom_future_set_result(arg, (void *)5L, NULL);
  return NULL;
}

static int await_foreign(loom_future *self, void *arg) {
  void *v = NULL;
  int rc = loom_future_result(arg, LOOM_FOREVER, &v);
  return rc ? rc : loom_future_set_result(self, v, NULL);
}

LOOM_TEST(loop_tasks, task_awaits_future_of_other_thread) {
  loom_loop *l = ts_loop(false);
  loom_future *f;
  LT_RC(loom_future_create(&f), 0);
  pthread_t th;
  pthread_create(&th, NULL, finish_later, f);
  loom_future *t = ts_run(l, await_foreign, f, "awaiter");
  void *v;
  LT_RC(loom_future_result(t, 0, &v), 0);
  assert_int_equal((long)v, 5);
  pthread_join(th, NULL);
  loom_future_release(t);
  loom_future_release(f);
  loom_loop_destroy(l);
}
