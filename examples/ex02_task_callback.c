/* ex02_task_callback - a task with a done callback (MISSION.md example 2).
 *
 * A task adds up 1..n after a short sleep; a done callback prints its result
 * when it finishes.  The task is printed before it runs and after, the way
 * asyncio prints a Task (<Task pending ...> / <Task finished ... result=...>).
 *
 *     ex02_task_callback [n]        (default 100)
 */
#include <loom.h>
#include <stdio.h>
#include <stdlib.h>

static int add_up(loom_future *self, void *arg) {
  long n = (long)arg, sum = 0;
  int rc = loom_sleep(0.1); /* pretend to wait for something */
  if (rc < 0) return rc;
  for (long i = 1; i <= n; i++) sum += i;
  return loom_future_set_result(self, (void *)sum, NULL);
}

static int print_result(loom_future *task, void *arg) {
  void *v = NULL;
  int rc = loom_future_result(task, 0, &v);
  if (rc < 0)
    printf("callback: %s failed: %s\n", loom_task_name(task), loom_strerror(rc));
  else
    printf("callback: %s finished, result is %ld\n", loom_task_name(task), (long)v);
  return 0;
}

static void describe(const char *when, loom_future *task) {
  char buf[256];
  loom_task_describe(task, buf, sizeof buf);
  printf("%s: %s\n", when, buf);
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 100;
  loom_loop *loop = NULL;
  int rc = loom_loop_create(&loop, NULL);
  if (rc < 0) {
    fprintf(stderr, "loop: %s\n", loom_strerror(rc));
    return 1;
  }
  loom_future *task = NULL;
  rc = loom_task_spawn(loop, add_up, (void *)n, "add_up", &task);
  if (rc == 0) rc = loom_future_add_done_callback(task, print_result, NULL);
  if (rc < 0) {
    fprintf(stderr, "spawn: %s\n", loom_strerror(rc));
    return 1;
  }
  describe("before", task);
  rc = loom_loop_run_until_complete(loop, task);
  describe("after", task);
  loom_future_release(task);
  loom_loop_destroy(loop);
  return rc < 0;
}
