/* sigwatch.c - awaitable signals: a loom_signal_watch is a small queue of
 * delivered signal numbers (one bit each, see the coalescing rule in
 * loom/signal.h) with a FIFO of waiters.
 *
 * The loop thread delivers (loom__sigwatch_notify, from signal.c's dispatch,
 * sig_mu held): for each of the loop's watches covering the signal it hands
 * the number straight to the first waiter that accepts, or sets the pending
 * bit when nobody waits.  Waiters are ordinary loom waiters, so a task
 * suspends, timeout scopes and cancellation apply, and a plain thread
 * blocks.  Lock order: sig_mu (signal.c), then the watch's mu.
 */
#include "loom/signal.h"

#include "../threads/wlist.h"
#include "loop_impl.h"

struct loom_signal_watch {
  loom_loop *loop;                /* NULL once the loop closed; sig_mu guards */
  uint64_t set;                   /* watched signals: bit s-1 */
  loom_signal_watch *next, *prev; /* the loop's watch_list; sig_mu guards */
  loom__block mu;
  uint64_t pending;               /* delivered, not yet taken; mu guards */
  loom__wlist waiters;            /* mu guards */
  bool closed;                    /* loop closed; mu guards */
};

static uint64_t bit(int s) { return (uint64_t)1 << (s - 1); }

/* Release the signals of w taken so far (sig_mu held). */
static void release_set(loom_loop *loop, uint64_t set) {
  for (int s = 1; s < NSIG && s <= 64; s++)
    if (set & bit(s)) loom__sig_release(loop, s);
}

static int acquire_all(loom_loop *loop, loom_signal_watch *w, const int *signals, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int s = signals[i];
    if (s <= 0 || s > 64 || s >= NSIG) return LOOM_EINVAL;
    if (w->set & bit(s)) continue;
    int rc = loom__sig_acquire(loop, s);
    if (rc) return rc;
    w->set |= bit(s);
  }
  return 0;
}

static void link_watch(loom_loop *loop, loom_signal_watch *w) {
  w->loop = loop;
  w->next = loop->watch_list;
  if (w->next) w->next->prev = w;
  loop->watch_list = w;
}

static void unlink_watch(loom_signal_watch *w) {
  if (w->prev) w->prev->next = w->next; else w->loop->watch_list = w->next;
  if (w->next) w->next->prev = w->prev;
  w->next = w->prev = NULL;
}

int loom_signal_watch_create(loom_loop *loop, const int *signals, size_t n,
                             loom_signal_watch **out) {
  if (out) *out = NULL;
  if (!loop) loop = loom_loop_current();
  if (!out || !signals || n == 0 || !loop) return LOOM_EINVAL;
  if (atomic_load(&loop->closed)) return LOOM_ECLOSED;
  loom_signal_watch *w = loom__calloc(1, sizeof *w);
  if (!w) return LOOM_ENOMEM;
  loom__block_init(&w->mu);
  loom__sig_lock();
  int rc = acquire_all(loop, w, signals, n);
  if (rc == 0) link_watch(loop, w);
  else release_set(loop, w->set);
  loom__sig_unlock();
  if (rc) {
    loom__free(w);
    return rc;
  }
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = w;
  return 0;
}

/* Lowest pending signal, cleared; 0 if none.  mu held. */
static int take_pending(loom_signal_watch *w) {
  if (!w->pending) return 0;
  int s = __builtin_ctzll(w->pending) + 1;
  w->pending &= ~bit(s);
  return s;
}

int loom_signal_watch_wait(loom_signal_watch *w, double timeout, int *signo) {
  if (!w) return LOOM_EINVAL;
  int64_t deadline = loom_deadline(timeout);
  loom__block_acquire(&w->mu);
  int s = take_pending(w);
  int rc = 0;
  if (!s && w->closed) {
    rc = LOOM_ECLOSED;
  } else if (!s && timeout == 0) {
    rc = LOOM_ETIMEDOUT;
  } else if (!s) {
    loom__wnode node;
    loom__wlist_push(&w->waiters, &node);
    rc = loom__wlist_wait(&w->mu, &w->waiters, &node, deadline);
    if (node.handed) {
      s = (int)node.aux;
      rc = 0;
    }
  }
  loom__block_release(&w->mu);
  if (signo) *signo = rc ? 0 : s;
  return rc;
}

int loom_signal_watch_pending(loom_signal_watch *w) {
  if (!w) return 0;
  loom__block_acquire(&w->mu);
  int n = __builtin_popcountll(w->pending);
  loom__block_release(&w->mu);
  return n;
}

void loom__sigwatch_notify(loom_loop *loop, int signum) {
  for (loom_signal_watch *w = loop->watch_list; w; w = w->next) {
    if (!(w->set & bit(signum))) continue;
    loom__block_acquire(&w->mu);
    loom__wnode *n = loom__wlist_handoff(&w->waiters);
    if (n) n->aux = (uintptr_t)signum;
    else w->pending |= bit(signum);
    loom__block_release(&w->mu);
  }
}

void loom__sigwatch_detach_all(loom_loop *loop) {
  while (loop->watch_list) {
    loom_signal_watch *w = loop->watch_list;
    unlink_watch(w);
    w->loop = NULL;
    loom__block_acquire(&w->mu);
    w->closed = true;
    loom__wlist_fire_all(&w->waiters, LOOM_ECLOSED);
    loom__block_release(&w->mu);
  }
}

int loom_signal_watch_destroy(loom_signal_watch *w) {
  if (!w) return LOOM_EINVAL;
  loom__sig_lock();
  loom__block_acquire(&w->mu);
  bool busy = !loom__wlist_empty(&w->waiters);
  loom__block_release(&w->mu);
  if (!busy && w->loop) {
    loom_loop *loop = w->loop;
    unlink_watch(w);
    release_set(loop, w->set);
  }
  loom__sig_unlock();
  if (busy) return LOOM_EBUSY;
  loom__free(w);
  loom__live_dec(LOOM_LIVE_SYNC);
  return 0;
}

int loom_signal_wait(const int *signals, size_t n, double timeout, int *signo) {
  if (signo) *signo = 0;
  loom_signal_watch *w;
  int rc = loom_signal_watch_create(NULL, signals, n, &w);
  if (rc) return rc;
  rc = loom_signal_watch_wait(w, timeout, signo);
  loom_signal_watch_destroy(w);
  return rc;
}
