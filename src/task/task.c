/* task.c - the life of a task: spawn, start, steps, finish, cancellation,
 * names, and the future hooks (custom cancel, embedded free, label).
 *
 * A step is one stretch of the task's code between two suspensions: the
 * loop calls loom__task_step (the task's ready-queue entry), which switches
 * from the loop thread's own stack to the task's, and returns when the task
 * suspends or finishes.  While the task runs, its park ops are installed in
 * TLS, so any wait it makes (a future, a queue, a sleep) suspends the task
 * rather than the thread.
 *
 * The outcome is stored on the loop's stack after the task's function
 * returned, so done callbacks never run on a (small) task stack unless the
 * task finished its future itself.
 */
#include <stdio.h>
#include <string.h>

#include "../core/slab.h"
#include "task_internal.h"

static bool task_cancel_op(loom_future *f, const char *msg);
static void task_free_op(loom_future *f);
static void first_step(loom__callback *cb);
static const char *task_label_op(const loom_future *f);

_Static_assert(sizeof(loom__task) <= LOOM__TASK_SLOT, "loom__task outgrew its slot");
#define LOOM__STACK_MAX ((size_t)1 << 30)

const loom__future_ops loom__task_future_ops = {
    .cancel = task_cancel_op, .free = task_free_op, .label = task_label_op};

/* ---- spawning -------------------------------------------------------------- */

int loom_task_spawn(loom_loop *loop, loom_fn fn, void *arg, const char *name,
                    loom_future **out) {
  loom_task_options o = {.name = name};
  return loom_task_spawn_ex(loop, fn, arg, &o, out);
}

int loom_task_spawn_ex(loom_loop *loop, loom_fn fn, void *arg,
                       const loom_task_options *opts, loom_future **out) {
  if (out) *out = NULL;
  if (!loop || !fn) return LOOM_EINVAL;
  if (opts && opts->stack_size > LOOM__STACK_MAX) return LOOM_EINVAL;
  if (loom_loop_is_closed(loop)) return LOOM_ECLOSED;
  /* The loop's task list and ready queue belong to the thread driving it
   * (a thread borrowing it to cancel a task touches neither: wait it out). */
  if (!loom__loop_on_thread(loop) && !loom__loop_idle_or_borrowed(loop))
    return LOOM_EINVALIDSTATE;
  int err = 0;
  loom__task_loop *tl = loom__task_loop_get(loop, true, &err);
  if (!tl) return err;
  if (tl->closing) return LOOM_ECLOSED;
  loom__task *t = loom__slab_alloc(LOOM__SLAB_TASK, LOOM__TASK_SLOT);
  if (!t) return LOOM_ENOMEM;
  char *name = NULL;
  if (opts && opts->name && !(name = loom__strdup(opts->name))) {
    loom__slab_free(LOOM__SLAB_TASK, t);
    return LOOM_ENOMEM;
  }
  /* Only the fields read before the first step; the rest is set as used. */
  loom__future_init(&t->fut, &loom__task_future_ops);
  loom__callback_init(&t->step, first_step);
  atomic_init(&t->name, name);
  t->fut.producer = tl;
  t->fut.job_next = (loom_future *)(void *)loop; /* loom__task_home */
  t->fut.fn = fn;
  t->fut.arg = arg;
  t->fut.producer_data = ++tl->next_id;
  t->stack = NULL;
  t->stack_size = opts ? (uint32_t)opts->stack_size : 0;
  t->msg = NULL;
  t->cancel_requests = 0;
  t->started = t->finished = t->cancel_pending = false;
  t->compact = opts && opts->compact ? opts->compact > 0 : tl->compact_default;
  t->compacted = false;
  loom__live_inc(LOOM_LIVE_TASKS);
  loom__task_link(tl, t); /* the loop's reference is the initial one */
  if (out) *out = loom_future_retain(&t->fut);
  loom__loop_post(loop, &t->step);
  return 0;
}

/* ---- names ---------------------------------------------------------------- */

const char *loom__task_name(loom__task *t) {
  char *n = atomic_load_explicit(&t->name, memory_order_acquire);
  if (n) return n;
  /* Generated on first use: most tasks are never asked for their name. */
  char *mine = loom__asprintf("Task-%lu", loom__task_id(t));
  if (!mine) return "Task-?";
  if (!atomic_compare_exchange_strong(&t->name, &n, mine)) {
    loom__free(mine);
    return n;
  }
  return mine;
}

const char *loom_task_name(const loom_future *f) {
  loom__task *t = loom__task_of(f);
  return t ? loom__task_name(t) : NULL;
}

int loom_task_set_name(loom_future *f, const char *name) {
  loom__task *t = loom__task_of(f);
  if (!t || !name) return LOOM_EINVAL;
  char *n = loom__strdup(name);
  if (!n) return LOOM_ENOMEM;
  loom__compact_restore(t); /* its coro (which names it) is in the frame */
  char *old = atomic_exchange(&t->name, n);
  loom__coro *c = loom__task_coro(t);
  if (c && c->name == old) c->name = n;
  loom__free(old);
  return 0;
}

static const char *task_label_op(const loom_future *f) {
  return loom__task_name((loom__task *)f);
}

loom_loop *loom_task_loop(const loom_future *f) {
  loom__task *t = loom__task_of(f);
  return t && loom__task_tl(t) ? loom__task_tl(t)->loop : NULL;
}

bool loom_is_task(const loom_future *f) { return loom__task_of(f) != NULL; }

loom_future *loom_task_current(void) {
  loom__task *t = loom__task_self();
  return t ? &t->fut : NULL;
}

/* ---- finishing -------------------------------------------------------------- */

/* Store the outcome fn's return code stands for, unless fn finished its
 * future itself. */
static void settle(loom__task *t, int rc) {
  loom_future *f = &t->fut;
  if (loom_future_done(f)) return;
  if (rc >= 0) {
    loom_future_set_result(f, NULL, NULL);
  } else if (rc == LOOM_ECANCELLED) {
    loom__future_set_cancelled(f, t->msg);
  } else {
    loom_future_set_error(f, rc, NULL);
  }
}

/* The task is done (ran to the end, or never started): remember a failure
 * for the report, drop it from the loop, drop the loop's reference. */
static void finish(loom__task *t) {
  loom__task_loop *tl = loom__task_tl(t);
  t->finished = true;
  /* The cancel message has served (settle); the field now keeps the failure. */
  if (LOOM__UNLIKELY(t->msg)) {
    loom__free(t->msg);
    t->msg = NULL;
  }
  if (loom__future_failed(&t->fut) && t->fut.msg) t->msg = loom__strdup(t->fut.msg);
  if (tl->stepped == t) {
    /* The stall hook may ask for its name after it is gone.  Keep it without
     * formatting one (most tasks finish inside a step: this is hot). */
    char *n = atomic_load_explicit(&t->name, memory_order_relaxed);
    tl->stepped_name[0] = 0;
    if (n) strncat(tl->stepped_name, n, sizeof tl->stepped_name - 1);
    tl->stepped_id = loom__task_id(t);
    tl->stepped = NULL;
    tl->stepped_done = true;
  }
  loom__task_unlink(tl, t);
  loom_future_release(&t->fut);
}

static void finish_unstarted(loom__task *t, int rc, const char *why) {
  t->started = true;
  if (rc == LOOM_ECANCELLED)
    loom__future_set_cancelled(&t->fut, t->msg);
  else
    loom_future_set_error(&t->fut, rc, "%s", why);
  finish(t);
}

static void task_body(loom__coro *c, void *arg) {
  loom__task *t = arg;
  int rc = t->fut.fn(&t->fut, t->fut.arg);
  LOOM__CONTAINER_OF(c, loom__task_frame, coro)->rc = rc;
}

/* First step: a task cancelled before it started never runs its function. */
static bool start(loom__task *t) {
  if (t->cancel_pending) {
    finish_unstarted(t, LOOM_ECANCELLED, NULL);
    return false;
  }
  loom__task_loop *tl = loom__task_tl(t);
  int rc = loom__stack_get(tl->pool, t->stack_size ? t->stack_size : tl->stack_size,
                           &t->stack);
  if (rc < 0) {
    finish_unstarted(t, rc, "no stack for the task");
    return false;
  }
  /* The frame goes at the top of the stack; the call frames start below. */
  loom__stack *s = t->stack;
  loom__task_frame *fr = loom__frame_at(s);
  loom__timer_init(&fr->timer, loom__task_timer_fired);
  fr->task = t;
  fr->park_w = NULL;
  fr->awaiting = NULL;
  fr->rc = 0;
  fr->sleeping = false;
  loom__coro *c = &fr->coro;
  loom__stack below = *s;
  below.size = (size_t)((char *)fr - s->lo);
  loom__coro_init(c, &below, task_body, t);
  c->stack_size = s->size; /* the whole stack, for tools and reports */
  c->name = atomic_load_explicit(&t->name, memory_order_relaxed);
  c->id = loom__task_id(t);
  t->started = true;
  return true;
}

/* A task's first step starts it, on the loop's stack; later steps are
 * loom__task_step, the only kind a suspending task may switch to directly
 * (park.c), since the task then already runs on its own stack. */
static void first_step(loom__callback *cb) {
  loom__task *t = LOOM__CONTAINER_OF(cb, loom__task, step);
  if (!start(t)) return;
  cb->fn = loom__task_step;
  loom__task_step(cb);
}

void loom__task_step(loom__callback *cb) {
  loom__task *t = LOOM__CONTAINER_OF(cb, loom__task, step);
  loom__task_loop *tl = loom__task_tl(t);
  /* Never compacted here: a compacted task's step is compact.c's until
   * its stack is back. */
  loom__coro *sched = loom__task_sched();
  loom__coro *c = loom__task_coro(t);
  c->exit_to = sched;
  loom__task_enter(tl, t);
  loom__coro_switch(sched, c);
  /* Back on the loop's stack.  The task that switched here is the running
   * one, not necessarily t: t may have handed over to the next ready task
   * directly (park.c), and that one to another. */
  t = tl->running;
  c = loom__task_coro(t);
  loom__park_ctx_set(NULL, NULL);
  tl->running = NULL;
  if (!c->done) { /* suspended: someone posts the step again */
    if (LOOM__UNLIKELY(t->compact)) loom__compact_park(t); /* if asleep: compact.c */
    return;
  }
  int rc = LOOM__CONTAINER_OF(c, loom__task_frame, coro)->rc;
  loom__coro_fini(c);
  loom__stack_put(tl->pool, t->stack);
  t->stack = NULL;
  settle(t, rc);
  finish(t);
}

/* ---- cancellation --------------------------------------------------------------- */

static void set_cancel_msg(loom__task *t, const char *msg) {
  if (!msg) return;
  char *m = loom__strdup(msg);
  if (!m) return; /* the request still counts; only the message is lost */
  loom__free(t->msg);
  t->msg = m;
}

/* The cancellation itself, on the thread driving t's loop (or with no loop
 * left: abandoned at close). */
static bool cancel_here(loom__task *t, const char *msg) {
  if (t->finished || loom_future_done(&t->fut)) return false;
  t->cancel_requests++;
  set_cancel_msg(t, msg);
  atomic_store(&t->fut.cancel_req, true);
  /* Suspended on a waiter: wake it now with the cancellation.  If the waiter
   * was already fired, the task is about to resume with its event; the
   * request is then delivered at its next suspension point. */
  if (LOOM__UNLIKELY(t->compacted)) loom__compact_restore(t); /* the waiter is in its frame */
  loom__waiter *w = loom__task_park_w(t);
  if (w && loom__waiter_fire(w, LOOM_ECANCELLED))
    return true;
  t->cancel_pending = true;
  return true;
}

/* ---- cancellation from another thread ----------------------------------------
 * A cancellation fires the task's waiter, and a waiter published in a queue,
 * lock, event... is claimed by its own loop's thread with a plain load and
 * store (loom__waiter_fire_locked): sound only because every other firer
 * holds the primitive's lock or runs on that thread.  A cancellation also
 * writes fields (cancel_requests, cancel_pending, msg) the loop reads
 * unlocked.  So a cancellation from another thread (loom_future_cancel or
 * loom_wait_for on a task, a gather of another loop's tasks) is done in
 * place only while no thread drives the loop (this thread borrows it: no
 * thread can start driving it meanwhile; a task cancelled before it started
 * still never runs), else posted to the loop, like asyncio's
 * call_soon_threadsafe(task.cancel). */
typedef struct remote_cancel {
  loom__callback cb;  /* in the loop's inbox */
  loom_future *task;  /* one reference */
  char *msg;          /* owned copy, or NULL */
} remote_cancel;

static void remote_cancel_free(remote_cancel *r) {
  loom_future_release(r->task);
  loom__free(r->msg);
  loom__free(r);
  loom__live_dec(LOOM_LIVE_OTHER);
}

/* On the loop's thread (or at its close: then t is done already). */
static void remote_cancel_run(loom__callback *cb) {
  remote_cancel *r = LOOM__CONTAINER_OF(cb, remote_cancel, cb);
  (void)cancel_here(loom__task_of(r->task), r->msg);
  remote_cancel_free(r);
}

/* Post the request to the loop that another thread drives.  False if it
 * could not be posted (no memory, loop closed: its tasks are done). */
static bool cancel_remote(loom__task *t, loom_loop *loop, const char *msg) {
  remote_cancel *r = loom__malloc(sizeof *r);
  char *m = msg ? loom__strdup(msg) : NULL;
  if (!r || (msg && !m)) {
    loom__free(r);
    loom__free(m);
    return false;
  }
  /* Run at close too (a request still queued then), so the reference is
   * freed: the close runs such entries both before it closes the inbox and
   * from the inbox it takes as it closes it (lifecycle.c, drop_pending);
   * after that the post is refused and freed below. */
  loom__loop_run_at_close(remote_cancel_run);
  loom__callback_init(&r->cb, remote_cancel_run);
  r->task = loom_future_retain(&t->fut);
  r->msg = m;
  loom__live_inc(LOOM_LIVE_OTHER);
  if (loom__loop_post_threadsafe_checked(loop, &r->cb)) return true;
  remote_cancel_free(r); /* refused: the loop closed, its tasks are done */
  return false;
}

bool loom_task_cancel(loom_future *f, const char *msg) {
  loom__task *t = loom__task_of(f);
  if (!t || loom_future_done(f)) return false;
  /* Not tl->loop: the task state may be freed by a close meanwhile. */
  loom__task_loop *tl = __atomic_load_n((loom__task_loop **)&t->fut.producer, __ATOMIC_ACQUIRE);
  loom_loop *loop = loom__task_home(t);
  if (!tl || loom__loop_on_thread(loop)) return cancel_here(t, msg);
  if (!loom__loop_borrow(loop)) return cancel_remote(t, loop, msg);
  /* A compacted task's stack comes back through the loop's timer heap,
   * which the loop's owner may be using on the idle loop: leave it to the
   * loop.  Otherwise the wake-up goes through the inbox. */
  bool compacted = t->compacted;
  bool recorded = compacted ? false : cancel_here(t, msg);
  loom__loop_unborrow(loop);
  return compacted ? cancel_remote(t, loop, msg) : recorded;
}

static bool task_cancel_op(loom_future *f, const char *msg) {
  return loom_task_cancel(f, msg);
}

int loom_task_cancelling(const loom_future *f) {
  loom__task *t = loom__task_of(f);
  return t ? t->cancel_requests : 0;
}

int loom_task_uncancel(loom_future *f) {
  loom__task *t = loom__task_of(f);
  if (!t) return 0;
  if (t->cancel_requests > 0) t->cancel_requests--;
  if (t->cancel_requests == 0) t->cancel_pending = false;
  return t->cancel_requests;
}

/* ---- the last reference ------------------------------------------------------------ */

static void task_free_op(loom_future *f) {
  loom__task *t = (loom__task *)f;
  if (!t->finished)
    loom__report("task '%s' destroyed while still pending", loom__task_name(t));
  else if (f->err && f->err != LOOM_ECANCELLED &&
           !atomic_load_explicit(&f->retrieved, memory_order_relaxed))
    loom__report("task '%s' failed and nobody retrieved its error: %s (%s)",
                 loom__task_name(t), t->msg ? t->msg : loom_strerror(f->err),
                 loom_err_name(f->err));
  char *name = atomic_load(&t->name);
  if (name) loom__free(name);
  if (t->msg) loom__free(t->msg);
  loom__live_dec(LOOM_LIVE_TASKS);
  loom__slab_free(LOOM__SLAB_TASK, t);
}
