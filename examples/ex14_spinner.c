/* ex14_spinner - an animated |/-\ spinner while a slow function runs
 * (MISSION.md example 14), in two styles:
 *
 *   thread  the spinner runs in a thread and stops when the main thread,
 *           after the slow call, sets an event;
 *   coro    the spinner is a task; the supervisor task awaits the slow
 *           coroutine, then cancels the spinner - the cancellation arrives
 *           in the spinner's sleep, which is its suspension point.
 *
 *     ex14_spinner thread|coro [seconds]      (default 3)
 */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char frames[] = "|/-\\";
static double slow_seconds = 3;

static void draw(int i) {
  printf("\r%c thinking!", frames[i % 4]);
  fflush(stdout);
}

static void clear(void) {
  printf("\r%*s\r", 12, "");
  fflush(stdout);
}

/* ---- threads --------------------------------------------------------------- */

static int spin_thread(loom_future *self, void *arg) {
  loom_event *done = arg;
  for (int i = 0; loom_event_wait(done, 0.1) == LOOM_ETIMEDOUT; i++) draw(i);
  clear();
  return 0;
}

static long slow_blocking(void) {
  loom_sleep(slow_seconds); /* outside a task: blocks this thread */
  return 42;
}

static int run_threads(void) {
  loom_event *done;
  loom_thread *spinner;
  if (loom_event_create(&done) < 0) return 1;
  if (loom_thread_start(&spinner, "spinner", spin_thread, done) < 0) return 1;
  printf("spinner object: thread '%s'\n", loom_thread_name(spinner));
  long result = slow_blocking();
  loom_event_set(done);
  loom_thread_join(spinner, LOOM_FOREVER);
  loom_thread_destroy(spinner);
  loom_event_destroy(done);
  printf("Answer: %ld\n", result);
  return 0;
}

/* ---- coroutines ----------------------------------------------------------------- */

static int spin_task(loom_future *self, void *arg) {
  for (int i = 0;; i++) {
    draw(i);
    if (loom_sleep(0.1) == LOOM_ECANCELLED) break; /* cancelled: stop spinning */
  }
  clear();
  return LOOM_ECANCELLED;
}

static int slow_task(loom_future *self, void *arg) {
  int rc = loom_sleep(slow_seconds); /* suspends this task only: the spinner spins */
  if (rc < 0) return rc;
  return loom_future_set_result(self, (void *)42L, NULL);
}

static int supervisor(loom_future *self, void *arg) {
  loom_loop *loop = loom_task_loop(self);
  loom_future *spinner, *slow;
  int rc = loom_task_spawn(loop, spin_task, NULL, "spinner", &spinner);
  if (rc < 0) return rc;
  char desc[128];
  loom_task_describe(spinner, desc, sizeof desc);
  printf("spinner object: %s\n", desc);
  rc = loom_task_spawn(loop, slow_task, NULL, "slow", &slow);
  void *v = NULL;
  if (rc == 0) rc = loom_future_result(slow, LOOM_FOREVER, &v);
  loom_future_release(slow);
  loom_task_cancel(spinner, NULL);
  loom_future_wait(spinner, LOOM_FOREVER);
  loom_future_release(spinner);
  if (rc < 0) return rc;
  return loom_future_set_result(self, v, NULL);
}

static int run_coro(void) {
  loom_loop *loop;
  loom_future *sup;
  if (loom_loop_create(&loop, NULL) < 0) return 1;
  if (loom_task_spawn(loop, supervisor, NULL, "supervisor", &sup) < 0) return 1;
  loom_loop_run_until_complete(loop, sup);
  void *v = NULL;
  int rc = loom_future_result(sup, 0, &v);
  if (rc == 0) printf("Answer: %ld\n", (long)v);
  loom_future_release(sup);
  loom_loop_destroy(loop);
  return rc < 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || (strcmp(argv[1], "thread") && strcmp(argv[1], "coro"))) {
    fprintf(stderr, "usage: %s thread|coro [seconds]\n", argv[0]);
    return 2;
  }
  if (argc > 2) slow_seconds = atof(argv[2]);
  return strcmp(argv[1], "thread") ? run_coro() : run_threads();
}
