/* cond.c - loom_cond: threading.Condition / asyncio.Condition over a
 * loom_lock.
 *
 * The condition keeps its own FIFO of waiters under its own internal mutex
 * `mu`; notify pops waiters in order.  Lock order: the user lock (a
 * loom_lock) is never acquired while `mu` is held, and `mu` is only taken
 * briefly, so the two never nest in a way that could deadlock.
 *
 * wait() = publish a node, release the user lock, park, reacquire the lock.
 * The node is published *before* the lock is released: a notifier must hold
 * the lock, so it cannot slip between the release and the publication and be
 * missed.  If a task was notified but then cancelled while reacquiring the
 * lock, the notification is passed to the next waiter (asyncio does the
 * same since 3.13) so a notify(1) is never swallowed.
 */
#include "sync_internal.h"

struct loom_cond {
  loom__block mu;        /* guards waiters */
  loom_lock *lock;      /* the user lock */
  bool own_lock;        /* created by us, freed with us */
  loom__wlist waiters;
};

int loom_cond_create(loom_cond **out, loom_lock *lock) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_cond *c = loom__calloc(1, sizeof *c);
  if (!c) return LOOM_ENOMEM;
  loom__block_init(&c->mu);
  if (!lock) {
    int rc = loom_rlock_create(&lock);
    if (rc < 0) {
      loom__free(c);
      return rc;
    }
    c->own_lock = true;
  }
  c->lock = lock;
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = c;
  return 0;
}

int loom_cond_destroy(loom_cond *c) {
  if (!c) return 0;
  loom__block_acquire(&c->mu);
  bool busy = !loom__wlist_empty(&c->waiters);
  loom__block_release(&c->mu);
  if (busy) return LOOM_EBUSY;
  if (c->own_lock) {
    int rc = loom_lock_destroy(c->lock);
    if (rc < 0) return rc;
  }
  loom__free(c);
  loom__live_dec(LOOM_LIVE_SYNC);
  return 0;
}

loom_lock *loom_cond_lock(loom_cond *c) { return c ? c->lock : NULL; }

static int notify_locked(loom_cond *c, int n) {
  int woken = 0;
  while (woken < n && loom__wlist_handoff(&c->waiters)) woken++;
  return woken;
}

/* Reacquire the user lock whatever happens; remember a cancellation. */
static int reacquire(loom_cond *c, unsigned depth) {
  int cancelled = 0;
  while (loom__lock_acquire_depth(c->lock, depth) == LOOM_ECANCELLED)
    cancelled = LOOM_ECANCELLED;
  return cancelled;
}

static int wait_deadline(loom_cond *c, int64_t deadline) {
  if (!loom_lock_owned(c->lock)) return LOOM_EPERM;
  loom__wnode n;
  loom__block_acquire(&c->mu);
  loom__wlist_push(&c->waiters, &n);
  loom__block_release(&c->mu);
  unsigned depth = 0;
  loom__lock_release_all(c->lock, &depth); /* cannot fail: we own it */
  loom__block_acquire(&c->mu);
  int reason = loom__wlist_wait(&c->mu, &c->waiters, &n, deadline);
  loom__block_release(&c->mu);
  int cancelled = reacquire(c, depth);
  if (n.handed && (reason != 0 || cancelled)) {
    /* Notified, yet we report a failure: hand the notification on. */
    loom__block_acquire(&c->mu);
    notify_locked(c, 1);
    loom__block_release(&c->mu);
  }
  if (reason) return reason;
  return cancelled;
}

int loom_cond_wait(loom_cond *c, double timeout) {
  if (!c) return LOOM_EINVAL;
  return wait_deadline(c, loom_deadline(timeout));
}

int loom_cond_wait_for(loom_cond *c, loom_predicate pred, void *arg, double timeout) {
  if (!c || !pred) return LOOM_EINVAL;
  if (!loom_lock_owned(c->lock)) return LOOM_EPERM;
  int64_t deadline = loom_deadline(timeout);
  while (!pred(arg)) {
    if (deadline != INT64_MAX && loom_now_ns() >= deadline) return LOOM_ETIMEDOUT;
    int rc = wait_deadline(c, deadline);
    if (rc == LOOM_ETIMEDOUT) return pred(arg) ? 0 : LOOM_ETIMEDOUT;
    if (rc < 0) return rc;
  }
  return 0;
}

int loom_cond_notify(loom_cond *c, int n) {
  if (!c || n < 0) return LOOM_EINVAL;
  if (!loom_lock_owned(c->lock)) return LOOM_EPERM;
  loom__block_acquire(&c->mu);
  int woken = notify_locked(c, n);
  loom__block_release(&c->mu);
  return woken;
}

int loom_cond_notify_all(loom_cond *c) {
  if (!c) return LOOM_EINVAL;
  if (!loom_lock_owned(c->lock)) return LOOM_EPERM;
  loom__block_acquire(&c->mu);
  int woken = loom__wlist_fire_all(&c->waiters, 0);
  loom__block_release(&c->mu);
  return woken;
}

size_t loom__cond_n_waiters(loom_cond *c) {
  loom__block_acquire(&c->mu);
  size_t n = loom__wlist_len(&c->waiters);
  loom__block_release(&c->mu);
  return n;
}
