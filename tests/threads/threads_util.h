/* threads_util.h - helpers shared by the tests of src/threads: sleeping,
 * bounded polling, starting plain pthreads, and a "fake task" parking
 * context that lets thread-only tests exercise what coroutine tasks do to a
 * primitive (cancellation while waiting, a cancel that arrives after the
 * waiter was handed something). */
#ifndef LOOM_TESTS_THREADS_UTIL_H
#define LOOM_TESTS_THREADS_UTIL_H

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loom_test.h"
#include "core/lock.h"
#include "core/waiter.h"
#include "threads/sync_internal.h"

static inline void sleep_ms(double ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (time_t)(ms / 1000) * 1000) * 1e6)};
  nanosleep(&ts, NULL);
}

/* Poll `cond` until true or `secs` pass; evaluates to the final value. */
#define WAIT_UNTIL(cond, secs)                                                 \
  ({                                                                           \
    double wu_end_ = loom_now() + (secs);                                      \
    bool wu_ok_;                                                               \
    while (!(wu_ok_ = (cond)) && loom_now() < wu_end_) sleep_ms(0.2);           \
    wu_ok_;                                                                    \
  })

static inline pthread_t spawn(void *(*fn)(void *), void *arg) {
  pthread_t t;
  int rc = pthread_create(&t, NULL, fn, arg);
  assert_int_equal(rc, 0);
  return t;
}

/* ---- fake task -------------------------------------------------------- */

typedef struct fake_task {
  pthread_mutex_t mu;
  loom__waiter *parked;   /* the waiter this task is parked on, if any */
  int override;           /* reason reported instead of a 0 wake-up, once */
  int parks;              /* how many times it parked */
} fake_task;

static void ft_park(loom__waiter *w, int64_t deadline) {
  fake_task *t = w->owner;
  pthread_mutex_lock(&t->mu);
  t->parked = w;
  t->parks++;
  pthread_mutex_unlock(&t->mu);
  for (;;) {
    uint32_t s = atomic_load_explicit(&w->state, memory_order_acquire);
    if (s == LOOM__W_READY) break;
    if (s == LOOM__W_CLAIMED) continue;
    if (deadline != INT64_MAX && loom_now_ns() >= deadline && loom__waiter_claim(w, LOOM_ETIMEDOUT))
      break;
    sleep_ms(0.05);
  }
  pthread_mutex_lock(&t->mu);
  t->parked = NULL;
  /* Simulate a task cancelled after it was woken but before it resumed. */
  if (t->override && w->reason == 0) {
    w->reason = t->override;
    t->override = 0;
  }
  pthread_mutex_unlock(&t->mu);
}

static void ft_unpark(loom__waiter *w) { (void)w; /* ft_park polls */ }

static const loom__park_ops ft_ops = {ft_park, ft_unpark, NULL, NULL};

static inline void ft_init(fake_task *t) {
  memset(t, 0, sizeof *t);
  pthread_mutex_init(&t->mu, NULL);
}

/* Make the calling thread behave as task t. */
static inline void ft_enter(fake_task *t) { loom__park_ctx_set(&ft_ops, t); }
static inline void ft_leave(void) { loom__park_ctx_set(NULL, NULL); }

static inline bool ft_is_parked(fake_task *t) {
  pthread_mutex_lock(&t->mu);
  bool p = t->parked != NULL;
  pthread_mutex_unlock(&t->mu);
  return p;
}

/* Cancel t while it is parked: fire its waiter with LOOM_ECANCELLED. */
static inline bool ft_cancel(fake_task *t) {
  pthread_mutex_lock(&t->mu);
  bool ok = t->parked && loom__waiter_fire(t->parked, LOOM_ECANCELLED);
  pthread_mutex_unlock(&t->mu);
  return ok;
}

static inline void ft_set_override(fake_task *t, int reason) {
  pthread_mutex_lock(&t->mu);
  t->override = reason;
  pthread_mutex_unlock(&t->mu);
}

/* ---- real tasks (test_tasks, test_same_loop_fire) ---------------------- */

static inline loom_loop *tu_make_loop(void) {
  loom_loop *l = NULL;
  LT_RC(loom_loop_create(&l, NULL), 0);
  return l;
}

/* Run the loop until each of the n tasks is done. */
static inline void tu_run_all(loom_loop *l, loom_future **t, int n) {
  for (int i = 0; i < n; i++) {
    if (!loom_future_done(t[i])) LT_RC(loom_loop_run_until_complete(l, t[i]), 0);
    assert_true(loom_future_done(t[i]));
  }
}

#endif
