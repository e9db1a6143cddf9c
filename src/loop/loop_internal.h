/* loop_internal.h - what the task layer (src/task, src/coro, src/sync, net...)
 * builds on: allocation-free callbacks, intrusive timers, the loop's clock and
 * the hooks the task layer installs.
 *
 * Nothing here allocates: a task embeds its loom__callback and loom__timer, so
 * scheduling a task step or arming its sleep never calls malloc and never
 * fails.  Functions are loop-thread only unless marked "any thread".
 *
 * Park ops sketch (the task engineer owns them): park() arms the task's
 * loom__timer at loom__loop_deadline(loop, deadline) if deadline != INT64_MAX
 * and switches back to the loop; unpark() (any thread) posts the task's
 * loom__callback with loom__loop_post_threadsafe when called off the loop
 * thread, loom__loop_post when on it.
 */
#ifndef LOOM_LOOP_LOOP_INTERNAL_H
#define LOOM_LOOP_LOOP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "loom/executor.h"
#include "loom/loop.h"

/* ---- ready-queue entries ------------------------------------------------ */

typedef struct loom__callback loom__callback;
typedef void (*loom__callback_fn)(loom__callback *cb);

/* An intrusive ready-queue entry.  Embed it; recover the container with
 * LOOM__CONTAINER_OF.  An entry sits in at most one queue at a time, and
 * must stay valid until fn has been called (or the loop closed: closing the
 * loop drops queued entries without calling them, after the close hook). */
struct loom__callback {
  loom__callback *next; /* queue link, owned by the loop while queued */
  loom__callback_fn fn; /* called once on the loop thread, with the entry */
};

static inline void loom__callback_init(loom__callback *cb, loom__callback_fn fn) {
  cb->next = 0;
  cb->fn = fn;
}

/* A FIFO of intrusive callbacks (loop thread only). */
typedef struct loom__cbq {
  loom__callback *head, *tail;
} loom__cbq;

/* The first member of every loom_loop (loop_impl.h has the rest): what a
 * task hop touches - posting the woken task's step, taking the next one -
 * so that those are inline in the task layer. */
typedef struct loom__loop_hot {
  loom__cbq ready;              /* call_soon / loom__loop_post, FIFO */
  loom__callback *batch;        /* rest of the batch run_ready is running */
  int64_t slow_ns;              /* stall detector threshold; 0: off */
  /* Hand-offs at the end of a batch (loom__loop_take_next): how many more
   * may skip the next iteration without the full check, and a word that
   * anything needing an iteration soon raises - a thread-safe post, a stop,
   * run_until_complete's future, the stall detector switched on.  The
   * iteration clears both before it looks at what they stand for.
   * attn only makes the end come sooner: every grant re-reads the inbox,
   * stop and run_until_complete flags itself and grants at most
   * GAP_CHECK_EVERY hops (one with timers pending), so a raise seen late
   * (relaxed load) or racing with the clear delays the iteration by a
   * bounded number of hops, never forever. */
  uint32_t handoff_credit;      /* loop thread only */
  _Atomic uint32_t attn;        /* any thread */
} loom__loop_hot;

static inline loom__loop_hot *loom__loop_hot_of(loom_loop *loop) {
  return (loom__loop_hot *)loop; /* its first member */
}

/* Loop thread: append cb to the ready queue (FIFO).  Runs in the next batch
 * of ready callbacks (never inside the current one, so a task that re-posts
 * itself cannot starve the loop).  Never fails, never allocates. */
static inline void loom__loop_post(loom_loop *loop, loom__callback *cb) {
  loom__cbq *q = &loom__loop_hot_of(loop)->ready;
  cb->next = 0;
  if (q->tail) q->tail->next = cb;
  else q->head = cb;
  q->tail = cb;
}

/* Any thread: append cb to the loop's thread-safe inbox and wake the loop
 * (one eventfd write per batch, coalesced).  Entries from one thread run in
 * the order posted.  Never fails, never allocates.  From the loop thread it
 * is equivalent to loom__loop_post (and cheaper). */
void loom__loop_post_threadsafe(loom_loop *loop, loom__callback *cb);

/* Any thread: loom__loop_post_threadsafe that says whether the loop took cb
 * (false: the loop is closed; cb is the caller's again). */
bool loom__loop_post_threadsafe_checked(loom_loop *loop, loom__callback *cb);

/* The full check behind loom__loop_take_next at the end of a batch, which
 * grants hand-off credit (loop.c).  False: the loop must run its course. */
bool loom__loop_handoff_grant(loom_loop *loop);

/* Loop thread, from inside a ready callback (a task step): the entry the
 * loop would run next, if it is an `fn` entry, taken off
 * the queue so the caller can run it in place - a task that suspends
 * switches straight to the next task instead of through the loop.  It takes
 * the next entry of the current batch, or, at the end of the batch, the head
 * of the ready queue when the next iteration would do nothing else (no poll
 * due - this counts as a skipped poll, so I/O is not starved -, no timer
 * due before the hand-off ends, no thread-safe post, no stop).  NULL when
 * the loop must run its course (also while the stall detector is on).
 * Never blocks. */
static inline loom__callback *loom__loop_take_next(loom_loop *loop, loom__callback_fn fn) {
  loom__loop_hot *h = loom__loop_hot_of(loop);
  if (h->slow_ns) return 0; /* the stall detector times each entry */
  loom__callback *cb = h->batch;
  if (!cb) {
    cb = h->ready.head;
    if (!cb || atomic_load_explicit(&h->attn, memory_order_relaxed)) return 0;
    if (!h->handoff_credit && !loom__loop_handoff_grant(loop)) return 0;
    h->handoff_credit--;
    h->ready.head = h->ready.tail = 0;
  }
  if (cb->fn != fn) {
    h->batch = cb;
    return 0;
  }
  h->batch = cb->next;
  return cb;
}

/* Register `fn` as bookkeeping that must not be lost: when the loop closes,
 * queued entries with this fn are run (until none is left) instead of being
 * dropped like other callbacks.  For combinators' completion notices, never
 * for task steps.  Process-wide, idempotent, at most 8 functions. */
void loom__loop_run_at_close(loom__callback_fn fn);

/* Any thread: wake the loop if it sleeps (it re-checks its queues). */
void loom__loop_wake(loom_loop *loop);

/* ---- timers --------------------------------------------------------------- */

typedef struct loom__timer loom__timer;
typedef void (*loom__timer_fn)(loom__timer *t);

/* An intrusive timer: embed it, init once, start/stop as often as needed.
 * Fields are the loop's; read `deadline` only while active. */
struct loom__timer {
  int64_t deadline;   /* loop-clock ns */
  uint64_t seq;       /* FIFO tie-break among equal deadlines */
  uint32_t index;     /* slot in the heap; LOOM__TIMER_IDLE when not armed */
  loom__timer_fn fn;  /* called once on expiry, on the loop thread */
};

#define LOOM__TIMER_IDLE UINT32_MAX

static inline void loom__timer_init(loom__timer *t, loom__timer_fn fn) {
  t->deadline = 0;
  t->seq = 0;
  t->index = LOOM__TIMER_IDLE;
  t->fn = fn;
}

static inline bool loom__timer_active(const loom__timer *t) {
  return t->index != LOOM__TIMER_IDLE;
}

/* Arm t to fire at `deadline` (loop-clock ns; see loom__loop_now).  An armed
 * timer is re-armed (moved).  Returns 0, or LOOM_ENOMEM when the heap must
 * grow and cannot (the heap grows by doubling, so this is rare; reserve with
 * loom__timer_reserve if a path must not fail). */
int loom__timer_start(loom_loop *loop, loom__timer *t, int64_t deadline);

/* Disarm t if armed (O(log n)). Safe on an idle timer. */
void loom__timer_stop(loom_loop *loop, loom__timer *t);

/* Schedule fn(arg) on the loop thread at `deadline` (loop-clock ns) with
 * nothing to embed: the timer heap stores fn and arg itself.  It cannot be
 * stopped; closing the loop first drops it without calling it.  Ties with
 * other timers keep start order.  Returns 0, or LOOM_ENOMEM when the heap
 * must grow and cannot. */
int loom__timer_call_at(loom_loop *loop, int64_t deadline, loom_callback_fn fn, void *arg);

/* Make room for `extra` more armed timers so the next starts cannot fail.
 * Returns 0 or LOOM_ENOMEM. */
int loom__timer_reserve(loom_loop *loop, uint32_t extra);

/* ---- time ----------------------------------------------------------------- */

/* The loop's current time in ns: CLOCK_MONOTONIC read now (plus an offset
 * that is 0 unless the virtual clock was switched off), or the virtual time.
 * Deadlines for loom__timer_start use this clock. */
int64_t loom__loop_now(const loom_loop *loop);

/* Convert an absolute CLOCK_MONOTONIC deadline (loom_deadline(), as passed
 * to park) into the loop's clock.  INT64_MAX stays INT64_MAX.  Under the
 * virtual clock this keeps the remaining duration. */
int64_t loom__loop_deadline(const loom_loop *loop, int64_t mono_deadline);

/* ---- the current loop ---------------------------------------------------- */

/* The loop this thread is driving (TLS), or NULL. */
loom_loop *loom__loop_current(void);

/* The loop the calling thread drives, or NULL (loop.c). */
extern _Thread_local loom_loop *loom__tls_loop __attribute__((tls_model("initial-exec")));

/* True if the caller is the thread driving `loop` (never NULL: every caller
 * holds a live loop).  Any thread.  Inline: a task waking a task of its own
 * loop asks this on every hop.  No NULL test: under link-time optimisation
 * one made GCC follow an impossible NULL-loop path from loom__task_post into
 * loom__loop_post_threadsafe_checked and warn (-Wstringop-overflow). */
static inline bool loom__loop_on_thread(const loom_loop *loop) {
  return loom__tls_loop == loop;
}

/* ---- hooks for the task layer ------------------------------------------ */

typedef struct loom__loop_hooks {
  /* At loom_loop_close (loop not running): cancel or report every pending
   * task and release what the task layer keeps on this loop.  It may run the
   * loop (loom__loop_run_once) to let tasks unwind. */
  void (*close)(loom_loop *loop, void *ctx);
  /* Stall detector: called right after a slow callback returned.  Return
   * the name of the task whose step that callback was, or NULL if it was no
   * task step (e.g. the task layer sets a "stepped" pointer when a step
   * starts; the hook returns it and clears it). */
  const char *(*running_name)(loom_loop *loop, void *ctx);
  void *ctx;
} loom__loop_hooks;

/* Install the task layer's hooks (one set per loop; NULL clears).  The
 * hooks struct is copied. */
void loom__loop_set_hooks(loom_loop *loop, const loom__loop_hooks *hooks);

/* One pointer of per-loop storage for the task layer (all-tasks list, park
 * state...).  Starts NULL; the loop never touches it. */
void **loom__loop_task_slot(loom_loop *loop);

/* The loop's default executor (set by the user, or a thread pool created
 * on first use and shut down at close).  Returns 0 and a borrowed *out, or
 * LOOM_ENOMEM, LOOM_ECLOSED. */
int loom__loop_default_executor(loom_loop *loop, loom_executor **out);

/* Test hooks (loop thread): iterations run, and backend polls made, since
 * the loop was created.  A hand-off replaces an iteration, so a task
 * ping-pong runs far fewer iterations than hops. */
uint64_t loom__loop_iterations(const loom_loop *loop);
uint64_t loom__loop_polls(const loom_loop *loop);

/* Any thread: keep every thread from driving `loop` for a moment, if none
 * drives it now (and it is not closed) - so that work only the driving
 * thread may do races with no driver: a task cancelled from another thread
 * while its loop is idle (task.c).  This thread does not become the loop's
 * (loom__loop_on_thread stays false: its posts go through the thread-safe
 * inbox, so an owner spawning on the idle loop meanwhile is not disturbed).
 * True: held until loom__loop_unborrow.  False: another thread drives it.
 * A thread starting or closing the loop meanwhile waits for the borrow to
 * end rather than failing with LOOM_EBUSY.  Never blocks otherwise. */
bool loom__loop_borrow(loom_loop *loop);
void loom__loop_unborrow(loom_loop *loop);

/* True once no thread drives `loop` (waiting out borrows); false if a
 * thread runs it (lifecycle.c's close). */
bool loom__loop_idle_or_borrowed(loom_loop *loop);

/* Run one iteration (poll with timeout 0 if `nowait`, else block until
 * something is ready) outside run_forever, e.g. from the close hook.
 * Returns 0, LOOM_EBUSY if another thread drives the loop. */
int loom__loop_run_once(loom_loop *loop, bool nowait);

#endif /* LOOM_LOOP_LOOP_INTERNAL_H */
