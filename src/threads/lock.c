/* lock.c - loom_lock: Lock and RLock with FIFO hand-off (see wlist.h).
 *
 * The lock word is `owner` (0 = free) guarded by an internal mutex `mu`
 * (core/block.h).  A release with waiters never frees the lock: it passes
 * ownership straight to the longest waiter that still accepts it.  So `owner == 0` implies nobody
 * is left waiting (except waiters that already timed out and are about to
 * unlink themselves), and a newcomer never barges past a waiter: the FIFO
 * fairness asyncio.Lock promises, for threads too.
 */
#include "sync_internal.h"

struct loom_lock {
  loom__block mu;        /* guards everything below */
  uintptr_t owner;      /* loom__sync_self() of the holder, 0 when free */
  unsigned depth;       /* recursion depth (1 for a plain lock when held) */
  bool recursive;       /* RLock */
  loom__wlist waiters;  /* aux = the waiter's identity */
};

static _Thread_local char thread_identity;

uintptr_t loom__sync_self(void) {
  if (loom__park_ctx_owner) return (uintptr_t)loom__park_ctx_owner;
  return (uintptr_t)&thread_identity;
}

static int create(loom_lock **out, bool recursive) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_lock *l = loom__calloc(1, sizeof *l);
  if (!l) return LOOM_ENOMEM;
  loom__block_init(&l->mu);
  l->recursive = recursive;
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = l;
  return 0;
}

int loom_lock_create(loom_lock **out) { return create(out, false); }
int loom_rlock_create(loom_lock **out) { return create(out, true); }

int loom_lock_destroy(loom_lock *l) {
  if (!l) return 0;
  loom__block_acquire(&l->mu);
  bool busy = l->owner || !loom__wlist_empty(&l->waiters);
  loom__block_release(&l->mu);
  if (busy) return LOOM_EBUSY;
  loom__free(l);
  loom__live_dec(LOOM_LIVE_SYNC);
  return 0;
}

/* Give the lock to the next waiter, or free it.  mu held. */
static void pass_on_locked(loom_lock *l) {
  loom__wnode *n = loom__wlist_handoff(&l->waiters);
  l->owner = n ? n->aux : 0;
  l->depth = n ? 1 : 0;
}

static int acquire(loom_lock *l, int64_t deadline, bool poll, unsigned depth) {
  uintptr_t me = loom__sync_self();
  loom__block_acquire(&l->mu);
  if (l->owner == 0) {
    l->owner = me;
    l->depth = depth;
    loom__block_release(&l->mu);
    return 0;
  }
  if (l->owner == me) {
    int rc = l->recursive ? 0 : LOOM_EDEADLOCK;
    if (rc == 0) l->depth++;
    loom__block_release(&l->mu);
    return rc;
  }
  if (poll) {
    loom__block_release(&l->mu);
    return LOOM_ETIMEDOUT;
  }
  loom__wnode n;
  n.aux = me;
  loom__wlist_push(&l->waiters, &n);
  int reason = loom__wlist_wait(&l->mu, &l->waiters, &n, deadline);
  if (n.handed) {
    /* The releaser made us the owner.  It won the fire race, so reason is 0;
     * should a park implementation still report a cancellation, pass the
     * lock on rather than keep it or lose it. */
    if (reason != 0) pass_on_locked(l);
    else l->depth = depth;
  }
  loom__block_release(&l->mu);
  return n.handed && reason == 0 ? 0 : (reason ? reason : LOOM_ETIMEDOUT);
}

int loom_lock_acquire(loom_lock *l, double timeout) {
  if (!l) return LOOM_EINVAL;
  return acquire(l, loom_deadline(timeout), timeout == 0, 1);
}

int loom_lock_release(loom_lock *l) {
  if (!l) return LOOM_EINVAL;
  uintptr_t me = loom__sync_self();
  loom__block_acquire(&l->mu);
  if (l->owner != me) {
    loom__block_release(&l->mu);
    return LOOM_EPERM;
  }
  if (--l->depth == 0) pass_on_locked(l);
  loom__block_release(&l->mu);
  return 0;
}

bool loom_lock_locked(const loom_lock *l) {
  if (!l) return false;
  loom__block_acquire((loom__block *)&l->mu);
  bool held = l->owner != 0;
  loom__block_release((loom__block *)&l->mu);
  return held;
}

bool loom_lock_owned(const loom_lock *l) {
  if (!l) return false;
  uintptr_t me = loom__sync_self();
  loom__block_acquire((loom__block *)&l->mu);
  bool mine = l->owner == me;
  loom__block_release((loom__block *)&l->mu);
  return mine;
}

int loom__lock_release_all(loom_lock *l, unsigned *depth) {
  uintptr_t me = loom__sync_self();
  loom__block_acquire(&l->mu);
  if (l->owner != me) {
    loom__block_release(&l->mu);
    return LOOM_EPERM;
  }
  *depth = l->depth;
  pass_on_locked(l);
  loom__block_release(&l->mu);
  return 0;
}

int loom__lock_acquire_depth(loom_lock *l, unsigned depth) {
  return acquire(l, INT64_MAX, false, depth);
}

size_t loom__lock_n_waiters(loom_lock *l) {
  loom__block_acquire(&l->mu);
  size_t n = loom__wlist_len(&l->waiters);
  loom__block_release(&l->mu);
  return n;
}
