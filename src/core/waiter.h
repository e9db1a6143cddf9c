/* waiter.h - the one suspension primitive under every blocking call.
 *
 * A waiter is whoever is blocked: a plain thread (parked on a futex) or a
 * coroutine task (parked in its loop).  Everything that can end a wait - a
 * future completing, a queue item arriving, a timer, a cancellation - *fires*
 * the waiter with a reason.  Firing is a race that exactly one party wins
 * (CAS on `state`); the winner stores the reason and resumes the waiter
 * through its park_ops.  So futures, queues and events are written once and
 * work for threads and tasks alike, and timeouts and cancellation work
 * everywhere at once.
 *
 * The loop installs its park_ops in thread-local storage while a task runs
 * (loom__park_ctx_set); outside a task the thread implementation is used.
 *
 * Life cycle:  init -> (publish w somewhere wakers find it) -> park -> (remove
 * w from where it was published) -> reuse or drop.  A waker must only touch a
 * published waiter under the lock of the structure it was published in, and
 * the waiter unpublishes itself under that same lock, so it is never fired
 * after it left its stack frame.
 */
#ifndef LOOM_CORE_WAITER_H
#define LOOM_CORE_WAITER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct loom__waiter loom__waiter;

typedef struct loom__park_ops {
  /* Suspend the current context until w is ready (state READY), claiming w
   * itself with LOOM_ETIMEDOUT when `deadline` passes (or LOOM_ECANCELLED
   * when the context is cancelled, for tasks). */
  void (*park)(loom__waiter *w, int64_t deadline);
  /* Resume the context parked on w; called once, by the party that fired it.
   * It receives a SNAPSHOT of the waiter (ops, owner and reason valid), not
   * the waiter itself: the real one may already be gone, because a waiter
   * can be fired before it parks and then return at once.  So unpark must
   * act on `owner` only (e.g. schedule that task), never compare or touch
   * the waiter's address. */
  void (*unpark)(loom__waiter *w);
  /* Optional (NULL: never).  For loom__waiter_fire_locked: if the calling
   * thread runs every firer of w that does not hold the lock of the
   * structure w is published in (for a task: its timer, its cancellation,
   * its own claims in park - all on the thread driving its loop), claim w
   * with a load and a store and resume its owner: 1 if claimed, 0 if w was
   * already fired.  Otherwise -1 (the caller falls back to the CAS). */
  int (*fire_local)(loom__waiter *w, int reason);
  /* Optional, instead of unpark when set: resume the context `owner` - for
   * ops whose unpark needs nothing but the owner (tasks: it saves building
   * the snapshot on every wake-up). */
  void (*wake)(void *owner);
} loom__park_ops;

enum { LOOM__W_WAITING = 0, LOOM__W_CLAIMED = 1, LOOM__W_READY = 2 };

struct loom__waiter {
  _Atomic uint32_t state;      /* WAITING -> CLAIMED -> READY */
  int reason;                  /* why it was fired; valid once READY */
  const loom__park_ops *ops;   /* how this context parks and resumes */
  void *owner;                 /* the task, for task waiters; NULL for threads */
};

/* The parking context of this thread: NULL ops means "plain thread".
 * Initial-exec: read on every wait, and the shared library would otherwise
 * ask __tls_get_addr each time (libloom.so is linked, not dlopen'ed). */
#define LOOM__TLS_IE __attribute__((tls_model("initial-exec")))
extern _Thread_local const loom__park_ops *loom__park_ctx_ops LOOM__TLS_IE;
extern _Thread_local void *loom__park_ctx_owner LOOM__TLS_IE;
static inline void loom__park_ctx_set(const loom__park_ops *ops, void *owner) {
  loom__park_ctx_ops = ops;
  loom__park_ctx_owner = owner;
}

/* How plain threads park (waiter.c). */
extern const loom__park_ops loom__thread_park_ops;

/* Bind w to the calling context (thread or current task), state WAITING.
 * Inline, like park: a task ping-pong does one of each per hop. */
static inline void loom__waiter_init(loom__waiter *w) {
  const loom__park_ops *ops = loom__park_ctx_ops;
  atomic_store_explicit(&w->state, LOOM__W_WAITING, memory_order_relaxed);
  w->reason = 0;
  w->ops = ops ? ops : &loom__thread_park_ops;
  w->owner = loom__park_ctx_owner;
}

/* Block until fired or `deadline` (absolute monotonic ns; INT64_MAX never).
 * Returns the reason: whatever the firing party passed (0 for "your event
 * happened"), LOOM_ETIMEDOUT, or LOOM_ECANCELLED for a cancelled task. */
static inline int loom__waiter_park(loom__waiter *w, int64_t deadline) {
  w->ops->park(w, deadline);
  return w->reason;
}

/* Claim w with `reason` without resuming it (for the parked context itself,
 * e.g. its own timeout).  Returns true if this call won. */
bool loom__waiter_claim(loom__waiter *w, int reason);

/* Fire w: claim it with `reason` and resume it.  Returns true if this call
 * won, false if someone else fired it first.  Never blocks. */
bool loom__waiter_fire(loom__waiter *w, int reason);

/* Like loom__waiter_fire, for a firer holding the lock of the structure w
 * is published in, when every firer of w either holds that lock or is the
 * thread running w's owner (see fire_local).  Only the wait lists of
 * src/threads (wlist.h, the barrier) qualify: the waiters of loom_wait,
 * as_completed, task groups and pools, streams and futures are published
 * in several places or fired without one lock, so they keep the CAS.  On that thread nobody else can
 * fire w meanwhile, so the claim is a load and a store instead of a
 * compare-and-swap (an atomic read-modify-write, the dearest thing on a
 * same-loop task hand-off).  Elsewhere it is loom__waiter_fire. */
static inline bool loom__waiter_fire_locked(loom__waiter *w, int reason) {
  if (w->ops->fire_local) {
    int won = w->ops->fire_local(w, reason);
    if (won >= 0) return won;
  }
  return loom__waiter_fire(w, reason);
}

/* True once fired (READY). */
static inline bool loom__waiter_ready(loom__waiter *w) {
  return atomic_load_explicit(&w->state, memory_order_acquire) == LOOM__W_READY;
}

/* True if the caller runs inside a task (parks suspend a task, not a thread). */
static inline bool loom__in_task(void) { return loom__park_ctx_ops != 0; }

#endif /* LOOM_CORE_WAITER_H */
