/* event.c - loom_event: threading.Event / asyncio.Event.
 *
 * A flag and a FIFO of waiters under an internal mutex (core/block.h).
 * set() wakes every waiter; a woken waiter reports success even if the flag
 * was cleared again before it ran, exactly as Python's Event does.
 */
#include "loom/sync.h"

#include "sync_internal.h"

struct loom_event {
  loom__block mu;        /* guards waiters; `flag` is written under it */
  _Atomic bool flag;    /* read without the lock by is_set */
  loom__wlist waiters;
};

int loom_event_create(loom_event **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_event *e = loom__calloc(1, sizeof *e);
  if (!e) return LOOM_ENOMEM;
  loom__block_init(&e->mu);
  atomic_init(&e->flag, false);
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = e;
  return 0;
}

int loom_event_destroy(loom_event *e) {
  if (!e) return 0;
  loom__block_acquire(&e->mu);
  bool busy = !loom__wlist_empty(&e->waiters);
  loom__block_release(&e->mu);
  if (busy) return LOOM_EBUSY;
  loom__free(e);
  loom__live_dec(LOOM_LIVE_SYNC);
  return 0;
}

int loom_event_set(loom_event *e) {
  if (!e) return LOOM_EINVAL;
  loom__block_acquire(&e->mu);
  atomic_store_explicit(&e->flag, true, memory_order_release);
  loom__wlist_fire_all(&e->waiters, 0);
  loom__block_release(&e->mu);
  return 0;
}

int loom_event_clear(loom_event *e) {
  if (!e) return LOOM_EINVAL;
  loom__block_acquire(&e->mu);
  atomic_store_explicit(&e->flag, false, memory_order_release);
  loom__block_release(&e->mu);
  return 0;
}

bool loom_event_is_set(const loom_event *e) {
  return e && atomic_load_explicit(&e->flag, memory_order_acquire);
}

int loom_event_wait(loom_event *e, double timeout) {
  if (!e) return LOOM_EINVAL;
  if (atomic_load_explicit(&e->flag, memory_order_acquire)) return 0;
  int64_t deadline = loom_deadline(timeout);
  loom__block_acquire(&e->mu);
  if (atomic_load_explicit(&e->flag, memory_order_relaxed)) {
    loom__block_release(&e->mu);
    return 0;
  }
  if (timeout == 0) {
    loom__block_release(&e->mu);
    return LOOM_ETIMEDOUT;
  }
  loom__wnode n;
  loom__wlist_push(&e->waiters, &n);
  int reason = loom__wlist_wait(&e->mu, &e->waiters, &n, deadline);
  loom__block_release(&e->mu);
  return reason;
}

size_t loom__event_n_waiters(loom_event *e) {
  loom__block_acquire(&e->mu);
  size_t n = loom__wlist_len(&e->waiters);
  loom__block_release(&e->mu);
  return n;
}
