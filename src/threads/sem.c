/* sem.c - loom_sem: Semaphore and BoundedSemaphore with FIFO hand-off.
 *
 * A release with waiters hands its permit straight to the longest waiter
 * (see wlist.h), so `value` stays 0 while anyone waits and a newcomer
 * cannot take a permit meant for a waiter (asyncio's fairness guarantee).
 */
#include "loom/sync.h"

#include "sync_internal.h"

struct loom_sem {
  loom__block mu;       /* guards everything below */
  long value;          /* free permits */
  long bound;          /* initial value for a bounded semaphore, else -1 */
  loom__wlist waiters;
};

static int create(loom_sem **out, long value, bool bounded) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  if (value < 0) return LOOM_EINVAL;
  loom_sem *s = loom__calloc(1, sizeof *s);
  if (!s) return LOOM_ENOMEM;
  loom__block_init(&s->mu);
  s->value = value;
  s->bound = bounded ? value : -1;
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = s;
  return 0;
}

int loom_sem_create(loom_sem **out, long value) { return create(out, value, false); }
int loom_bounded_sem_create(loom_sem **out, long value) { return create(out, value, true); }

int loom_sem_destroy(loom_sem *s) {
  if (!s) return 0;
  loom__block_acquire(&s->mu);
  bool busy = !loom__wlist_empty(&s->waiters);
  loom__block_release(&s->mu);
  if (busy) return LOOM_EBUSY;
  loom__free(s);
  loom__live_dec(LOOM_LIVE_SYNC);
  return 0;
}

/* One permit back: to the next waiter, or to the pool.  mu held. */
static void release_one_locked(loom_sem *s) {
  if (!loom__wlist_handoff(&s->waiters)) s->value++;
}

int loom_sem_acquire(loom_sem *s, double timeout) {
  if (!s) return LOOM_EINVAL;
  int64_t deadline = loom_deadline(timeout);
  loom__block_acquire(&s->mu);
  if (s->value > 0) {
    s->value--;
    loom__block_release(&s->mu);
    return 0;
  }
  if (timeout == 0) {
    loom__block_release(&s->mu);
    return LOOM_ETIMEDOUT;
  }
  loom__wnode n;
  loom__wlist_push(&s->waiters, &n);
  int reason = loom__wlist_wait(&s->mu, &s->waiters, &n, deadline);
  /* Handed a permit but told otherwise (see lock.c): give it to the next. */
  if (n.handed && reason != 0) release_one_locked(s);
  loom__block_release(&s->mu);
  return reason;
}

int loom_sem_release(loom_sem *s, long n) {
  if (!s || n < 1) return LOOM_EINVAL;
  loom__block_acquire(&s->mu);
  if (s->bound >= 0 && s->value + n > s->bound) {
    loom__block_release(&s->mu);
    return LOOM_EOVERFLOW;
  }
  for (long i = 0; i < n; i++) release_one_locked(s);
  loom__block_release(&s->mu);
  return 0;
}

long loom_sem_value(const loom_sem *s) {
  if (!s) return 0;
  loom__block_acquire((loom__block *)&s->mu);
  long v = s->value;
  loom__block_release((loom__block *)&s->mu);
  return v;
}

size_t loom__sem_n_waiters(loom_sem *s) {
  loom__block_acquire(&s->mu);
  size_t n = loom__wlist_len(&s->waiters);
  loom__block_release(&s->mu);
  return n;
}
