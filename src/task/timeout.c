/* timeout.c - timeout scopes (asyncio.timeout) over a block of awaits.
 *
 * A scope arms a loop timer; on expiry it cancels its task (one counted
 * request, loom_task_cancel).  At the end of the block the scope withdraws
 * that request (loom_task_uncancel); only if the count then falls back to
 * what it was when the scope began was the LOOM_ECANCELLED the block saw
 * ours, and it becomes LOOM_ETIMEDOUT.  An outer scope, a task group or any
 * outside cancel keeps its own request in the count, so nested scopes never
 * eat each other's cancellations.
 */
#include <math.h>

#include "loom/combinators.h"
#include "loom/task.h"

#include "../core/internal.h"

enum { ST_ACTIVE, ST_EXPIRING, ST_DONE };

struct loom_timeout {
  loom_future *task;    /* the scope's task (borrowed: the scope lives in it) */
  loom_loop *loop;
  loom_handle *timer;   /* NULL when no deadline */
  int cancelling0;      /* loom_task_cancelling(task) at begin */
  int state;
};

static void on_expire(void *arg) {
  loom_timeout *t = arg;
  if (t->state != ST_ACTIVE) return;
  t->state = ST_EXPIRING;
  loom_task_cancel(t->task, "timeout");
}

static void disarm(loom_timeout *t) {
  if (!t->timer) return;
  loom_handle_cancel(t->timer);
  loom_handle_release(t->timer);
  t->timer = NULL;
}

static int arm_at(loom_timeout *t, double when) {
  disarm(t);
  if (isnan(when) || isinf(when)) return 0; /* no deadline */
  return loom_call_at(t->loop, when, on_expire, t, &t->timer);
}

static int begin(double when, loom_timeout **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_future *task = loom_task_current();
  if (!task) return LOOM_ENOTASK;
  loom_timeout *t = loom__calloc(1, sizeof *t);
  if (!t) return LOOM_ENOMEM;
  t->task = task;
  t->loop = loom_task_loop(task);
  t->cancelling0 = loom_task_cancelling(task);
  t->state = ST_ACTIVE;
  int rc = arm_at(t, when);
  if (rc) {
    loom__free(t);
    return rc;
  }
  loom__live_inc(LOOM_LIVE_OTHER);
  *out = t;
  return 0;
}

/* Loop time `seconds` from now; +inf for "no deadline". */
static double when_after(double seconds) {
  if (isnan(seconds) || seconds < 0) return INFINITY;
  loom_loop *loop = loom_loop_current();
  return (loop ? loom_loop_time(loop) : 0) + seconds;
}

int loom_timeout_begin(double seconds, loom_timeout **out) {
  return begin(when_after(seconds), out);
}

int loom_timeout_begin_at(double when, loom_timeout **out) { return begin(when, out); }

int loom_timeout_reschedule(loom_timeout *t, double seconds) {
  if (!t) return LOOM_EINVAL;
  if (t->state != ST_ACTIVE) return LOOM_EINVALIDSTATE;
  return arm_at(t, when_after(seconds));
}

bool loom_timeout_expired(const loom_timeout *t) { return t && t->state == ST_EXPIRING; }

int loom_timeout_end(loom_timeout *t, int rc) {
  if (!t) return rc;
  disarm(t);
  if (t->state == ST_EXPIRING && loom_task_uncancel(t->task) <= t->cancelling0 &&
      rc == LOOM_ECANCELLED)
    rc = LOOM_ETIMEDOUT;
  loom__free(t);
  loom__live_dec(LOOM_LIVE_OTHER);
  return rc;
}
