/* pool_util.h - jobs and helpers shared by the thread pool, wait, map and
 * fault tests (header-only: each test program is one file). */
#ifndef LOOM_TESTS_POOL_UTIL_H
#define LOOM_TESTS_POOL_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loom_test.h"

static inline void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static inline loom_executor *pool_new(int max_workers) {
  loom_executor *ex = NULL;
  loom_thread_pool_options o = {.max_workers = max_workers};
  LT_RC(loom_thread_pool_create(&ex, &o), 0);
  return ex;
}

static inline loom_future *plain(void) {
  loom_future *f = NULL;
  LT_RC(loom_future_create(&f), 0);
  return f;
}

static inline loom_future *submit(loom_executor *ex, loom_fn fn, void *arg) {
  loom_future *f = NULL;
  LT_RC(loom_executor_submit(ex, fn, arg, &f), 0);
  return f;
}

/* Jobs.  Integers travel as pointers. */
static inline int job_ident(loom_future *self, void *arg) {
  return loom_future_set_result(self, arg, NULL);
}

static inline int job_mul2(loom_future *self, void *arg) {
  return loom_future_set_result(self, (void *)((intptr_t)arg * 2), NULL);
}

/* Fails with LOOM_ENOENT and a message naming the item. */
static inline int job_fail(loom_future *self, void *arg) {
  return loom_future_set_error(self, LOOM_ENOENT, "item %ld failed", (long)(intptr_t)arg);
}

/* Blocks until the gate future (arg) is done, at most 20 s. */
static inline int job_gate(loom_future *self, void *arg) {
  int rc = loom_future_wait(arg, 20.0);
  if (rc < 0) return rc;
  return loom_future_set_result(self, (void *)1, NULL);
}

static inline int job_sleep_ms(loom_future *self, void *arg) {
  sleep_ms((long)(intptr_t)arg);
  return loom_future_set_result(self, arg, NULL);
}

/* Runs until cancelled (polling the cancel token), at most 20 s. */
static inline int job_until_cancelled(loom_future *self, void *arg) {
  (void)arg;
  for (int i = 0; i < 20000; i++) {
    if (loom_future_cancel_requested(self)) return LOOM_ECANCELLED;
    sleep_ms(1);
  }
  return LOOM_ETIMEDOUT;
}

/* Wait (bounded) until cond() holds; returns whether it did. */
static inline bool eventually(bool (*cond)(void *), void *ctx, double seconds) {
  double end = loom_now() + seconds;
  while (!cond(ctx)) {
    if (loom_now() > end) return false;
    sleep_ms(1);
  }
  return true;
}

static inline bool fut_running(void *f) { return loom_future_running(f); }

#endif
