/* executor.c - the loop's default executor (asyncio's default executor):
 * what loom_run_in_executor and loom_to_thread use when given none.
 *
 * A user-set executor is borrowed.  Otherwise the loop creates a thread
 * pool on first use and shuts it down (waiting for its jobs) at close, so
 * no worker outlives the loop.
 */
#include "loom/combinators.h"
#include "loom/thread_pool.h"

#include "loop_impl.h"

static void drop_owned(loom_loop *loop) {
  if (!loop->default_ex_owned) return;
  loom_executor_shutdown(loop->default_ex, true, false);
  loom_executor_destroy(loop->default_ex);
  loop->default_ex = NULL;
  loop->default_ex_owned = false;
}

int loom_loop_set_default_executor(loom_loop *loop, loom_executor *ex) {
  if (!loop) return LOOM_EINVAL;
  drop_owned(loop);
  loop->default_ex = ex;
  return 0;
}

int loom__loop_default_executor(loom_loop *loop, loom_executor **out) {
  *out = NULL;
  if (atomic_load(&loop->closed)) return LOOM_ECLOSED;
  if (!loop->default_ex) {
    loom_thread_pool_options o = {.thread_name_prefix = "loom-default"};
    int rc = loom_thread_pool_create(&loop->default_ex, &o);
    if (rc) return rc;
    loop->default_ex_owned = true;
  }
  *out = loop->default_ex;
  return 0;
}

void loom__loop_executor_fini(loom_loop *loop) {
  drop_owned(loop);
  loop->default_ex = NULL;
}
