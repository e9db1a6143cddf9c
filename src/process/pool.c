/* pool.c - the process pool executor: the functions any thread calls
 * (create, submit, cancel, shutdown, terminate, destroy).  The work itself is
 * done by the manager thread (manager.c); this file only queues jobs and
 * flags, under the pool lock, and wakes the manager through an eventfd.
 */
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "pool_internal.h"

static int pp_submit(loom_executor *ex, loom_future *f);
static int pp_shutdown(loom_executor *ex, bool wait, bool cancel_futures);
static void pp_destroy(loom_executor *ex);
static int pp_max_workers(const loom_executor *ex);
static bool pp_cancel(loom_future *f, const char *msg);

static const loom__executor_ops pp_ops = {
    .kind = "process_pool",
    .submit = pp_submit,
    .shutdown = pp_shutdown,
    .destroy = pp_destroy,
    .max_workers = pp_max_workers,
};

static const loom__future_ops job_ops = {.cancel = pp_cancel};

bool loom__ppool_is(const loom_executor *ex) { return ex && ex->ops == &pp_ops; }

int loom_cpu_count(void) { return loom__cpu_count(); }

void loom__ppool_wake_locked(ppool *p) {
  if (p->sleeping && !p->wake_sent) {
    p->wake_sent = true;
    uint64_t one = 1;
    ssize_t n = write(p->efd, &one, sizeof one);
    (void)n; /* an eventfd write only fails if the counter overflows */
  }
}

void loom__ppool_fail(loom_future *f, int code, const char *msg) {
  if (code == LOOM_ECANCELLED)
    loom__future_set_cancelled(f, msg);
  else
    loom_future_set_error(f, code, "%s", msg ? msg : loom_strerror(code));
  loom__executor_job_drop(f);
  loom_future_release(f);
}

static int pool_alloc(ppool **out, const loom_process_pool_options *o) {
  ppool *p = loom__calloc(1, sizeof *p);
  if (!p) return LOOM_ENOMEM;
  p->base.ops = &pp_ops;
  p->max_workers = o && o->max_workers > 0 ? o->max_workers : loom__cpu_count();
  p->max_tasks = o ? o->max_tasks_per_child : 0;
  p->max_deaths = o && o->max_task_deaths > 0 ? o->max_task_deaths : 3;
  p->init = o ? o->initializer : NULL;
  p->initarg = o ? o->initarg : NULL;
  p->efd = p->ep = -1;
  p->w = loom__calloc((size_t)p->max_workers, sizeof *p->w);
  if (!p->w) {
    loom__free(p);
    return LOOM_ENOMEM;
  }
  for (int i = 0; i < p->max_workers; i++) {
    p->w[i].child.pidfd = -1;
    p->w[i].sock = -1;
  }
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->done_cv, NULL);
  *out = p;
  return 0;
}

static void pool_free(ppool *p) {
  if (p->efd >= 0) close(p->efd);
  if (p->ep >= 0) close(p->ep);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->done_cv);
  loom__free(p->creq);
  loom__free(p->broken_msg);
  loom__free(p->w);
  loom__free(p);
}

static int pool_fds(ppool *p) {
  if (loom__sys_fault(EMFILE)) return -EMFILE;
  p->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (p->efd < 0) return -errno;
  if (loom__sys_fault(EMFILE)) return -EMFILE;
  p->ep = epoll_create1(EPOLL_CLOEXEC);
  if (p->ep < 0) return -errno;
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
  if (epoll_ctl(p->ep, EPOLL_CTL_ADD, p->efd, &ev) < 0) return -errno;
  return 0;
}

int loom_process_pool_create(loom_executor **out, const loom_process_pool_options *opts) {
  if (out) *out = NULL;
  if (!out || (opts && (opts->max_workers < 0 || opts->max_tasks_per_child < 0 ||
                        opts->max_task_deaths < 0)))
    return LOOM_EINVAL;
  ppool *p;
  int rc = pool_alloc(&p, opts);
  if (rc < 0) return rc;
  rc = pool_fds(p);
  if (rc == 0) {
    if (loom__sys_fault(EAGAIN))
      rc = -EAGAIN;
    else
      rc = -pthread_create(&p->manager, NULL, loom__ppool_manager, p);
  }
  if (rc < 0) {
    pool_free(p);
    return rc;
  }
  loom__live_inc(LOOM_LIVE_THREADS);
  loom__live_inc(LOOM_LIVE_EXECUTORS);
  *out = &p->base;
  return 0;
}

/* ---- submission ----------------------------------------------------------- */

static int enqueue(ppool *p, loom_future *f) {
  pthread_mutex_lock(&p->lock);
  int rc = p->broken ? LOOM_EBROKEN : p->shutdown ? LOOM_ESHUTDOWN : 0;
  if (rc == 0) {
    f->ops = &job_ops;
    f->job_next = NULL;
    if (p->p_tail) p->p_tail->job_next = f; else p->p_head = f;
    p->p_tail = f;
    p->n_pending++;
    loom__ppool_wake_locked(p);
  }
  pthread_mutex_unlock(&p->lock);
  return rc;
}

static int pp_submit(loom_executor *ex, loom_future *f) { return enqueue((ppool *)ex, f); }

int loom_process_pool_submit_opts(loom_executor *ex, loom_fn fn, void *arg, const void *data,
                                  size_t len, const loom_process_task_options *topts,
                                  loom_future **out) {
  if (out) *out = NULL;
  if (!loom__ppool_is(ex) || !fn || !out || (topts && (topts->retries < 0 || topts->retries > 255)))
    return LOOM_EINVAL;
  char *copy = NULL;
  if (data) {
    copy = loom__malloc(len ? len : 1);
    if (!copy) return LOOM_ENOMEM;
    memcpy(copy, data, len);
  }
  loom_future *f;
  int rc = loom_future_create(&f);
  if (rc < 0) {
    loom__free(copy);
    return rc;
  }
  f->fn = fn;
  f->arg = data ? copy : arg;
  f->arg_size = data ? len : 0;
  f->producer = ex;
  f->producer_data = (data ? 1u : 0u) |
                     ((uintptr_t)(topts ? topts->retries : 0) << P_RETRY_SHIFT);
  loom_future_retain(f);
  rc = enqueue((ppool *)ex, f);
  if (rc < 0) {
    loom__free(copy);
    f->arg = NULL;
    f->producer_data = 0;
    loom_future_release(f);
    loom_future_release(f);
    return rc;
  }
  *out = f;
  return 0;
}

/* ---- cancellation --------------------------------------------------------- */

/* A pending job is cancelled here and now; a running one (sent to a worker)
 * is handed to the manager, which tells the worker to skip it or, if it is
 * running, to abandon it (the worker exits and is replaced).  Like Python,
 * true means "cancelled now"; a running job returns false and ends as
 * CANCELLED shortly after, unless it finished first. */
static bool pp_cancel(loom_future *f, const char *msg) {
  ppool *p = f->producer;
  pthread_mutex_lock(&p->lock);
  loom_future_state s = loom_future_state_get(f);
  if (s == LOOM_FUTURE_PENDING) {
    f->producer_data |= P_SKIP; /* the manager drops it unseen */
    pthread_mutex_unlock(&p->lock);
    loom__future_set_cancelled(f, msg);
    return true;
  }
  if (s != LOOM_FUTURE_RUNNING || atomic_load(&f->cancel_req)) {
    pthread_mutex_unlock(&p->lock);
    return s == LOOM_FUTURE_CANCELLED;
  }
  atomic_store(&f->cancel_req, true);
  if (p->n_creq == p->cap_creq) {
    size_t cap = p->cap_creq ? p->cap_creq * 2 : 8;
    loom_future **nc = loom__realloc(p->creq, cap * sizeof *nc);
    if (!nc) { /* the token stays set: the job still sees it as cancel-requested */
      pthread_mutex_unlock(&p->lock);
      return false;
    }
    p->creq = nc;
    p->cap_creq = cap;
  }
  p->creq[p->n_creq++] = loom_future_retain(f);
  loom__ppool_wake_locked(p);
  pthread_mutex_unlock(&p->lock);
  return false;
}

/* ---- shutdown ------------------------------------------------------------- */

/* Take every pending job out of the queue (with the lock held). */
static loom_future *steal_pending(ppool *p) {
  loom_future *h = p->p_head;
  p->p_head = p->p_tail = NULL;
  p->n_pending = 0;
  return h;
}

static void cancel_list(loom_future *h, const char *why) {
  while (h) {
    loom_future *next = h->job_next;
    if (h->producer_data & P_RUNSET)
      loom_future_set_error(h, LOOM_EBROKEN, "%s", why);
    else
      loom__future_set_cancelled(h, NULL);
    loom__executor_job_drop(h);
    loom_future_release(h);
    h = next;
  }
}

static int wait_manager(ppool *p) {
  if (pthread_equal(pthread_self(), p->manager)) return LOOM_EDEADLOCK;
  pthread_mutex_lock(&p->lock);
  while (!p->finished) pthread_cond_wait(&p->done_cv, &p->lock);
  bool join = !p->joined;
  p->joined = true;
  pthread_mutex_unlock(&p->lock);
  if (join) {
    pthread_join(p->manager, NULL);
    loom__live_dec(LOOM_LIVE_THREADS);
  }
  return 0;
}

static int pp_shutdown(loom_executor *ex, bool wait, bool cancel_futures) {
  ppool *p = (ppool *)ex;
  if (wait && pthread_equal(pthread_self(), p->manager)) return LOOM_EDEADLOCK;
  pthread_mutex_lock(&p->lock);
  p->shutdown = true;
  loom_future *doomed = cancel_futures ? steal_pending(p) : NULL;
  loom__ppool_wake_locked(p);
  pthread_mutex_unlock(&p->lock);
  cancel_list(doomed, "the pool was shut down with cancel_futures");
  return wait ? wait_manager(p) : 0;
}

static int stop_workers(loom_executor *ex, int sig) {
  if (!loom__ppool_is(ex)) return LOOM_EINVAL;
  ppool *p = (ppool *)ex;
  if (pthread_equal(pthread_self(), p->manager)) return LOOM_EDEADLOCK;
  pthread_mutex_lock(&p->lock);
  p->shutdown = true;
  p->term_signal = sig;
  p->terminating = true;
  loom_future *doomed = steal_pending(p);
  loom__ppool_wake_locked(p);
  pthread_mutex_unlock(&p->lock);
  cancel_list(doomed, "the pool's workers were terminated");
  return wait_manager(p);
}

int loom_process_pool_terminate_workers(loom_executor *ex) { return stop_workers(ex, SIGTERM); }
int loom_process_pool_kill_workers(loom_executor *ex) { return stop_workers(ex, SIGKILL); }

static void pp_destroy(loom_executor *ex) {
  ppool *p = (ppool *)ex;
  if (wait_manager(p) == LOOM_EDEADLOCK) {
    /* From a done callback, on the manager thread itself: freeing the pool
     * under the running manager would crash; leak it and say so. */
    loom__report("process pool %p destroyed from its own manager thread (a done "
                 "callback): not freed", (void *)p);
    return;
  }
  pool_free(p);
  loom__live_dec(LOOM_LIVE_EXECUTORS);
}

static int pp_max_workers(const loom_executor *ex) { return ((const ppool *)ex)->max_workers; }

int loom_process_pool_pids(loom_executor *ex, pid_t *pids, int cap) {
  if (!loom__ppool_is(ex) || cap < 0 || (cap && !pids)) return LOOM_EINVAL;
  ppool *p = (ppool *)ex;
  int n = 0;
  pthread_mutex_lock(&p->lock);
  for (int i = 0; i < p->max_workers; i++) {
    if (p->w[i].child.pidfd < 0) continue;
    if (n < cap) pids[n] = p->w[i].child.pid;
    n++;
  }
  pthread_mutex_unlock(&p->lock);
  return n;
}

int loom_process_pool_stats_get(loom_executor *ex, loom_process_pool_stats *out) {
  if (!loom__ppool_is(ex) || !out) return LOOM_EINVAL;
  ppool *p = (ppool *)ex;
  pthread_mutex_lock(&p->lock);
  *out = p->stats;
  pthread_mutex_unlock(&p->lock);
  return 0;
}
