/* waitfor.c - loom_wait_for (a wait that cancels what it waits for on
 * timeout) and loom_shield (a future whose cancellation stops at itself).
 *
 * wait_for follows asyncio 3.12: on timeout or on the caller's own
 * cancellation, the inner future is cancelled and then waited for, so it
 * never outlives the call still running.  A cancellation of the caller that
 * arrives during that final wait is remembered and reported, not lost.
 */
#include "loom/combinators.h"
#include "loom/task.h"

#include "../futures/future_internal.h"

/* Wait for f to finish, whatever cancellations hit the caller meanwhile.
 * Returns true if the caller was cancelled during the wait. */
static bool wait_through(loom_future *f) {
  bool cancelled = false;
  for (;;) {
    int rc = loom_future_wait(f, LOOM_FOREVER);
    if (rc == 0) return cancelled;
    if (rc == LOOM_ECANCELLED) cancelled = true;
  }
}

int loom_wait_for(loom_future *f, double timeout) {
  if (!f) return LOOM_EINVAL;
  int rc = loom_future_wait(f, timeout);
  if (rc == 0) return 0;
  loom_future_cancel(f);
  bool again = wait_through(f);
  if (rc == LOOM_ECANCELLED || again) return LOOM_ECANCELLED;
  /* Timed out: unless f finished anyway (it refused the cancellation). */
  return loom_future_cancelled(f) ? LOOM_ETIMEDOUT : 0;
}

/* ---- shield --------------------------------------------------------------- */

typedef struct shield {
  loom_future fut;   /* the outer future */
  loom_future *inner;
} shield;

static void shield_free(loom_future *f) {
  shield *s = (shield *)f;
  loom_future_release(s->inner);
  loom__free(s);
}

static const loom__future_ops shield_ops = {.free = shield_free};

/* Inner done (any thread, outside its lock): copy the outcome outward. */
static int shield_copy(loom_future *inner, void *arg) {
  shield *s = arg;
  loom_future *out = &s->fut;
  if (!loom_future_done(out)) {
    int code = 0;
    const char *msg = NULL;
    if (loom_future_cancelled(inner)) {
      loom_future_exception(inner, &code, &msg);
      loom__future_set_cancelled(out, msg);
    } else if (loom__future_failed(inner)) {
      loom_future_exception(inner, &code, &msg);
      loom_future_set_error(out, code, msg ? "%s" : NULL, msg);
    } else if (inner->size) {
      if (loom_future_set_result_bytes(out, inner->value, inner->size) == LOOM_ENOMEM)
        loom_future_set_error(out, LOOM_ENOMEM, "shield: no memory to copy the result");
    } else {
      /* Shared with inner, which this shield keeps alive. */
      loom_future_set_result(out, atomic_load(&inner->taken) ? NULL : inner->value, NULL);
    }
  }
  loom_future_release(out); /* the callback's reference */
  return 0;
}

int loom_shield(loom_future *f, loom_future **out) {
  if (out) *out = NULL;
  if (!f || !out) return LOOM_EINVAL;
  shield *s = loom__malloc(sizeof *s);
  if (!s) return LOOM_ENOMEM;
  loom__future_init(&s->fut, &shield_ops);
  s->inner = loom_future_retain(f);
  loom_future_retain(&s->fut);
  int rc = loom_future_add_done_callback(f, shield_copy, s);
  if (rc) {
    loom_future_release(&s->fut);
    loom_future_release(&s->fut);
    return rc;
  }
  *out = &s->fut;
  return 0;
}
