/* queue.c - loom_queue: FIFO, LIFO and priority queues for threads and
 * tasks (queue.Queue and asyncio.Queue semantics, Python 3.13 shutdown).
 *
 * One internal mutex (a biased lock, core/block.h) guards the store and
 * three FIFO waiter lists: getters (waiting for an item; only while the
 * store is empty), putters (waiting for a slot; only while it is full, each
 * offering its item in its node) and joiners.  Items and slots are handed over directly (see wlist.h):
 *  - put with a getter waiting gives the item to that getter, bypassing the
 *    store (which is empty then, so no order is broken);
 *  - get from a full queue moves the first waiting putter's item into the
 *    freed slot before returning.
 * A waiter that times out or is cancelled at the same moment loses the fire
 * race and is skipped, so the item or slot goes to the next waiter.
 */
#include "loom/queue.h"

#include "queue_store.h"
#include "sync_internal.h"

struct loom_queue {
  loom__block mu;            /* guards everything below */
  loom__qstore store;
  _Atomic size_t alen;      /* store.len, readable without mu (spinning) */
  size_t unfinished;        /* items put and not yet task_done */
  bool shutdown;            /* puts fail; gets drain then fail */
  loom_destructor item_dtor;
  loom__wlist getters;      /* node->item receives the item */
  loom__wlist putters;      /* node->item is the offered item */
  loom__wlist joiners;
};

int loom_queue_create(loom_queue **out, const loom_queue_options *opts) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_queue_options o = opts ? *opts : (loom_queue_options){0};
  if ((unsigned)o.kind > LOOM_QUEUE_PRIORITY) return LOOM_EINVAL;
  if (o.kind == LOOM_QUEUE_PRIORITY && !o.cmp) return LOOM_EINVAL;
  loom_queue *q = loom__calloc(1, sizeof *q);
  if (!q) return LOOM_ENOMEM;
  loom__block_init(&q->mu);
  q->store.kind = o.kind;
  q->store.maxsize = o.maxsize;
  q->store.cmp = o.cmp;
  q->store.cmp_ctx = o.cmp_ctx;
  q->item_dtor = o.item_dtor;
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = q;
  return 0;
}

int loom_queue_destroy(loom_queue *q) {
  if (!q) return 0;
  loom__block_acquire(&q->mu);
  bool busy = !loom__wlist_empty(&q->getters) || !loom__wlist_empty(&q->putters) ||
              !loom__wlist_empty(&q->joiners);
  loom__block_release(&q->mu);
  if (busy) return LOOM_EBUSY;
  loom__qstore_fini(&q->store, q->item_dtor);
  loom__free(q);
  loom__live_dec(LOOM_LIVE_SYNC);
  return 0;
}

static inline void publish_len(loom_queue *q) {
  atomic_store_explicit(&q->alen, q->store.len, memory_order_relaxed);
}

/* Before parking a plain thread, watch the length for a moment: the other
 * side is often running on another core and about to make room (or an
 * item), and a short spin saves a sleep and a wake-up - the difference
 * between a queue and a convoy.  Never in a task: a spinning task would hold
 * up its whole loop, and its peer may be a task of that same loop. */
#ifndef QUEUE_SPIN
#define QUEUE_SPIN 64
#endif
static inline bool spin_allowed(void) { return QUEUE_SPIN > 0 && !loom__in_task(); }

static bool spin_for(loom_queue *q, bool want_room) {
  for (int i = 0; i < QUEUE_SPIN; i++) {
    size_t len = atomic_load_explicit(&q->alen, memory_order_relaxed);
    if (want_room ? len < q->store.maxsize : len > 0) return true;
    loom__cpu_relax();
  }
  return false;
}

static inline bool full_locked(const loom_queue *q) {
  return q->store.maxsize && q->store.len >= q->store.maxsize;
}

/* ---- put ---------------------------------------------------------------- */

/* Queue the item without waiting, or say why not.  mu held. */
static int put_now_locked(loom_queue *q, void *item) {
  if (q->shutdown) return LOOM_ECLOSED;
  if (!loom__wlist_empty(&q->getters) && loom__wlist_handoff_item(&q->getters, item)) {
    q->unfinished++;
    return 0;
  }
  if (full_locked(q)) return LOOM_EFULL;
  int rc = loom__qstore_reserve(&q->store);
  if (rc < 0) return rc;
  loom__qstore_push(&q->store, item);
  publish_len(q);
  q->unfinished++;
  return 0;
}

int loom_queue_put(loom_queue *q, void *item, double timeout) {
  if (!q) return LOOM_EINVAL;
  loom__block_acquire(&q->mu);
  int rc = put_now_locked(q, item);
  if (rc != LOOM_EFULL || timeout == 0) {
    loom__block_release(&q->mu);
    return rc;
  }
  if (loom__wlist_empty(&q->putters) && spin_allowed()) {
    loom__block_release(&q->mu);
    spin_for(q, true);
    loom__block_acquire(&q->mu);
    /* Re-check whatever the spin saw: the lock was dropped.  If putters
     * parked meanwhile the queue is full and we queue up behind them. */
    if (loom__wlist_empty(&q->putters)) {
      rc = put_now_locked(q, item);
      if (rc != LOOM_EFULL) {
        loom__block_release(&q->mu);
        return rc;
      }
    }
  }
  loom__wnode n;
  n.item = item;
  loom__wlist_push(&q->putters, &n);
  int reason = loom__wlist_wait(&q->mu, &q->putters, &n, loom_deadline(timeout));
  loom__block_release(&q->mu);
  /* Handed means a getter already moved our item into the queue: the put
   * happened, whatever else the park reported, so it is never lost. */
  return n.handed ? 0 : reason;
}

int loom_queue_put_nowait(loom_queue *q, void *item) { return loom_queue_put(q, item, 0); }

/* ---- get ---------------------------------------------------------------- */

/* A slot just freed: move the longest-waiting putter's item into it. */
static void admit_putter_locked(loom_queue *q) {
  loom__wnode *p = loom__wlist_handoff(&q->putters);
  if (!p) return;
  /* Room exists: the store was full (cap >= maxsize) and one item left. */
  loom__qstore_push(&q->store, p->item);
  q->unfinished++;
  publish_len(q);
}

static int get_now_locked(loom_queue *q, void **item) {
  if (q->store.len) {
    *item = loom__qstore_pop(&q->store);
    publish_len(q);
    if (!loom__wlist_empty(&q->putters)) admit_putter_locked(q);
    return 0;
  }
  return q->shutdown ? LOOM_ECLOSED : LOOM_EEMPTY;
}

int loom_queue_get(loom_queue *q, void **item, double timeout) {
  if (!q || !item) return LOOM_EINVAL;
  loom__block_acquire(&q->mu);
  int rc = get_now_locked(q, item);
  if (rc != LOOM_EEMPTY || timeout == 0) {
    loom__block_release(&q->mu);
    return rc;
  }
  if (loom__wlist_empty(&q->getters) && spin_allowed()) {
    loom__block_release(&q->mu);
    spin_for(q, false);
    loom__block_acquire(&q->mu);
    /* Re-check (see put); parked getters mean the queue is empty. */
    if (loom__wlist_empty(&q->getters)) {
      rc = get_now_locked(q, item);
      if (rc != LOOM_EEMPTY) {
        loom__block_release(&q->mu);
        return rc;
      }
    }
  }
  loom__wnode n;
  n.item = NULL;
  loom__wlist_push(&q->getters, &n);
  loom__block_release(&q->mu);
  int reason = loom__waiter_park(&n.w, loom_deadline(timeout));
  /* Getters are fired with 0 only by a put's hand-off, which unlinked the
   * node and stored the item before firing: no need for the lock again
   * (two atomic operations less per hop when two tasks ping-pong). */
  if (reason == 0) {
    *item = n.item;
    return 0;
  }
  loom__block_acquire(&q->mu);
  if (n.linked) loom__wlist_unlink(&q->getters, &n);
  loom__block_release(&q->mu);
  /* Handed: the item is ours (see put). */
  if (n.handed) {
    *item = n.item;
    return 0;
  }
  return reason;
}

int loom_queue_get_nowait(loom_queue *q, void **item) { return loom_queue_get(q, item, 0); }

/* ---- sizes -------------------------------------------------------------- */

size_t loom_queue_qsize(const loom_queue *q) {
  if (!q) return 0;
  loom__block_acquire((loom__block *)&q->mu);
  size_t n = q->store.len;
  loom__block_release((loom__block *)&q->mu);
  return n;
}

bool loom_queue_empty(const loom_queue *q) { return loom_queue_qsize(q) == 0; }

bool loom_queue_full(const loom_queue *q) {
  if (!q) return false;
  loom__block_acquire((loom__block *)&q->mu);
  bool full = full_locked(q);
  loom__block_release((loom__block *)&q->mu);
  return full;
}

size_t loom_queue_maxsize(const loom_queue *q) { return q ? q->store.maxsize : 0; }

/* ---- task_done / join --------------------------------------------------- */

int loom_queue_task_done(loom_queue *q) {
  if (!q) return LOOM_EINVAL;
  loom__block_acquire(&q->mu);
  int rc = 0;
  if (q->unfinished == 0)
    rc = LOOM_EINVAL;
  else if (--q->unfinished == 0)
    loom__wlist_fire_all(&q->joiners, 0);
  loom__block_release(&q->mu);
  return rc;
}

int loom_queue_join(loom_queue *q, double timeout) {
  if (!q) return LOOM_EINVAL;
  loom__block_acquire(&q->mu);
  if (q->unfinished == 0) {
    loom__block_release(&q->mu);
    return 0;
  }
  if (timeout == 0) {
    loom__block_release(&q->mu);
    return LOOM_ETIMEDOUT;
  }
  loom__wnode n;
  loom__wlist_push(&q->joiners, &n);
  int reason = loom__wlist_wait(&q->mu, &q->joiners, &n, loom_deadline(timeout));
  loom__block_release(&q->mu);
  return reason;
}

size_t loom_queue_unfinished(const loom_queue *q) {
  if (!q) return 0;
  loom__block_acquire((loom__block *)&q->mu);
  size_t n = q->unfinished;
  loom__block_release((loom__block *)&q->mu);
  return n;
}

/* ---- shutdown ----------------------------------------------------------- */

int loom_queue_shutdown(loom_queue *q, bool immediate) {
  if (!q) return LOOM_EINVAL;
  loom__qstore dropped = {0};
  loom__block_acquire(&q->mu);
  q->shutdown = true;
  if (immediate && q->store.len) {
    /* Detach the items; the destructor runs after the lock is dropped (it is
     * user code and might touch the queue).  No put is accepted any more, so
     * the store stays empty. */
    dropped = q->store;
    q->store.ring = NULL;
    q->store.heap = NULL;
    q->store.len = q->store.cap = q->store.head = 0;
    q->unfinished = q->unfinished > dropped.len ? q->unfinished - dropped.len : 0;
    publish_len(q);
    if (q->unfinished == 0) loom__wlist_fire_all(&q->joiners, 0);
  }
  loom__wlist_fire_all(&q->getters, LOOM_ECLOSED);
  loom__wlist_fire_all(&q->putters, LOOM_ECLOSED);
  loom__block_release(&q->mu);
  loom__qstore_fini(&dropped, q->item_dtor);
  return 0;
}

bool loom_queue_is_shutdown(const loom_queue *q) {
  if (!q) return false;
  loom__block_acquire((loom__block *)&q->mu);
  bool s = q->shutdown;
  loom__block_release((loom__block *)&q->mu);
  return s;
}

size_t loom__queue_n_waiters(loom_queue *q, int which) {
  loom__wlist *l = which == 0 ? &q->getters : which == 1 ? &q->putters : &q->joiners;
  loom__block_acquire(&q->mu);
  size_t n = loom__wlist_len(l);
  loom__block_release(&q->mu);
  return n;
}

loom__block *loom__queue_mu(loom_queue *q) { return &q->mu; }
