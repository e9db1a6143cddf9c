/* thread.c - loom_thread: a pthread whose outcome is a loom_future.
 *
 * The handle embeds its future (loom__future_init with a free hook), so the
 * handle's memory lives exactly as long as the future's references: one for
 * the caller's handle, one for the running thread, plus any the user took.
 * The thread runs fn through the executor job path (loom__executor_run_job),
 * so "return a code" and "set a result" behave as for pool jobs.
 *
 * End of a thread: fn returns, the future completes (its callbacks run in
 * this thread, as in Python), then `finished` is set and joiners are woken
 * through the waiter list, so a task joining a thread suspends instead of
 * blocking its loop.  Reaping (pthread_join) happens once, by the first
 * joiner, after `finished`: by then the thread only has its libc exit path
 * left, so that final pthread_join is short.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "loom/thread.h"

#include "../futures/executor_internal.h"
#include "wlist.h"

struct loom_thread {
  loom_future fut;       /* the result; its refcount owns this struct */
  pthread_t pt;
  char *name;
  loom__block mu;         /* guards the fields below */
  bool finished;         /* fn returned and callbacks ran */
  bool reaped;           /* someone called (or is calling) pthread_join */
  bool detached;         /* the handle was destroyed without a join */
  loom__wlist joiners;
};

static _Atomic unsigned long thread_counter;
static _Thread_local const char *tls_name;
static _Thread_local char tls_os_name[16];

static void thread_free(loom_future *f) {
  loom_thread *t = LOOM__CONTAINER_OF(f, loom_thread, fut);
  loom__free(t->name);
  loom__free(t);
}

static const char *thread_label(const loom_future *f) {
  return LOOM__CONTAINER_OF(f, loom_thread, fut)->name;
}

static const loom__future_ops thread_ops = {.free = thread_free, .label = thread_label};

static void set_os_name(const char *name) {
  char buf[16];
  snprintf(buf, sizeof buf, "%s", name);
  pthread_setname_np(pthread_self(), buf); /* cosmetic: failure is harmless */
}

static void *thread_main(void *p) {
  loom_thread *t = p;
  tls_name = t->name;
  set_os_name(t->name);
  loom__executor_run_job(&t->fut);
  loom__block_acquire(&t->mu);
  t->finished = true;
  bool detached = t->detached;
  loom__wlist_fire_all(&t->joiners, 0);
  loom__block_release(&t->mu);
  if (detached) loom__live_dec(LOOM_LIVE_THREADS);
  tls_name = NULL;
  loom_future_release(&t->fut); /* may free t */
  return NULL;
}

static char *default_name(void) {
  unsigned long n = atomic_fetch_add(&thread_counter, 1) + 1;
  return loom__asprintf("Thread-%lu", n);
}

int loom_thread_start(loom_thread **out, const char *name, loom_fn fn, void *arg) {
  if (out) *out = NULL;
  if (!out || !fn) return LOOM_EINVAL;
  loom_thread *t = loom__calloc(1, sizeof *t);
  if (!t) return LOOM_ENOMEM;
  t->name = name ? loom__strdup(name) : default_name();
  if (!t->name) {
    loom__free(t);
    return LOOM_ENOMEM;
  }
  loom__block_init(&t->mu);
  loom__future_init(&t->fut, &thread_ops);
  t->fut.fn = fn;
  t->fut.arg = arg;
  t->fut.producer = t;
  loom_future_set_running_or_notify_cancel(&t->fut);
  loom_future_retain(&t->fut); /* the thread's reference */
  int err = loom__sys_fault(EAGAIN) ? EAGAIN : pthread_create(&t->pt, NULL, thread_main, t);
  if (err) {
    loom_future_release(&t->fut);
    loom_future_release(&t->fut); /* frees t */
    return -err;
  }
  loom__live_inc(LOOM_LIVE_THREADS);
  *out = t;
  return 0;
}

loom_future *loom_thread_future(loom_thread *t) { return t ? &t->fut : NULL; }

/* Wait for `finished`.  mu held on entry and return. */
static int wait_finished_locked(loom_thread *t, double timeout) {
  if (t->finished) return 0;
  if (timeout == 0) return LOOM_ETIMEDOUT;
  int64_t deadline = loom_deadline(timeout);
  loom__wnode n;
  loom__wlist_push(&t->joiners, &n);
  int reason = loom__wlist_wait(&t->mu, &t->joiners, &n, deadline);
  return t->finished ? 0 : reason;
}

int loom_thread_join(loom_thread *t, double timeout) {
  if (!t) return LOOM_EINVAL;
  if (pthread_equal(t->pt, pthread_self())) return LOOM_EDEADLOCK;
  loom__block_acquire(&t->mu);
  int rc = wait_finished_locked(t, timeout);
  bool reap = rc == 0 && !t->reaped;
  if (reap) t->reaped = true;
  loom__block_release(&t->mu);
  if (reap) {
    pthread_join(t->pt, NULL);
    loom__live_dec(LOOM_LIVE_THREADS);
  }
  return rc;
}

bool loom_thread_is_alive(const loom_thread *t) {
  if (!t) return false;
  loom__block_acquire((loom__block *)&t->mu);
  bool alive = !t->finished;
  loom__block_release((loom__block *)&t->mu);
  return alive;
}

const char *loom_thread_name(const loom_thread *t) { return t ? t->name : NULL; }

uint64_t loom_thread_ident(const loom_thread *t) { return t ? (uint64_t)t->pt : 0; }

uint64_t loom_thread_current_ident(void) { return (uint64_t)pthread_self(); }

const char *loom_thread_current_name(void) {
  if (tls_name) return tls_name;
  if (syscall(SYS_gettid) == getpid()) return "MainThread";
  if (pthread_getname_np(pthread_self(), tls_os_name, sizeof tls_os_name) != 0)
    snprintf(tls_os_name, sizeof tls_os_name, "Dummy-%ld", (long)syscall(SYS_gettid));
  return tls_os_name;
}

int loom_thread_destroy(loom_thread *t) {
  if (!t) return 0;
  loom__block_acquire(&t->mu);
  bool reaped = t->reaped;
  bool finished = t->finished;
  if (!reaped) {
    t->reaped = true;
    t->detached = true;
  }
  loom__block_release(&t->mu);
  if (!reaped) {
    pthread_detach(t->pt);
    /* Not yet finished: the thread decrements the count when it ends. */
    if (finished) loom__live_dec(LOOM_LIVE_THREADS);
  }
  loom_future_release(&t->fut);
  return 0;
}
