/* loom/thread_pool.h - the thread pool executor backend.
 *
 * Python's concurrent.futures.ThreadPoolExecutor in C: a pool of worker
 * threads behind the executor interface of loom/executor.h (submit, map,
 * shutdown, destroy).  Workers start on demand, up to max_workers, and an
 * idle worker is reused before a new one is started.  Each worker may run an
 * initializer first; if it fails the pool is *broken* (Python's
 * BrokenThreadPool): every queued and later job fails with LOOM_EBROKEN and
 * later submits return LOOM_EBROKEN.
 *
 *     LOOM_EXECUTOR_SCOPED loom_executor *pool = NULL;
 *     loom_thread_pool_options o = {.max_workers = 4, .thread_name_prefix = "dl"};
 *     if (loom_thread_pool_create(&pool, &o) < 0) return -1;
 *     loom_future *f;
 *     loom_executor_submit(pool, job, arg, &f);
 *
 * Jobs are queued FIFO.  Cancelling a queued job's future is instant; a
 * running job sees loom_future_cancel_requested(self) and may stop early.
 */
#ifndef LOOM_THREAD_POOL_H
#define LOOM_THREAD_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "executor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options; zero-initialise and set what you need (all zero = defaults). */
typedef struct loom_thread_pool_options {
  /* At most this many worker threads; 0 = min(32, CPUs + 4), like Python. */
  int max_workers;
  /* Workers are named "<prefix>_<n>" (n from 0, truncated to the 15
   * characters Linux allows).  NULL = "loom-pool-<k>", k counting pools.
   * The string is copied. */
  const char *thread_name_prefix;
  /* Run once in each new worker before its first job.  Return 0, or a
   * negative code to break the pool. */
  int (*initializer)(void *arg);
  void *initializer_arg;
} loom_thread_pool_options;

/* Create a thread pool.  No thread starts until the first submit.
 * *out gets the executor; destroy it with loom_executor_destroy() (or use
 * LOOM_EXECUTOR_SCOPED).  opts may be NULL (defaults) and is not kept.
 * Returns 0, or
 *   LOOM_EINVAL   out is NULL or max_workers < 0
 *   LOOM_ENOMEM   out of memory */
int loom_thread_pool_create(loom_executor **out, const loom_thread_pool_options *opts);

/* A snapshot of a pool's state, for monitoring and tests. */
typedef struct loom_thread_pool_stats {
  int workers;        /* worker threads alive now */
  int idle;           /* of which waiting for work */
  uint64_t started;   /* worker threads started since creation */
  uint64_t completed; /* jobs taken off the queue (run or found cancelled) */
} loom_thread_pool_stats;

/* Fill *out.  Returns 0, or LOOM_EINVAL (NULL argument, or `ex` is not a
 * thread pool). */
int loom_thread_pool_stats_get(const loom_executor *ex, loom_thread_pool_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_THREAD_POOL_H */
