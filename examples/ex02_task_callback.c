/* ex02_task_callback - a task with a done callback (asyncio's
 * task.add_done_callback): the callback prints the task's result when it
 * finishes.  The task is printed before it runs (PENDING), from inside
 * itself (still PENDING: as in asyncio, a task has no RUNNING state, which
 * is what lets it be cancelled while it runs) and after the loop ran it (FINISHED, with its result).
 *
 *   ex02_task_callback [--fail]
 * --fail makes the task fail instead, so the callback shows how an error
 * reaches it (the exit status is then 1).
 *
 * A task's result is a `void *`; here it is a heap string owned by the task
 * (freed with its last reference through the destructor given to
 * loom_future_set_result).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <loom.h>

/* Prints a task the way asyncio's repr does: name, state, outcome. */
static void print_task(const char *when, loom_future *t) {
  loom_future_state s = loom_future_state_get(t);
  printf("%s: <Task name=%s state=%s", when, loom_task_name(t), loom_future_state_name(s));
  int code;
  const char *msg;
  if (s == LOOM_FUTURE_FINISHED && loom_future_exception(t, &code, &msg) == 0) {
    void *v = NULL;
    if (code == 0 && loom_future_result(t, 0, &v) == 0)
      printf(" result=\"%s\"", (const char *)v);
    else
      printf(" error=%s (%s)", loom_err_name(code), msg ? msg : loom_strerror(code));
  }
  printf(">\n");
}

/* The coroutine: yields once (a real suspension point), then produces a
 * string result, or an error with --fail. */
static int my_coroutine(loom_future *self, void *arg) {
  bool fail = *(bool *)arg;
  print_task("inside the task", self);
  int rc = loom_sleep(0.01);
  if (rc) return rc;
  if (fail) return loom_future_set_error(self, LOOM_EFAILED, "the coroutine gave up");
  char *s = strdup("result of my_coroutine");
  if (!s) return LOOM_ENOMEM;
  rc = loom_future_set_result(self, s, free);
  if (rc) free(s);
  return rc;
}

/* The done callback (asyncio's got_result): runs once, when the task is done,
 * on the loop thread. */
static int got_result(loom_future *t, void *arg) {
  int *calls = arg;
  (*calls)++;
  void *v = NULL;
  const char *msg = NULL;
  int rc = loom_future_result(t, 0, &v);
  if (rc == 0) {
    printf("done callback: task %s returned \"%s\"\n", loom_task_name(t), (const char *)v);
  } else {
    loom_future_error(t, 0, &msg);
    printf("done callback: task %s failed: %s\n", loom_task_name(t),
           msg ? msg : loom_strerror(rc));
  }
  return 0;
}

int main(int argc, char **argv) {
  bool fail = argc > 1 && !strcmp(argv[1], "--fail");
  loom_loop *loop;
  loom_future *task;
  int calls = 0, rc = loom_loop_create(&loop, NULL);
  if (rc) return fprintf(stderr, "loop: %s\n", loom_strerror(rc)), 1;
  rc = loom_task_spawn(loop, my_coroutine, &fail, "my_coroutine", &task);
  if (rc == 0) rc = loom_future_add_done_callback(task, got_result, &calls);
  if (rc) {
    fprintf(stderr, "spawn: %s\n", loom_strerror(rc));
    loom_loop_destroy(loop);
    return 1;
  }
  print_task("before the loop runs", task);
  rc = loom_loop_run_until_complete(loop, task);
  print_task("after the loop ran", task);
  printf("the done callback ran %d time(s)\n", calls);
  int outcome = loom_future_error(task, 0, NULL);
  loom_future_release(task);
  loom_loop_destroy(loop);
  return rc || outcome ? 1 : 0;
}
