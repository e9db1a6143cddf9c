/* net_harness.h - run network code on a loop from a test without tasks.
 *
 * Until the task layer exists, tests enter a loop "by hand": the test
 * thread becomes the loop's driver and installs park ops that, instead of
 * switching to another task, run loop iterations until the waiter fires (or
 * its deadline passes).  Readiness callbacks, timers and wake-ups from other
 * threads all run, so the socket code under test sees exactly the waits it
 * would see in a task; only concurrency between several tasks is missing
 * (peers are plain threads or non-blocking sockets driven by hand).
 */
#ifndef LOOM_TESTS_NET_HARNESS_H
#define LOOM_TESTS_NET_HARNESS_H

#include "core/waiter.h"
#include "loom_test.h"
#include "loop/loop_impl.h"

typedef struct nh_timer {
  loom__timer t;
  loom__waiter *w;
} nh_timer;

static void nh_timeout(loom__timer *t) {
  nh_timer *p = LOOM__CONTAINER_OF(t, nh_timer, t);
  loom__waiter_claim(p->w, LOOM_ETIMEDOUT);
}

static void nh_park(loom__waiter *w, int64_t deadline) {
  loom_loop *loop = w->owner;
  nh_timer p = {.w = w};
  loom__timer_init(&p.t, nh_timeout);
  if (deadline != INT64_MAX) loom__timer_start(loop, &p.t, loom__loop_deadline(loop, deadline));
  while (!loom__waiter_ready(w)) loom__loop_run_once(loop, false);
  loom__timer_stop(loop, &p.t);
}

static void nh_unpark(loom__waiter *w) {
  loom_loop *loop = w->owner;
  if (!loom__loop_on_thread(loop)) loom__loop_wake(loop);
}

static const loom__park_ops nh_ops = {nh_park, nh_unpark, NULL};

/* Create a loop and drive it from this thread as if inside a task. */
static inline loom_loop *nh_enter(void) {
  loom_loop *loop;
  LT_RC(loom_loop_create(&loop, NULL), 0);
  atomic_store(&loop->running, true);
  loom__tls_loop = loop;
  loom__park_ctx_set(&nh_ops, loop);
  return loop;
}

static inline void nh_leave(loom_loop *loop) {
  loom__park_ctx_set(NULL, NULL);
  loom__tls_loop = NULL;
  atomic_store(&loop->running, false);
  loom_loop_destroy(loop);
}

#endif
