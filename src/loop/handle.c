/* handle.c - public callbacks: call_soon, call_later, call_at,
 * call_soon_threadsafe, and the cancellable handles they return.
 *
 * A handle is one allocation holding the intrusive entry (a ready-queue
 * callback or a timer, never both, hence the union) and the user's fn/arg.
 * References: the loop holds one while the callback is scheduled, the caller
 * one if it asked for the handle.  Cancelling a timer unlinks it from the
 * heap at once; a cancelled call_soon entry stays queued and is skipped and
 * released when its turn comes (O(1) either way).
 */
#include "loop_impl.h"

enum { KIND_SOON, KIND_TIMER };

struct loom_handle {
  union {
    loom__callback cb;   /* KIND_SOON */
    loom__timer timer;   /* KIND_TIMER */
  } u;
  loom_callback_fn fn;
  void *arg;
  loom_loop *loop;
  int64_t when;          /* loop-clock ns */
  _Atomic uint32_t refs;
  _Atomic bool cancelled;
  uint8_t kind;
  bool ran;              /* the callback was called (or skipped as cancelled) */
};

static void handle_free(loom_handle *h) {
  loom__free(h);
  loom__live_dec(LOOM_LIVE_OTHER);
}

void loom_handle_release(loom_handle *h) {
  if (h && atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1) handle_free(h);
}

static void handle_fire(loom_handle *h) {
  h->ran = true;
  if (!atomic_load_explicit(&h->cancelled, memory_order_relaxed)) h->fn(h->arg);
  loom_handle_release(h); /* the loop's reference */
}

static void soon_run(loom__callback *cb) {
  handle_fire(LOOM__CONTAINER_OF(cb, loom_handle, u.cb));
}

static void timer_run(loom__timer *t) {
  handle_fire(LOOM__CONTAINER_OF(t, loom_handle, u.timer));
}

bool loom__handle_drop_cb(loom__callback *cb) {
  if (cb->fn != soon_run) return false;
  loom_handle_release(LOOM__CONTAINER_OF(cb, loom_handle, u.cb));
  return true;
}

bool loom__handle_drop_timer(loom__timer *t) {
  if (t->fn != timer_run) return false;
  loom_handle_release(LOOM__CONTAINER_OF(t, loom_handle, u.timer));
  return true;
}

static loom_handle *handle_new(loom_loop *loop, loom_callback_fn fn, void *arg, bool out) {
  loom_handle *h = loom__malloc(sizeof *h);
  if (!h) return NULL;
  h->fn = fn;
  h->arg = arg;
  h->loop = loop;
  atomic_init(&h->refs, out ? 2u : 1u);
  atomic_init(&h->cancelled, false);
  h->ran = false;
  loom__live_inc(LOOM_LIVE_OTHER);
  return h;
}

static int check_args(loom_loop *loop, loom_callback_fn fn, loom_handle **out) {
  if (out) *out = NULL;
  if (!loop || !fn) return LOOM_EINVAL;
  return loop->closed ? LOOM_ECLOSED : 0;
}

int loom_call_soon(loom_loop *loop, loom_callback_fn fn, void *arg, loom_handle **out) {
  int rc = check_args(loop, fn, out);
  if (rc) return rc;
  loom_handle *h = handle_new(loop, fn, arg, out != NULL);
  if (!h) return LOOM_ENOMEM;
  h->kind = KIND_SOON;
  h->when = loom__loop_now(loop);
  loom__callback_init(&h->u.cb, soon_run);
  loom__loop_post(loop, &h->u.cb);
  if (out) *out = h;
  return 0;
}

int loom_call_soon_threadsafe(loom_loop *loop, loom_callback_fn fn, void *arg,
                              loom_handle **out) {
  int rc = check_args(loop, fn, out);
  if (rc) return rc;
  loom_handle *h = handle_new(loop, fn, arg, out != NULL);
  if (!h) return LOOM_ENOMEM;
  h->kind = KIND_SOON;
  h->when = loom__loop_now(loop);
  loom__callback_init(&h->u.cb, soon_run);
  if (!loom__loop_post_threadsafe_checked(loop, &h->u.cb)) {
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
  loom_handle *h = handle_new(loop, fn, arg, out != NULL);
  if (!h) return LOOM_ENOMEM;
  h->kind = KIND_TIMER;
  h->when = when;
  loom__timer_init(&h->u.timer, timer_run);
  rc = loom__timer_start(loop, &h->u.timer, when);
  if (rc) {
    handle_free(h);
    return rc;
  }
  if (out) *out = h;
  return 0;
}

/* Seconds to ns, saturating; NaN and negatives give 0. */
static int64_t secs_to_ns(double s) {
  if (!(s > 0)) return 0;
  if (s >= 9.2e9) return INT64_MAX;
  return (int64_t)(s * 1e9);
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

double loom_handle_when(const loom_handle *h) { return h ? (double)h->when / 1e9 : 0.0; }
