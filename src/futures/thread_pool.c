/* thread_pool.c - the thread pool executor (Python's ThreadPoolExecutor).
 *
 * Submission is lock-free: the job queue is an intrusive multi-producer,
 * single-consumer list (Vyukov's: a push is one atomic exchange on the
 * tail), linked through future->job_next, so a submit allocates nothing
 * beyond the future and never waits for a worker.  Workers pop one at a
 * time under pool->lock, which also guards the counters and the stack of
 * sleeping workers; submitters take it only on slow paths (starting a
 * worker, waking a sleeper).
 *
 * Workers start on demand: while fewer than max_workers exist, a submit
 * starts one unless an idle worker can take the job (so idle workers are
 * reused first).  A worker that finds the queue empty spins briefly on the
 * queue's tail (unless another worker already does: one spinner is enough),
 * backing off between looks, then sleeps on its own futex word, pushed on a
 * LIFO stack (the most recently active, cache-warm worker is woken first).
 * A submit
 * wakes a sleeper only when no worker is spinning; the woken worker counts
 * as spinning until it looks at the queue, and if it leaves work behind
 * with nobody spinning it wakes the next one (as Go's scheduler does), so a
 * burst fans out without a wake-up per job.  Lost wake-ups are excluded by
 * a Dekker pair: a submitter pushes then reads nsleeping; a worker raises
 * nsleeping then re-reads the queue (both sequentially consistent).
 *
 * Shutdown: a submit passes a gate, one atomic add that also reads the
 * "closed" bit, so the closer knows from the value its own fetch_or returns
 * how many submits got in; it waits until that many jobs are linked in the
 * queue or taken off it (or gave up, `dropped`), so after that the queue
 * only shrinks and "shutdown and empty" is final for workers.  A submit
 * thus costs two atomics (gate, push) and reads only lines that workers
 * seldom write: the gate line, the tail, and the idle counts.
 *
 * Locks: pool->join_mu (serialises joiners) is taken before pool->lock,
 * never the other way; a future's lock is never taken under pool->lock
 * (futures are run, settled and cancelled after it is dropped).
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "loom/thread_pool.h"

#include "../core/futex.h"
#include "executor_internal.h"

/* Pause instructions a worker spends looking for work before it sleeps:
 * long enough to cover the gap between two submissions from a tight loop,
 * short enough not to steal a shared core for long (tens of microseconds). */
#define SPIN_PAUSES 4000
/* Most pauses between two looks at the queue's tail.  Every look pulls the
 * tail's cache line away from the submitter, whose next push must then
 * fetch it back: backing off lets a few jobs gather, which the worker then
 * takes without fighting over the line for each one. */
#define SPIN_MAX_GAP 64

typedef struct worker worker;
typedef struct pool pool;

struct worker {
  worker *next_sleeper;    /* on pool->sleepers while asleep */
  worker *next_all;        /* every worker ever started */
  _Atomic uint32_t wake;   /* futex word: 0 asleep, 1 woken */
  pthread_t tid;
  pool *pool;
  int index;               /* for the thread name */
  bool joined;             /* joined or detached (under join_mu) */
};

struct pool {
  loom_executor base;       /* first: the executor interface */
  /* Written by every submit: kept on cache lines apart from what workers
   * write (padding, not alignas: the pool comes from plain malloc). */
  char pad0[64];
  _Atomic(loom_future *) q_tail; /* last pushed job, or &stub */
  char pad1[64];
  _Atomic uint64_t gate;    /* 2 per submit let in; bit 0: closed */
  _Atomic int nstarted;     /* workers started (read by submit's fast path) */
  int max_workers;
  char pad2[64];
  /* Read by every submit, written when a worker goes idle or wakes. */
  _Atomic int closed;       /* 0, or what submit returns: ESHUTDOWN/EBROKEN */
  _Atomic int nspinning;    /* workers spinning or woken, not yet looking */
  _Atomic int nsleeping;    /* workers on the sleepers stack */
  char pad3[64];
  loom__lock lock;          /* guards everything below except atomics */
  loom_future *q_head;      /* consumer end of the queue (stub or a job) */
  _Atomic int64_t accepted; /* submits let in before the gate closed, or -1 */
  _Atomic uint64_t dropped; /* of those, the ones that did not push */
  int nworkers;             /* alive */
  int nidle;                /* alive and not running a job */
  worker *sleepers;
  worker *all;
  uint64_t completed;       /* jobs taken off the queue */
  bool shutdown, broken, orphaned;
  int broken_code;          /* the initializer's code */
  char *prefix;
  int (*init)(void *);
  void *init_arg;
  pthread_mutex_t join_mu;  /* serialises joiners; taken before lock */
  loom_future stub;         /* the queue's dummy node (only job_next used) */
};

static const loom__executor_ops tp_ops;
static _Thread_local pool *tl_pool; /* the pool this thread works for */
static _Atomic unsigned pool_counter;

/* ---- queue ----------------------------------------------------------------- */

static inline loom_future *next_of(loom_future *f) {
  return __atomic_load_n(&f->job_next, __ATOMIC_ACQUIRE);
}

/* Any thread, no lock. */
static void q_push(pool *p, loom_future *f) {
  __atomic_store_n(&f->job_next, NULL, __ATOMIC_RELAXED);
  loom_future *prev = atomic_exchange_explicit(&p->q_tail, f, memory_order_seq_cst);
  __atomic_store_n(&prev->job_next, f, __ATOMIC_RELEASE);
}

/* Lock held.  True if a job is queued or being pushed. */
static bool q_nonempty(pool *p) {
  return p->q_head != &p->stub ||
         atomic_load_explicit(&p->q_tail, memory_order_seq_cst) != &p->stub;
}

/* Lock held.  The oldest job, or NULL if the queue is empty or its only
 * job is still being linked by its submitter (q_nonempty() tells which). */
static loom_future *q_pop(pool *p) {
  loom_future *head = p->q_head, *next = next_of(head);
  if (head == &p->stub) {
    if (!next) return NULL;
    p->q_head = head = next;
    next = next_of(head);
  }
  if (!next) {
    if (head != atomic_load_explicit(&p->q_tail, memory_order_acquire)) return NULL;
    q_push(p, &p->stub); /* head is the last job: put the stub behind it */
    next = next_of(head);
    if (!next) return NULL;
  }
  p->q_head = next;
  p->completed++;
  return head;
}

/* Lock held.  Jobs in the queue that are linked (so reachable). */
static uint64_t q_count_linked(pool *p) {
  uint64_t n = 0;
  for (loom_future *f = p->q_head; f; f = next_of(f))
    if (f != &p->stub) n++;
  return n;
}

/* Lock held, no push in flight (after close_queue): detach every job
 * as a list through job_next, to cancel or fail after unlocking. */
static loom_future *q_take_all(pool *p) {
  loom_future *list = NULL, **tail = &list, *f;
  while ((f = q_pop(p))) {
    *tail = f;
    tail = &f->job_next;
  }
  *tail = NULL;
  return list;
}

/* ---- waking (pool->lock held; the futex wake happens after unlocking) ---- */

static worker *pop_sleeper(pool *p) {
  worker *w = p->sleepers;
  if (!w) return NULL;
  p->sleepers = w->next_sleeper;
  atomic_fetch_sub(&p->nsleeping, 1);
  /* Counted as spinning on its behalf until it looks at the queue, so the
   * next submit does not wake a second worker for the same job. */
  atomic_fetch_add_explicit(&p->nspinning, 1, memory_order_relaxed);
  atomic_store_explicit(&w->wake, 1, memory_order_release);
  return w;
}

static worker *want_wake(pool *p) {
  if (!p->sleepers || !q_nonempty(p)) return NULL;
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

/* Stop new pushes (later submits return `code`; broken wins over shut
 * down, as in Python) and wait for the pushes already past the gate.  The
 * code is stored before the bit is raised, so a submit that sees the bit
 * reads the code. */
static void close_queue(pool *p, int code) {
  int open = 0;
  if (code == LOOM_EBROKEN)
    atomic_store(&p->closed, code);
  else
    atomic_compare_exchange_strong(&p->closed, &open, code);
  uint64_t g = atomic_fetch_or(&p->gate, 1);
  if (!(g & 1)) atomic_store(&p->accepted, (int64_t)(g >> 1)); /* first closer */
  int64_t want;
  while ((want = atomic_load(&p->accepted)) < 0) sched_yield(); /* other closer */
  for (;;) {
    loom__lock_acquire(&p->lock);
    uint64_t got = p->completed + q_count_linked(p) + atomic_load(&p->dropped);
    loom__lock_release(&p->lock);
    if (got >= (uint64_t)want) return;
    sched_yield(); /* a submitter between its gate and its push */
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
  close_queue(p, LOOM_EBROKEN);
  loom__lock_acquire(&p->lock);
  loom_future *q = NULL;
  worker *sleepers = NULL;
  if (!p->broken) {
    p->broken = true;
    p->broken_code = code;
    q = q_take_all(p);
    sleepers = pop_all_sleepers(p);
  }
  loom__lock_release(&p->lock);
  wake_list(sleepers);
  fail_broken_list(q, code);
}

/* ---- workers ------------------------------------------------------------- */

static void spin_for_work(pool *p) {
  int gap = 1, looks = 0;
  for (int spent = 0; spent < SPIN_PAUSES; spent += gap) {
    if (atomic_load_explicit(&p->q_tail, memory_order_relaxed) != &p->stub ||
        atomic_load_explicit(&p->closed, memory_order_relaxed))
      return;
    /* Now and then let a runnable thread (often the submitter) have the
     * CPU: spinning must not starve the producer on a busy machine. */
    if (++looks % 16 == 0) sched_yield();
    for (int k = 0; k < gap; k++) loom__cpu_relax();
    if (gap < SPIN_MAX_GAP) gap *= 2;
  }
}

static bool must_exit(pool *p) { return p->broken || (p->shutdown && !q_nonempty(p)); }

/* Sleep until a submitter (or shutdown) wakes us, unless work arrived.
 * Lock held on entry and on return. */
static void sleep_locked(pool *p, worker *w) {
  /* Dekker with tp_submit: raise nsleeping, then look at the queue again;
   * a submitter pushes, then reads nsleeping.  One of us sees the other. */
  atomic_fetch_add(&p->nsleeping, 1);
  if (q_nonempty(p) || must_exit(p)) {
    atomic_fetch_sub(&p->nsleeping, 1);
    return;
  }
  atomic_store_explicit(&w->wake, 0, memory_order_relaxed);
  w->next_sleeper = p->sleepers;
  p->sleepers = w;
  loom__lock_release(&p->lock);
  while (atomic_load_explicit(&w->wake, memory_order_acquire) == 0)
    loom__futex_wait(&w->wake, 0, INT64_MAX);
  loom__lock_acquire(&p->lock);
  atomic_fetch_sub_explicit(&p->nspinning, 1, memory_order_relaxed); /* see pop_sleeper */
}

/* Wait for a job.  Lock held on entry and on return; returns false when the
 * worker must exit. */
static bool idle_locked(pool *p, worker *w) {
  p->nidle++;
  /* One spinner is enough to catch the next job; more would only take CPU
   * from the submitter and the workers that run jobs. */
  if (atomic_fetch_add_explicit(&p->nspinning, 1, memory_order_relaxed) == 0) {
    loom__lock_release(&p->lock);
    spin_for_work(p);
    loom__lock_acquire(&p->lock);
  }
  atomic_fetch_sub_explicit(&p->nspinning, 1, memory_order_relaxed);
  while (!q_nonempty(p) && !must_exit(p)) sleep_locked(p, w);
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
    if (f) {
      worker *next = want_wake(p); /* work left and nobody looking for it */
      loom__lock_release(&p->lock);
      wake(next);
      run_one(f);
      loom__lock_acquire(&p->lock);
    } else if (q_nonempty(p)) {
      /* A submitter is between its exchange and its link: two instructions,
       * unless it was preempted there; then give it the CPU. */
      loom__lock_release(&p->lock);
      sched_yield();
      loom__lock_acquire(&p->lock);
    } else if (!idle_locked(p, w)) {
      break;
    }
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
  w->index = atomic_load(&p->nstarted);
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
  atomic_fetch_add(&p->nstarted, 1);
  return 0;
}

/* Slow path of submit while workers may still be started: start one unless
 * an idle worker can take the job.  Returns 0, or the error of starting the
 * only worker (then the job must not be queued). */
static int maybe_start_worker(pool *p) {
  loom__lock_acquire(&p->lock);
  int rc = 0;
  /* An idle worker takes the job, unless jobs already wait for it. */
  bool need = p->nidle == 0 || q_nonempty(p);
  if (need && atomic_load(&p->nstarted) < p->max_workers) {
    rc = start_worker_locked(p);
    if (p->nworkers > 0) rc = 0; /* others will run it */
  }
  loom__lock_release(&p->lock);
  return rc;
}

static void wake_one_if_needed(pool *p) {
  if (atomic_load(&p->nsleeping) == 0 ||
      atomic_load_explicit(&p->nspinning, memory_order_relaxed) > 0)
    return;
  loom__lock_acquire(&p->lock);
  worker *w = want_wake(p);
  loom__lock_release(&p->lock);
  wake(w);
}

/* ---- executor ops -------------------------------------------------------- */

static int tp_submit(loom_executor *ex, loom_future *f) {
  pool *p = (pool *)ex;
  if (atomic_fetch_add(&p->gate, 2) & 1) return atomic_load(&p->closed);
  if (atomic_load_explicit(&p->nstarted, memory_order_relaxed) < p->max_workers) {
    int rc = maybe_start_worker(p);
    if (rc < 0) {
      atomic_fetch_add(&p->dropped, 1); /* let in, but will not push */
      return rc;
    }
  }
  q_push(p, f);
  wake_one_if_needed(p);
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
  close_queue(p, LOOM_ESHUTDOWN);
  loom__lock_acquire(&p->lock);
  p->shutdown = true;
  loom_future *q = cancel_futures ? q_take_all(p) : NULL;
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
  atomic_init(&p->q_tail, &p->stub);
  atomic_init(&p->accepted, -1);
  p->q_head = &p->stub;
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
  out->started = (uint64_t)atomic_load(&p->nstarted);
  out->completed = p->completed;
  loom__lock_release(&p->lock);
  return 0;
}
