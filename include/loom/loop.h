/* loom/loop.h - the event loop, asyncio's loop in C.
 *
 * A loom_loop runs callbacks: ones posted with loom_call_soon (FIFO), timers
 * (loom_call_later / loom_call_at, ordered by deadline, equal deadlines in
 * call order), file-descriptor readiness (add_reader / add_writer, for foreign
 * fds such as libcurl's sockets), signals, and callbacks posted from other
 * threads (loom_call_soon_threadsafe, which wakes the loop through an eventfd).
 * Tasks (loom/task.h) run on top of it.
 *
 * Threads: a loop is driven by one thread at a time (the thread inside
 * run_forever / run_until_complete), and a thread drives at most one loop at a
 * time.  Several loops may run in several threads of one process.  Unless a
 * function says "any thread", it must be called from the thread driving the
 * loop, or while no thread drives it.
 *
 * Time: loom_loop_time() is the loop's clock in seconds (CLOCK_MONOTONIC, or
 * a virtual clock for tests, see loom_loop_set_virtual_clock).  Delays are
 * relative seconds; loom_call_at takes an absolute loop time.
 *
 * Handles: the scheduling calls can hand back a loom_handle.  Pass NULL when
 * you do not need one: the loop then owns the callback entirely.  A handle
 * returned through `out` holds one reference owned by the caller, who drops it
 * with loom_handle_release() (the callback still runs; releasing is not
 * cancelling).  The handle stays valid, and cancel stays safe, until released,
 * even after the callback ran or the loop closed - but release every handle
 * before loom_loop_destroy (handles live in the loop's memory; one still
 * held at destroy is reported and that memory is leaked rather than freed
 * under you).
 */
#ifndef LOOM_LOOP_H
#define LOOM_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "loom/future.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_loop loom_loop;
typedef struct loom_handle loom_handle;

/* A loop callback. Runs on the loop thread. */
typedef void (*loom_callback_fn)(void *arg);

/* A signal callback: `signum` is the signal that arrived (once per batch of
 * deliveries between two loop iterations, like asyncio). */
typedef void (*loom_signal_fn)(int signum, void *arg);

/* Creation options. Zero-initialise, then set what you need. */
typedef struct loom_loop_options {
  bool virtual_clock;             /* start with the virtual clock on */
  double slow_callback_threshold; /* seconds; <= 0 disables the detector */
} loom_loop_options;

/* ---- life cycle -------------------------------------------------------- */

/* Create a loop. `opts` may be NULL (defaults). *out belongs to the caller,
 * freed with loom_loop_destroy().
 * Returns 0, or LOOM_EINVAL (out NULL), LOOM_ENOMEM, or -errno from epoll /
 * eventfd creation (LOOM_EMFILE...). */
int loom_loop_create(loom_loop **out, const loom_loop_options *opts);

/* Close the loop: the task layer's close hook runs (pending tasks are
 * cancelled and reported), pending callbacks and timers are dropped without
 * running, reader/writer/signal registrations are removed (the fds are not
 * closed: they belong to the caller), the backend is closed.  Idempotent.
 * While it closes, the calling thread drives the loop (unless it drives
 * another loop): another thread starting it meanwhile gets LOOM_EBUSY.
 * Returns 0, or LOOM_EBUSY if the loop is running (nothing is done). */
int loom_loop_close(loom_loop *loop);

/* Close (if not closed) and free the loop.  Must not be called while the
 * loop runs (that is a bug: it is reported and the loop is leaked). NULL is
 * a no-op. */
void loom_loop_destroy(loom_loop *loop);

/* Run until loom_loop_stop() is called.  Callbacks scheduled by stop's caller
 * in the same iteration still run (asyncio semantics: stop takes effect after
 * the current batch of ready callbacks).
 * Returns 0, or LOOM_EBUSY (this loop is already running, or this thread
 * already drives another loop), LOOM_ECLOSED (the loop is closed). */
int loom_loop_run_forever(loom_loop *loop);

/* Ask a running loop to stop after its current iteration; a loop that is not
 * running stops at the end of the first iteration of its next run.  Any
 * thread (it wakes the loop). */
void loom_loop_stop(loom_loop *loop);

/* Run until `f` is done.  `f` may be any loom future, including one
 * completed by another thread (its completion wakes the loop).  The caller
 * keeps its reference to f and reads the outcome with the future API.
 * Returns 0 (f is done), or LOOM_EINVALIDSTATE (the loop was stopped before f
 * completed), LOOM_EBUSY, LOOM_ECLOSED (as run_forever), LOOM_EINVAL (NULL). */
int loom_loop_run_until_complete(loom_loop *loop, loom_future *f);

/* True while a thread is inside run_forever / run_until_complete. Any thread. */
bool loom_loop_is_running(const loom_loop *loop);

/* True once loom_loop_close() succeeded. */
bool loom_loop_is_closed(const loom_loop *loop);

/* The loop this thread is driving right now, or NULL. */
loom_loop *loom_loop_current(void);

/* The loop's time in seconds (monotonic or virtual).  Any thread on the
 * real clock; on the virtual clock, the loop's thread (or while it is idle). */
double loom_loop_time(const loom_loop *loop);

/* ---- scheduling callbacks ---------------------------------------------- */

/* Run fn(arg) on the next iteration, after the callbacks already scheduled
 * (FIFO).  `out` may be NULL; else it receives a handle (see top of file).
 * Returns 0, or LOOM_EINVAL (loop or fn NULL), LOOM_ENOMEM, LOOM_ECLOSED. */
int loom_call_soon(loom_loop *loop, loom_callback_fn fn, void *arg, loom_handle **out);

/* Run fn(arg) once `delay` seconds have passed (negative or NaN delays count
 * as 0).  Timers with the same deadline run in the order they were created.
 * Returns 0, or LOOM_EINVAL, LOOM_ENOMEM, LOOM_ECLOSED. */
int loom_call_later(loom_loop *loop, double delay, loom_callback_fn fn, void *arg,
                    loom_handle **out);

/* Run fn(arg) at loop time `when` (seconds, same clock as loom_loop_time).
 * Returns 0, or LOOM_EINVAL, LOOM_ENOMEM, LOOM_ECLOSED. */
int loom_call_at(loom_loop *loop, double when, loom_callback_fn fn, void *arg,
                 loom_handle **out);

/* Any thread: run fn(arg) on the loop thread soon, waking the loop if it
 * sleeps.  Wake-ups are coalesced: many posts between two loop iterations
 * cost one eventfd write.  Each call runs exactly once (unless the loop is
 * closed first, in which case it never runs).  `out` may be NULL; cancel the
 * returned handle only from the loop thread.
 * Returns 0, or LOOM_EINVAL, LOOM_ENOMEM, LOOM_ECLOSED. */
int loom_call_soon_threadsafe(loom_loop *loop, loom_callback_fn fn, void *arg,
                              loom_handle **out);

/* Cancel: the callback will not run (a no-op if it already ran or is
 * running).  Cancelling a timer removes it from the timer heap at once
 * (O(log n)).  Loop thread only. */
void loom_handle_cancel(loom_handle *h);

/* True if loom_handle_cancel was called on h. */
bool loom_handle_cancelled(const loom_handle *h);

/* For timer handles, the loop time at which the callback is due; for
 * call_soon handles, the loop time when it was scheduled. */
double loom_handle_when(const loom_handle *h);

/* Drop the caller's reference (NULL is a no-op).  Does not cancel.  Any
 * thread; before loom_loop_destroy. */
void loom_handle_release(loom_handle *h);

/* ---- file descriptors -------------------------------------------------- */

/* Call fn(arg) every iteration while `fd` is readable (level-triggered, like
 * asyncio).  Replaces a previous reader of fd.  May be called from inside a
 * reader or writer callback, including for the fd being dispatched.
 * Returns 0, or LOOM_EINVAL (fd < 0, fn NULL), LOOM_ENOMEM, LOOM_ECLOSED,
 * -errno from the backend (e.g. -EPERM for a regular file, -EBADF). */
int loom_loop_add_reader(loom_loop *loop, int fd, loom_callback_fn fn, void *arg);

/* Stop watching fd for reading.  Safe from inside callbacks, and for an fd
 * the caller already closed (the registration is dropped anyway).
 * Returns 1 if a reader was registered, 0 if not. */
int loom_loop_remove_reader(loom_loop *loop, int fd);

/* As add_reader, for writability. */
int loom_loop_add_writer(loom_loop *loop, int fd, loom_callback_fn fn, void *arg);

/* As remove_reader, for the writer. Returns 1 or 0. */
int loom_loop_remove_writer(loom_loop *loop, int fd);

/* ---- signals ----------------------------------------------------------- */

/* Run fn(signum, arg) on the loop thread when `signum` arrives.  The process
 * handler (sigaction) only sets a flag and writes the loop's eventfd, so the
 * callback may do anything.  One loop owns a given signal at a time.
 * Returns 0, or LOOM_EINVAL (bad signal number, SIGKILL/SIGSTOP, fn NULL),
 * LOOM_EBUSY (another loop handles this signal), LOOM_ENOMEM, LOOM_ECLOSED,
 * -errno from sigaction. */
int loom_loop_add_signal_handler(loom_loop *loop, int signum, loom_signal_fn fn,
                                 void *arg);

/* Remove the handler and restore the disposition found when it was added.
 * Returns 1 if a handler was removed, 0 if none, LOOM_EINVAL (bad number). */
int loom_loop_remove_signal_handler(loom_loop *loop, int signum);

/* ---- debugging and tests ----------------------------------------------- */

/* Report (through loom/debug.h) every callback or task step that runs
 * longer than `seconds`, with the task's name when a task was running and
 * the duration.  <= 0 disables.  Returns 0. */
int loom_loop_set_slow_callback_threshold(loom_loop *loop, double seconds);

/* Number of slow callbacks reported so far by this loop (for tests). */
unsigned long loom_loop_slow_callback_count(const loom_loop *loop);

/* Virtual clock (Trio's autojump clock): time stands still while callbacks
 * run; when nothing is ready and no fd event is pending, the clock jumps to
 * the next timer instead of sleeping.  Timing code runs instantly and
 * deterministically.  Switching it off resumes the real clock from the
 * current virtual time (time never goes backwards).  Returns 0. */
int loom_loop_set_virtual_clock(loom_loop *loop, bool on);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_LOOP_H */
