/* loom/task.h - coroutine tasks, asyncio's Task in C.
 *
 * A task runs a C function on its own stack, on an event loop (loom/loop.h).
 * When it waits - on ANY loom future (loom_future_wait/result/error, loom_wait,
 * loom_as_completed), a loom queue, lock or event, loom_sleep - only the task
 * is suspended; the loop runs other tasks and callbacks meanwhile.  Whoever
 * completes what it waits for (another task, a loop callback, a thread-pool
 * worker in another thread) makes it runnable again.
 *
 * A task IS a loom_future: loom_task_spawn hands out a loom_future pointer,
 * and every future function works on it (wait, result, error, done
 * callbacks, loom_wait, as_completed...).  The task's function has the
 * executor signature
 *     int fn(loom_future *self, void *arg)
 * and either finishes its own future (loom_future_set_result(self, ...)) or
 * returns: 0 (or any value >= 0) finishes it with a NULL result, a negative
 * code finishes it with that error, LOOM_ECANCELLED finishes it cancelled.
 *
 * Cancellation (asyncio's rules, with nothing lost):
 *  - loom_task_cancel(task, msg) records a request.  It is delivered as
 *    LOOM_ECANCELLED returned by the task's next suspension point (the wait,
 *    sleep or yield it is in now, if it is suspended; else the next one).
 *  - The task may clean up and return LOOM_ECANCELLED (it then ends
 *    CANCELLED), or handle it and go on (a task may refuse).
 *  - A task cancelled before it first ran never runs its function.
 *  - loom_task_cancelling() counts requests not yet withdrawn, and
 *    loom_task_uncancel() withdraws one: timeout scopes and task groups use
 *    them to tell their own cancellations from outside ones.
 *  - loom_future_cancel() on a task is loom_task_cancel(task, NULL).
 *
 * Errors are never lost: a task that failed and whose error nobody read
 * (result, error, exception or awaiting it) is reported (loom/debug.h) when
 * its last reference goes; destroying a loop with pending tasks cancels them
 * and reports those that would not finish.
 *
 * Threads: tasks of a loop run on the thread driving that loop.  The
 * functions below are for that thread unless they say "any thread"; to act
 * on a task from another thread, post a callback with
 * loom_call_soon_threadsafe.  Waiting from a task on a future that another
 * thread completes is fine (that is the point).
 */
#ifndef LOOM_TASK_H
#define LOOM_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "loom/executor.h"
#include "loom/future.h"
#include "loom/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options for loom_task_spawn_ex.  Zero-initialise, set what you need. */
typedef struct loom_task_options {
  const char *name;   /* copied; NULL gives "Task-<n>" like asyncio */
  size_t stack_size;  /* usable stack bytes; 0 = the loop's default */
  int compact;        /* compact idle stack (see below): 0 = the loop's default
                       * (loom_task_set_default_compact), > 0 on, < 0 off */
} loom_task_options;

/* ---- creating tasks ------------------------------------------------------ */

/* Schedule fn(self, arg) to run as a new task on `loop` (it starts on a later
 * loop iteration, never inside this call).  `name` is copied (NULL gives
 * "Task-<n>").  *out receives one reference to the task's future, which the
 * caller drops with loom_future_release() - the task keeps running without
 * it; the loop holds its own reference until the task is done.  `out` may be
 * NULL for a fire-and-forget task (its error, if any, is then reported).
 * Call it from the thread driving the loop, or while no thread drives it.
 * Returns 0, or LOOM_EINVAL (loop or fn NULL), LOOM_ENOMEM, LOOM_ECLOSED (the
 * loop is closed), LOOM_EINVALIDSTATE (another thread is driving the loop:
 * post a callback with loom_call_soon_threadsafe that spawns the task). */
int loom_task_spawn(loom_loop *loop, loom_fn fn, void *arg, const char *name,
                    loom_future **out);

/* Same with options (name, per-task stack size). `opts` may be NULL.
 * Returns as loom_task_spawn, and LOOM_EINVAL for a stack_size above 1 GiB. */
int loom_task_spawn_ex(loom_loop *loop, loom_fn fn, void *arg,
                       const loom_task_options *opts, loom_future **out);

/* Default usable stack size for tasks spawned on `loop` from now on (rounded
 * up to whole pages; 0 restores the built-in default of 128 KiB, see
 * docs/coroutines.md).  Returns 0, or LOOM_EINVAL (loop NULL, or a size below
 * 16 KiB or above 1 GiB). */
int loom_task_set_default_stack_size(loom_loop *loop, size_t bytes);

/* ---- compact idle stacks (opt-in) ---------------------------------------------
 *
 * A sleeping task normally keeps the stack pages it touched (one or two 4 KiB
 * pages).  A COMPACT task, while it sleeps in loom_sleep (seconds > 0), has
 * the used part of its stack (from its saved stack pointer to the top:
 * usually a few hundred bytes) copied to a right-sized heap buffer and its
 * stack pages given back to the system; when it wakes, the bytes are copied
 * back to the same addresses and it continues.  A million sleeping compact
 * tasks cost about 0.83 KB each instead of about 4.4 KB.  See docs/compact.md.
 *
 * Only sleeps compact: every other wait (a future, queue, lock, event,
 * stream...) links a node on the waiting task's stack into the primitive, so
 * the task's stack stays resident while it waits there, as in normal mode.
 *
 * The rule for the user: while a compact task sleeps, its stack memory does
 * not exist.  Never let another task or thread use a pointer into a compact
 * task's stack (a local variable handed to someone else) while that task may
 * be sleeping: put shared objects on the heap, or don't use compact mode.
 * Waiting on a loom primitive (not a sleep) keeps such pointers valid.  On
 * kernels with MADV_GUARD_INSTALL (6.13+) the released pages are guard
 * pages, so breaking the rule crashes (SIGSEGV) rather than corrupting.
 *
 * Cost: a sleep of a compact task adds two madvise calls (one on older
 * kernels), a copy of the used stack bytes each way, and the page fault of
 * touching the stack again on wake-up: a few microseconds.  Tasks that never
 * sleep pay next to nothing (a flag test when they return to the loop). */

/* Make tasks spawned on `loop` from now on compact (on = true) or not (the
 * default); loom_task_options.compact overrides it per task.  Returns 0,
 * LOOM_EINVAL (loop NULL), LOOM_ENOMEM. */
int loom_task_set_default_compact(loom_loop *loop, bool on);

/* True while `task` sleeps with its stack copied out (false for a non-task). */
bool loom_task_is_compacted(const loom_future *task);

/* Counters of a loop's compact mode (see loom_task_compact_stats). */
typedef struct loom_compact_stats {
  size_t compacted;        /* tasks whose stack is copied out now */
  size_t saved_bytes;      /* stack bytes held in their heap buffers now */
  unsigned long long compactions; /* stacks copied out since the loop began */
  unsigned long long restores;    /* stacks copied back */
  unsigned long long skipped;     /* compact sleeps kept resident (no memory,
                                   * or madvise failed) */
} loom_compact_stats;

/* Fill *out with the counters of `loop` (all zero if it never ran a task).
 * Returns 0, or LOOM_EINVAL (loop or out NULL). */
int loom_task_compact_stats(loom_loop *loop, loom_compact_stats *out);

/* ---- the current task ------------------------------------------------------ */

/* The task running on this thread right now, or NULL outside a task.  The
 * pointer is borrowed (valid while the task runs; retain it to keep it). */
loom_future *loom_task_current(void);

/* True if f is a task (spawned by loom_task_spawn). Any thread. */
bool loom_is_task(const loom_future *f);

/* The task's name (owned by the task, valid while the caller holds a
 * reference and until the next loom_task_set_name), or NULL if f is not a
 * task. Any thread. */
const char *loom_task_name(const loom_future *task);

/* Rename a task.  Returns 0, LOOM_EINVAL (not a task, name NULL),
 * LOOM_ENOMEM (the old name is kept). */
int loom_task_set_name(loom_future *task, const char *name);

/* The loop the task runs on (borrowed), or NULL if f is not a task or its
 * loop was closed. */
loom_loop *loom_task_loop(const loom_future *task);

/* ---- suspending ------------------------------------------------------------ */

/* Suspend the current task for `seconds` (loop time; the virtual clock
 * applies).  seconds <= 0 just yields: other ready tasks and callbacks run
 * first (asyncio's sleep(0)).  Outside a task, the calling thread sleeps.
 * Returns 0, or LOOM_ECANCELLED if the task was cancelled (the sleep ends
 * early). */
int loom_sleep(double seconds);

/* Let the other ready tasks and callbacks run, then continue (sleep(0)).
 * Returns 0, LOOM_ECANCELLED (a cancellation was delivered), or
 * LOOM_ENOTASK outside a task. */
int loom_yield(void);

/* ---- cancellation ------------------------------------------------------------ */

/* Request cancellation of `task`, with an optional message (copied; kept as
 * the cancelled task's error message).  Returns true if the request was
 * recorded (the task was not done), false if the task is already done or f
 * is not a task.  See the rules at the top of this file.
 * Any thread: from a thread that does not drive the task's loop, the
 * request is recorded at once if no thread drives that loop, else posted to
 * the loop and recorded by its thread soon after (true once posted; false
 * also if the loop is closed or the request could not be allocated).  So
 * loom_future_cancel and loom_wait_for work on a task from anywhere. */
bool loom_task_cancel(loom_future *task, const char *msg);

/* Number of cancellation requests of `task` not withdrawn by uncancel
 * (asyncio's Task.cancelling()); 0 for a non-task. */
int loom_task_cancelling(const loom_future *task);

/* Withdraw one cancellation request (asyncio's Task.uncancel()): decrement
 * the count if positive.  When it reaches 0, a request not yet delivered is
 * dropped too.  Returns the remaining count (0 for a non-task). */
int loom_task_uncancel(loom_future *task);

/* ---- all tasks and debugging -------------------------------------------------- */

/* The loop's tasks that are not done yet (asyncio.all_tasks()).  Fills up to
 * `cap` entries of `out` (may be NULL with cap 0), each with a reference the
 * caller must release.  Returns the total number of such tasks (which may
 * exceed cap), or LOOM_EINVAL (loop NULL). */
int loom_task_all(loom_loop *loop, loom_future **out, size_t cap);

/* Print every not-done task of `loop` to `out`: name, state (scheduled,
 * running, suspended), what it waits for (a sleep and its remaining time, or
 * a wait with or without a deadline, or a pending cancellation), and its call
 * stack, walked from the suspended stack's frame pointers (names through
 * dladdr: link executables with -rdynamic to see their own functions).
 * Returns the number of tasks printed, or LOOM_EINVAL. */
int loom_task_dump(loom_loop *loop, FILE *out);

/* A one-line description, like asyncio's Task repr:
 *     <Task pending name='fetch' state=suspended>
 *     <Task finished name='fetch' result=0x2a>
 *     <Task finished name='fetch' error=ENOENT 'no such file'>
 *     <Task cancelled name='fetch'>
 * written to buf (NUL-terminated whenever size > 0, truncated if needed).
 * Returns the length the whole text needs (as snprintf does), or LOOM_EINVAL
 * (not a task, or buf NULL with size > 0). */
int loom_task_describe(const loom_future *task, char *buf, size_t size);

/* Print the call stack of a suspended task (the dump's per-task part).
 * Returns the number of frames, 0 if the task is not suspended, or
 * LOOM_EINVAL (not a task, out NULL). */
int loom_task_print_stack(const loom_future *task, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_TASK_H */
