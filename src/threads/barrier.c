/* barrier.c - loom_barrier: threading.Barrier / asyncio.Barrier.
 *
 * Arrivals of the current cycle wait in `waiters`.  The last arrival runs
 * the action *without* the mutex held (it is user code, and may itself wait
 * or be a task that suspends), with `in_action` set: callers arriving
 * meanwhile belong to the next cycle and wait at the `gate` until the action
 * is over (Python's "draining" state).  Then the cycle's waiters are released
 * together and the next cycle starts empty.
 *
 * Each waiter's node is marked `handed` when its cycle completed, so a
 * waiter whose own timeout raced with the release still reports success, and
 * one that timed out before anyone released it breaks the barrier (Python's
 * rule).  A cancelled task just leaves: its place in the cycle is free again.
 */
#include "loom/sync.h"

#include "wlist.h"

struct loom_barrier {
  loom__block mu;            /* guards everything below */
  int parties;
  int count;                /* arrived in the current cycle */
  bool broken;
  bool in_action;           /* the last arrival runs the action */
  uint64_t generation;      /* bumped when a cycle ends (release or reset) */
  loom__wlist waiters;      /* current cycle; aux = arrival index */
  loom__wlist gate;         /* arrivals for the next cycle during the action */
  loom_barrier_action action;
  void *arg;
};

int loom_barrier_create(loom_barrier **out, int parties, loom_barrier_action action,
                        void *arg) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  if (parties < 1) return LOOM_EINVAL;
  loom_barrier *b = loom__calloc(1, sizeof *b);
  if (!b) return LOOM_ENOMEM;
  loom__block_init(&b->mu);
  b->parties = parties;
  b->action = action;
  b->arg = arg;
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = b;
  return 0;
}

int loom_barrier_destroy(loom_barrier *b) {
  if (!b) return 0;
  loom__block_acquire(&b->mu);
  bool busy = !loom__wlist_empty(&b->waiters) || !loom__wlist_empty(&b->gate) ||
              b->in_action;
  loom__block_release(&b->mu);
  if (busy) return LOOM_EBUSY;
  loom__free(b);
  loom__live_dec(LOOM_LIVE_SYNC);
  return 0;
}

/* End the current cycle: every waiter gets `reason`; released ones (reason
 * 0) are marked handed.  mu held. */
static void end_cycle_locked(loom_barrier *b, int reason) {
  while (b->waiters.head) {
    loom__wnode *n = b->waiters.head;
    loom__wlist_unlink(&b->waiters, n);
    n->handed = reason == 0;
    loom__waiter_fire_locked(&n->w, reason);
  }
  b->count = 0;
  b->generation++;
}

static void break_locked(loom_barrier *b) {
  b->broken = true;
  end_cycle_locked(b, LOOM_EBROKENBARRIER);
  loom__wlist_fire_all(&b->gate, 0); /* they re-check `broken` */
}

/* The last arrival: run the action, then release the cycle.  mu held on
 * entry and on return. */
static int trip_locked(loom_barrier *b, int index) {
  if (b->action) {
    uint64_t gen = b->generation;
    b->in_action = true;
    loom__block_release(&b->mu);
    int rc = b->action(b->arg);
    loom__block_acquire(&b->mu);
    b->in_action = false;
    loom__wlist_fire_all(&b->gate, 0);
    if (rc < 0 && !b->broken) break_locked(b);
    if (rc < 0) return rc;
    if (b->broken || b->generation != gen) return LOOM_EBROKENBARRIER; /* abort/reset */
  }
  end_cycle_locked(b, 0);
  return index;
}

/* Wait for the action of the previous cycle to finish.  mu held. */
static int pass_gate_locked(loom_barrier *b, int64_t deadline) {
  while (b->in_action && !b->broken) {
    loom__wnode n;
    loom__wlist_push(&b->gate, &n);
    int reason = loom__wlist_wait(&b->mu, &b->gate, &n, deadline);
    if (reason == LOOM_ETIMEDOUT) {
      if (!b->broken) break_locked(b);
      return LOOM_ETIMEDOUT;
    }
    if (reason) return reason;
  }
  return b->broken ? LOOM_EBROKENBARRIER : 0;
}

static int wait_cycle_locked(loom_barrier *b, int index, int64_t deadline) {
  loom__wnode n;
  n.aux = (uintptr_t)index;
  loom__wlist_push(&b->waiters, &n);
  loom__block_release(&b->mu);
  int reason = loom__waiter_park(&n.w, deadline);
  loom__block_acquire(&b->mu);
  bool was_linked = n.linked;
  if (was_linked) loom__wlist_unlink(&b->waiters, &n);
  if (n.handed) return index;              /* the cycle completed */
  if (!was_linked) return LOOM_EBROKENBARRIER; /* broken or reset meanwhile */
  if (reason == LOOM_ECANCELLED) {
    b->count--; /* leave; the barrier stays usable */
    return reason;
  }
  break_locked(b); /* a timeout breaks the barrier for everyone */
  return reason;
}

int loom_barrier_wait(loom_barrier *b, double timeout) {
  if (!b) return LOOM_EINVAL;
  int64_t deadline = loom_deadline(timeout);
  loom__block_acquire(&b->mu);
  int rc = pass_gate_locked(b, deadline);
  if (rc == 0) {
    int index = b->count++;
    if (b->count == b->parties)
      rc = trip_locked(b, index);
    else
      rc = wait_cycle_locked(b, index, deadline);
  }
  loom__block_release(&b->mu);
  return rc;
}

int loom_barrier_abort(loom_barrier *b) {
  if (!b) return LOOM_EINVAL;
  loom__block_acquire(&b->mu);
  break_locked(b);
  loom__block_release(&b->mu);
  return 0;
}

int loom_barrier_reset(loom_barrier *b) {
  if (!b) return LOOM_EINVAL;
  loom__block_acquire(&b->mu);
  end_cycle_locked(b, LOOM_EBROKENBARRIER);
  b->broken = false;
  loom__wlist_fire_all(&b->gate, 0);
  loom__block_release(&b->mu);
  return 0;
}

int loom_barrier_parties(const loom_barrier *b) { return b ? b->parties : 0; }

int loom_barrier_n_waiting(const loom_barrier *b) {
  if (!b) return 0;
  loom__block_acquire((loom__block *)&b->mu);
  int n = b->count;
  loom__block_release((loom__block *)&b->mu);
  return n;
}

bool loom_barrier_broken(const loom_barrier *b) {
  if (!b) return false;
  loom__block_acquire((loom__block *)&b->mu);
  bool broken = b->broken;
  loom__block_release((loom__block *)&b->mu);
  return broken;
}
