/* manager.c - the thread that runs a process pool.
 *
 * One epoll set holds the pool's eventfd (new jobs, cancels, shutdown), each
 * worker's socket (results) and each worker's pidfd (death).  The loop:
 * dispatch pending jobs to workers with room (a prefetch depth that grows
 * when jobs are short, so trivial jobs travel in batches and slow ones do not
 * queue behind each other), flush, wait, then read results and handle
 * deaths.  A death blames only the job named on the worker's shared page:
 * the other jobs it had been sent go back to the front of the queue.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pool_internal.h"

#define DEPTH_MIN 2
#define DEPTH_MAX 512
#define BATCH_TARGET_NS 200000 /* aim for this much work queued per worker */
#define BOOT_FAILURES_MAX 3

enum { EV_WAKE = 0, EV_SOCK = 1, EV_PIDFD = 2 };

static uint64_t ev_key(int slot, int kind) { return ((uint64_t)slot << 8) | (uint64_t)kind; }

static int depth_of(const ppool *p) {
  if (p->ewma_ns <= 0) return DEPTH_MIN;
  int64_t d = BATCH_TARGET_NS / p->ewma_ns;
  return d < DEPTH_MIN ? DEPTH_MIN : d > DEPTH_MAX ? DEPTH_MAX : (int)d;
}

static void set_broken(ppool *p, int code, const char *msg) {
  pthread_mutex_lock(&p->lock);
  if (!p->broken) {
    p->broken = true;
    p->broken_code = code;
    p->broken_msg = loom__strdup(msg);
  }
  pthread_mutex_unlock(&p->lock);
}

/* ---- spawning --------------------------------------------------------------- */

static int make_page(int *fd, loom__shared_page **page) {
  if (loom__sys_fault(EMFILE)) return -EMFILE;
  *fd = memfd_create("loom-worker-page", MFD_CLOEXEC);
  if (*fd < 0) return -errno;
  if (ftruncate(*fd, LOOM__SHARED_SIZE) < 0) return -errno;
  void *m = mmap(NULL, LOOM__SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
  if (m == MAP_FAILED) return -errno;
  *page = m;
  return 0;
}

static int spawn_into(ppool *p, int slot) {
  pworker *w = &p->w[slot];
  int sv[2] = {-1, -1}, shm = -1;
  loom__shared_page *page = NULL;
  int rc = loom__sys_fault(EMFILE) ? -EMFILE
           : socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0;
  if (rc == 0) rc = make_page(&shm, &page);
  loom__child c = {.pid = -1, .pidfd = -1};
  if (rc == 0) {
    char spec[96];
    snprintf(spec, sizeof spec, LOOM__ENV "=pool:%d:%d", sv[1], shm);
    int keep[2] = {sv[1], shm};
    rc = loom__spawn(spec, keep, 2, &c);
  }
  if (sv[1] >= 0) close(sv[1]);
  if (shm >= 0) close(shm);
  if (rc < 0) {
    if (sv[0] >= 0) close(sv[0]);
    if (page) munmap(page, LOOM__SHARED_SIZE);
    return rc;
  }
  int big = 1 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  pworker fresh = {.child = {.pid = -1, .pidfd = -1}, .sock = sv[0], .page = page};
  pthread_mutex_lock(&p->lock);
  *w = fresh;
  w->child = c;
  p->stats.spawned++;
  pthread_mutex_unlock(&p->lock);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_key(slot, EV_SOCK)};
  epoll_ctl(p->ep, EPOLL_CTL_ADD, w->sock, &ev);
  ev.data.u64 = ev_key(slot, EV_PIDFD);
  epoll_ctl(p->ep, EPOLL_CTL_ADD, w->child.pidfd, &ev);
  /* Every worker gets an INIT, even without an initializer: its answer says
   * the worker is up (signal handlers installed). */
  loom__msg h = {.type = LOOM__MSG_INIT, .arg = (uint64_t)(uintptr_t)p->initarg};
  const char *name = "";
  if (p->init && loom__fn_encode((const void *)p->init, &name, &h.fn_off) < 0) name = "";
  h.name_len = (uint32_t)strlen(name);
  if (!p->init) h.flags = LOOM__F_ERROR; /* "no initializer" */
  return loom__pw_queue_msg(w, &h, name);
}

/* How many slots should hold a worker now. */
static int wanted_workers(ppool *p) {
  size_t work = p->n_pending;
  for (int i = 0; i < p->max_workers; i++) work += (size_t)p->w[i].n_inflight;
  return work > (size_t)p->max_workers ? p->max_workers : (int)work;
}

/* Start workers in empty slots while there is work for them (no lock held). */
static void spawn_needed(ppool *p) {
  pthread_mutex_lock(&p->lock);
  int want = (p->broken || p->terminating) ? 0 : wanted_workers(p);
  p->want_seen = want;
  pthread_mutex_unlock(&p->lock);
  int live = 0;
  for (int i = 0; i < p->max_workers; i++)
    if (p->w[i].child.pidfd >= 0 && !p->w[i].retiring) live++;
  for (int i = 0; i < p->max_workers && live < want; i++) {
    if (p->w[i].child.pidfd >= 0) continue;
    int rc = spawn_into(p, i);
    if (rc < 0) {
      char msg[128];
      snprintf(msg, sizeof msg, "cannot start a worker process: %s", loom_strerror(rc));
      if (live == 0) set_broken(p, LOOM_EBROKEN, msg);
      return;
    }
    live++;
  }
}

/* ---- dispatch ----------------------------------------------------------------- */

static void inflight_push(pworker *w, loom_future *f) {
  f->job_next = NULL;
  if (w->q_tail) w->q_tail->job_next = f; else w->q_head = f;
  w->q_tail = f;
  w->n_inflight++;
}

/* Room for more jobs on worker w (0 if it takes none). */
static int room_of(const ppool *p, const pworker *w, int depth) {
  if (w->child.pidfd < 0 || w->retiring || w->eof || w->sock < 0) return 0;
  int room = depth - w->n_inflight;
  if (p->max_tasks && p->max_tasks - w->dispatched < room) room = p->max_tasks - w->dispatched;
  return room;
}

/* The worker with room and the fewest jobs in flight, or NULL.  Spreading
 * one job at a time keeps a slow job from having others queued behind it on
 * one worker while another worker idles. */
static pworker *least_loaded(ppool *p, int depth) {
  pworker *best = NULL;
  for (int i = 0; i < p->max_workers; i++) {
    pworker *w = &p->w[i];
    if (room_of(p, w, depth) > 0 && (!best || w->n_inflight < best->n_inflight)) best = w;
  }
  return best;
}

/* Move pending jobs to workers with room.  Jobs that were cancelled while
 * pending, or whose function cannot be named, are collected in *drop. */
static void dispatch_locked(ppool *p, loom_future **drop) {
  int depth = depth_of(p);
  pworker *w;
  while (p->p_head && (w = least_loaded(p, depth))) {
    loom_future *f = p->p_head;
    p->p_head = f->job_next;
    if (!p->p_head) p->p_tail = NULL;
    p->n_pending--;
    if ((f->producer_data & P_SKIP) ||
        (!(f->producer_data & P_RUNSET) && !loom_future_set_running_or_notify_cancel(f))) {
      f->job_next = *drop;
      *drop = f;
      continue;
    }
    f->producer_data |= P_RUNSET;
    int rc = loom__pw_queue_job(w, f);
    if (rc < 0) { /* not a function of this binary, or out of memory */
      if (rc == LOOM_ENOMEM) loom_future_set_error(f, LOOM_ENOMEM, NULL);
      f->producer_data |= P_SKIP;
      f->job_next = *drop;
      *drop = f;
      continue;
    }
    inflight_push(w, f);
    w->dispatched++;
    if (p->max_tasks && w->dispatched >= p->max_tasks && !w->retiring) {
      loom__msg q = {.type = LOOM__MSG_QUIT};
      if (loom__pw_queue_msg(w, &q, NULL) == 0) w->retiring = true;
    }
  }
}

static void finish_dropped(loom_future *drop) {
  while (drop) {
    loom_future *next = drop->job_next;
    if (!loom_future_done(drop))
      loom_future_set_error(drop, LOOM_EINVAL,
                            "the job's function is not in a module the workers load");
    loom__executor_job_drop(drop);
    loom_future_release(drop);
    drop = next;
  }
}

/* ---- cancel requests for jobs already sent ---------------------------------- */

static bool cancel_sent(ppool *p, loom_future *f) {
  uint64_t id = (uint64_t)(uintptr_t)f;
  for (int i = 0; i < p->max_workers; i++) {
    pworker *w = &p->w[i];
    for (loom_future *j = w->q_head; j; j = j->job_next) {
      if (j != f) continue;
      /* Publish first, then look: a job not started yet is skipped when the
       * worker reaches it (it checks the list before each job); one running
       * now is abandoned on SIGUSR1.  Signalling only then spares the job
       * that is running an EINTR meant for another. */
      atomic_store(&w->page->skip[w->skip_next++ % LOOM__SKIP_SLOTS], id);
      if (atomic_load(&w->page->running) == id) /* so its handler is installed */
        loom__child_signal(&w->child, SIGUSR1);
      return true;
    }
  }
  return false;
}

static void handle_cancels(ppool *p) {
  pthread_mutex_lock(&p->lock);
  size_t n = p->n_creq;
  loom_future **list = p->creq;
  p->creq = NULL;
  p->n_creq = p->cap_creq = 0;
  pthread_mutex_unlock(&p->lock);
  for (size_t i = 0; i < n; i++) {
    /* Not sent (re-queued after a death): dispatch sees the token. */
    cancel_sent(p, list[i]);
    loom_future_release(list[i]);
  }
  loom__free(list);
}

/* ---- results ------------------------------------------------------------------- */

static loom_future *inflight_take(pworker *w, uint64_t id) {
  loom_future *prev = NULL;
  for (loom_future *f = w->q_head; f; prev = f, f = f->job_next) {
    if ((uint64_t)(uintptr_t)f != id) continue;
    if (prev) prev->job_next = f->job_next; else w->q_head = f->job_next;
    if (w->q_tail == f) w->q_tail = prev;
    w->n_inflight--;
    f->job_next = NULL;
    return f;
  }
  return NULL;
}

static void complete_bytes(pworker *w, loom_future *f, const loom__msg *h, const char *inl) {
  if (!(h->flags & LOOM__F_MEMFD)) {
    if (loom_future_set_result_bytes(f, inl, h->len) == LOOM_ENOMEM)
      loom_future_set_error(f, LOOM_ENOMEM, NULL);
    return;
  }
  int fd = loom__pw_take_fd(w);
  void *m = fd >= 0 ? loom__memfd_map(fd, h->len) : NULL;
  if (m && loom_future_set_result_bytes(f, m, h->len) == LOOM_ENOMEM)
    loom_future_set_error(f, LOOM_ENOMEM, NULL);
  else if (!m)
    loom_future_set_error(f, LOOM_EBROKEN, "the result's shared memory was lost");
  loom__memfd_unmap(m, h->len);
  if (fd >= 0) close(fd);
}

static void on_result(ppool *p, pworker *w, const loom__msg *h) {
  const char *text = (const char *)h + sizeof *h;
  loom_future *f = inflight_take(w, h->id);
  if (!f) return; /* cannot happen unless the worker is corrupt */
  w->received++;
  if (h->flags & LOOM__F_ERROR) {
    int code = (int)(int64_t)h->arg;
    if (code == LOOM_ECANCELLED && loom_future_cancel_requested(f))
      loom__future_set_cancelled(f, NULL);
    else if (h->name_len)
      loom_future_set_error(f, code, "%.*s", (int)h->name_len, text);
    else
      loom_future_set_error(f, code, NULL);
  } else if (h->flags & LOOM__F_BYTES) {
    complete_bytes(w, f, h, text);
  } else {
    loom_future_set_result(f, (void *)(uintptr_t)h->arg, NULL);
  }
  if (h->a > 0) p->ewma_ns = p->ewma_ns ? (p->ewma_ns * 7 + h->a) / 8 : h->a;
  loom__executor_job_drop(f);
  loom_future_release(f);
}

static void on_init_answer(ppool *p, pworker *w, const loom__msg *h) {
  if (h->type == LOOM__MSG_INIT_OK) {
    w->ready = true;
    p->boot_failures = 0;
    return;
  }
  char msg[256];
  snprintf(msg, sizeof msg, "initializer failed in worker pid %d: %.*s", (int)w->child.pid,
           (int)h->name_len, (const char *)h + sizeof *h);
  set_broken(p, LOOM_EBROKEN, msg);
}

/* Handle every complete message in the worker's input buffer. */
static void handle_messages(ppool *p, pworker *w) {
  size_t total;
  unsigned long done = 0;
  const loom__msg *h;
  while ((h = loom__pw_next(w, &total))) {
    if (h->type == LOOM__MSG_RESULT) {
      on_result(p, w, h);
      done++;
    } else if (h->type == LOOM__MSG_INIT_OK || h->type == LOOM__MSG_INIT_FAIL) {
      on_init_answer(p, w, h);
    }
    loom__pw_consume(w, total);
  }
  pthread_mutex_lock(&p->lock);
  p->stats.completed += done;
  pthread_mutex_unlock(&p->lock);
}

/* Read and handle everything the worker sent. */
static void drain_socket(ppool *p, int slot) {
  pworker *w = &p->w[slot];
  while (w->sock >= 0 && !w->eof) {
    int rc = loom__pw_read(w);
    if (rc == LOOM_EAGAIN) break;
    if (rc <= 0) { /* end of stream or error: the death follows on the pidfd */
      w->eof = true;
      epoll_ctl(p->ep, EPOLL_CTL_DEL, w->sock, NULL);
      /* We can no longer hear from it (out of memory): end it, so that its
       * death settles its jobs instead of leaving them hanging. */
      if (rc < 0) loom__child_signal(&w->child, SIGKILL);
    }
    handle_messages(p, w);
  }
}

/* After the death: everything still in the socket (nobody writes any more). */
static void drain_socket_final(ppool *p, pworker *w) {
  while (w->sock >= 0 && !w->eof) {
    int rc = loom__pw_read(w);
    if (rc <= 0) w->eof = true;
    handle_messages(p, w);
  }
}

/* ---- deaths ------------------------------------------------------------------- */

/* Put jobs back at the front of the queue, in their order. */
static void requeue_front(ppool *p, loom_future *h) {
  if (!h) return;
  loom_future *t = h;
  size_t n = 1;
  while (t->job_next) {
    t = t->job_next;
    n++;
  }
  pthread_mutex_lock(&p->lock);
  t->job_next = p->p_head;
  p->p_head = h;
  if (!p->p_tail) p->p_tail = t;
  p->n_pending += n;
  pthread_mutex_unlock(&p->lock);
}

/* The job a dead worker was running: cancel, retry, or fail it. */
static void blame(ppool *p, loom_future *f, pid_t pid, const char *how, loom_future **retry) {
  char msg[256];
  unsigned deaths = P_FIELD(f, P_DEATH_SHIFT) + 1, retries = P_FIELD(f, P_RETRY_SHIFT);
  f->producer_data = (f->producer_data & ~((uintptr_t)0xff << P_DEATH_SHIFT)) |
                     ((uintptr_t)deaths << P_DEATH_SHIFT);
  if (loom_future_cancel_requested(f)) {
    loom__ppool_fail(f, LOOM_ECANCELLED, NULL);
    return;
  }
  bool stop = (int)deaths >= p->max_deaths;
  if (!p->terminating && !p->broken && deaths <= retries && !stop) {
    f->job_next = *retry;
    *retry = f;
    p->stats.retried++;
    return;
  }
  if (p->terminating)
    snprintf(msg, sizeof msg, "worker process %d %s while running this task "
             "(terminate_workers/kill_workers)", (int)pid, how);
  else if (retries == 0 && !stop)
    snprintf(msg, sizeof msg, "worker process %d %s while running this task", (int)pid, how);
  /* "while running": also when it died after the job but before its result
   * left; at most once means the job is not run again either way. */
  else
    snprintf(msg, sizeof msg, "worker process %d %s while running this task "
             "(attempt %u of %u%s)", (int)pid, how, deaths,
             retries + 1 < (unsigned)p->max_deaths ? retries + 1 : (unsigned)p->max_deaths,
             stop ? "; stopped: the task kills every worker it runs in" : "");
  loom__ppool_fail(f, LOOM_EBROKEN, msg);
}

/* Sort out the jobs a dead worker held: those it finished without sending
 * the result, the one it was running, and those it never started. */
static void settle_inflight(ppool *p, pworker *w, const char *how) {
  uint64_t finished = atomic_load(&w->page->finished);
  uint64_t lost = finished > w->received ? finished - w->received : 0;
  loom_future *retry = NULL, *rest = NULL, **rest_tail = &rest;
  bool blamed = false;
  for (loom_future *f = w->q_head, *next; f; f = next) {
    next = f->job_next;
    f->job_next = NULL;
    if (lost) { /* it ran: never run it twice unless it is retryable */
      lost--;
      blame(p, f, w->child.pid, how, &retry);
    } else if (!blamed && atomic_load(&w->page->running) == (uint64_t)(uintptr_t)f) {
      blamed = true; /* the job it was running when it died */
      blame(p, f, w->child.pid, how, &retry);
    } else { /* never started (or it died between jobs): not its fault */
      *rest_tail = f;
      rest_tail = &f->job_next;
    }
  }
  w->q_head = w->q_tail = NULL;
  w->n_inflight = 0;
  if (p->terminating) { /* never started and never will */
    for (loom_future *f = rest, *next; f; f = next) {
      next = f->job_next;
      loom__ppool_fail(f, LOOM_ECANCELLED, "the pool's workers were terminated");
    }
    return;
  }
  /* Retried jobs go first, then the untouched ones in their order. */
  if (retry) {
    loom_future *t = retry;
    while (t->job_next) t = t->job_next;
    t->job_next = rest;
    rest = retry;
  }
  requeue_front(p, rest);
}

/* Results the dead worker had finished but not sent are in its shared
 * buffer: take the part the socket did not deliver. */
static void recover_unsent(ppool *p, pworker *w) {
  drain_socket_final(p, w);
  uint64_t base = atomic_load(&w->page->out_base), len = atomic_load(&w->page->out_len);
  if (w->rx_total < base || w->rx_total - base >= len || len > LOOM__SHBUF_SIZE) return;
  const char *buf = (const char *)w->page + LOOM__PAGE_SIZE;
  size_t from = (size_t)(w->rx_total - base);
  if (loom__pw_append(w, buf + from, (size_t)len - from) == 0) handle_messages(p, w);
}

static void fail_everything(ppool *p, pworker *w) {
  pthread_mutex_lock(&p->lock);
  loom_future *h = p->p_head;
  p->p_head = p->p_tail = NULL;
  p->n_pending = 0;
  const char *why = p->broken_msg ? p->broken_msg : "the process pool is broken";
  char *msg = loom__strdup(why);
  pthread_mutex_unlock(&p->lock);
  for (loom_future *f = w ? w->q_head : NULL, *next; f; f = next) {
    next = f->job_next;
    loom__ppool_fail(f, LOOM_EBROKEN, msg ? msg : "the process pool is broken");
  }
  if (w) {
    w->q_head = w->q_tail = NULL;
    w->n_inflight = 0;
  }
  for (loom_future *next; h; h = next) {
    next = h->job_next;
    if (h->producer_data & P_SKIP) { /* already cancelled */
      loom__executor_job_drop(h);
      loom_future_release(h);
    } else {
      loom__ppool_fail(h, LOOM_EBROKEN, msg ? msg : "the process pool is broken");
    }
  }
  loom__free(msg);
}

/* The pool is broken (an initializer failed, workers die at start-up, or no
 * worker can be started).  As Python's terminate_broken does, every job,
 * pending or sent, fails now and every worker is killed: jobs queued behind a
 * failed initializer would never run, and leaving them to each worker's own
 * exit tied the futures (and the pool's shutdown, which reaps the workers) to
 * how soon that exit came - under TSan a worker exiting with its flusher
 * thread alive first sleeps a second, and one that never exits held them
 * forever.  The deaths are reaped as usual; their jobs are settled already. */
static void break_pool(ppool *p) {
  fail_everything(p, NULL);
  for (int i = 0; i < p->max_workers; i++) {
    pworker *w = &p->w[i];
    if (w->child.pidfd < 0) continue;
    fail_everything(p, w);
    if (!w->terminated) {
      w->terminated = true;
      loom__child_signal(&w->child, SIGKILL);
    }
  }
}

static void on_death(ppool *p, int slot, bool block) {
  pworker *w = &p->w[slot];
  drain_socket(p, slot); /* results it sent before dying are good */
  loom__child c = w->child;
  int code = 0;
  /* Remove both descriptors from the epoll set explicitly before closing:
   * a copy of a descriptor briefly held by a child being spawned would
   * otherwise keep a stale registration alive under the same slot key. */
  int rc = loom__reap_prepare(&c, block);
  if (rc < 0) return;
  epoll_ctl(p->ep, EPOLL_CTL_DEL, c.pidfd, NULL);
  if (w->sock >= 0 && !w->eof) epoll_ctl(p->ep, EPOLL_CTL_DEL, w->sock, NULL);
  rc = loom__reap(&c, &code, true);
  recover_unsent(p, w);
  /* Not gone (a spurious wake-up): keep watching. */
  if (rc < 0) return;
  char how[96];
  loom__describe_exit(code, how, sizeof how);
  bool quitting = w->retiring || p->terminating;
  bool expected = (w->retiring && code == 0) || p->terminating || w->terminated;
  if (!w->ready && !quitting && !p->broken) {
    if (p->init) {
      char msg[256];
      snprintf(msg, sizeof msg, "worker process %d %s while running the initializer",
               (int)c.pid, how);
      set_broken(p, LOOM_EBROKEN, msg);
    } else if (++p->boot_failures >= BOOT_FAILURES_MAX) {
      char msg[256];
      snprintf(msg, sizeof msg, "worker processes die at start-up (last: %s)", how);
      set_broken(p, LOOM_EBROKEN, msg);
    }
  }
  /* Counted before the jobs are settled: whoever sees a job fail because
   * of this death then also sees the death in the stats. */
  if (!expected) {
    pthread_mutex_lock(&p->lock);
    p->stats.deaths++;
    pthread_mutex_unlock(&p->lock);
  }
  if (p->broken) fail_everything(p, w);
  else settle_inflight(p, w, how);
  if (w->sock >= 0) close(w->sock);
  munmap(w->page, LOOM__SHARED_SIZE);
  loom__pw_free_buffers(w);
  pthread_mutex_lock(&p->lock);
  w->child.pidfd = -1;
  w->sock = -1;
  w->page = NULL;
  pthread_mutex_unlock(&p->lock);
}

/* ---- the loop ---------------------------------------------------------------------- */

static bool all_idle(ppool *p) {
  for (int i = 0; i < p->max_workers; i++)
    if (p->w[i].n_inflight) return false;
  return true;
}

static void flush_all(ppool *p) {
  for (int i = 0; i < p->max_workers; i++) {
    pworker *w = &p->w[i];
    if (w->child.pidfd < 0 || w->sock < 0 || w->eof) continue;
    int rc = loom__pw_flush(w);
    bool want = rc == 1;
    if (rc < 0) { /* the worker is going away (or must): its death settles things */
      w->out_pos = w->out_len = 0;
      loom__child_signal(&w->child, SIGKILL);
    }
    if (want != w->want_out) {
      struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0),
                               .data.u64 = ev_key(i, EV_SOCK)};
      epoll_ctl(p->ep, EPOLL_CTL_MOD, w->sock, &ev);
      w->want_out = want;
    }
  }
}

/* One round under the lock: dispatch, and decide whether the pool is done.
 * A job submitted (or a cancel requested) after spawn_needed counted the
 * work (after handle_cancels took the requests) found the manager awake (not
 * `sleeping`), so it sent no wake-up: if the job needs a worker that was not
 * started for it, or a cancel waits, *again asks for another round at once
 * instead of sleeping on it.  (Before this check, a pool whose first jobs
 * all arrived in that window never started a worker: its futures waited
 * forever; seen under TSan with load.) */
static bool round_locked(ppool *p, loom_future **drop, bool *again) {
  if (!p->broken) dispatch_locked(p, drop);
  bool done = p->shutdown && !p->p_head && p->n_creq == 0 && all_idle(p);
  *again = !done && (p->n_creq > 0 || (p->p_head && !p->broken && !p->terminating &&
                                       wanted_workers(p) > p->want_seen));
  if (!done && !*again) p->sleeping = true;
  return done;
}

static void handle_event(ppool *p, uint64_t key, uint32_t events) {
  int slot = (int)(key >> 8), kind = (int)(key & 0xff);
  if (kind == EV_WAKE) {
    uint64_t v;
    ssize_t n = read(p->efd, &v, sizeof v);
    (void)n;
    return;
  }
  pworker *w = &p->w[slot];
  if (w->child.pidfd < 0) return;
  if (kind == EV_SOCK && (events & (EPOLLIN | EPOLLHUP | EPOLLERR))) drain_socket(p, slot);
  if (kind == EV_PIDFD) on_death(p, slot, false);
}

/* Stop every worker and reap it (the pool is done or terminated). */
static void stop_all(ppool *p) {
  /* Tell them all first, then reap: the workers exit side by side rather
   * than one after the other (each exit can be slow: a sanitizer's report,
   * TSan's one-second pause at exit). */
  for (int i = 0; i < p->max_workers; i++) {
    pworker *w = &p->w[i];
    if (w->child.pidfd < 0) continue;
    if (p->terminating) loom__child_signal(&w->child, p->term_signal);
    w->retiring = true;
    if (w->sock >= 0) shutdown(w->sock, SHUT_WR); /* end of stream: the worker exits */
  }
  for (int i = 0; i < p->max_workers; i++)
    if (p->w[i].child.pidfd >= 0) on_death(p, i, true); /* waitid until it has gone */
}

void *loom__ppool_manager(void *arg) {
  ppool *p = arg;
  struct epoll_event evs[64];
  for (;;) {
    handle_cancels(p);
    if (!p->broken) spawn_needed(p);
    if (p->broken) break_pool(p);
    loom_future *drop = NULL;
    bool again;
    pthread_mutex_lock(&p->lock);
    bool done = round_locked(p, &drop, &again);
    pthread_mutex_unlock(&p->lock);
    finish_dropped(drop);
    if (done || p->terminating) break;
    flush_all(p);
    if (again) continue;
    int n = epoll_wait(p->ep, evs, 64, -1);
    pthread_mutex_lock(&p->lock);
    p->sleeping = false;
    p->wake_sent = false;
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < n; i++) handle_event(p, evs[i].data.u64, evs[i].events);
  }
  stop_all(p);
  handle_cancels(p);
  pthread_mutex_lock(&p->lock);
  p->finished = true;
  pthread_cond_broadcast(&p->done_cv);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}
