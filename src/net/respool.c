/* respool.c - the resolver's private thread pool: a minimal executor backend
 * (src/futures/executor_internal.h) whose only job is running getaddrinfo.
 *
 * Why its own pool: getaddrinfo blocks for as long as DNS takes (seconds
 * when a server is down), so lookups must not share workers with file or
 * CPU jobs, or one slow name could starve them.  The pool is small and
 * bounded; threads start on demand (the first lookup pays for one) and stay
 * for reuse until the resolver is destroyed.
 *
 * It implements the generic executor interface, so it can be replaced by
 * the general thread pool (loom_thread_pool_create) with a size limit
 * without touching resolver.c.
 *
 * Locking: one pthread mutex guards the queue and the counters; jobs run
 * and futures complete outside it.
 */
#include <pthread.h>
#include <string.h>

#include "../futures/executor_internal.h"
#include "respool.h"

typedef struct respool {
  loom_executor base; /* first: the generic layer's view */
  pthread_mutex_t mu;
  pthread_cond_t cv;          /* work arrived, or shutdown */
  loom_future *qhead, *qtail; /* queued jobs, linked by job_next */
  pthread_t *threads;         /* started workers, max of them */
  int nthreads, max, idle;
  bool shutdown, joined;
} respool;

static _Thread_local respool *current_pool; /* the pool this worker serves */

static loom_future *pop(respool *p) {
  loom_future *f = p->qhead;
  if (f) {
    p->qhead = f->job_next;
    if (!p->qhead) p->qtail = NULL;
    f->job_next = NULL;
  }
  return f;
}

static void run_one(loom_future *f) {
  if (loom_future_set_running_or_notify_cancel(f)) loom__executor_run_job(f);
  else loom__executor_job_drop(f); /* cancelled while queued */
  loom_future_release(f);
}

static void *worker(void *arg) {
  respool *p = arg;
  current_pool = p;
  pthread_setname_np(pthread_self(), "loom-resolve");
  pthread_mutex_lock(&p->mu);
  for (;;) {
    loom_future *f = pop(p);
    if (f) {
      pthread_mutex_unlock(&p->mu);
      run_one(f);
      pthread_mutex_lock(&p->mu);
      continue;
    }
    if (p->shutdown) break;
    p->idle++;
    pthread_cond_wait(&p->cv, &p->mu);
    p->idle--;
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Start one more worker if none is idle and the limit allows; under mu.
 * Returns 0 or -errno; the caller decides whether a failure matters. */
static int maybe_spawn(respool *p) {
  if (p->idle > 0 || p->nthreads >= p->max) return 0;
  int rc = loom__sys_fault(EAGAIN) ? EAGAIN
                                   : pthread_create(&p->threads[p->nthreads], NULL,
                                                    worker, p);
  if (rc != 0) return -rc;
  p->nthreads++;
  loom__live_inc(LOOM_LIVE_THREADS);
  return 0;
}

static int pool_submit(loom_executor *ex, loom_future *f) {
  respool *p = (respool *)ex;
  pthread_mutex_lock(&p->mu);
  if (p->shutdown) {
    pthread_mutex_unlock(&p->mu);
    return LOOM_ESHUTDOWN;
  }
  int rc = maybe_spawn(p);
  if (rc < 0 && p->nthreads == 0) { /* nobody could ever run it */
    pthread_mutex_unlock(&p->mu);
    return rc;
  }
  if (p->qtail) p->qtail->job_next = f;
  else p->qhead = f;
  p->qtail = f;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return 0;
}

static void cancel_queued(respool *p) {
  pthread_mutex_lock(&p->mu);
  loom_future *f = p->qhead;
  p->qhead = p->qtail = NULL;
  pthread_mutex_unlock(&p->mu);
  while (f) {
    loom_future *next = f->job_next;
    f->job_next = NULL;
    loom_future_cancel(f);
    loom__executor_job_drop(f);
    loom_future_release(f);
    f = next;
  }
}

static int pool_shutdown(loom_executor *ex, bool wait, bool cancel_futures) {
  respool *p = (respool *)ex;
  if (wait && current_pool == p) return LOOM_EDEADLOCK;
  pthread_mutex_lock(&p->mu);
  p->shutdown = true;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  if (cancel_futures) cancel_queued(p);
  if (!wait) return 0;
  pthread_mutex_lock(&p->mu);
  bool join = !p->joined;
  p->joined = true;
  pthread_mutex_unlock(&p->mu);
  if (!join) return 0;
  /* No new worker can start once shutdown is set, so nthreads is final. */
  for (int i = 0; i < p->nthreads; i++) {
    pthread_join(p->threads[i], NULL);
    loom__live_dec(LOOM_LIVE_THREADS);
  }
  return 0;
}

static void pool_destroy(loom_executor *ex) {
  respool *p = (respool *)ex;
  pthread_cond_destroy(&p->cv);
  pthread_mutex_destroy(&p->mu);
  loom__free(p->threads);
  loom__free(p);
  loom__live_dec(LOOM_LIVE_EXECUTORS);
}

static int pool_max_workers(const loom_executor *ex) { return ((const respool *)ex)->max; }

static const loom__executor_ops respool_ops = {
    .kind = "resolver_pool",
    .submit = pool_submit,
    .shutdown = pool_shutdown,
    .destroy = pool_destroy,
    .max_workers = pool_max_workers,
};

int loom__respool_create(int max_threads, loom_executor **out) {
  respool *p = loom__calloc(1, sizeof *p);
  if (!p) return LOOM_ENOMEM;
  p->threads = loom__calloc((size_t)max_threads, sizeof *p->threads);
  if (!p->threads) {
    loom__free(p);
    return LOOM_ENOMEM;
  }
  p->base.ops = &respool_ops;
  p->max = max_threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  loom__live_inc(LOOM_LIVE_EXECUTORS);
  *out = &p->base;
  return 0;
}
