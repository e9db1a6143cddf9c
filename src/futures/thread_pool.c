/* thread_pool.c - the thread pool executor (Python's ThreadPoolExecutor).
 *
 * One lock (pool->lock, a futex lock) guards the job queue, the counters and
 * the stack of sleeping workers.  The queue is intrusive: a job is its
 * future, linked through future->job_next, so a submission allocates
 * nothing beyond the future itself.
 *
 * Workers start on demand: a submit starts one when there are more queued
 * jobs than idle workers (so an idle worker is reused first) and fewer than
 * max_workers exist.  A worker that finds the queue empty spins briefly
 * (polling an atomic mirror of the queue length, without the lock), then
 * sleeps on its own futex word, pushed on a LIFO stack (the most recently
 * active, cache-warm worker is woken first).  A submit wakes a sleeper only
 * when no worker is spinning; the woken worker counts as spinning until it
 * looks at the queue, and if it leaves work behind with nobody spinning it
 * wakes the next one (Go's scheduler does the same), so a burst fans out
 * without a wake-up per job.
 *
 * Locks: pool->join_mu (serialises joiners) is taken before pool->lock,
 * never the other way; a future's lock is never taken under pool->lock
 * (futures are settled and cancelled after the queue lock is dropped).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "loom/thread_pool.h"

#include "../core/futex.h"
#include "executor_internal.h"

/* Spin iterations before a worker sleeps: long enough to cover the gap
 * between two submissions from a tight loop, short enough not to steal a
 * shared core for long. */
#define SPIN_ITERS 4000

typedef struct worker worker;
typedef struct pool pool;

struct worker {
  worker *next_sleeper;    /* on pool->sleepers while asleep */
  worker *next_all;        /* every worker ever started */
  _Atomic uint32_t wake;   /* futex word: 0 asleep, 1 woken */
  pthread_t tid;
  pool *pool;
  int index;               /* for the thread name */
  bool joined;             /* joined or detached (under pool->lock) */
};

struct pool {
  loom_executor base;       /* first: the executor interface */
  loom__lock lock;          /* guards everything below except atomics */
  loom_future *head, *tail; /* FIFO of queued jobs via job_next */
  size_t queued;
  _Atomic size_t nqueued;   /* mirror of queued, read by spinners */
  _Atomic int nspinning;    /* workers spinning or woken, not yet looking */
  _Atomic bool stopping;    /* shutdown or broken: spinners stop early */
  int max_workers;
  int nworkers;             /* alive */
  int nidle;                /* alive and not running a job */
  worker *sleepers;
  worker *all;
  uint64_t started, completed;
  bool shutdown, broken, orphaned;
  int broken_code;          /* the initializer's code */
  char *prefix;
  int (*init)(void *);
  void *init_arg;
  pthread_mutex_t join_mu;  /* serialises joiners; taken before lock */
};

static const loom__executor_ops tp_ops;
static _Thread_local pool *tl_pool; /* the pool this thread works for */
static _Atomic unsigned pool_counter;

/* ---- queue (pool->lock held) ---------------------------------------------- */

static void q_push(pool *p, loom_future *f) {
  f->job_next = NULL;
  if (p->tail) p->tail->job_next = f; else p->head = f;
  p->tail = f;
  p->queued++;
  atomic_store_explicit(&p->nqueued, p->queued, memory_order_relaxed);
}

static loom_future *q_pop(pool *p) {
  loom_future *f = p->head;
  if (!f) return NULL;
  p->head = f->job_next;
  if (!p->head) p->tail = NULL;
  f->job_next = NULL;
  p->queued--;
  p->completed++;
  atomic_store_explicit(&p->nqueued, p->queued, memory_order_relaxed);
  return f;
}

/* Detach the whole queue (to cancel or fail it after unlocking). */
static loom_future *q_take_all(pool *p) {
  loom_future *h = p->head;
  p->completed += p->queued;
  p->head = p->tail = NULL;
  p->queued = 0;
  atomic_store_explicit(&p->nqueued, 0, memory_order_relaxed);
  return h;
}

/* Remove f, the tail (just pushed by the caller, lock held throughout). */
static void q_drop_tail(pool *p, loom_future *f) {
  loom_future *prev = NULL;
  for (loom_future *g = p->head; g != f; g = g->job_next) prev = g;
  if (prev) prev->job_next = NULL; else p->head = NULL;
  p->tail = prev;
  p->queued--;
  atomic_store_explicit(&p->nqueued, p->queued, memory_order_relaxed);
}

/* ---- waking (pool->lock held; the futex wake happens after unlocking) ---- */

static worker *pop_sleeper(pool *p) {
  worker *w = p->sleepers;
  if (!w) return NULL;
  p->sleepers = w->next_sleeper;
  /* Counted as spinning on its behalf until it looks at the queue, so the
   * next submit does not wake a second worker for the same job. */
  atomic_fetch_add_explicit(&p->nspinning, 1, memory_order_relaxed);
  atomic_store_explicit(&w->wake, 1, memory_order_release);
  return w;
}

static worker *want_wake(pool *p) {
  if (!p->sleepers || !p->head) return NULL;
  if (atomic_load_explicit(&p->nspinning, memory_order_relaxed) > 0) return NULL;
  return pop_sleeper(p);
}

static void wake(worker *w) {
  if (w) loom__futex_wake(&w->wake, 1);
}

/* Wake every sleeper (shutdown, broken).  Returns the list to wake. */
static worker *pop_all_sleepers(pool *p) {
  worker *list = NULL;
  worker *w;
  while ((w = pop_sleeper(p))) {
    w->next_sleeper = list;
    list = w;
  }
  return list;
}

static void wake_list(worker *list) {
  /* Read next before waking: a woken worker may sleep again at once and
   * reuse next_sleeper. */
  while (list) {
    worker *next = list->next_sleeper;
    wake(list);
    list = next;
  }
}

/* ---- jobs ---------------------------------------------------------------- */

static void run_one(loom_future *f) {
  if (loom_future_set_running_or_notify_cancel(f))
    loom__executor_run_job(f);
  else
    loom__executor_job_drop(f); /* cancelled while queued */
  loom_future_release(f);
}

static void cancel_list(loom_future *f) {
  while (f) {
    loom_future *next = f->job_next;
    f->job_next = NULL;
    loom_future_cancel(f);
    loom__executor_job_drop(f);
    loom_future_release(f);
    f = next;
  }
}

static void fail_broken_list(loom_future *f, int code) {
  while (f) {
    loom_future *next = f->job_next;
    f->job_next = NULL;
    loom_future_set_error(f, LOOM_EBROKEN,
                          "a thread initializer failed (%s: %s), the thread pool "
                          "is not usable anymore",
                          loom_err_name(code), loom_strerror(code));
    loom__executor_job_drop(f);
    loom_future_release(f);
    f = next;
  }
}

/* The initializer failed: break the pool, fail what is queued. */
static void break_pool(pool *p, int code) {
  loom__lock_acquire(&p->lock);
  loom_future *q = NULL;
  worker *sleepers = NULL;
  if (!p->broken) {
    p->broken = true;
    p->broken_code = code;
    atomic_store(&p->stopping, true);
    q = q_take_all(p);
    sleepers = pop_all_sleepers(p);
  }
  loom__lock_release(&p->lock);
  wake_list(sleepers);
  fail_broken_list(q, code);
}

/* ---- workers ------------------------------------------------------------- */

static void spin_for_work(pool *p) {
  for (int i = 0; i < SPIN_ITERS; i++) {
    if (atomic_load_explicit(&p->nqueued, memory_order_relaxed) ||
        atomic_load_explicit(&p->stopping, memory_order_relaxed))
      return;
    loom__cpu_relax();
  }
}

/* Sleep until a submitter (or shutdown) wakes us.  Lock held on entry and
 * on return. */
static void sleep_locked(pool *p, worker *w) {
  atomic_store_explicit(&w->wake, 0, memory_order_relaxed);
  w->next_sleeper = p->sleepers;
  p->sleepers = w;
  loom__lock_release(&p->lock);
  while (atomic_load_explicit(&w->wake, memory_order_acquire) == 0)
    loom__futex_wait(&w->wake, 0, INT64_MAX);
  loom__lock_acquire(&p->lock);
  atomic_fetch_sub_explicit(&p->nspinning, 1, memory_order_relaxed); /* see pop_sleeper */
}

static bool must_exit(const pool *p) { return p->broken || (p->shutdown && !p->head); }

/* Wait for a job.  Lock held on entry and on return; returns false when the
 * worker must exit. */
static bool idle_locked(pool *p, worker *w) {
  p->nidle++;
  atomic_fetch_add_explicit(&p->nspinning, 1, memory_order_relaxed);
  loom__lock_release(&p->lock);
  spin_for_work(p);
  loom__lock_acquire(&p->lock);
  atomic_fetch_sub_explicit(&p->nspinning, 1, memory_order_relaxed);
  while (!p->head && !must_exit(p)) sleep_locked(p, w);
  p->nidle--;
  return !must_exit(p);
}

static void set_thread_name(worker *w) {
  char name[16];
  snprintf(name, sizeof name, "%s_%d", w->pool->prefix, w->index);
  pthread_setname_np(pthread_self(), name); /* cosmetic: failure ignored */
}

static void free_pool(pool *p);

static void worker_exit(pool *p) {
  loom__lock_acquire(&p->lock);
  p->nworkers--;
  bool last_of_orphan = p->orphaned && p->nworkers == 0;
  loom__lock_release(&p->lock);
  if (last_of_orphan) free_pool(p); /* destroyed from one of its workers */
}

static void *worker_main(void *arg) {
  worker *w = arg;
  pool *p = w->pool;
  tl_pool = p;
  set_thread_name(w);
  if (p->init) {
    int rc = p->init(p->init_arg);
    if (rc < 0) {
      break_pool(p, rc);
      worker_exit(p);
      return NULL;
    }
  }
  loom__lock_acquire(&p->lock);
  for (;;) {
    loom_future *f = q_pop(p);
    if (!f) {
      if (!idle_locked(p, w)) break;
      continue;
    }
    worker *next = want_wake(p); /* work left and nobody looking for it */
    loom__lock_release(&p->lock);
    wake(next);
    run_one(f);
    loom__lock_acquire(&p->lock);
  }
  loom__lock_release(&p->lock);
  worker_exit(p);
  return NULL;
}

/* Start one worker.  Lock held (so shutdown cannot race the start). */
static int start_worker_locked(pool *p) {
  worker *w = loom__calloc(1, sizeof *w);
  if (!w) return LOOM_ENOMEM;
  w->pool = p;
  w->index = (int)p->started;
  int rc;
  if (loom__sys_fault(EAGAIN))
    rc = EAGAIN;
  else
    rc = pthread_create(&w->tid, NULL, worker_main, w);
  if (rc != 0) {
    loom__free(w);
    return -rc;
  }
  loom__live_inc(LOOM_LIVE_THREADS);
  w->next_all = p->all;
  p->all = w;
  p->nworkers++;
  p->started++;
  return 0;
}

/* ---- executor ops -------------------------------------------------------- */

static int tp_submit(loom_executor *ex, loom_future *f) {
  pool *p = (pool *)ex;
  loom__lock_acquire(&p->lock);
  if (p->broken || p->shutdown) {
    int rc = p->broken ? LOOM_EBROKEN : LOOM_ESHUTDOWN;
    loom__lock_release(&p->lock);
    return rc;
  }
  q_push(p, f);
  if (p->queued > (size_t)p->nidle && p->nworkers < p->max_workers) {
    int rc = start_worker_locked(p);
    if (rc < 0 && p->nworkers == 0) { /* nobody would ever run it */
      q_drop_tail(p, f);
      loom__lock_release(&p->lock);
      return rc;
    }
  }
  worker *w = want_wake(p);
  loom__lock_release(&p->lock);
  wake(w);
  return 0;
}

static int join_workers(pool *p) {
  pthread_mutex_lock(&p->join_mu);
  loom__lock_acquire(&p->lock);
  worker *all = p->all; /* frozen: no worker starts after shutdown */
  loom__lock_release(&p->lock);
  for (worker *w = all; w; w = w->next_all) {
    if (w->joined) continue;
    pthread_join(w->tid, NULL);
    w->joined = true;
    loom__live_dec(LOOM_LIVE_THREADS);
  }
  pthread_mutex_unlock(&p->join_mu);
  return 0;
}

static int tp_shutdown(loom_executor *ex, bool wait, bool cancel_futures) {
  pool *p = (pool *)ex;
  loom__lock_acquire(&p->lock);
  p->shutdown = true;
  loom_future *q = cancel_futures ? q_take_all(p) : NULL;
  atomic_store(&p->stopping, true);
  worker *sleepers = pop_all_sleepers(p);
  loom__lock_release(&p->lock);
  wake_list(sleepers);
  cancel_list(q);
  if (!wait) return 0;
  if (tl_pool == p) return LOOM_EDEADLOCK;
  return join_workers(p);
}

static void free_pool(pool *p) {
  for (worker *w = p->all, *next; w; w = next) {
    next = w->next_all;
    loom__free(w);
  }
  pthread_mutex_destroy(&p->join_mu);
  loom__free(p->prefix);
  loom__free(p);
  loom__live_dec(LOOM_LIVE_EXECUTORS);
}

/* Destroyed from one of its own workers: the workers cannot be joined from
 * here, so they are detached and the last one to exit frees the pool. */
static void orphan(pool *p) {
  pthread_mutex_lock(&p->join_mu);
  loom__lock_acquire(&p->lock);
  p->orphaned = true;
  for (worker *w = p->all; w; w = w->next_all) {
    if (w->joined) continue;
    pthread_detach(w->tid);
    w->joined = true;
    loom__live_dec(LOOM_LIVE_THREADS);
  }
  loom__lock_release(&p->lock);
  pthread_mutex_unlock(&p->join_mu);
}

static void tp_destroy(loom_executor *ex) {
  pool *p = (pool *)ex;
  if (tl_pool == p)
    orphan(p); /* this thread is a worker: it frees the pool on its way out */
  else
    free_pool(p);
}

static int tp_max_workers(const loom_executor *ex) { return ((const pool *)ex)->max_workers; }

static const loom__executor_ops tp_ops = {
    .kind = "thread_pool",
    .submit = tp_submit,
    .shutdown = tp_shutdown,
    .destroy = tp_destroy,
    .max_workers = tp_max_workers,
};

/* ---- public -------------------------------------------------------------- */

int loom_thread_pool_create(loom_executor **out, const loom_thread_pool_options *opts) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_thread_pool_options o = {0};
  if (opts) o = *opts;
  if (o.max_workers < 0) return LOOM_EINVAL;
  pool *p = loom__calloc(1, sizeof *p);
  if (!p) return LOOM_ENOMEM;
  unsigned k = atomic_fetch_add(&pool_counter, 1);
  p->prefix = o.thread_name_prefix ? loom__strdup(o.thread_name_prefix)
                                   : loom__asprintf("loom-pool-%u", k);
  if (!p->prefix) {
    loom__free(p);
    return LOOM_ENOMEM;
  }
  p->base.ops = &tp_ops;
  loom__lock_init(&p->lock);
  pthread_mutex_init(&p->join_mu, NULL); /* default attributes cannot fail */
  int cpus = loom__cpu_count();
  p->max_workers = o.max_workers ? o.max_workers : (cpus + 4 < 32 ? cpus + 4 : 32);
  p->init = o.initializer;
  p->init_arg = o.initializer_arg;
  loom__live_inc(LOOM_LIVE_EXECUTORS);
  *out = &p->base;
  return 0;
}

int loom_thread_pool_stats_get(const loom_executor *ex, loom_thread_pool_stats *out) {
  if (!ex || !out || ex->ops != &tp_ops) return LOOM_EINVAL;
  pool *p = (pool *)ex;
  loom__lock_acquire(&p->lock);
  out->workers = p->nworkers;
  out->idle = p->nidle;
  out->queued = p->queued;
  out->started = p->started;
  out->completed = p->completed;
  loom__lock_release(&p->lock);
  return 0;
}
