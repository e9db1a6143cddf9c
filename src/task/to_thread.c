/* to_thread.c - run blocking work on an executor from the loop
 * (asyncio's run_in_executor and to_thread).
 *
 * The job's future is an ordinary loom future completed by a worker thread;
 * a task waiting on it parks and is resumed through the loop's thread-safe
 * wake-up.  Cancelling the waiting task cancels the job: a queued job never
 * runs, a running one sees its cancel token.
 */
#include "loom/combinators.h"
#include "loom/task.h"

#include "../core/internal.h"
#include "../loop/loop_internal.h"

int loom_run_in_executor(loom_loop *loop, loom_executor *ex, loom_fn fn, void *arg,
                         loom_future **out) {
  if (out) *out = NULL;
  if (!loop) loop = loom_loop_current();
  if (!fn || !out || (!loop && !ex)) return LOOM_EINVAL;
  if (!ex) {
    int rc = loom__loop_default_executor(loop, &ex);
    if (rc) return rc;
  }
  return loom_executor_submit(ex, fn, arg, out);
}

int loom_to_thread(loom_fn fn, void *arg, loom_future **job) {
  if (job) *job = NULL;
  if (!fn) return LOOM_EINVAL;
  loom_future *self = loom_task_current();
  if (!self) return LOOM_ENOTASK;
  loom_future *f = NULL;
  int rc = loom_run_in_executor(loom_task_loop(self), NULL, fn, arg, &f);
  if (rc) return rc;
  rc = loom_future_wait(f, LOOM_FOREVER);
  if (rc == LOOM_ECANCELLED) loom_future_cancel(f); /* sets the job's cancel token */
  else if (rc == 0 && loom_future_cancelled(f)) rc = LOOM_ECANCELLED;
  else if (rc == 0) {
    const char *msg = NULL;
    loom_future_exception(f, &rc, &msg);
  }
  if (job) *job = f;
  else loom_future_release(f);
  return rc;
}
