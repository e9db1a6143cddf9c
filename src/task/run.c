/* run.c - loom_run(): asyncio.run() for C programs.
 *
 * The order matters and follows asyncio.run: the main task first; then the
 * tasks it left behind are cancelled and *awaited* (they may clean up,
 * which can itself await), so nothing is torn down under a running task;
 * only then is the loop closed, which also shuts down its default executor.
 */
#include "loom/loop.h"
#include "loom/run.h"
#include "loom/task.h"

#include "../core/internal.h"

/* Cancel every task of the loop still pending and run the loop until each
 * has finished (they may refuse a cancel; then they run to their end, as in
 * asyncio, whose run() also waits for them). */
static void cancel_leftovers(loom_loop *loop) {
  for (;;) {
    int n = loom_task_all(loop, NULL, 0);
    if (n <= 0) return;
    loom_future **tasks = loom__calloc((size_t)n, sizeof *tasks);
    if (!tasks) return; /* loop close cancels and reports them instead */
    n = loom_task_all(loop, tasks, (size_t)n);
    for (int i = 0; i < n; i++) loom_task_cancel(tasks[i], "loom_run is finishing");
    for (int i = 0; i < n; i++) {
      loom_loop_run_until_complete(loop, tasks[i]);
      loom_future_release(tasks[i]);
    }
    loom__free(tasks);
  }
}

static int outcome(loom_future *main_task, void **result, loom_destructor *dtor) {
  int code = 0;
  const char *msg = NULL;
  if (loom_future_exception(main_task, &code, &msg) < 0) return LOOM_EINVALIDSTATE;
  if (code < 0) return code;
  void *v = NULL;
  loom_destructor d = NULL;
  if (result && loom_future_take_result(main_task, &v, &d) == 0) {
    *result = v;
    if (dtor) *dtor = d;
  }
  return 0;
}

int loom_run(loom_fn fn, void *arg, void **result, loom_destructor *dtor) {
  return loom_run_ex(fn, arg, NULL, result, dtor);
}

int loom_run_ex(loom_fn fn, void *arg, const loom_loop_options *opts, void **result,
                loom_destructor *dtor) {
  if (result) *result = NULL;
  if (dtor) *dtor = NULL;
  if (!fn) return LOOM_EINVAL;
  if (loom_loop_current()) return LOOM_EBUSY;
  loom_loop *loop;
  int rc = loom_loop_create(&loop, opts);
  if (rc < 0) return rc;
  loom_future *main_task = NULL;
  rc = loom_task_spawn(loop, fn, arg, "main", &main_task);
  /* A spawn that returns 0 always gives a task; saying so lets the compiler
   * drop run_until_complete's NULL-future path, which under link-time
   * optimisation it otherwise followed into loom_future_done and warned
   * about (-Wstringop-overflow). */
  if (rc == 0 && main_task) {
    rc = loom_loop_run_until_complete(loop, main_task);
    if (rc == 0 || loom_future_done(main_task)) rc = outcome(main_task, result, dtor);
    cancel_leftovers(loop);
    loom_future_release(main_task);
  }
  loom_loop_close(loop);
  loom_loop_destroy(loop);
  return rc;
}
