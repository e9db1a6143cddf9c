/* taskpool.c - a bounded task pool: at most `limit` tasks in flight, submit
 * waits for a slot (the seeds' TaskPool, an asyncio.Semaphore around
 * create_task).
 *
 * Slots are handed over, not raced for: when a task of the pool finishes,
 * its slot goes straight to the oldest waiting submitter (FIFO), so a late
 * submitter cannot overtake one that waited.  If that submitter was
 * cancelled in the meantime (its waiter already fired), the slot goes to the
 * next.  Everything runs on the loop thread: children report through
 * watches (watch.h) and submitters are tasks of the loop.
 */
#include "loom/combinators.h"
#include "loom/task.h"

#include "../core/waiter.h"
#include "watch.h"

typedef struct pchild pchild;
struct pchild {
  loom__watch w;
  loom_task_pool *p;
  pchild *prev, *next;
};

typedef struct pwaiter pwaiter;
struct pwaiter {
  loom__waiter w;
  pwaiter *next;
  bool queued;
};

struct loom_task_pool {
  loom_loop *loop;
  size_t limit, in_flight;
  pchild *running;                 /* tasks in flight */
  pwaiter *slot_head, *slot_tail;  /* submitters waiting for a slot, FIFO */
  pwaiter *joiners;                /* tasks in join */
  bool closing;
};

static void slot_unlink(loom_task_pool *p, pwaiter *x) {
  pwaiter **pp = &p->slot_head, *prev = NULL;
  while (*pp && *pp != x) prev = *pp, pp = &(*pp)->next;
  if (!*pp) return;
  *pp = x->next;
  if (p->slot_tail == x) p->slot_tail = prev;
  x->queued = false;
}

static void wake_joiners(loom_task_pool *p) {
  if (p->in_flight || p->slot_head) return;
  while (p->joiners) {
    pwaiter *j = p->joiners;
    p->joiners = j->next;
    j->queued = false;
    loom__waiter_fire(&j->w, 0);
  }
}

/* A slot is free: give it to the oldest live waiter, else return it. */
static void slot_release(loom_task_pool *p) {
  while (p->slot_head) {
    pwaiter *x = p->slot_head;
    slot_unlink(p, x);
    if (loom__waiter_fire(&x->w, 0)) return; /* in_flight stays: handed over */
  }
  p->in_flight--;
  wake_joiners(p);
}

static void child_done(loom__callback *cb) {
  pchild *c = LOOM__CONTAINER_OF(cb, pchild, w.cb);
  loom_task_pool *p = c->p;
  if (c->prev) c->prev->next = c->next;
  else p->running = c->next;
  if (c->next) c->next->prev = c->prev;
  loom_future_release(c->w.f);
  loom__free(c);
  loom__live_dec(LOOM_LIVE_OTHER);
  slot_release(p);
}

int loom_task_pool_create(loom_loop *loop, size_t limit, loom_task_pool **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  if (!loop) loop = loom_loop_current();
  if (!loop || !limit) return LOOM_EINVAL;
  loom_task_pool *p = loom__calloc(1, sizeof *p);
  if (!p) return LOOM_ENOMEM;
  p->loop = loop;
  p->limit = limit;
  loom__live_inc(LOOM_LIVE_OTHER);
  *out = p;
  return 0;
}

static bool in_task_of(loom_loop *loop) {
  loom_future *t = loom_task_current();
  return t && loom_task_loop(t) == loop;
}

/* Take a slot, waiting for one if needed. */
static int slot_acquire(loom_task_pool *p) {
  if (p->in_flight < p->limit && !p->slot_head) {
    p->in_flight++;
    return 0;
  }
  if (!in_task_of(p->loop)) return LOOM_EAGAIN;
  pwaiter x = {.queued = true};
  loom__waiter_init(&x.w);
  if (p->slot_tail) p->slot_tail->next = &x;
  else p->slot_head = &x;
  p->slot_tail = &x;
  int reason = loom__waiter_park(&x.w, INT64_MAX);
  if (reason == LOOM_ECLOSED) return reason; /* destroyed meanwhile: p may be gone */
  if (x.queued) slot_unlink(p, &x);
  if (reason) wake_joiners(p); /* we no longer wait: a join may be done */
  return reason;
}

int loom_task_pool_submit(loom_task_pool *p, loom_fn fn, void *arg, const char *name,
                          loom_future **out) {
  if (out) *out = NULL;
  if (!p || !fn) return LOOM_EINVAL;
  if (p->closing) return LOOM_ECLOSED;
  pchild *c = loom__calloc(1, sizeof *c);
  if (!c) return LOOM_ENOMEM;
  int rc = slot_acquire(p);
  if (rc) {
    loom__free(c);
    return rc;
  }
  loom_future *f = NULL;
  rc = loom_task_spawn(p->loop, fn, arg, name, &f);
  if (rc) {
    loom__free(c);
    slot_release(p);
    return rc;
  }
  loom__live_inc(LOOM_LIVE_OTHER);
  c->p = p;
  c->next = p->running;
  if (p->running) p->running->prev = c;
  p->running = c;
  if (out) *out = loom_future_retain(f);
  loom__watch_start(&c->w, p->loop, f, child_done, c);
  return 0;
}

int loom_task_pool_join(loom_task_pool *p, double timeout) {
  if (!p) return LOOM_EINVAL;
  if (!p->in_flight && !p->slot_head) return 0;
  if (!in_task_of(p->loop)) return LOOM_ENOTASK;
  pwaiter j = {.queued = true, .next = p->joiners};
  loom__waiter_init(&j.w);
  p->joiners = &j;
  int reason = loom__waiter_park(&j.w, loom_deadline(timeout));
  if (j.queued) {
    pwaiter **pp = &p->joiners;
    while (*pp != &j) pp = &(*pp)->next;
    *pp = j.next;
  }
  return reason;
}

size_t loom_task_pool_in_flight(const loom_task_pool *p) { return p ? p->in_flight : 0; }

void loom_task_pool_destroy(loom_task_pool *p) {
  if (!p) return;
  p->closing = true;
  while (p->slot_head) { /* submitters still waiting get LOOM_ECLOSED */
    pwaiter *x = p->slot_head;
    slot_unlink(p, x);
    loom__waiter_fire(&x->w, LOOM_ECLOSED);
  }
  for (pchild *c = p->running; c; c = c->next) loom_task_cancel(c->w.f, "task pool destroyed");
  if (p->in_flight && in_task_of(p->loop)) {
    while (loom_task_pool_join(p, LOOM_FOREVER) != 0) {
    }
  }
  if (p->in_flight) {
    loom__report("loom_task_pool_destroy: %zu task(s) still running: pool leaked", p->in_flight);
    return;
  }
  loom__free(p);
  loom__live_dec(LOOM_LIVE_OTHER);
}
