/* loom/future.h - the one future type of the whole library.
 *
 * A loom_future is the eventual outcome of some work: a thread-pool job, a
 * process-pool job, a coroutine task, a network operation.  It follows
 * Python's concurrent.futures.Future:
 *
 *     PENDING --(set_running_or_notify_cancel)--> RUNNING --> FINISHED
 *        |                                           |
 *        +--(cancel)--> CANCELLED      (cooperative cancel request, see below)
 *
 * A plain thread blocks on a future with a timeout; a coroutine task calling
 * the same functions suspends only itself (the wait is pluggable: a waiter is
 * a blocked thread or a parked task).  Futures from any producer mix freely in
 * loom_wait() and loom_as_completed().
 *
 * Ownership: futures are reference counted.  Every function that hands out a
 * future (create, submit, ...) gives the caller one reference, which the
 * caller drops with loom_future_release().  A result value belongs to the
 * future: its destructor (if any) runs when the last reference goes, unless a
 * caller took it with loom_future_take_result().  Error messages belong to the
 * future too and stay valid as long as the caller holds a reference.
 *
 * Thread safety: every function may be called from any thread, concurrently.
 */
#ifndef LOOM_FUTURE_H
#define LOOM_FUTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_future loom_future;

/* Frees a result value. */
typedef void (*loom_destructor)(void *value);

/* A done callback. It runs exactly once, in the thread that completes the
 * future (or at once, in the caller's thread, if the future is already done).
 * Return 0, or a negative code to signal that the callback failed: the failure
 * is reported (see loom/debug.h) and the remaining callbacks still run. */
typedef int (*loom_done_fn)(loom_future *f, void *arg);

typedef enum loom_future_state {
  LOOM_FUTURE_PENDING,
  LOOM_FUTURE_RUNNING,
  LOOM_FUTURE_FINISHED, /* with a result or an error */
  LOOM_FUTURE_CANCELLED
} loom_future_state;

/* ---- life cycle -------------------------------------------------------- */

/* Create a pending future. *out gets one reference.
 * Returns 0, or LOOM_EINVAL (out is NULL), LOOM_ENOMEM. */
int loom_future_create(loom_future **out);

/* Add a reference. Returns f, for chaining. */
loom_future *loom_future_retain(loom_future *f);

/* Drop a reference; the last one frees the future, its result (through its
 * destructor) and its error message.  NULL is ignored. */
void loom_future_release(loom_future *f);

/* ---- state queries (never block) -------------------------------------- */

loom_future_state loom_future_state_get(const loom_future *f);
const char *loom_future_state_name(loom_future_state s); /* static string */
bool loom_future_done(const loom_future *f);       /* finished or cancelled */
bool loom_future_cancelled(const loom_future *f);
bool loom_future_running(const loom_future *f);

/* ---- producer side ----------------------------------------------------- */

/* Finish with a result.  `value` is owned by the future from now on and is
 * freed with `dtor` (may be NULL for plain values and integers cast to
 * pointers).  Returns 0, or LOOM_EINVALIDSTATE if the future is already done
 * (then `value` is NOT taken: the caller still owns it). */
int loom_future_set_result(loom_future *f, void *value, loom_destructor dtor);

/* Finish with a copy of `len` bytes (NUL-terminated for convenience; the
 * terminator is not counted).  Returns 0, LOOM_EINVALIDSTATE, LOOM_ENOMEM. */
int loom_future_set_result_bytes(loom_future *f, const void *data, size_t len);

/* Finish with an error: a negative code and an optional printf-style message.
 * A failed future keeps both for as long as it lives (C's exception).
 * Returns `code` when the future took it (so a job can write
 * `return loom_future_set_error(self, LOOM_EINVAL, "bad %d", x);`), or
 * LOOM_EINVALIDSTATE if the future was already done.  A code >= 0 is
 * replaced by LOOM_EFAILED.  If the message cannot be allocated the code is
 * still recorded (the message then reads as loom_strerror(code)). */
int loom_future_set_error(loom_future *f, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For executors: move PENDING to RUNNING and return true, or return false if
 * the future was cancelled (its waiters were already told at cancel time).
 * Any other state is a bug in the caller: returns false and reports it. */
bool loom_future_set_running_or_notify_cancel(loom_future *f);

/* ---- consumer side ----------------------------------------------------- */

/* Cancel: a PENDING future becomes CANCELLED at once (waiters and callbacks
 * run) and true is returned; an already cancelled one returns true.  A
 * RUNNING future cannot be cancelled outright: the request is recorded as a
 * cancel token the work can poll (loom_future_cancel_requested) and false is
 * returned.  FINISHED returns false.  Futures whose producer defines its own
 * cancellation (coroutine tasks) follow the producer's rules, documented with
 * that producer. */
bool loom_future_cancel(loom_future *f);

/* Same, with a message kept on the cancelled future (NULL for none). */
bool loom_future_cancel_msg(loom_future *f, const char *msg);

/* The cancel token: true once someone asked to cancel this future, whatever
 * its state.  Long-running work polls it and stops early. */
bool loom_future_cancel_requested(const loom_future *f);

/* Wait until done. timeout in seconds, LOOM_FOREVER for no limit.
 * Returns 0 when done, LOOM_ETIMEDOUT if not done in time, or
 * LOOM_ECANCELLED if the *waiting task* was cancelled while suspended, or
 * LOOM_EDEADLOCK if a task waits for its own future (result, error and
 * result_bytes return it too). */
int loom_future_wait(loom_future *f, double timeout);

/* Wait, then fetch the result.
 * Returns 0 and stores the value in *value (may be NULL to ignore; the value
 * stays owned by the future and valid while the caller holds a reference);
 * or the future's error code if it failed; LOOM_ECANCELLED if it was
 * cancelled; LOOM_ETIMEDOUT if it is not done in time (the future is not
 * affected).  A stored error can itself be LOOM_ETIMEDOUT: use
 * loom_future_done() to tell the two apart. */
int loom_future_result(loom_future *f, double timeout, void **value);

/* Like loom_future_result, but also gives the size of a bytes result
 * (set_result_bytes); 0 for pointer results. */
int loom_future_result_bytes(loom_future *f, double timeout,
                             const void **data, size_t *len);

/* Take ownership of a finished future's result: *value gets it and the
 * future will no longer destroy it.  Only one caller can take it; later
 * calls return LOOM_EINVALIDSTATE.  Does not wait: LOOM_EAGAIN if not done. */
int loom_future_take_result(loom_future *f, void **value, loom_destructor *dtor);

/* Wait, then fetch the error.  Returns LOOM_ETIMEDOUT if not done in time.
 * Otherwise returns the stored error code (0 if the future succeeded,
 * LOOM_ECANCELLED if it was cancelled) and, if msg is non-NULL, stores the
 * message (or NULL when there is none) owned by the future. */
int loom_future_error(loom_future *f, double timeout, const char **msg);

/* Non-blocking view of a done future's error: code (0 for success) and
 * message.  Returns LOOM_EAGAIN if the future is not done. */
int loom_future_exception(const loom_future *f, int *code, const char **msg);

/* Register a callback, run once when the future is done, in registration
 * order.  If the future is already done it runs now, in this thread.
 * Returns 0, or LOOM_ENOMEM (the callback is then not registered). */
int loom_future_add_done_callback(loom_future *f, loom_done_fn fn, void *arg);

/* Remove every registration of (fn, arg) not yet run. Returns how many. */
int loom_future_remove_done_callback(loom_future *f, loom_done_fn fn, void *arg);

/* For executor jobs: the size of the argument submitted with
 * loom_executor_submit_bytes(), 0 for pointer arguments. */
size_t loom_future_arg_size(const loom_future *f);

/* A label for diagnostics (task name, job function). May be NULL.
 * The string is owned by the future. */
const char *loom_future_label(const loom_future *f);

/* ---- waiting on many futures ------------------------------------------- */

typedef enum loom_wait_mode {
  LOOM_FIRST_COMPLETED,
  LOOM_FIRST_EXCEPTION, /* first failure; a cancelled future is not a failure */
  LOOM_ALL_COMPLETED
} loom_wait_mode;

/* Wait on `n` futures until `mode` is satisfied or `timeout` passes.
 * The input may contain duplicates and NULLs are rejected; like Python, the
 * result sets contain each distinct future once, in order of first
 * appearance.  `done` and `not_done` (each may be NULL) must have room for n
 * entries; *n_done and *n_not_done (may be NULL) get the counts.  The
 * pointers are borrowed from the input (no references are added).
 * Returns 0 (a timeout is not an error: it shows as a non-empty not_done set,
 * as in Python), LOOM_EINVAL, LOOM_ENOMEM, or LOOM_ECANCELLED if the waiting
 * task was cancelled.  Cost: O(n) per call, however many futures finish. */
int loom_wait(loom_future *const *fs, size_t n, double timeout,
              loom_wait_mode mode, loom_future **done, size_t *n_done,
              loom_future **not_done, size_t *n_not_done);

/* as_completed: an iterator that yields each distinct future once, as it
 * finishes (those already done first, in input order). */
typedef struct loom_as_completed loom_as_completed;

/* Create the iterator; the deadline starts now.  The iterator holds its own
 * references to the futures.  Returns 0, LOOM_EINVAL, LOOM_ENOMEM. */
int loom_as_completed_create(loom_future *const *fs, size_t n, double timeout,
                             loom_as_completed **out);

/* Next finished future in *out (borrowed: valid while the iterator lives;
 * retain it to keep it longer).  Returns 0, LOOM_ESTOP when every future has
 * been yielded, LOOM_ETIMEDOUT when the overall timeout passed with futures
 * still pending (they stay pending; later calls keep returning
 * LOOM_ETIMEDOUT), or LOOM_ECANCELLED if the waiting task was cancelled. */
int loom_as_completed_next(loom_as_completed *it, loom_future **out);

/* How many distinct futures have not been yielded yet. */
size_t loom_as_completed_remaining(const loom_as_completed *it);

/* Destroy the iterator and drop its references. NULL is ignored. */
void loom_as_completed_destroy(loom_as_completed *it);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_FUTURE_H */
