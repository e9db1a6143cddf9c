/* ex05_wait_first - wait(FIRST_COMPLETED) on two sleepers, then cancel the
 * one still pending (the seeds' "First Completed": sleep(.8) and sleep(.9)).
 *
 *   ex05_wait_first [--scale S] [--virtual]
 * --scale multiplies the sleeps (tests use a small one); --virtual runs the
 * loop on the virtual clock, so it finishes at once with the same output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom.h>

static double scale = 1.0;

static int sleeper(loom_future *self, void *arg) {
  double secs = *(double *)arg * scale;
  printf("Start sleep %.2f s\n", secs);
  int rc = loom_sleep(secs);
  if (rc == LOOM_ECANCELLED) {
    printf("Sleep of %.2f s cancelled\n", secs);
    return rc;
  }
  printf("Stop sleep %.2f s\n", secs);
  return 0;
}

static int main_task(loom_future *self, void *arg) {
  static double secs[2] = {0.8, 0.9};
  loom_loop *loop = loom_task_loop(self);
  loom_future *tasks[2], *done[2], *pending[2];
  size_t n_done = 0, n_pending = 0;
  for (int i = 0; i < 2; i++) {
    int rc = loom_task_spawn(loop, sleeper, &secs[i], NULL, &tasks[i]);
    if (rc) return rc;
  }
  int rc = loom_wait(tasks, 2, LOOM_FOREVER, LOOM_FIRST_COMPLETED, done, &n_done, pending,
                     &n_pending);
  printf("%zu done, %zu pending\n", n_done, n_pending);
  for (size_t i = 0; i < n_pending; i++) loom_future_cancel(pending[i]);
  for (int i = 0; i < 2; i++) { /* let the cancelled one finish cleanly */
    loom_future_wait(tasks[i], LOOM_FOREVER);
    printf("task %s: %s\n", loom_task_name(tasks[i]),
           loom_future_state_name(loom_future_state_get(tasks[i])));
    loom_future_release(tasks[i]);
  }
  return rc;
}

int main(int argc, char **argv) {
  loom_loop_options o = {0};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--scale") && i + 1 < argc) scale = atof(argv[++i]);
    else if (!strcmp(argv[i], "--virtual")) o.virtual_clock = true;
  }
  loom_loop *loop;
  loom_future *t;
  if (loom_loop_create(&loop, &o) || loom_task_spawn(loop, main_task, NULL, "main", &t)) return 1;
  double t0 = loom_loop_time(loop);
  loom_loop_run_until_complete(loop, t);
  int rc = loom_future_result(t, 0, NULL);
  printf("First took %.2fs\n", loom_loop_time(loop) - t0);
  loom_future_release(t);
  loom_loop_destroy(loop);
  return rc ? 1 : 0;
}
