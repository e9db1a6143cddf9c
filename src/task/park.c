/* park.c - how a task waits: the waiter park ops (core/waiter.h), sleep and
 * yield.
 *
 * park(w, deadline) suspends the running task until w is fired: by the event
 * (a future completing, a queue item...), by the task's timer (deadline,
 * LOOM_ETIMEDOUT) or by loom_task_cancel (LOOM_ECANCELLED).  unpark is called
 * by whoever fired w, from any thread, with a snapshot of w: it only knows
 * the task (w->owner).
 *
 * No handshake is needed between the two: every fire of a task's waiter
 * posts the task's step (unpark), and park always consumes exactly one such
 * post by suspending, even when w was fired before park was reached.  A
 * step runs only on the loop's thread, which is busy running the task until
 * it suspends, so a post can never resume a task that has not parked yet -
 * at worst a task fired early resumes one loop pass later.  Since the
 * waiter's claim lets exactly one party fire it, and the task waits on one
 * waiter at a time, the step is never queued twice.  The only claims that
 * post nothing are the task's own, in park itself (a pending cancellation,
 * no room for the timer), and then park returns without suspending.  So a
 * primitive must park on every task waiter it published and someone may
 * have fired (all of loom's do: publish, then park).  Same-
 * loop wake-ups (a task putting to a queue another task waits on) thus cost
 * the waiter's claim and a plain append to the ready queue, no more.
 */
#include <time.h>

#include "task_internal.h"

static void task_park(loom__waiter *w, int64_t deadline);
static void task_unpark(loom__waiter *snap);
static int task_fire_local(loom__waiter *w, int reason);
static void task_wake(void *owner);
const loom__park_ops loom__task_park_ops = {task_park, task_unpark, task_fire_local, task_wake};

/* The context standing for each thread's own stack (the loop's side of
 * every switch), set up on first use in that thread. */
static _Thread_local loom__coro sched_ctx;
static _Thread_local bool sched_ready;

loom__coro *loom__task_sched(void) {
  if (LOOM__UNLIKELY(!sched_ready)) {
    /* An error only means overflows will not be reported by name. */
    (void)loom__coro_thread_init(&sched_ctx);
    sched_ready = true;
  }
  return &sched_ctx;
}

/* to_loop: no hand-off (a compact sleeper goes back to the loop, whose step
 * copies its stack out once it is off it: compact.c).  A constant at every
 * call, so normal suspensions pay nothing for it.  fr is t's frame. */
static inline __attribute__((always_inline)) void suspend(loom__task *t, loom__task_frame *fr,
                                                         bool to_loop) {
  loom__coro *c = &fr->coro;
  loom__task_loop *tl = loom__task_tl(t);
  loom__callback *cb = to_loop ? NULL : loom__loop_take_next(tl->loop, loom__task_step);
  if (!cb) {
    loom__coro_switch(c, c->exit_to);
    return;
  }
  /* Direct hand-off: what the loop would do next is run this task's step,
   * so do it without the two switches through the loop's stack.  n returns
   * (when it finishes, or suspends with nobody to hand over to) to this
   * thread's loop context, like t: a loop may be driven by another thread
   * than the one n last ran on. */
  loom__task *n = LOOM__CONTAINER_OF(cb, loom__task, step);
  if (n == t) return; /* a yield with nothing else ready: go on */
  /* n is not compacted: a compacted task's step is not loom__task_step
   * until its stack is back (compact.c), so take_next never returns it. */
  loom__coro *nc = &loom__frame_at(n->stack)->coro;
  nc->exit_to = c->exit_to;
  loom__task_enter_from_task(tl, n);
  loom__coro_switch(c, nc);
}

void loom__task_suspend(loom__task *t) { suspend(t, loom__frame_at(t->stack), false); }

void loom__task_post(loom__task *t) {
  /* A task abandoned at loop close (task_loop.c) has no loop any more, but
   * a future or queue on another thread may still fire the waiter it was
   * parked on: nobody will ever run it, so the post is dropped. */
  loom__task_loop *tl = __atomic_load_n((loom__task_loop **)&t->fut.producer, __ATOMIC_ACQUIRE);
  if (LOOM__UNLIKELY(!tl)) return;
  loom_loop *loop = tl->loop; /* never NULL */
  if (loom__tls_loop == loop)
    loom__loop_post(loop, &t->step);
  else
    loom__loop_post_threadsafe(loop, &t->step);
}

/* Called once per fire of the task's waiter (see the top): the waiter's
 * owner is all it needs, so the ops' wake does the work. */
static void task_wake(void *owner) { loom__task_post(owner); }
static void task_unpark(loom__waiter *snap) { loom__task_post(snap->owner); }

/* Every fire of a task's waiter that does not come from the structure it
 * waits on comes from the thread driving its loop: its timer
 * (loom__task_timer_fired), its cancellation (loom_task_cancel, carried
 * out on that thread whoever calls it: task.c) and its own claims in
 * task_park.  So on that thread, with the
 * structure's lock held (loom__waiter_fire_locked), nobody else can fire it
 * between the load and the store.  t stays valid after the store: it cannot
 * resume before its step, posted here, runs on this thread. */
static int task_fire_local(loom__waiter *w, int reason) {
  loom__task *t = w->owner;
  loom__task_loop *tl = __atomic_load_n((loom__task_loop **)&t->fut.producer, __ATOMIC_ACQUIRE);
  if (!tl || loom__tls_loop != tl->loop) return -1; /* a task loop is never NULL */
  if (atomic_load_explicit(&w->state, memory_order_relaxed) != LOOM__W_WAITING) return 0;
  w->reason = reason;
  atomic_store_explicit(&w->state, LOOM__W_READY, memory_order_release);
  loom__loop_post(tl->loop, &t->step);
  return 1;
}

void loom__task_timer_fired(loom__timer *tm) {
  loom__task_frame *fr = LOOM__CONTAINER_OF(tm, loom__task_frame, timer);
  if (fr->park_w) loom__waiter_fire(fr->park_w, LOOM_ETIMEDOUT);
}

/* The rare part of a park, out of the way of the common wait without
 * deadline: a pending cancellation, the timer.  Returns -1 if park must
 * return at once (w claimed here, nothing posted), else whether the timer
 * was armed. */
static __attribute__((noinline, cold)) int park_begin(loom__task *t, loom__task_frame *fr,
                                                      loom__waiter *w, int64_t deadline) {
  /* Claims of our own post nothing: return at once.  A claim that fails
   * means someone fired w first, and its post is ours to consume. */
  if (t->cancel_pending && loom__waiter_claim(w, LOOM_ECANCELLED)) {
    t->cancel_pending = false;
    return -1;
  }
  if (deadline == INT64_MAX) return 0;
  loom_loop *loop = loom__task_tl(t)->loop;
  if (loom__timer_start(loop, &fr->timer, loom__loop_deadline(loop, deadline)) == 0) return 1;
  /* No room in the timer heap: the wait fails rather than never timing out. */
  return loom__waiter_claim(w, LOOM_ENOMEM) ? -1 : 0;
}

/* Only a fire posts our step, so w is READY when park resumes - unless some
 * primitive fired a task waiter it then did not park on (see the top): its
 * stray post resumed us.  Say so loudly: such a post can also queue the
 * step twice. */
static __attribute__((noinline, cold)) void park_stray(loom__task *t) {
  loom__report("task '%s' resumed before its wait ended: a waiter was fired "
               "that its task never parked on", loom__task_name(t));
}

static inline __attribute__((always_inline)) void park(loom__waiter *w, int64_t deadline,
                                                      bool to_loop) {
  loom__task *t = w->owner;
  loom__task_frame *fr = loom__frame_at(t->stack); /* running: it has its stack */
  int armed = 0;
  if (LOOM__UNLIKELY(t->cancel_pending || deadline != INT64_MAX)) {
    armed = park_begin(t, fr, w, deadline);
    if (armed < 0) return;
  }
  fr->park_deadline = deadline;
  fr->awaiting = loom__await_hint;
  fr->park_w = w;
  suspend(t, fr, to_loop); /* until the step the firer of w posted runs */
  if (LOOM__UNLIKELY(!loom__waiter_ready(w))) park_stray(t);
  fr->park_w = NULL;
  fr->awaiting = NULL;
  if (LOOM__UNLIKELY(armed)) loom__timer_stop(loom__task_tl(t)->loop, &fr->timer);
}

static void task_park(loom__waiter *w, int64_t deadline) { park(w, deadline, false); }

/* ---- sleep and yield ----------------------------------------------------------- */

int loom_yield(void) {
  loom__task *t = loom__task_self();
  if (!t) return LOOM_ENOTASK;
  loom__loop_post(loom__task_tl(t)->loop, &t->step);
  loom__task_suspend(t);
  if (t->cancel_pending) {
    t->cancel_pending = false;
    return LOOM_ECANCELLED;
  }
  return 0;
}

static void thread_sleep(double seconds) {
  int64_t deadline = loom__deadline(seconds);
  for (;;) {
    int64_t left = deadline - loom_now_ns();
    if (left <= 0) return;
    struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
    nanosleep(&ts, NULL);
  }
}

int loom_sleep(double seconds) {
  loom__task *t = loom__task_self();
  if (!(seconds > 0)) return t ? loom_yield() : 0;
  if (!t) {
    thread_sleep(seconds);
    return 0;
  }
  loom__waiter w;
  loom__waiter_init(&w);
  loom__task_frame *fr = loom__task_frame_of(t);
  fr->sleeping = true;
  int64_t deadline = loom__deadline(seconds);
  int reason;
  if (LOOM__UNLIKELY(t->compact)) { /* w's ops are task_park's: park as it does */
    park(&w, deadline, true);
    reason = w.reason;
  } else {
    reason = loom__waiter_park(&w, deadline);
  }
  fr->sleeping = false;
  return reason == LOOM_ETIMEDOUT ? 0 : reason;
}
