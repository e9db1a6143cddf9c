/* loom/combinators.h - asyncio's combinators and structured concurrency:
 * gather, wait_for, shield, timeout scopes, TaskGroup, a bounded task pool,
 * and run_in_executor / to_thread.
 *
 * These run on a loop (loom/loop.h) with tasks (loom/task.h).  Waiting for
 * several futures in the three modes of asyncio.wait is loom_wait()
 * (loom/future.h): called from a task it suspends only the task, and its
 * timeout follows the loop's clock (virtual clock included).
 *
 * Cancellation is never lost: timeout scopes and task groups cancel the
 * current task through loom_task_cancel and take back exactly their own
 * requests with loom_task_uncancel, so an outside cancellation that arrives
 * meanwhile still comes out as LOOM_ECANCELLED.
 *
 * Threads: everything here is for the thread driving the loop (mostly from
 * inside a task), unless said otherwise.
 */
#ifndef LOOM_COMBINATORS_H
#define LOOM_COMBINATORS_H

#include <stdbool.h>
#include <stddef.h>

#include "loom/executor.h"
#include "loom/future.h"
#include "loom/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- gather ------------------------------------------------------------ */

/* Return exceptions (asyncio's return_exceptions=True): a failed or
 * cancelled child does not fail the gather. */
#define LOOM_GATHER_RETURN_EXCEPTIONS 0x1u

/* A future that finishes when all `n` futures (tasks or any loom futures)
 * have finished.  Its result is NULL: read each child's outcome from the
 * child.  Without LOOM_GATHER_RETURN_EXCEPTIONS the gather fails as soon as
 * one child fails (with that child's code and message; a cancelled child
 * gives LOOM_ECANCELLED), and the other children keep running, as in
 * asyncio.  Cancelling the gather (loom_future_cancel) cancels every child
 * not yet done; the gather then ends CANCELLED once they have all finished.
 * n == 0 gives an already finished future.  `loop` may be NULL for the
 * current loop.  The gather holds a reference to each child until it is
 * freed.  *out gets one reference (loom_future_release).  Cancel a gather
 * of tasks from the loop thread (task cancellation is loop-thread only).
 * Children completed by other threads after the loop closed are not
 * followed any more (the gather then stays pending).
 * Returns 0, or LOOM_EINVAL (no loop, out NULL, fs NULL with n > 0, a NULL
 * child), LOOM_ENOMEM. */
int loom_gather(loom_loop *loop, loom_future *const *fs, size_t n, unsigned flags,
                loom_future **out);

/* ---- wait_for and shield ----------------------------------------------- */

/* Wait for f at most `timeout` seconds (LOOM_FOREVER: no limit).  On
 * timeout, f is cancelled and waited for (its cancellation may take time, as
 * in asyncio), then LOOM_ETIMEDOUT is returned - unless f finished anyway,
 * which returns 0.  If the calling task is cancelled meanwhile, f is
 * cancelled and waited for too, and LOOM_ECANCELLED is returned.  On 0, f is
 * done: read its outcome with the future API (f may have failed).
 * Works from a task (suspends the task) and from a plain thread.
 * Returns 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_EINVAL (f NULL). */
int loom_wait_for(loom_future *f, double timeout);

/* A future that mirrors f's outcome, but whose cancellation does not reach
 * f (asyncio.shield).  Result values are shared with f, which the shield
 * keeps alive; a bytes result is copied.  *out gets one reference.
 * Any thread.  Returns 0, or LOOM_EINVAL, LOOM_ENOMEM. */
int loom_shield(loom_future *f, loom_future **out);

/* ---- timeout scopes (asyncio.timeout) ---------------------------------- */

typedef struct loom_timeout loom_timeout;

/* Open a timeout scope over the following awaits of the current task: after
 * `seconds` (loop time), the task is cancelled.  Close it with
 * loom_timeout_end, which turns that cancellation into LOOM_ETIMEDOUT.
 * Scopes nest.  LOOM_FOREVER gives a scope with no deadline (set one later
 * with loom_timeout_reschedule).  *out belongs to the scope: end frees it.
 * Returns 0, or LOOM_ENOTASK (not in a task), LOOM_EINVAL, LOOM_ENOMEM. */
int loom_timeout_begin(double seconds, loom_timeout **out);

/* Same with an absolute loop time (loom_loop_time). */
int loom_timeout_begin_at(double when, loom_timeout **out);

/* Move the deadline to `seconds` from now (LOOM_FOREVER: none).  Returns 0,
 * LOOM_EINVALIDSTATE (the scope already expired), LOOM_EINVAL, LOOM_ENOMEM. */
int loom_timeout_reschedule(loom_timeout *t, double seconds);

/* True once the deadline passed and the scope cancelled its task. */
bool loom_timeout_expired(const loom_timeout *t);

/* Close the scope and free it.  `rc` is the result of the block (what its
 * last await returned, or any code); the return value is rc, except that
 * LOOM_ECANCELLED caused by this scope's expiry becomes LOOM_ETIMEDOUT.  An
 * expiry whose cancellation was not delivered yet is withdrawn.  Scopes must
 * end in reverse order of beginning, in the task that began them. */
int loom_timeout_end(loom_timeout *t, int rc);

/* ---- task groups (asyncio.TaskGroup) ----------------------------------- */

typedef struct loom_task_group loom_task_group;

/* Create a group whose parent is the current task.  *out is freed by
 * loom_task_group_destroy.  Returns 0, LOOM_ENOTASK, LOOM_EINVAL,
 * LOOM_ENOMEM. */
int loom_task_group_create(loom_task_group **out);

/* Spawn a child task in the group (as loom_task_spawn).  `out` may be NULL;
 * else it gets a reference.  Returns 0, or LOOM_ECLOSED (the group finished
 * waiting), LOOM_EINVALIDSTATE (the group is shutting down after a failure or
 * a cancel), LOOM_EINVAL, LOOM_ENOMEM, or what loom_task_spawn returns. */
int loom_task_group_spawn(loom_task_group *g, loom_fn fn, void *arg, const char *name,
                          loom_future **out);

/* Leave the group's block: wait until every child has finished.  `body_rc`
 * is the block's own result: a negative one cancels the children first
 * (LOOM_ECANCELLED included).  The first child failure (an error; not a
 * cancellation) cancels the remaining children and the parent task, so a
 * parent still in its block wakes with LOOM_ECANCELLED; that cancellation is
 * withdrawn here.  Every failed child is kept (loom_task_group_error).
 * Returns 0; LOOM_EFAILED if any child failed; else body_rc if it is an
 * error other than LOOM_ECANCELLED; else LOOM_ECANCELLED if the parent was
 * cancelled from outside or the group was cancelled with
 * loom_task_group_cancel.  Must be called once, by the parent task. */
int loom_task_group_wait(loom_task_group *g, int body_rc);

/* Cancel the group as a whole (from any task of the loop, or a loop
 * callback): every child is cancelled, the parent is woken with
 * LOOM_ECANCELLED if still in its block, and wait returns LOOM_ECANCELLED
 * unless a child failed.  No-op once the group finished. */
void loom_task_group_cancel(loom_task_group *g);

/* Number of children that failed. */
size_t loom_task_group_error_count(const loom_task_group *g);

/* The i-th failed child (in order of failure), borrowed: valid until
 * destroy.  NULL if i is out of range. */
loom_future *loom_task_group_error(const loom_task_group *g, size_t i);

/* Free the group.  If wait was not called, the children are cancelled and
 * waited for first (so call it from the parent task).  NULL is a no-op. */
void loom_task_group_destroy(loom_task_group *g);

/* ---- bounded task pool (the seeds' TaskPool) ---------------------------- */

typedef struct loom_task_pool loom_task_pool;

/* A pool running at most `limit` tasks at once on `loop` (NULL: current).
 * *out is freed by loom_task_pool_destroy.
 * Returns 0, LOOM_EINVAL (limit 0, no loop), LOOM_ENOMEM. */
int loom_task_pool_create(loom_loop *loop, size_t limit, loom_task_pool **out);

/* Spawn fn(self, arg) as a task once fewer than `limit` run; from a task,
 * waits (suspending) for a free slot, first come first served.  `out` may
 * be NULL.  Returns 0, or LOOM_ECANCELLED (the caller was cancelled while
 * waiting), LOOM_EAGAIN (no free slot and the caller is not a task of the
 * loop, so it cannot wait), LOOM_ECLOSED (the pool is being destroyed),
 * LOOM_EINVAL, LOOM_ENOMEM. */
int loom_task_pool_submit(loom_task_pool *p, loom_fn fn, void *arg, const char *name,
                          loom_future **out);

/* Wait until no task of the pool runs and nobody waits for a slot.
 * From a task.  Returns 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED. */
int loom_task_pool_join(loom_task_pool *p, double timeout);

/* Tasks of the pool running now. */
size_t loom_task_pool_in_flight(const loom_task_pool *p);

/* Free the pool: tasks still running are cancelled and waited for (from a
 * task), or must have finished (elsewhere: else they are reported and the
 * pool leaks).  NULL is a no-op. */
void loom_task_pool_destroy(loom_task_pool *p);

/* ---- executors from the loop -------------------------------------------- */

/* Set the loop's default executor (borrowed: it must outlive the loop or be
 * replaced first).  NULL restores the built-in one: a thread pool created on
 * first use and shut down when the loop closes.  Returns 0, LOOM_EINVAL. */
int loom_loop_set_default_executor(loom_loop *loop, loom_executor *ex);

/* Submit fn(self, arg) to `ex` (NULL: the loop's default executor) and hand
 * back its future (*out, one reference).  Awaiting it from a task suspends
 * only the task.  `loop` may be NULL for the current loop.
 * Returns 0, or LOOM_EINVAL, LOOM_ENOMEM, LOOM_ESHUTDOWN, or what the
 * executor's submit returns. */
int loom_run_in_executor(loom_loop *loop, loom_executor *ex, loom_fn fn, void *arg,
                         loom_future **out);

/* From a task: run fn(self, arg) on the loop's default executor and wait for
 * it (asyncio.to_thread).  `job` may be NULL; else *job gets a reference to
 * the job's future (read its result with the future API).  If the task is
 * cancelled while waiting, the job is cancelled (a job already running sees
 * its cancel token, loom_future_cancel_requested) and LOOM_ECANCELLED is
 * returned at once, without waiting for the job.
 * Returns 0, the job's error code, LOOM_ECANCELLED, LOOM_ENOTASK, LOOM_EINVAL,
 * LOOM_ENOMEM. */
int loom_to_thread(loom_fn fn, void *arg, loom_future **job);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_COMBINATORS_H */
