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

/* ---- map --------------------------------------------------------------- */

/* map: fn over every input item on the executor, results in input order,
 * lazily (like Python's Executor.map).  Every item becomes the `arg` of one
 * call fn(self, item).
 *
 *  - timeout (seconds, LOOM_FOREVER for none) is measured from the map call:
 *    each loom_map_next() waits at most until that deadline.
 *  - chunksize > 1 sends batches of items per job (fewer, larger jobs: what
 *    matters for process pools).  Each item still gets its own future inside
 *    the job, so results and errors stay per item.  The batch's item values
 *    travel as bytes (loom_executor_submit_bytes).  A cancel request on a
 *    batch is seen between items: the items not started end CANCELLED.
 *    On a process pool a chunked map is run by loom_process_pool_map(): the
 *    whole input is submitted at the call (a generator is read to its end),
 *    results are integers or bytes (see loom/process.h), a buffersize is not
 *    supported yet (LOOM_EINVAL) and loom_map_take_result() does not apply.
 *  - buffersize > 0 (Python 3.14) bounds the jobs in flight: buffersize are
 *    submitted at the call and one more each time a result is taken, so an
 *    endless generator is read only as fast as results are consumed.
 *    0 = no bound: the whole input is read and submitted at the call.
 *
 * Errors: if submitting (or the generator) fails at the call, the call
 * returns the error and cancels what it had submitted.  Later (lazy) failures
 * are reported by loom_map_next() at their position in the input, after the
 * results before them, and end the iteration.
 */
typedef struct loom_map loom_map;

typedef struct loom_map_options {
  size_t chunksize;  /* items per job; 0 or 1 = one job per item */
  size_t buffersize; /* jobs in flight (see above); 0 = unbounded */
} loom_map_options;

/* An input generator: store the next item in *item and return 0, return
 * LOOM_ESTOP at the end, or a negative code to stop with that error (it is
 * reported by loom_map_next() at that position).  Called from the thread
 * that calls loom_executor_map_gen() / loom_map_next(). */
typedef int (*loom_map_gen_fn)(void *ctx, void **item);

/* Map fn over items[0..n).  With buffersize == 0 every item is submitted
 * before the call returns and `items` is not used afterwards; with a
 * buffersize the array must stay valid until the iterator is destroyed.
 * opts may be NULL (chunksize 1, unbounded).  *out gets the iterator, to be
 * freed with loom_map_destroy().
 * Returns 0, or
 *   LOOM_EINVAL               NULL ex/fn/out, or items NULL with n > 0
 *   LOOM_ENOMEM               out of memory
 *   LOOM_ESHUTDOWN, LOOM_EBROKEN, ...  a submission failed (see submit) */
int loom_executor_map(loom_executor *ex, loom_fn fn, void *const *items, size_t n,
                      double timeout, const loom_map_options *opts, loom_map **out);

/* Same over a generator (see loom_map_gen_fn); gen_ctx is passed to gen and
 * must stay valid until the iterator is destroyed.  Without a buffersize the
 * generator is run to its end during this call (an endless generator then
 * never returns: use a buffersize).  Returns as loom_executor_map, plus the
 * generator's own negative code if it fails during the call. */
int loom_executor_map_gen(loom_executor *ex, loom_fn fn, loom_map_gen_fn gen,
                          void *gen_ctx, double timeout,
                          const loom_map_options *opts, loom_map **out);

/* The next result, in input order.  *value (may be NULL) gets the item's
 * result, owned by the iterator and valid until the next loom_map_next()
 * or loom_map_destroy() call (copy it, or use loom_map_take_result(), to keep
 * it longer).  Returns:
 *   0                 *value holds the result of the next item
 *   <0 (item error)   that item failed: its own code (LOOM_ECANCELLED if it
 *                     was cancelled); the message is loom_map_message().
 *                     Unlike Python, which raises and ends the iteration, the
 *                     iteration goes on with the following items; destroy the
 *                     iterator to stop (what is not started is cancelled).
 *   LOOM_ETIMEDOUT    the overall deadline passed before the item finished:
 *                     as in Python the map is over: every job not yet
 *                     finished is cancelled (running ones get a cancel
 *                     request) and later calls return LOOM_ETIMEDOUT again
 *   LOOM_ESTOP        every item has been yielded
 *   LOOM_ECANCELLED   the calling task was cancelled while waiting (the
 *                     iterator is unchanged: call again to resume)
 *   a submit error or generator error, at the position where it happened;
 *                     LOOM_ESTOP follows.
 *   LOOM_EINVAL       it is NULL */
int loom_map_next(loom_map *it, void **value);

/* The message of the item error last returned by loom_map_next() (NULL after
 * a success).  Owned by the iterator, valid until the next call. */
const char *loom_map_message(const loom_map *it);

/* The input index of the item last returned by loom_map_next(). */
size_t loom_map_index(const loom_map *it);

/* Take ownership of the result last returned by loom_map_next() (0 only),
 * with its destructor (may be NULL).  Returns 0, LOOM_EINVALIDSTATE (no
 * result to take, or already taken), LOOM_EINVAL. */
int loom_map_take_result(loom_map *it, void **value, loom_destructor *dtor);

/* Destroy the iterator: jobs not started are cancelled, running ones get a
 * cancel request (they are not waited for; shut the executor down to wait).
 * NULL is ignored.  The executor must outlive its map iterators. */
void loom_map_destroy(loom_map *it);

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
