/* wlist.h - FIFO lists of parked waiters, and hand-off, for the sync
 * primitives and queues of src/threads.
 *
 * Every blocking primitive here (lock, semaphore, event, condition, barrier,
 * queue, thread join) keeps its waiters in one of these intrusive lists, in
 * arrival order, guarded by the primitive's own lock (a biased lock,
 * core/block.h: free of atomic RMWs when one thread uses the primitive).  A node lives on
 * the waiting context's stack (thread or task): the waiter publishes it under
 * the lock, drops the lock, parks (loom__waiter_park), retakes the lock and
 * unlinks itself if a waker has not already done so.
 *
 * Hand-off is what makes the primitives fair and cancellation-safe: a waker
 * does not just wake someone and let everybody race for the resource; it
 * pops waiters from the head until one *accepts* the wake-up (wins the fire
 * race of the waiter) and gives the resource (a lock, a permit, an item, a
 * slot) to that node directly, marking it `handed`.  A waiter that timed out
 * or was cancelled at the same instant lost the fire race, so it is skipped
 * and the resource goes to the next one: nothing is lost or stuck.
 *
 * The waker keeps the primitive's lock held while it fills in the node, and
 * the woken waiter must retake that lock before it reads the node or leaves
 * its stack frame, so the node stays valid for the waker.
 */
#ifndef LOOM_THREADS_WLIST_H
#define LOOM_THREADS_WLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/internal.h"
#include "../core/block.h"
#include "../core/waiter.h"

typedef struct loom__wnode loom__wnode;
struct loom__wnode {
  loom__wnode *next, *prev;
  loom__waiter w;
  void *item;     /* payload: the item a getter received or a putter offers */
  uintptr_t aux;  /* per primitive: owner id, generation... */
  bool linked;    /* still in the list (cleared by whoever unlinks it) */
  bool handed;    /* a waker gave this waiter the resource it waited for */
};

typedef struct loom__wlist {
  loom__wnode *head, *tail;
} loom__wlist;

static inline bool loom__wlist_empty(const loom__wlist *l) { return l->head == NULL; }

/* Prepare n for the calling context and append it.  Lock held. */
static inline void loom__wlist_push(loom__wlist *l, loom__wnode *n) {
  loom__waiter_init(&n->w);
  n->handed = false;
  n->linked = true;
  n->next = NULL;
  n->prev = l->tail;
  if (l->tail) l->tail->next = n; else l->head = n;
  l->tail = n;
}

static inline void loom__wlist_unlink(loom__wlist *l, loom__wnode *n) {
  if (n->prev) n->prev->next = n->next; else l->head = n->next;
  if (n->next) n->next->prev = n->prev; else l->tail = n->prev;
  n->next = n->prev = NULL;
  n->linked = false;
}

/* Pop waiters until one accepts a wake-up with reason 0; mark it handed and
 * return it (still valid while the caller holds the lock, so the caller can
 * store the payload).  Waiters that already timed out or were cancelled are
 * unlinked and skipped.  NULL if nobody accepted.  Lock held. */
static inline loom__wnode *loom__wlist_handoff(loom__wlist *l) {
  while (l->head) {
    loom__wnode *n = l->head;
    loom__wlist_unlink(l, n);
    if (loom__waiter_fire_locked(&n->w, 0)) {
      n->handed = true;
      return n;
    }
  }
  return NULL;
}

/* Like loom__wlist_handoff, but the payload `item` is stored (and `handed`
 * set) BEFORE the waiter is fired, so the fire publishes them: a waiter
 * woken with reason 0 by this call may take its item without retaking the
 * lock (its node is already unlinked).  A waiter that lost the fire race
 * reads its node only under the lock, which the caller holds while the
 * payload is taken back.  The caller must not touch the returned node: its
 * owner may be gone already.  Lock held. */
static inline bool loom__wlist_handoff_item(loom__wlist *l, void *item) {
  while (l->head) {
    loom__wnode *n = l->head;
    loom__wlist_unlink(l, n);
    n->item = item;
    n->handed = true;
    if (loom__waiter_fire_locked(&n->w, 0)) return true;
    n->handed = false;
    n->item = NULL;
  }
  return false;
}

/* Wake every waiter with `reason`, emptying the list.  Returns how many
 * accepted.  Lock held. */
static inline int loom__wlist_fire_all(loom__wlist *l, int reason) {
  int woken = 0;
  while (l->head) {
    loom__wnode *n = l->head;
    loom__wlist_unlink(l, n);
    if (loom__waiter_fire_locked(&n->w, reason)) woken++;
  }
  return woken;
}

/* Park n (already pushed on l, with *mu held): drop mu, park until fired or
 * `deadline`, retake mu and make sure n is unlinked.  Returns the park
 * reason: 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED or a primitive's own reason.
 * n->handed tells whether a resource came with the wake-up. */
static inline int loom__wlist_wait(loom__block *mu, loom__wlist *l, loom__wnode *n,
                                   int64_t deadline) {
  loom__block_release(mu);
  int reason = loom__waiter_park(&n->w, deadline);
  loom__block_acquire(mu);
  if (n->linked) loom__wlist_unlink(l, n);
  return reason;
}

/* Number of linked nodes (test hooks; O(n)).  Lock held. */
static inline size_t loom__wlist_len(const loom__wlist *l) {
  size_t n = 0;
  for (const loom__wnode *w = l->head; w; w = w->next) n++;
  return n;
}

/* An identity for the calling context, used as a lock owner: the task when
 * running inside one (tasks of one thread are distinct owners, as in
 * asyncio), else the thread. Never 0. */
uintptr_t loom__sync_self(void);

#endif /* LOOM_THREADS_WLIST_H */
