/* waiter.c - waiter firing and the plain-thread parking implementation. */
#include "waiter.h"

#include "futex.h"
#include "internal.h"
#include "lock.h"

_Thread_local const loom__park_ops *loom__park_ctx_ops;
_Thread_local void *loom__park_ctx_owner;

static void thread_park(loom__waiter *w, int64_t deadline);
static void thread_unpark(loom__waiter *w);
static const loom__park_ops thread_ops = {thread_park, thread_unpark, NULL};

void loom__waiter_init(loom__waiter *w) {
  atomic_store_explicit(&w->state, LOOM__W_WAITING, memory_order_relaxed);
  w->reason = 0;
  w->ops = loom__park_ctx_ops ? loom__park_ctx_ops : &thread_ops;
  w->owner = loom__park_ctx_owner;
}

bool loom__waiter_claim(loom__waiter *w, int reason) {
  uint32_t expect = LOOM__W_WAITING;
  if (!atomic_compare_exchange_strong_explicit(&w->state, &expect, LOOM__W_CLAIMED,
                                               memory_order_acq_rel,
                                               memory_order_acquire))
    return false;
  w->reason = reason;
  atomic_store_explicit(&w->state, LOOM__W_READY, memory_order_release);
  return true;
}

bool loom__waiter_fire(loom__waiter *w, int reason) {
  /* Snapshot what resuming needs before claiming: once READY, the waiter
   * may return from park (it can be fired before it even parks) and its
   * stack frame, holding w, may be gone. */
  loom__waiter snap = {.ops = w->ops, .owner = w->owner, .reason = reason};
  if (!loom__waiter_claim(w, reason)) return false;
  if (snap.ops == &thread_ops) {
    /* Waking a futex word nobody waits on any more is harmless, and a reused
     * address only sees a spurious wake-up, which every futex user in loom
     * tolerates. */
    loom__futex_wake(&w->state, 1);
    return true;
  }
  atomic_init(&snap.state, LOOM__W_READY);
  snap.ops->unpark(&snap);
  return true;
}

int loom__waiter_park(loom__waiter *w, int64_t deadline) {
  w->ops->park(w, deadline);
  return w->reason;
}

static void thread_park(loom__waiter *w, int64_t deadline) {
  for (;;) {
    uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
    if (s == LOOM__W_READY) return;
    if (s == LOOM__W_CLAIMED) { /* a waker is storing the reason */
      loom__cpu_relax();
      continue;
    }
    if (deadline != INT64_MAX && loom_now_ns() >= deadline) {
      if (loom__waiter_claim(w, LOOM_ETIMEDOUT)) return;
      continue;
    }
    loom__futex_wait(&w->state, LOOM__W_WAITING, deadline);
  }
}

static void thread_unpark(loom__waiter *w) { (void)w; /* threads are woken in fire */ }
