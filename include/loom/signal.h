/* loom/signal.h - signals as awaitables (asyncio's add_signal_handler, plus
 * what a server's main task wants: "wait until SIGINT or SIGTERM").
 *
 * A loom_signal_watch subscribes to a set of signals on one loop.  From its
 * creation to its destruction it records every delivery the loop observes,
 * so no signal is lost between two waits; loom_signal_watch_wait() takes the
 * next one, suspending only the task when called from a task (a plain thread
 * blocks).  Several watches may cover the same signal: each one gets every
 * delivery (broadcast), and a loop signal handler on it (loom/loop.h) is
 * called too.  Several waiters on one watch share its deliveries: each
 * delivery goes to one waiter, first come first served (a queue).
 *
 * Coalescing: a watch holds at most one pending instance of each signal
 * number, like the kernel's standard signals.  A delivery of a number that is
 * already pending in the watch merges with it, and so do deliveries the
 * kernel or the loop merged before the loop ran (several kill()s between two
 * loop iterations may be seen once).  Waits return the lowest-numbered
 * pending signal first.
 *
 * Processes, threads and loops: signal dispositions are process-wide, so a
 * signal belongs to one loop at a time - the first loop that has a handler
 * or a watch on it.  A watch or handler for that signal on another loop gets
 * LOOM_EBUSY until the owner drops its last handler and watch.  Whichever
 * thread the kernel interrupts, the owner loop is woken and delivers; that
 * loop must be running for deliveries to reach waiters (waiters may be tasks
 * of that loop or plain threads anywhere).  The disposition found when the
 * loop took the signal is restored when it lets go.
 */
#ifndef LOOM_SIGNAL_H
#define LOOM_SIGNAL_H

#include <stddef.h>

#include "loom/loop.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_signal_watch loom_signal_watch;

/* Watch `signals[0..n)` on `loop` (NULL: the loop of the calling thread or
 * task).  *out is owned by the caller: free it with
 * loom_signal_watch_destroy.  Any thread.
 * Returns 0, or
 *   LOOM_EINVAL   out NULL, n == 0, a bad number, SIGKILL or SIGSTOP, or
 *                 loop NULL outside a loop;
 *   LOOM_EBUSY    another loop owns one of the signals (nothing is watched);
 *   LOOM_ECLOSED  the loop is closed;
 *   LOOM_ENOMEM;  -errno from sigaction. */
int loom_signal_watch_create(loom_loop *loop, const int *signals, size_t n,
                             loom_signal_watch **out);

/* Take the next delivered signal into *signo (may be NULL), waiting up to
 * `timeout` seconds (LOOM_FOREVER; 0 polls).  Inside a task, timeout scopes
 * apply and a cancel ends the wait.  Any thread or task.
 * Returns 0, or
 *   LOOM_ETIMEDOUT  nothing arrived in time (nothing is taken);
 *   LOOM_ECANCELLED the waiting task was cancelled (nothing is taken: a
 *                   signal handed over at the same instant wins and is
 *                   returned with 0 instead);
 *   LOOM_ECLOSED    the watch's loop was closed;
 *   LOOM_EINVAL     w NULL. */
int loom_signal_watch_wait(loom_signal_watch *w, double timeout, int *signo);

/* Number of signals pending in w (0 if w is NULL). */
int loom_signal_watch_pending(loom_signal_watch *w);

/* Stop watching and free w; the signals are released (uninstalled once no
 * handler or watch of the loop uses them).  Any thread.
 * Returns 0, LOOM_EBUSY if a thread or task is still waiting on w (nothing
 * is freed: cancel the waiters first), or LOOM_EINVAL if w is NULL. */
int loom_signal_watch_destroy(loom_signal_watch *w);

/* One-shot convenience: watch `signals` on the current loop, wait up to
 * `timeout` for one of them, stop watching.  A signal that arrives before
 * the call or after it returns is not seen: use a watch to miss none.
 * Returns as loom_signal_watch_create, then as loom_signal_watch_wait. */
int loom_signal_wait(const int *signals, size_t n, double timeout, int *signo);

#ifdef __cplusplus
}
#endif

#endif /* LOOM_SIGNAL_H */
