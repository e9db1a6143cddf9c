/* loom/executor.h - the executor interface every backend implements.
 *
 * An executor runs callables somewhere else (a thread pool, a process pool, a
 * remote worker) and hands back a loom_future for each.  All backends share
 * this interface, like Python's concurrent.futures.Executor: submit, map,
 * shutdown.  A backend is created by its own constructor
 * (loom_thread_pool_create, loom_process_pool_create, ...) and is used and
 * destroyed through these functions.
 *
 * The callable:  int fn(loom_future *self, void *arg)
 *   - `arg` is what was submitted (for submit_bytes: a private copy of the
 *     bytes, valid during the call, its size from loom_future_arg_size(self)).
 *   - It finishes `self` with loom_future_set_result[_bytes]() or
 *     loom_future_set_error(), or simply returns: a negative return fails the
 *     future with that code, 0 without a result gives a NULL result.
 *   - It may poll loom_future_cancel_requested(self) and stop early: returning
 *     LOOM_ECANCELLED after a cancel request ends the future as CANCELLED.
 * Process-pool backends run the callable in another process of the same
 * binary: pointer arguments cross as plain integers, bytes cross as bytes.
 */
#ifndef LOOM_EXECUTOR_H
#define LOOM_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_executor loom_executor;

typedef int (*loom_fn)(loom_future *self, void *arg);

/* Schedule fn(arg). *out gets a reference to its future.
 * Returns 0, LOOM_EINVAL, LOOM_ENOMEM, LOOM_ESHUTDOWN (after shutdown),
 * LOOM_EBROKEN (a broken pool: failed initializer, dead workers...). */
int loom_executor_submit(loom_executor *ex, loom_fn fn, void *arg,
                         loom_future **out);

/* Schedule fn on a copy of `len` bytes of `data` (the caller keeps `data`).
 * Same returns as loom_executor_submit. */
int loom_executor_submit_bytes(loom_executor *ex, loom_fn fn, const void *data,
                               size_t len, loom_future **out);

/* Shut down: no new submissions (they get LOOM_ESHUTDOWN).  With
 * cancel_futures, every job not yet started is cancelled.  With wait, block
 * until all running and remaining jobs are done and the workers are gone.
 * Idempotent.  Returns 0, or LOOM_EDEADLOCK if called with wait from one of
 * the executor's own workers. */
int loom_executor_shutdown(loom_executor *ex, bool wait, bool cancel_futures);

/* Shut down with wait (never cancelling) and free the executor.  Futures
 * handed out stay valid (they are reference counted).  NULL is ignored. */
void loom_executor_destroy(loom_executor *ex);

/* The backend's name: "thread_pool", "process_pool", ... (static string). */
const char *loom_executor_kind(const loom_executor *ex);

/* Number of workers the executor may use at most. */
int loom_executor_max_workers(const loom_executor *ex);

/* Scoped use, like Python's `with Executor() as ex:` — the executor is
 * destroyed (shutdown with wait) when the variable goes out of scope,
 * whatever path leaves the block:
 *     LOOM_EXECUTOR_SCOPED loom_executor *ex = NULL;
 *     if (loom_thread_pool_create(&ex, NULL) < 0) return -1;
 */
void loom_executor__scope_cleanup(loom_executor **ex);
#define LOOM_EXECUTOR_SCOPED __attribute__((cleanup(loom_executor__scope_cleanup)))

#ifdef __cplusplus
}
#endif
#endif /* LOOM_EXECUTOR_H */
