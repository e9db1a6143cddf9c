/* future.c - the future state machine, results, errors and done callbacks.
 *
 * Every state change but one happens under the future's lock and publishes
 * `state` with a release CAS, so readers that only load `state` (acquire)
 * see the result fields that were written before it.  The exception is
 * PENDING -> RUNNING (set_running_or_notify_cancel, once per job on the
 * executors' hot path): a lone CAS without the lock.  That is why the
 * locked transitions CAS too: a completion that finds the future moved to
 * RUNNING under it retries from RUNNING, a cancel gives up (too late).
 */
#include <stdio.h>
#include <string.h>

#include "future_internal.h"

static const loom__future_ops plain_ops;

/* memset(f, 0, sizeof *f) as a few wide stores: for this size GCC's
 * generic tuning emits `rep stos`, whose start-up cost is most of the
 * work, once per future (a loop would be turned back into memset). */
static inline void zero_future(loom_future *f) {
  typedef char chunk16 __attribute__((vector_size(16), aligned(1), may_alias));
  chunk16 *c = (chunk16 *)f, z = {0};
  if (sizeof *f == 120) {
    c[0] = z, c[1] = z, c[2] = z, c[3] = z, c[4] = z, c[5] = z, c[6] = z;
    memset((char *)f + 112, 0, 8);
  } else {
    memset(f, 0, sizeof *f);
  }
}

void loom__future_init(loom_future *f, const loom__future_ops *ops) {
  zero_future(f);
  atomic_init(&f->refs, 1);
  atomic_init(&f->state, LOOM_FUTURE_PENDING);
  loom__lock_init(&f->lock);
  f->ops = ops ? ops : &plain_ops;
  loom__live_inc(LOOM_LIVE_FUTURES);
}

int loom_future_create(loom_future **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_future *f = loom__future_alloc();
  if (!f) return LOOM_ENOMEM;
  loom__future_init(f, NULL);
  *out = f;
  return 0;
}

loom_future *loom_future_retain(loom_future *f) {
  atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
  return f;
}

static void future_destroy(loom_future *f) {
  /* Callbacks never run on a future that was never completed: release
   * them (a pending future dropped by everyone can no longer complete). */
  for (loom__fnode *n = f->head, *next; n; n = next) {
    next = n->next;
    if (!n->internal) loom__free(n);
  }
  if (!atomic_load(&f->taken) && f->dtor) f->dtor(f->value);
  if (f->msg) loom__free(f->msg); /* most futures have none: skip the call */
  loom__live_dec(LOOM_LIVE_FUTURES);
  if (f->ops->free)
    f->ops->free(f);
  else
    loom__future_free(f);
}

void loom_future_release(loom_future *f) {
  if (!f) return;
  if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) future_destroy(f);
}

/* ---- queries ------------------------------------------------------------ */

static inline loom_future_state state_of(const loom_future *f) {
  return (loom_future_state)atomic_load_explicit(&f->state, memory_order_acquire);
}

loom_future_state loom_future_state_get(const loom_future *f) { return state_of(f); }

const char *loom_future_state_name(loom_future_state s) {
  switch (s) {
  case LOOM_FUTURE_PENDING: return "PENDING";
  case LOOM_FUTURE_RUNNING: return "RUNNING";
  case LOOM_FUTURE_FINISHED: return "FINISHED";
  case LOOM_FUTURE_CANCELLED: return "CANCELLED";
  }
  return "UNKNOWN";
}

bool loom_future_done(const loom_future *f) { return state_of(f) >= LOOM_FUTURE_FINISHED; }
bool loom_future_cancelled(const loom_future *f) { return state_of(f) == LOOM_FUTURE_CANCELLED; }
bool loom_future_running(const loom_future *f) { return state_of(f) == LOOM_FUTURE_RUNNING; }

bool loom_future_cancel_requested(const loom_future *f) {
  return atomic_load_explicit(&f->cancel_req, memory_order_acquire) ||
         state_of(f) == LOOM_FUTURE_CANCELLED;
}

size_t loom_future_arg_size(const loom_future *f) { return f->arg_size; }

const char *loom_future_label(const loom_future *f) {
  return f->ops->label ? f->ops->label(f) : NULL;
}

/* ---- completion --------------------------------------------------------- */

static void run_callbacks(loom_future *f, loom__fnode *n) {
  while (n) {
    loom__fnode *next = n->next;
    int rc = n->fn(f, n->arg);
    if (rc < 0)
      loom__report("done callback %p failed on future %p: %s (%s)", (void *)n->fn,
                   (void *)f, loom_strerror(rc), loom_err_name(rc));
    loom__free(n);
    n = next;
  }
}

/* Lock held.  Move a future that is not done to `to`, unless pending_only
 * and it is no longer PENDING.  The only concurrent change is the lock-free
 * PENDING -> RUNNING of set_running_or_notify_cancel: retry after it. */
static bool publish_locked(loom_future *f, loom_future_state to, bool pending_only) {
  uint8_t s = atomic_load_explicit(&f->state, memory_order_relaxed);
  if (s == LOOM_FUTURE_RUNNING && !pending_only) {
    /* Nothing else leaves RUNNING without the lock: a store will do (the
     * common case, a job finishing, pays no second atomic). */
    atomic_store_explicit(&f->state, (uint8_t)to, memory_order_release);
    return true;
  }
  for (;;) {
    if (s >= LOOM_FUTURE_FINISHED || (pending_only && s != LOOM_FUTURE_PENDING)) return false;
    if (atomic_compare_exchange_weak_explicit(&f->state, &s, (uint8_t)to,
                                              memory_order_release, memory_order_relaxed))
      return true;
  }
}

/* Called with the lock held, the outcome stored and the state published:
 * fire internal nodes under the lock, then run callbacks after dropping it. */
static void complete_locked(loom_future *f) {
  loom__fnode *cb_head = NULL, *cb_tail = NULL;
  for (loom__fnode *n = f->head, *next; n; n = next) {
    next = n->next;
    if (n->internal) {
      n->next = n->prev = NULL;
      n->fn(f, n->arg);
      continue;
    }
    n->next = NULL;
    if (cb_tail) cb_tail->next = n; else cb_head = n;
    cb_tail = n;
  }
  f->head = f->tail = NULL;
  if (!cb_head) {
    loom__lock_release(&f->lock);
    return;
  }
  /* A callback may drop the caller's last reference. */
  loom_future_retain(f);
  loom__lock_release(&f->lock);
  run_callbacks(f, cb_head);
  loom_future_release(f);
}

static int finish(loom_future *f, void *value, loom_destructor dtor, size_t size) {
  loom__lock_acquire(&f->lock);
  if (state_of(f) >= LOOM_FUTURE_FINISHED) {
    loom__lock_release(&f->lock);
    return LOOM_EINVALIDSTATE;
  }
  f->value = value;
  f->dtor = dtor;
  f->size = size;
  publish_locked(f, LOOM_FUTURE_FINISHED, false); /* not done: cannot fail */
  complete_locked(f);
  return 0;
}

int loom_future_set_result(loom_future *f, void *value, loom_destructor dtor) {
  if (!f) return LOOM_EINVAL;
  return finish(f, value, dtor, 0);
}

int loom_future_set_result_bytes(loom_future *f, const void *data, size_t len) {
  if (!f || (!data && len)) return LOOM_EINVAL;
  if (loom_future_done(f)) return LOOM_EINVALIDSTATE;
  char *copy = loom__malloc(len + 1);
  if (!copy) return LOOM_ENOMEM;
  if (len) memcpy(copy, data, len);
  copy[len] = 0;
  int rc = finish(f, copy, loom__free, len);
  if (rc < 0) loom__free(copy);
  return rc;
}

static int fail(loom_future *f, int code, char *msg) {
  loom__lock_acquire(&f->lock);
  if (state_of(f) >= LOOM_FUTURE_FINISHED) {
    loom__lock_release(&f->lock);
    loom__free(msg);
    return LOOM_EINVALIDSTATE;
  }
  f->err = code;
  f->msg = msg;
  publish_locked(f, LOOM_FUTURE_FINISHED, false); /* not done: cannot fail */
  complete_locked(f);
  return code;
}

int loom_future_set_error(loom_future *f, int code, const char *fmt, ...) {
  if (!f) return LOOM_EINVAL;
  if (code >= 0) code = LOOM_EFAILED;
  if (loom_future_done(f)) return LOOM_EINVALIDSTATE;
  char *msg = NULL;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    msg = loom__vasprintf(fmt, ap); /* NULL on failure: the code survives */
    va_end(ap);
  }
  return fail(f, code, msg);
}

int loom__future_set_cancelled(loom_future *f, const char *msg) {
  char *copy = msg ? loom__strdup(msg) : NULL;
  loom__lock_acquire(&f->lock);
  if (state_of(f) >= LOOM_FUTURE_FINISHED) {
    loom__lock_release(&f->lock);
    loom__free(copy);
    return LOOM_EINVALIDSTATE;
  }
  f->err = LOOM_ECANCELLED;
  f->msg = copy;
  atomic_store_explicit(&f->cancel_req, true, memory_order_release);
  publish_locked(f, LOOM_FUTURE_CANCELLED, false); /* not done: cannot fail */
  complete_locked(f);
  return 0;
}

bool loom_future_set_running_or_notify_cancel(loom_future *f) {
  /* No lock: nothing but the state changes, and every locked transition
   * CASes (see the top of the file).  Acquire, so that a job refused here
   * sees what its canceller wrote. */
  uint8_t s = LOOM_FUTURE_PENDING;
  if (atomic_compare_exchange_strong_explicit(&f->state, &s, LOOM_FUTURE_RUNNING,
                                              memory_order_acq_rel, memory_order_acquire))
    return true;
  if (s != LOOM_FUTURE_CANCELLED)
    loom__report("set_running_or_notify_cancel on a future in state %s",
                 loom_future_state_name(s));
  return false;
}

bool loom_future_cancel_msg(loom_future *f, const char *msg) {
  if (!f) return false;
  if (f->ops->cancel) return f->ops->cancel(f, msg);
  loom_future_state s = state_of(f);
  if (s == LOOM_FUTURE_CANCELLED) return true;
  if (s == LOOM_FUTURE_FINISHED) return false;
  if (s == LOOM_FUTURE_RUNNING) {
    atomic_store_explicit(&f->cancel_req, true, memory_order_release);
    return false;
  }
  /* PENDING, unless it started meanwhile: set_cancelled re-checks under the
   * lock, but must not cancel a future that moved to RUNNING. */
  char *copy = msg ? loom__strdup(msg) : NULL;
  loom__lock_acquire(&f->lock);
  s = state_of(f);
  if (s != LOOM_FUTURE_PENDING) {
    if (s == LOOM_FUTURE_RUNNING)
      atomic_store_explicit(&f->cancel_req, true, memory_order_release);
    loom__lock_release(&f->lock);
    loom__free(copy);
    return s == LOOM_FUTURE_CANCELLED;
  }
  /* The outcome is written before it is published; nobody reads it before
   * the state says done, and nobody else writes it while we hold the lock. */
  f->err = LOOM_ECANCELLED;
  f->msg = copy;
  atomic_store_explicit(&f->cancel_req, true, memory_order_release);
  if (!publish_locked(f, LOOM_FUTURE_CANCELLED, true)) {
    /* It started between our check and the CAS: too late to cancel, and
     * the request stays raised for the running job. */
    f->err = 0;
    f->msg = NULL;
    loom__lock_release(&f->lock);
    loom__free(copy);
    return false;
  }
  complete_locked(f);
  return true;
}

bool loom_future_cancel(loom_future *f) { return loom_future_cancel_msg(f, NULL); }

/* ---- subscription ------------------------------------------------------- */

static void link_tail(loom_future *f, loom__fnode *n) {
  n->next = NULL;
  n->prev = f->tail;
  if (f->tail) f->tail->next = n; else f->head = n;
  f->tail = n;
}

static void unlink_node(loom_future *f, loom__fnode *n) {
  if (n->prev) n->prev->next = n->next; else f->head = n->next;
  if (n->next) n->next->prev = n->prev; else f->tail = n->prev;
  n->next = n->prev = NULL;
}

bool loom__future_subscribe(loom_future *f, loom__fnode *n) {
  n->internal = true;
  loom__lock_acquire(&f->lock);
  bool pending = state_of(f) < LOOM_FUTURE_FINISHED;
  if (pending) link_tail(f, n);
  loom__lock_release(&f->lock);
  return pending;
}

bool loom__future_unsubscribe(loom_future *f, loom__fnode *n) {
  loom__lock_acquire(&f->lock);
  /* Once done, the completion already ran (and unlinked) every node. */
  bool linked = state_of(f) < LOOM_FUTURE_FINISHED;
  if (linked) unlink_node(f, n);
  loom__lock_release(&f->lock);
  return linked;
}

int loom_future_add_done_callback(loom_future *f, loom_done_fn fn, void *arg) {
  if (!f || !fn) return LOOM_EINVAL;
  if (!loom_future_done(f)) {
    loom__fnode *n = loom__malloc(sizeof *n);
    if (!n) return LOOM_ENOMEM;
    n->fn = fn;
    n->arg = arg;
    n->internal = false;
    loom__lock_acquire(&f->lock);
    if (state_of(f) < LOOM_FUTURE_FINISHED) {
      link_tail(f, n);
      loom__lock_release(&f->lock);
      return 0;
    }
    loom__lock_release(&f->lock);
    loom__free(n);
  }
  int rc = fn(f, arg);
  if (rc < 0)
    loom__report("done callback %p failed on future %p: %s (%s)", (void *)fn, (void *)f,
                 loom_strerror(rc), loom_err_name(rc));
  return 0;
}

int loom_future_remove_done_callback(loom_future *f, loom_done_fn fn, void *arg) {
  if (!f) return 0;
  int removed = 0;
  loom__fnode *doomed = NULL;
  loom__lock_acquire(&f->lock);
  for (loom__fnode *n = f->head, *next; n; n = next) {
    next = n->next;
    if (n->internal || n->fn != fn || n->arg != arg) continue;
    unlink_node(f, n);
    n->next = doomed;
    doomed = n;
    removed++;
  }
  loom__lock_release(&f->lock);
  while (doomed) {
    loom__fnode *next = doomed->next;
    loom__free(doomed);
    doomed = next;
  }
  return removed;
}

/* ---- waiting and results ------------------------------------------------ */

static int wake_waiter(loom_future *f, void *arg) {
  (void)f;
  loom__waiter_fire(arg, 0);
  return 0;
}

_Thread_local loom_future *loom__await_hint;

int loom__future_wait_deadline(loom_future *f, int64_t deadline) {
  if (loom_future_done(f)) return 0;
  /* A task waiting for its own future would sleep forever (asyncio refuses
   * "a task cannot await itself").  A task's future is its first member, so
   * the parking owner (the running task) equals f exactly then. */
  if (loom__in_task() && loom__park_ctx_owner == (void *)f) return LOOM_EDEADLOCK;
  if (deadline != INT64_MAX && deadline <= loom_now_ns()) return LOOM_ETIMEDOUT;
  loom__waiter w;
  loom__waiter_init(&w);
  loom__fnode n = {.fn = wake_waiter, .arg = &w};
  if (!loom__future_subscribe(f, &n)) return 0;
  loom__await_hint = f;
  int reason = loom__waiter_park(&w, deadline);
  loom__await_hint = NULL;
  if (reason != 0 && !loom__future_unsubscribe(f, &n)) {
    /* The future completed while we were timing out or being cancelled: its
     * node already ran.  A timeout then reports success (the future is done);
     * a task cancellation is still delivered. */
    if (reason == LOOM_ETIMEDOUT) reason = 0;
  }
  return reason;
}

int loom_future_wait(loom_future *f, double timeout) {
  if (!f) return LOOM_EINVAL;
  return loom__future_wait_deadline(f, loom__deadline(timeout));
}

int loom_future_result_bytes(loom_future *f, double timeout, const void **data, size_t *len) {
  if (!f) return LOOM_EINVAL;
  /* Done already (the common case when collecting results): no clock read. */
  int rc = loom_future_done(f) ? 0 : loom__future_wait_deadline(f, loom__deadline(timeout));
  if (rc < 0) return rc;
  atomic_store_explicit(&f->retrieved, true, memory_order_relaxed);
  if (f->err) return f->err;
  if (data) *data = atomic_load(&f->taken) ? NULL : f->value;
  if (len) *len = f->size;
  return 0;
}

int loom_future_result(loom_future *f, double timeout, void **value) {
  const void *v = NULL;
  int rc = loom_future_result_bytes(f, timeout, &v, NULL);
  if (value) *value = rc == 0 ? (void *)v : NULL;
  return rc;
}

int loom_future_take_result(loom_future *f, void **value, loom_destructor *dtor) {
  if (!f || !value) return LOOM_EINVAL;
  if (!loom_future_done(f)) return LOOM_EAGAIN;
  atomic_store_explicit(&f->retrieved, true, memory_order_relaxed);
  if (f->err) return f->err;
  if (atomic_exchange(&f->taken, true)) return LOOM_EINVALIDSTATE;
  *value = f->value;
  if (dtor) *dtor = f->dtor;
  return 0;
}

int loom_future_error(loom_future *f, double timeout, const char **msg) {
  if (!f) return LOOM_EINVAL;
  /* Done already (the common case when collecting results): no clock read. */
  int rc = loom_future_done(f) ? 0 : loom__future_wait_deadline(f, loom__deadline(timeout));
  if (rc < 0) return rc;
  atomic_store_explicit(&f->retrieved, true, memory_order_relaxed);
  if (msg) *msg = f->msg ? f->msg : (f->err ? loom_strerror(f->err) : NULL);
  return f->err;
}

int loom_future_exception(const loom_future *f, int *code, const char **msg) {
  if (!f) return LOOM_EINVAL;
  if (!loom_future_done(f)) return LOOM_EAGAIN;
  /* Reading the outcome retrieves it, even through a const view. */
  atomic_store_explicit(&((loom_future *)f)->retrieved, true, memory_order_relaxed);
  if (code) *code = f->err;
  if (msg) *msg = f->msg ? f->msg : (f->err ? loom_strerror(f->err) : NULL);
  return 0;
}
