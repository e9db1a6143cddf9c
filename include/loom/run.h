/* loom/run.h - loom_run(), asyncio.run() in C: the usual entry point of a
 * coroutine program.
 *
 *     static int amain(loom_future *self, void *arg) {
 *       loom_sleep(0.1);
 *       return loom_future_set_result(self, (void *)42, NULL);
 *     }
 *     int main(void) {
 *       void *v;
 *       int rc = loom_run(amain, NULL, &v, NULL);   // rc 0, v == (void *)42
 *     }
 */
#ifndef LOOM_RUN_H
#define LOOM_RUN_H

#include "loom/executor.h"
#include "loom/future.h"
#include "loom/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Create a fresh loop on this thread, run fn(self, arg) as its main task
 * (named "main") until it finishes, then - like asyncio.run - cancel every
 * task still pending and wait for them, shut down the loop's default
 * executor, close and destroy the loop.
 * The main task's result is moved to *result (may be NULL to drop it) and
 * its destructor to *dtor (may be NULL; then the caller must know how to
 * free the value, or the value must not need freeing).  With result NULL the
 * value is freed with its destructor.
 * Returns the main task's outcome: 0, its error code, LOOM_ECANCELLED if it
 * ended cancelled; or LOOM_EINVAL (fn NULL), LOOM_ENOMEM, LOOM_EBUSY (this
 * thread is already running a loop), or the loop's creation error. */
int loom_run(loom_fn fn, void *arg, void **result, loom_destructor *dtor);

/* loom_run with options for the fresh loop (virtual clock, slow-callback
 * threshold...); `opts` may be NULL.  Returns as loom_run. */
int loom_run_ex(loom_fn fn, void *arg, const loom_loop_options *opts, void **result,
                loom_destructor *dtor);

#ifdef __cplusplus
}
#endif
#endif
