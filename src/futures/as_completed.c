/* as_completed.c - an iterator over futures in completion order, like
 * concurrent.futures.as_completed().
 *
 * Each distinct future gets a node; when it finishes, the node (running
 * under the future's lock) appends it to a ready ring under the iterator's
 * lock and fires the parked consumer, if any.  Lock order: future lock, then
 * iterator lock - the consumer never takes a future lock while holding the
 * iterator lock.
 */
#include "dedup.h"

struct loom_as_completed {
  loom__lock lock;
  loom_future **fs;      /* distinct futures, each retained */
  loom__fnode *nodes;    /* one per future */
  bool *linked;          /* node still subscribed */
  size_t m;
  loom_future **ring;    /* finished, not yet yielded (capacity m) */
  size_t head, count;
  size_t yielded;
  int64_t deadline;
  loom__waiter *waiter;  /* the parked consumer, or NULL */
};

static void push_ready(loom_as_completed *it, loom_future *f) {
  it->ring[(it->head + it->count) % it->m] = f;
  it->count++;
}

static int on_done(loom_future *f, void *arg) {
  loom_as_completed *it = arg;
  loom__lock_acquire(&it->lock);
  push_ready(it, f);
  if (it->waiter) loom__waiter_fire(it->waiter, 0);
  loom__lock_release(&it->lock);
  return 0;
}

static void it_free(loom_as_completed *it) {
  for (size_t i = 0; i < it->m; i++) loom_future_release(it->fs[i]);
  loom__free(it->fs);
  loom__free(it->nodes);
  loom__free(it->linked);
  loom__free(it->ring);
  loom__free(it);
  loom__live_dec(LOOM_LIVE_OTHER);
}

int loom_as_completed_create(loom_future *const *fs, size_t n, double timeout,
                             loom_as_completed **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_as_completed *it = loom__calloc(1, sizeof *it);
  if (!it) return LOOM_ENOMEM;
  loom__live_inc(LOOM_LIVE_OTHER);
  loom__lock_init(&it->lock);
  it->deadline = loom_deadline(timeout);
  int rc = loom__dedup(fs, n, &it->fs, &it->m);
  if (rc < 0) {
    it_free(it);
    return rc;
  }
  size_t cap = it->m ? it->m : 1;
  it->nodes = loom__calloc(cap, sizeof *it->nodes);
  it->linked = loom__calloc(cap, sizeof *it->linked);
  it->ring = loom__calloc(cap, sizeof *it->ring);
  if (!it->nodes || !it->linked || !it->ring) {
    it->m = 0; /* nothing retained yet */
    it_free(it);
    return LOOM_ENOMEM;
  }
  for (size_t i = 0; i < it->m; i++) loom_future_retain(it->fs[i]);
  /* Subscribing in input order makes the already-finished ones come out
   * first, in input order. */
  for (size_t i = 0; i < it->m; i++) {
    it->nodes[i].fn = on_done;
    it->nodes[i].arg = it;
    it->linked[i] = loom__future_subscribe(it->fs[i], &it->nodes[i]);
    if (!it->linked[i]) on_done(it->fs[i], it);
  }
  *out = it;
  return 0;
}

int loom_as_completed_next(loom_as_completed *it, loom_future **out) {
  if (!it || !out) return LOOM_EINVAL;
  *out = NULL;
  loom__lock_acquire(&it->lock);
  for (;;) {
    if (it->count) {
      *out = it->ring[it->head];
      it->head = (it->head + 1) % it->m;
      it->count--;
      it->yielded++;
      loom__lock_release(&it->lock);
      return 0;
    }
    if (it->yielded == it->m) {
      loom__lock_release(&it->lock);
      return LOOM_ESTOP;
    }
    if (it->deadline != INT64_MAX && loom_now_ns() >= it->deadline) {
      loom__lock_release(&it->lock);
      return LOOM_ETIMEDOUT;
    }
    loom__waiter w;
    loom__waiter_init(&w);
    it->waiter = &w;
    loom__lock_release(&it->lock);
    int reason = loom__waiter_park(&w, it->deadline);
    loom__lock_acquire(&it->lock);
    it->waiter = NULL; /* unpublished under the lock: no one fires it now */
    if (reason == LOOM_ECANCELLED) {
      loom__lock_release(&it->lock);
      return LOOM_ECANCELLED;
    }
  }
}

size_t loom_as_completed_remaining(const loom_as_completed *it) {
  return it ? it->m - it->yielded : 0;
}

void loom_as_completed_destroy(loom_as_completed *it) {
  if (!it) return;
  for (size_t i = 0; i < it->m; i++)
    if (it->linked[i]) loom__future_unsubscribe(it->fs[i], &it->nodes[i]);
  it_free(it);
}
