/* taskgroup.c - task groups (asyncio.TaskGroup): structured concurrency.
 *
 * The parent task spawns children through the group, then waits in
 * loom_task_group_wait until every child has finished.  The first child
 * failure "aborts" the group: the other children are cancelled and, if the
 * parent is still in its block, the parent too (one counted request, taken
 * back in wait with loom_task_uncancel, so an outside cancellation still
 * shows).  Every failed child is kept.  Children report through watches
 * (watch.h), so all the bookkeeping below runs on the loop thread, unlocked.
 */
#include "loom/combinators.h"
#include "loom/task.h"

#include "../core/waiter.h"
#include "watch.h"

typedef struct child child;
struct child {
  loom__watch w;
  loom_task_group *g;
  child *prev, *next;  /* pending children */
};

struct loom_task_group {
  loom_loop *loop;
  loom_future *parent;        /* retained */
  child *head;                /* pending children */
  size_t pending;
  loom_future **errors;       /* failed children, retained */
  size_t nerr, cap;           /* cap >= nerr + pending: a failure always fits */
  bool aborting;              /* children were cancelled */
  bool parent_cancel_requested;
  bool cancelled;             /* loom_task_group_cancel */
  bool waiting, finished;
  loom__waiter *waiter;       /* the parent, parked in wait */
};

static void group_abort(loom_task_group *g) {
  g->aborting = true;
  for (child *c = g->head; c; c = c->next) loom_task_cancel(c->w.f, NULL);
}

/* Wake a parent still in its block (not yet in wait) with a cancellation. */
static void interrupt_parent(loom_task_group *g, const char *why) {
  if (g->waiting || g->parent_cancel_requested) return;
  g->parent_cancel_requested = true;
  loom_task_cancel(g->parent, why);
}

static void child_done(loom__callback *cb) {
  child *c = LOOM__CONTAINER_OF(cb, child, w.cb);
  loom_task_group *g = c->g;
  if (c->prev) c->prev->next = c->next;
  else g->head = c->next;
  if (c->next) c->next->prev = c->prev;
  g->pending--;
  loom_future *f = c->w.f;
  loom__free(c);
  loom__live_dec(LOOM_LIVE_OTHER);
  if (loom__future_failed(f)) {
    atomic_store_explicit(&f->retrieved, true, memory_order_relaxed); /* kept, not lost */
    g->errors[g->nerr++] = f;
    if (!g->aborting) {
      group_abort(g);
      interrupt_parent(g, "a task of its group failed");
    }
  } else {
    loom_future_release(f);
  }
  if (!g->pending && g->waiter) loom__waiter_fire(g->waiter, 0);
}

int loom_task_group_create(loom_task_group **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_future *parent = loom_task_current();
  if (!parent) return LOOM_ENOTASK;
  loom_task_group *g = loom__calloc(1, sizeof *g);
  if (!g) return LOOM_ENOMEM;
  g->loop = loom_task_loop(parent);
  g->parent = loom_future_retain(parent);
  loom__live_inc(LOOM_LIVE_OTHER);
  *out = g;
  return 0;
}

static int reserve_error_slot(loom_task_group *g) {
  if (g->cap > g->nerr + g->pending) return 0;
  size_t cap = g->cap ? g->cap * 2 : 8;
  loom_future **e = loom__realloc(g->errors, cap * sizeof *e);
  if (!e) return LOOM_ENOMEM;
  g->errors = e;
  g->cap = cap;
  return 0;
}

int loom_task_group_spawn(loom_task_group *g, loom_fn fn, void *arg, const char *name,
                          loom_future **out) {
  if (out) *out = NULL;
  if (!g || !fn) return LOOM_EINVAL;
  if (g->finished) return LOOM_ECLOSED;
  if (g->aborting) return LOOM_EINVALIDSTATE;
  int rc = reserve_error_slot(g);
  if (rc) return rc;
  child *c = loom__calloc(1, sizeof *c);
  if (!c) return LOOM_ENOMEM;
  loom_future *f = NULL;
  rc = loom_task_spawn(g->loop, fn, arg, name, &f);
  if (rc) {
    loom__free(c);
    return rc;
  }
  loom__live_inc(LOOM_LIVE_OTHER);
  c->g = g;
  c->next = g->head;
  if (g->head) g->head->prev = c;
  g->head = c;
  g->pending++;
  if (out) *out = loom_future_retain(f);
  loom__watch_start(&c->w, g->loop, f, child_done, c);
  return 0;
}

/* Park the parent until every child reported; true if it was cancelled. */
static bool wait_children(loom_task_group *g) {
  bool cancelled = false;
  while (g->pending) {
    loom__waiter w;
    loom__waiter_init(&w);
    g->waiter = &w;
    int reason = loom__waiter_park(&w, INT64_MAX);
    g->waiter = NULL;
    if (reason == LOOM_ECANCELLED) {
      cancelled = true;
      if (!g->aborting) group_abort(g);
    }
  }
  return cancelled;
}

int loom_task_group_wait(loom_task_group *g, int body_rc) {
  if (!g) return LOOM_EINVAL;
  if (g->finished) return LOOM_EINVALIDSTATE;
  g->waiting = true;
  bool propagate = body_rc == LOOM_ECANCELLED;
  if (body_rc < 0 && !g->aborting) group_abort(g);
  if (wait_children(g)) propagate = true;
  g->finished = true;
  /* Take back our own request: if nothing else asked, the cancellation the
   * body or the wait saw was ours and does not propagate. */
  if (g->parent_cancel_requested && loom_task_uncancel(g->parent) == 0) propagate = false;
  if (g->nerr) return LOOM_EFAILED;
  if (body_rc < 0 && body_rc != LOOM_ECANCELLED) return body_rc;
  return propagate || g->cancelled ? LOOM_ECANCELLED : 0;
}

void loom_task_group_cancel(loom_task_group *g) {
  if (!g || g->finished) return;
  g->cancelled = true;
  if (!g->aborting) group_abort(g);
  interrupt_parent(g, "task group cancelled");
}

size_t loom_task_group_error_count(const loom_task_group *g) { return g ? g->nerr : 0; }

loom_future *loom_task_group_error(const loom_task_group *g, size_t i) {
  return g && i < g->nerr ? g->errors[i] : NULL;
}

void loom_task_group_destroy(loom_task_group *g) {
  if (!g) return;
  if (!g->finished) {
    if (g->pending && loom_task_current() != g->parent) {
      loom__report("loom_task_group_destroy: %zu task(s) still running outside the parent: "
                   "group leaked", g->pending);
      return;
    }
    loom_task_group_wait(g, LOOM_ECANCELLED);
  }
  for (size_t i = 0; i < g->nerr; i++) loom_future_release(g->errors[i]);
  loom__free(g->errors);
  loom_future_release(g->parent);
  loom__free(g);
  loom__live_dec(LOOM_LIVE_OTHER);
}
