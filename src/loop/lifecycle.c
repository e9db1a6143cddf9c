/* lifecycle.c - creating, closing and destroying a loop.
 *
 * Close order matters: the task layer's hook runs first, while the loop is
 * still whole (it may iterate the loop so cancelled tasks can unwind); then
 * the inbox is sealed so late thread-safe posts are refused instead of lost
 * in a dead queue; then queued callbacks and timers are dropped (public
 * handles release their loop reference), and last the backend goes.  The
 * eventfd lives until destroy, since other threads may still write it.
 */
#include <sys/eventfd.h>
#include <unistd.h>

#include "loop_impl.h"

static int wake_init(loom_loop *loop) {
  int fd = loom__sys_fault(EMFILE) ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) return -errno;
  loop->wake_fd = fd;
  int rc = loop->poll.ops->add(&loop->poll, fd, LOOM__POLL_IN);
  if (rc) {
    close(fd);
    loop->wake_fd = -1;
  }
  return rc;
}

int loom_loop_create(loom_loop **out, const loom_loop_options *opts) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_loop *loop = loom__calloc(1, sizeof *loop);
  if (!loop) return LOOM_ENOMEM;
  loop->wake_fd = -1;
  loop->poll.ops = &loom__poll_default_ops;
  int rc = loop->poll.ops->init(&loop->poll);
  if (rc) {
    loom__free(loop);
    return rc;
  }
  rc = wake_init(loop);
  if (rc) {
    loop->poll.ops->close(&loop->poll);
    loom__free(loop);
    return rc;
  }
  loop->now = loom_now_ns();
  if (opts) {
    loom_loop_set_slow_callback_threshold(loop, opts->slow_callback_threshold);
    loop->virtual_clock = opts->virtual_clock;
  }
  loom__live_inc(LOOM_LIVE_LOOPS);
  *out = loop;
  return 0;
}

static _Atomic(loom__callback_fn) close_runners[8];

void loom__loop_run_at_close(loom__callback_fn fn) {
  for (size_t i = 0; i < LOOM__ARRAY_LEN(close_runners); i++) {
    loom__callback_fn cur = atomic_load(&close_runners[i]);
    if (cur == fn) return;
    if (!cur) {
      loom__callback_fn none = NULL;
      if (atomic_compare_exchange_strong(&close_runners[i], &none, fn) || none == fn) return;
    }
  }
}

static bool runs_at_close(loom__callback_fn fn) {
  for (size_t i = 0; i < LOOM__ARRAY_LEN(close_runners); i++) {
    loom__callback_fn cur = atomic_load_explicit(&close_runners[i], memory_order_relaxed);
    if (!cur) return false;
    if (cur == fn) return true;
  }
  return false;
}

/* One pass over the ready queue: run bookkeeping entries, keep the rest in
 * order (ahead of whatever the bookkeeping posts).  True if any ran. */
static bool run_bookkeeping_once(loom_loop *loop) {
  loom__loop_inbox_drain(loop);
  loom__callback *cb = loop->hot.ready.head;
  loom__cbq keep = {NULL, NULL};
  loop->hot.ready.head = loop->hot.ready.tail = NULL;
  bool any = false;
  while (cb) {
    loom__callback *next = cb->next;
    cb->next = NULL;
    if (runs_at_close(cb->fn)) {
      cb->fn(cb);
      any = true;
    } else {
      if (keep.tail) keep.tail->next = cb;
      else keep.head = cb;
      keep.tail = cb;
    }
    cb = next;
  }
  if (keep.head) { /* the kept ones go back in front */
    keep.tail->next = loop->hot.ready.head;
    if (!loop->hot.ready.head) loop->hot.ready.tail = keep.tail;
    loop->hot.ready.head = keep.head;
  }
  return any;
}

/* Completion notices still queued must run, or what waits on them leaks. */
static void run_bookkeeping(loom_loop *loop) {
  bool bind = !loom__tls_loop;
  if (bind) loom__tls_loop = loop;
  for (int round = 0; round < 1000 && run_bookkeeping_once(loop); round++) {
  }
  if (bind) loom__tls_loop = NULL;
}

/* Drop queued callbacks; with `keepers`, run those that must not be lost
 * (loom__loop_run_at_close) instead. */
static void drop_queue(loom__callback *cb, bool keepers) {
  while (cb) {
    loom__callback *next = cb->next;
    cb->next = NULL;
    if (keepers && runs_at_close(cb->fn))
      cb->fn(cb);
    else
      loom__handle_drop_cb(cb); /* task-layer entries are simply forgotten */
    cb = next;
  }
}

/* Drop every queued callback and armed timer without running them - but
 * for bookkeeping posted from other threads since run_bookkeeping (e.g. a
 * task cancelled from another thread during the close), which runs: the
 * loop is closed now, so it posts nothing that could be left behind. */
static void drop_pending(loom_loop *loop) {
  loom__callback *in = atomic_exchange(&loop->inbox, &loom__inbox_closed);
  if (in != &loom__inbox_closed) drop_queue(in, true);
  loom__callback *ready = loop->hot.ready.head;
  loop->hot.ready.head = loop->hot.ready.tail = NULL;
  drop_queue(ready, false);
  while (loop->heap_len) {
    loom__heap_ent *e = &loop->heap[--loop->heap_len];
    if (loom__heap_ent_inline(e)) continue; /* a callback without a handle: nothing to free */
    e->u.t->index = LOOM__TIMER_IDLE;
    loom__handle_drop_timer(e->u.t);
  }
}

static void close_now(loom_loop *loop) {
  if (loop->hooks.close) loop->hooks.close(loop, loop->hooks.ctx);
  run_bookkeeping(loop);
  atomic_store(&loop->closed, true);
  drop_pending(loop);
  loom__loop_executor_fini(loop);
  loom__timers_fini(loop);
  loom__io_fini(loop);
  loom__signals_fini(loop);
  loop->poll.ops->close(&loop->poll);
  /* wake_fd stays open until destroy: a thread racing with close may still
   * write it (its post was refused or dropped, but its wake-up is in flight). */
}

int loom_loop_close(loom_loop *loop) {
  if (!loop) return LOOM_EINVAL;
  /* Close as the thread driving the loop, so that another thread cannot
   * start it, spawn on it or cancel its tasks in place meanwhile (those
   * wait, fail or post).  A thread driving another loop cannot (the close
   * hook would run this loop's tasks inside that loop's): it closes as it
   * is, the loop idle. */
  bool drive = !loom__tls_loop;
  if (drive) {
    if (!loom__loop_claim(loop)) return LOOM_EBUSY;
    loom__tls_loop = loop;
  } else if (!loom__loop_idle_or_borrowed(loop)) {
    return LOOM_EBUSY;
  }
  if (!atomic_load(&loop->closed)) close_now(loop);
  if (drive) {
    loom__tls_loop = NULL;
    loom__loop_unclaim(loop);
  }
  return 0;
}

void loom_loop_destroy(loom_loop *loop) {
  if (!loop) return;
  if (!loom__loop_idle_or_borrowed(loop)) {
    loom__report("loom_loop_destroy called on a running loop: leaked");
    return;
  }
  loom_loop_close(loop);
  close(loop->wake_fd);
  loom__handles_fini(loop);
  loom__free(loop);
  loom__live_dec(LOOM_LIVE_LOOPS);
}
