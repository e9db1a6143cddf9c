/* handle.c - public callbacks: call_soon, call_later, call_at,
 * call_soon_threadsafe, and the cancellable handles they return.
 *
 * A handle is one allocation holding the intrusive entry (a ready-queue
 * callback or a timer, never both, hence the union) and the user's fn/arg.
 * References: the loop holds one while the callback is scheduled, the caller
 * one if it asked for the handle.  Cancelling a timer unlinks it from the
 * heap at once; a cancelled call_soon entry stays queued and is skipped and
 * released when its turn comes (O(1) either way).  A call_later/call_at
 * whose caller asked for no handle gets none: nothing could cancel it, so
 * the timer heap stores its fn/arg itself (timer.c).
 *
 * Handles are 64 bytes, one cache line each, carved from per-loop blocks
 * (a million timers must not cost a million mallocs, and a handle that
 * straddled two lines would cost two misses when its timer fires).  The
 * loop's thread takes and returns them on a plain free list; a handle whose
 * last reference is dropped on another thread goes on an atomic "remote"
 * list that the loop thread swaps in when its own list runs dry.
 * call_soon_threadsafe from another thread cannot touch the free list, so
 * its handle is malloc'ed.  The blocks are freed with the loop: every handle
 * must be released before loom_loop_destroy (one still referenced is
 * reported, left in the live counters, and its blocks leak).
 *
 * No atomic read-modify-write on the common path (a timer nobody holds a
 * handle to): the loop counts its pooled handles in a plain counter (frees
 * on other threads in a separate atomic one), adds them to the process-wide
 * live counters only if some are still out at destroy, and drops the last
 * reference without a decrement when it holds the only one.
 */
#include "loop_impl.h"

enum { KIND_SOON, KIND_TIMER };

enum { HBLOCK_BYTES = 16384, LINE = 64 };

struct loom_handle {
  union {
    struct {
      loom__callback cb;   /* KIND_SOON; cb.next links the free lists */
      int64_t when;        /* loop-clock ns when scheduled */
    } soon;
    loom__timer timer;     /* KIND_TIMER; timer.deadline is "when" */
  } u;
  loom_callback_fn fn;
  void *arg;
  loom_loop *loop;
  _Atomic uint32_t refs;   /* 1 for the loop while scheduled, 1 for the caller's handle */
  _Atomic bool cancelled;
  uint8_t kind;
  bool ran;                /* the callback was called (or skipped as cancelled) */
  bool pooled;             /* from the loop's blocks, else malloc'ed */
};

_Static_assert(sizeof(loom_handle) == 64, "a handle is one cache line");

static loom__callback *as_link(loom_handle *h) { return &h->u.soon.cb; }
static loom_handle *from_link(loom__callback *l) {
  return LOOM__CONTAINER_OF(l, loom_handle, u.soon.cb);
}

/* A new block: its first word links the loop's block list, its handles
 * start at the first line boundary after it. */
static bool pool_grow(loom_loop *loop) {
  char *b = loom__malloc(HBLOCK_BYTES);
  if (!b) return false;
  *(void **)b = loop->hblocks;
  loop->hblocks = b;
  uintptr_t first = ((uintptr_t)b + sizeof(void *) + LINE - 1) & ~(uintptr_t)(LINE - 1);
  loom_handle *h = (loom_handle *)first;
  size_t n = ((uintptr_t)b + HBLOCK_BYTES - first) / sizeof *h;
  for (size_t i = n; i-- > 0;) {
    as_link(&h[i])->next = loop->hfree;
    loop->hfree = as_link(&h[i]);
  }
  return true;
}

/* Refill the loop thread's free list: remote frees first, else a new block. */
static bool pool_refill(loom_loop *loop) {
  loom__callback *l = atomic_exchange_explicit(&loop->hfree_remote, NULL, memory_order_acquire);
  if (l) {
    loop->hfree = l;
    return true;
  }
  return pool_grow(loop);
}

static loom_handle *handle_alloc(loom_loop *loop, bool foreign) {
  loom_handle *h;
  if (foreign) {
    h = loom__malloc(sizeof *h);
    if (!h) return NULL;
    h->pooled = false;
    loom__live_inc(LOOM_LIVE_OTHER);
  } else {
    if (!loop->hfree && !pool_refill(loop)) return NULL;
    h = from_link(loop->hfree);
    loop->hfree = loop->hfree->next;
    /* Recycled handles come back in firing order, scattered: fetch the
     * next one now rather than miss on it in the next call. */
    __builtin_prefetch(loop->hfree, 1);
    h->pooled = true;
    loop->hlive++;
  }
  return h;
}

static void handle_free(loom_handle *h) {
  if (!h->pooled) {
    loom__live_dec(LOOM_LIVE_OTHER);
    loom__free(h);
    return;
  }
  loom_loop *loop = h->loop;
  loom__callback *l = as_link(h);
  if (loom__tls_loop == loop) {
    l->next = loop->hfree;
    loop->hfree = l;
    loop->hlive--;
    return;
  }
  /* Counted before it is pushed: once on the list the loop may reuse it. */
  atomic_fetch_add_explicit(&loop->hfreed_remote, 1, memory_order_release);
  loom__callback *old = atomic_load_explicit(&loop->hfree_remote, memory_order_relaxed);
  do l->next = old;
  while (!atomic_compare_exchange_weak_explicit(&loop->hfree_remote, &old, l,
                                                memory_order_release, memory_order_relaxed));
}

void loom__handles_fini(loom_loop *loop) {
  long out = loop->hlive - atomic_load_explicit(&loop->hfreed_remote, memory_order_acquire);
  if (out) {
    loom__report("loom_loop_destroy: %ld handle(s) still referenced: their memory is leaked",
                 out);
    for (long i = 0; i < out; i++) loom__live_inc(LOOM_LIVE_OTHER); /* the leak shows */
    return;
  }
  while (loop->hblocks) {
    void *b = loop->hblocks;
    loop->hblocks = *(void **)b;
    loom__free(b);
  }
}

void loom_handle_release(loom_handle *h) {
  if (!h) return;
  /* Holding the only reference, nobody else can take one (there is no
   * retain): free without the locked decrement.  Acquire pairs with the
   * release of whoever dropped the other reference. */
  if (atomic_load_explicit(&h->refs, memory_order_acquire) == 1 ||
      atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
    handle_free(h);
}

static void handle_fire(loom_handle *h) {
  h->ran = true;
  if (!atomic_load_explicit(&h->cancelled, memory_order_relaxed)) h->fn(h->arg);
  loom_handle_release(h); /* the loop's reference */
}

static void soon_run(loom__callback *cb) {
  handle_fire(LOOM__CONTAINER_OF(cb, loom_handle, u.soon.cb));
}

static void timer_run(loom__timer *t) {
  handle_fire(LOOM__CONTAINER_OF(t, loom_handle, u.timer));
}

bool loom__handle_drop_cb(loom__callback *cb) {
  if (cb->fn != soon_run) return false;
  loom_handle_release(LOOM__CONTAINER_OF(cb, loom_handle, u.soon.cb));
  return true;
}

bool loom__handle_drop_timer(loom__timer *t) {
  if (t->fn != timer_run) return false;
  loom_handle_release(LOOM__CONTAINER_OF(t, loom_handle, u.timer));
  return true;
}

static loom_handle *handle_new(loom_loop *loop, loom_callback_fn fn, void *arg, bool out,
                               bool foreign) {
  loom_handle *h = handle_alloc(loop, foreign);
  if (!h) return NULL;
  h->fn = fn;
  h->arg = arg;
  h->loop = loop;
  atomic_init(&h->refs, out ? 2u : 1u);
  atomic_init(&h->cancelled, false);
  h->ran = false;
  return h;
}

static int check_args(loom_loop *loop, loom_callback_fn fn, loom_handle **out) {
  if (out) *out = NULL;
  if (!loop || !fn) return LOOM_EINVAL;
  return atomic_load(&loop->closed) ? LOOM_ECLOSED : 0;
}

int loom_call_soon(loom_loop *loop, loom_callback_fn fn, void *arg, loom_handle **out) {
  int rc = check_args(loop, fn, out);
  if (rc) return rc;
  loom_handle *h = handle_new(loop, fn, arg, out != NULL, false);
  if (!h) return LOOM_ENOMEM;
  h->kind = KIND_SOON;
  h->u.soon.when = loom__loop_now(loop);
  loom__callback_init(&h->u.soon.cb, soon_run);
  loom__loop_post(loop, &h->u.soon.cb);
  if (out) *out = h;
  return 0;
}

int loom_call_soon_threadsafe(loom_loop *loop, loom_callback_fn fn, void *arg,
                              loom_handle **out) {
  int rc = check_args(loop, fn, out);
  if (rc) return rc;
  loom_handle *h = handle_new(loop, fn, arg, out != NULL, loom__tls_loop != loop);
  if (!h) return LOOM_ENOMEM;
  h->kind = KIND_SOON;
  h->u.soon.when = loom__loop_now(loop);
  loom__callback_init(&h->u.soon.cb, soon_run);
  if (!loom__loop_post_threadsafe_checked(loop, &h->u.soon.cb)) {
    handle_free(h); /* nobody else saw it */
    return LOOM_ECLOSED;
  }
  if (out) *out = h;
  return 0;
}

static int schedule_at(loom_loop *loop, int64_t when, loom_callback_fn fn, void *arg,
                       loom_handle **out) {
  int rc = check_args(loop, fn, out);
  if (rc) return rc;
  /* No handle wanted: nothing can cancel it, so the heap slot holds the
   * callback itself (timer.c) and no handle is allocated. */
  if (!out) return loom__timer_call_at(loop, when, fn, arg);
  loom_handle *h = handle_new(loop, fn, arg, out != NULL, false);
  if (!h) return LOOM_ENOMEM;
  h->kind = KIND_TIMER;
  loom__timer_init(&h->u.timer, timer_run);
  rc = loom__timer_start(loop, &h->u.timer, when);
  if (rc) {
    handle_free(h);
    return rc;
  }
  if (out) *out = h;
  return 0;
}

/* Seconds to ns, saturating; NaN and negatives give 0.  Rounded to the
 * nearest ns, not truncated: a loop time read as a double and handed back
 * (loom_loop_time() + 1.0, as timeout scopes do) is an integer number of ns
 * give or take a rounding error, and truncation turned the error into a
 * timer 1 ns early (taskgroup.inside_timeout_scope saw 0.999999999 s). */
static int64_t secs_to_ns(double s) {
  if (!(s > 0)) return 0;
  if (s >= 9.2e9) return INT64_MAX;
  return (int64_t)(s * 1e9 + 0.5);
}

int loom_call_later(loom_loop *loop, double delay, loom_callback_fn fn, void *arg,
                    loom_handle **out) {
  if (!loop) return check_args(loop, fn, out);
  int64_t now = loom__loop_now(loop), d = secs_to_ns(delay);
  int64_t when = d > INT64_MAX - now ? INT64_MAX : now + d;
  return schedule_at(loop, when, fn, arg, out);
}

int loom_call_at(loom_loop *loop, double when, loom_callback_fn fn, void *arg,
                 loom_handle **out) {
  return schedule_at(loop, secs_to_ns(when), fn, arg, out);
}

void loom_handle_cancel(loom_handle *h) {
  if (!h || atomic_exchange(&h->cancelled, true) || h->ran) return;
  if (h->kind == KIND_TIMER && loom__timer_active(&h->u.timer)) {
    loom__timer_stop(h->loop, &h->u.timer);
    h->ran = true;
    loom_handle_release(h); /* the loop's reference */
  }
}

bool loom_handle_cancelled(const loom_handle *h) { return h && atomic_load(&h->cancelled); }

double loom_handle_when(const loom_handle *h) {
  if (!h) return 0.0;
  return (double)(h->kind == KIND_TIMER ? h->u.timer.deadline : h->u.soon.when) / 1e9;
}
