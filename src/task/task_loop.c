/* task_loop.c - what the task layer keeps per loop, and what the loop asks
 * of it: the list of unfinished tasks, the stack pool, the close hook
 * (cancel what is still pending, let it unwind, report), the stall hook
 * (which task was running, and where it is now), all_tasks and the dump.
 *
 * The state is created with the first task spawned on a loop and lives in
 * the loop's task slot until the loop closes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task_internal.h"

#define CLOSE_GRACE_NS ((int64_t)2000000000) /* how long close lets tasks unwind */

static void on_close(loom_loop *loop, void *ctx);
static const char *on_stall(loom_loop *loop, void *ctx);

loom__task_loop *loom__task_loop_get(loom_loop *loop, bool create, int *err) {
  void **slot = loom__loop_task_slot(loop);
  if (*slot || !create) return *slot;
  loom__task_loop *tl = loom__calloc(1, sizeof *tl);
  if (!tl) {
    *err = LOOM_ENOMEM;
    return NULL;
  }
  int rc = loom__stack_pool_create(0, &tl->pool);
  if (rc < 0) {
    loom__free(tl);
    *err = rc;
    return NULL;
  }
  (void)loom__coro_overflow_setup(); /* best effort: names overflowing tasks */
  tl->loop = loop;
  tl->stack_size = loom__stack_pool_size(tl->pool);
  loom__loop_hooks hooks = {.close = on_close, .running_name = on_stall, .ctx = tl};
  loom__loop_set_hooks(loop, &hooks);
  *slot = tl;
  return tl;
}

void loom__task_link(loom__task_loop *tl, loom__task *t) {
  t->prev = NULL;
  t->next = tl->head;
  if (tl->head) tl->head->prev = t;
  tl->head = t;
  tl->count++;
}

void loom__task_unlink(loom__task_loop *tl, loom__task *t) {
  if (t->prev) t->prev->next = t->next;
  else tl->head = t->next;
  if (t->next) t->next->prev = t->prev;
  t->prev = t->next = NULL;
  tl->count--;
}

int loom_task_set_default_stack_size(loom_loop *loop, size_t bytes) {
  if (!loop) return LOOM_EINVAL;
  if (bytes && (bytes < 16 * 1024 || bytes > ((size_t)1 << 30))) return LOOM_EINVAL;
  int err = 0;
  loom__task_loop *tl = loom__task_loop_get(loop, true, &err);
  if (!tl) return err;
  tl->stack_size = bytes ? bytes : LOOM__STACK_DEFAULT_SIZE;
  return 0;
}

/* ---- close -------------------------------------------------------------------- */

static void cancel_all(loom__task_loop *tl) {
  for (loom__task *t = tl->head; t; t = t->next)
    if (!loom_future_done(&t->fut)) loom_task_cancel(&t->fut, "the loop was closed");
}

static void grace_timer(loom__timer *tm) { (void)tm; /* only wakes the loop */ }

/* Let cancelled tasks unwind: run the loop until none is left, for at most
 * CLOSE_GRACE_NS (a timer bounds every blocking iteration). */
static void unwind(loom_loop *loop, loom__task_loop *tl) {
  loom__timer grace;
  loom__timer_init(&grace, grace_timer);
  int64_t end = loom__loop_now(loop) + CLOSE_GRACE_NS;
  bool armed = loom__timer_start(loop, &grace, end) == 0;
  for (int round = 0; tl->head && loom__loop_now(loop) < end; round++) {
    if (round % 16 == 15) cancel_all(tl); /* tasks that refused get asked again */
    if (loom__loop_run_once(loop, !armed) < 0) break;
    if (!loom__timer_active(&grace) && tl->head) armed = false;
  }
  if (armed) loom__timer_stop(loop, &grace);
}

/* A task that would not finish: its frames stay live (futures may still
 * point at waiters on its stack), so its stack is never reused and the pool
 * is leaked with it.  Reported loudly; it is a bug in that task. */
static void abandon(loom__task_loop *tl) {
  while (tl->head) {
    loom__task *t = tl->head;
    loom__report("task '%s' did not finish after its loop was closed and "
                 "cancelled it; abandoned with its stack", loom__task_name(t));
    loom__task_unlink(tl, t);
    loom__compact_free(t); /* asleep compacted: its timer and record go */
    t->finished = true;
    t->stack = NULL;
    /* Atomic: a firer on another thread may be reading it (task_post). */
    __atomic_store_n(&t->fut.producer, NULL, __ATOMIC_RELEASE);
  }
}

static void on_close(loom_loop *loop, void *ctx) {
  loom__task_loop *tl = ctx;
  tl->closing = true;
  bool leaked = false;
  if (tl->head) {
    for (loom__task *t = tl->head; t; t = t->next)
      if (t->started)
        loom__report("task '%s' still pending when its loop closed: cancelling it",
                     loom__task_name(t));
    cancel_all(tl);
    unwind(loop, tl);
    leaked = tl->head != NULL;
    abandon(tl);
  }
  loom__loop_set_hooks(loop, NULL);
  *loom__loop_task_slot(loop) = NULL;
  if (!leaked) loom__stack_pool_destroy(tl->pool);
  loom__free(tl);
}

/* ---- stall reports ---------------------------------------------------------- */

static void report_stack(loom__task *t) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return;
  loom__compact_restore(t); /* a compact task's frames are on the heap */
  int n = loom__coro_backtrace(loom__task_coro(t), f, 32);
  fclose(f);
  if (n > 0 && buf) {
    char *save = NULL;
    loom__report("stack of task '%s' now:", loom__task_name(t));
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
      loom__report("%s", line);
  }
  free(buf);
}

static const char *on_stall(loom_loop *loop, void *ctx) {
  loom__task_loop *tl = ctx;
  (void)loop;
  if (tl->stepped_done) {
    tl->stepped_done = false;
    if (!tl->stepped_name[0])
      snprintf(tl->stepped_name, sizeof tl->stepped_name, "Task-%lu", tl->stepped_id);
    return tl->stepped_name;
  }
  loom__task *t = tl->stepped;
  if (!t) return NULL;
  tl->stepped = NULL;
  report_stack(t);
  return loom__task_name(t);
}

/* ---- all tasks and the dump ----------------------------------------------- */

int loom_task_all(loom_loop *loop, loom_future **out, size_t cap) {
  if (!loop) return LOOM_EINVAL;
  int err = 0;
  loom__task_loop *tl = loom__task_loop_get(loop, false, &err);
  if (!tl) return 0;
  size_t i = 0;
  for (loom__task *t = tl->head; t; t = t->next, i++)
    if (out && i < cap) out[i] = loom_future_retain(&t->fut);
  return (int)i;
}

static const char *state_of(const loom__task *t) {
  if (!t->started) return "scheduled (not started)";
  if (loom__task_tl(t) && loom__task_tl(t)->running == t) return "running";
  /* Fired but not resumed yet: its step is queued. */
  loom__waiter *w = t->compacted ? loom__compact_waiter(t) : loom__task_park_w(t);
  if (w && !loom__waiter_ready(w)) return "suspended";
  return "scheduled";
}

static void print_awaits(loom__task *t, FILE *out) {
  loom__compact_restore(t); /* the wait's details are in its frame */
  loom__task_frame *fr = loom__task_frame_of(t);
  if (!fr || !fr->park_w || loom__waiter_ready(fr->park_w)) return;
  double left = fr->park_deadline == INT64_MAX
                    ? -1
                    : (double)(fr->park_deadline - loom_now_ns()) / 1e9;
  loom_future *awaiting = fr->awaiting;
  char what[160];
  if (fr->sleeping)
    snprintf(what, sizeof what, "sleep");
  else if (loom__task_of(awaiting))
    snprintf(what, sizeof what, "task '%s'", loom__task_name(loom__task_of(awaiting)));
  else if (awaiting && loom_future_label(awaiting))
    snprintf(what, sizeof what, "future %p (%s)", (void *)awaiting, loom_future_label(awaiting));
  else if (awaiting)
    snprintf(what, sizeof what, "future %p", (void *)awaiting);
  else
    snprintf(what, sizeof what, "a wait (queue, lock, event...)");
  if (left >= 0)
    fprintf(out, "  awaits: %s, %.3f s left\n", what, left);
  else
    fprintf(out, "  awaits: %s, no deadline\n", what);
}

int loom_task_describe(const loom_future *f, char *buf, size_t size) {
  loom__task *t = loom__task_of(f);
  if (!t || (!buf && size)) return LOOM_EINVAL;
  const char *name = loom__task_name(t);
  int code = 0;
  const char *msg = NULL;
  if (!loom_future_done(f))
    return snprintf(buf, size, "<Task pending name='%s' state=%s>", name, state_of(t));
  if (loom_future_cancelled(f)) return snprintf(buf, size, "<Task cancelled name='%s'>", name);
  /* Not loom_future_exception: describing a task does not retrieve its error. */
  code = f->err;
  msg = f->msg;
  if (code)
    return snprintf(buf, size, "<Task finished name='%s' error=%s '%s'>", name,
                    loom_err_name(code), msg ? msg : loom_strerror(code));
  return snprintf(buf, size, "<Task finished name='%s' result=%p>", name,
                  atomic_load(&f->taken) ? NULL : f->value);
}

int loom_task_print_stack(const loom_future *f, FILE *out) {
  loom__task *t = loom__task_of(f);
  if (!t || !out) return LOOM_EINVAL;
  loom__task_loop *tl = loom__task_tl(t);
  if (!t->started || t->finished || !t->stack || (tl && tl->running == t)) return 0;
  loom__compact_restore(t); /* its frames come back, resident till it sleeps again */
  return loom__coro_backtrace(loom__task_coro(t), out, 64);
}

int loom_task_dump(loom_loop *loop, FILE *out) {
  if (!loop || !out) return LOOM_EINVAL;
  int err = 0;
  loom__task_loop *tl = loom__task_loop_get(loop, false, &err);
  int n = 0;
  for (loom__task *t = tl ? tl->head : NULL; t; t = t->next, n++) {
    fprintf(out, "task '%s': %s", loom__task_name(t), state_of(t));
    if (t->cancel_requests)
      fprintf(out, ", %d cancel request(s)%s", t->cancel_requests,
              t->cancel_pending ? " pending" : "");
    fputc('\n', out);
    print_awaits(t, out);
    if (loom_task_print_stack(&t->fut, out) > 0) continue;
    if (tl->running == t) loom__coro_backtrace_here(out, 64);
  }
  return n;
}
