/* gather.c - loom_gather: one future for many (asyncio.gather).
 *
 * The gather embeds its own future (custom cancel: cancel the children;
 * custom free: drop the children) and one watch per child.  Children report
 * on the loop thread (watch.h), so the counting needs no lock.  The gather
 * holds one reference to itself until its last child reported, so a caller
 * may release it early.
 */
#include <string.h>

#include "loom/combinators.h"
#include "loom/task.h"

#include "watch.h"

typedef struct gather {
  loom_future fut;        /* first: the public face */
  size_t n, left;
  bool return_exc;
  _Atomic bool cancel_req; /* the gather was cancelled: cancel late children too */
  loom__watch w[];
} gather;

static gather *of(loom_future *f) { return (gather *)f; }

static void gather_free(loom_future *f) {
  gather *g = of(f);
  for (size_t i = 0; i < g->n; i++) loom_future_release(g->w[i].f);
  loom__free(g);
}

static bool gather_cancel(loom_future *f, const char *msg) {
  gather *g = of(f);
  if (loom_future_done(f)) return false;
  atomic_store(&g->cancel_req, true);
  bool any = false;
  for (size_t i = 0; i < g->n; i++) any |= loom_future_cancel_msg(g->w[i].f, msg);
  return any;
}

static const loom__future_ops gather_ops = {.cancel = gather_cancel, .free = gather_free};

/* A child failed or was cancelled and exceptions are not returned: the
 * gather fails with the child's outcome (first one wins). */
static void fail_from(gather *g, loom_future *child) {
  int code = LOOM_ECANCELLED;
  const char *msg = NULL;
  loom_future_exception(child, &code, &msg);
  if (loom_future_cancelled(child)) code = LOOM_ECANCELLED;
  loom_future_set_error(&g->fut, code, msg ? "%s" : NULL, msg);
}

static void child_done(loom__callback *cb) {
  loom__watch *w = LOOM__CONTAINER_OF(cb, loom__watch, cb);
  gather *g = w->owner;
  loom_future *child = w->f;
  bool bad = loom_future_cancelled(child) || loom__future_failed(child);
  /* The gather consumes every child's error, as asyncio's does. */
  atomic_store_explicit(&child->retrieved, true, memory_order_relaxed);
  if (bad && !g->return_exc && !atomic_load(&g->cancel_req) && !loom_future_done(&g->fut))
    fail_from(g, child);
  if (--g->left) return;
  if (!loom_future_done(&g->fut)) {
    if (atomic_load(&g->cancel_req)) loom__future_set_cancelled(&g->fut, NULL);
    else loom_future_set_result(&g->fut, NULL, NULL);
  }
  loom_future_release(&g->fut); /* the gather's hold on itself */
}

int loom_gather(loom_loop *loop, loom_future *const *fs, size_t n, unsigned flags,
                loom_future **out) {
  if (out) *out = NULL;
  if (!loop) loop = loom_loop_current();
  if (!loop || !out || (!fs && n)) return LOOM_EINVAL;
  for (size_t i = 0; i < n; i++)
    if (!fs[i]) return LOOM_EINVAL;
  gather *g = loom__malloc(sizeof *g + n * sizeof g->w[0]);
  if (!g) return LOOM_ENOMEM;
  loom__future_init(&g->fut, &gather_ops);
  g->n = g->left = n;
  g->return_exc = flags & LOOM_GATHER_RETURN_EXCEPTIONS;
  atomic_init(&g->cancel_req, false);
  *out = &g->fut;
  if (!n) {
    loom_future_set_result(&g->fut, NULL, NULL);
    return 0;
  }
  loom_future_retain(&g->fut); /* released by the last child_done */
  for (size_t i = 0; i < n; i++) g->w[i].f = loom_future_retain(fs[i]);
  for (size_t i = 0; i < n; i++) loom__watch_start(&g->w[i], loop, fs[i], child_done, g);
  return 0;
}
