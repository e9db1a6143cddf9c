/* loom/thread.h - threads that return a value through a loom_future
 * (Python's threading.Thread, plus the result Python threads lack).
 *
 * A thread runs the executor callable type, int fn(loom_future *self,
 * void *arg) (see loom/executor.h): it finishes `self` with
 * loom_future_set_result()/set_error(), or returns 0 (NULL result) or a
 * negative code (an error).  The thread's future is RUNNING from the start,
 * so loom_future_cancel() only records a cancel request that fn may poll with
 * loom_future_cancel_requested(self).  The future mixes freely with every
 * other loom future in loom_wait() and loom_as_completed(), and a coroutine
 * task can await it (or join the thread) without blocking its loop.
 *
 * Ownership: loom_thread_start() gives the caller a handle, freed with
 * loom_thread_destroy(); the future belongs to the handle (retain it to keep
 * it longer).  A thread counts in LOOM_LIVE_THREADS until it is joined, or
 * until it has exited after loom_thread_destroy() detached it.
 */
#ifndef LOOM_THREAD_H
#define LOOM_THREAD_H

#include <stdbool.h>
#include <stdint.h>

#include "executor.h" /* loom_fn */
#include "future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_thread loom_thread;

/* Start fn(self, arg) in a new thread called `name` (copied; NULL gives
 * "Thread-N" as in Python; the OS-level name is cut to 15 bytes).
 * *out gets the handle.  Returns 0, LOOM_EINVAL (out or fn NULL),
 * LOOM_ENOMEM, LOOM_EAGAIN (no more threads: pthread_create failed). */
int loom_thread_start(loom_thread **out, const char *name, loom_fn fn, void *arg);

/* The thread's result (borrowed: valid while the handle lives, or longer if
 * retained).  Done when fn has returned. */
loom_future *loom_thread_future(loom_thread *t);

/* Wait up to `timeout` seconds for the thread to end, then reap it.  Joining
 * an already joined thread returns 0 at once.
 * Returns 0, LOOM_ETIMEDOUT (still running; join again later),
 * LOOM_EDEADLOCK (a thread joining itself), LOOM_ECANCELLED (the waiting
 * task was cancelled), LOOM_EINVAL. */
int loom_thread_join(loom_thread *t, double timeout);

/* True from start until fn has returned and its done callbacks have run. */
bool loom_thread_is_alive(const loom_thread *t);

/* The name given at start (owned by the handle). */
const char *loom_thread_name(const loom_thread *t);

/* An identifier unique among live threads (the pthread_t, as Python's
 * Thread.ident); equal to loom_thread_current_ident() inside the thread. */
uint64_t loom_thread_ident(const loom_thread *t);

/* The calling thread's identifier, comparable with loom_thread_ident(). */
uint64_t loom_thread_current_ident(void);

/* The calling thread's name: the loom name inside a loom thread,
 * "MainThread" in the process's main thread, else the OS thread name (e.g.
 * a thread-pool worker's "<prefix>_<n>").  Static or thread-local storage,
 * valid until the thread ends; never NULL. */
const char *loom_thread_current_name(void);

/* Free the handle.  A thread not joined yet is detached: it goes on running
 * and is reaped by the system when it ends.  Returns 0 (NULL too). */
int loom_thread_destroy(loom_thread *t);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_THREAD_H */
