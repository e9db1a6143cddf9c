/* loop.c - the event loop: life cycle, one iteration, the ready queue, the
 * thread-safe inbox and its eventfd wake-up, the clock.
 *
 * One iteration (loop_iterate) reads like asyncio's _run_once:
 *   1. choose a poll timeout: 0 if anything is ready, else until the next
 *      timer, else forever;
 *   2. wait for fd events (the virtual clock polls, then jumps to the next
 *      timer instead of sleeping) and dispatch them;
 *   3. fire the timers that are due;
 *   4. move the thread-safe inbox to the ready queue and run the callbacks
 *      that were ready when the batch began (callbacks posted by the batch
 *      run in the next iteration).
 *
 * Unlike asyncio, step 2 is skipped while callbacks are ready, except on
 * every POLL_EVERY-th iteration or once POLL_MAX_GAP_NS (coarse clock) has
 * passed since the first skipped one (looked at every GAP_CHECK_EVERY-th
 * skip).  A task ping-pong is one iteration per
 * hop, and a zero-timeout epoll_wait plus a clock read were most of its
 * cost.  The price is bounded I/O starvation: fd events, signals and the
 * wake-up eventfd wait at most POLL_EVERY iterations or ~POLL_MAX_GAP_NS
 * (plus GAP_CHECK_EVERY batches); thread-safe posts are unaffected (the inbox is drained
 * every iteration).  The clock is read only when timers are pending.
 *
 * A task suspending at the end of a batch may skip the next iteration
 * altogether and switch to the head of the ready queue (loom__loop_take_next,
 * inline in loop_internal.h; the full check is loom__loop_handoff_grant).
 *
 * Thread-safe posts go on a lock-free LIFO (one CAS per post); the loop takes
 * the whole list with one exchange and reverses it, which restores each
 * producer's order.  A flag coalesces wake-ups: only the post that finds it
 * clear writes the eventfd, and the loop clears it (after reading the
 * eventfd) before draining, so a post is never left without a wake-up.
 */
#include <sched.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "../futures/future_internal.h"
#include "loop_impl.h"

_Thread_local loom_loop *loom__tls_loop __attribute__((tls_model("initial-exec")));

loom__callback loom__inbox_closed;

enum { EVENT_BATCH = 256 };
#define TIMER_SLACK_NS ((int64_t)100000) /* 100 us */
/* I/O starvation bound while callbacks keep coming (see the top). */
enum { POLL_EVERY = 64 };
#define POLL_MAX_GAP_NS ((int64_t)2000000) /* 2 ms; the coarse clock ticks 1-4 ms */
/* The gap is checked every GAP_CHECK_EVERY skips: a vDSO clock read per
 * task hop was a tenth of a hop's cost. */
enum { GAP_CHECK_EVERY = 8 };

/* ---- clock ---------------------------------------------------------------- */

static int64_t real_now(const loom_loop *loop) { return loom_now_ns() + loop->clock_offset; }

int64_t loom__loop_now(const loom_loop *loop) {
  return loop->virtual_clock ? loop->now : real_now(loop);
}

int64_t loom__loop_deadline(const loom_loop *loop, int64_t mono_deadline) {
  if (mono_deadline == INT64_MAX) return INT64_MAX;
  /* Virtual clock: a deadline taken in a task is already on the loop's
   * clock (loom__task_clock).  One taken elsewhere, on the real clock, is
   * read the same way: the virtual clock began at real time and only runs
   * ahead, so such a timeout can only end early, never hang. */
  if (loop->virtual_clock) return mono_deadline;
  return mono_deadline > INT64_MAX - loop->clock_offset ? INT64_MAX
                                                         : mono_deadline + loop->clock_offset;
}

static void clock_update(loom_loop *loop) {
  if (!loop->virtual_clock) loop->now = real_now(loop);
}

double loom_loop_time(const loom_loop *loop) {
  return loop ? (double)loom__loop_now(loop) / 1e9 : 0.0;
}

int loom_loop_set_virtual_clock(loom_loop *loop, bool on) {
  if (!loop) return LOOM_EINVAL;
  if (on == loop->virtual_clock) return 0;
  if (on) {
    loop->now = real_now(loop);
  } else {
    /* Resume the real clock from the virtual time: never go backwards. */
    int64_t real = loom_now_ns();
    if (loop->now > real + loop->clock_offset) loop->clock_offset = loop->now - real;
  }
  loop->virtual_clock = on;
  return 0;
}

/* ---- queues and wake-up ---------------------------------------------------- */

void loom__loop_wake(loom_loop *loop) {
  if (atomic_exchange(&loop->wake_pending, true)) return;
  uint64_t one = 1;
  /* Cannot fail short of a closed fd (a bug) or counter overflow (the loop
   * reads it first): the wake-up is the fd becoming readable. */
  ssize_t rc = write(loop->wake_fd, &one, sizeof one);
  (void)rc;
}

/* Something needs the loop's next iteration soon: stop hand-offs (any
 * thread; see loop_impl.h). */
static inline void attn_raise(loom_loop *loop) {
  atomic_store_explicit(&loop->hot.attn, 1, memory_order_release);
}

/* Push on the inbox; false if the loop is closed.  The first post of a
 * batch raises attn; later ones find it raised, or the inbox taken by an
 * iteration that cleared attn before it drained. */
static bool inbox_push(loom_loop *loop, loom__callback *cb) {
  loom__callback *old = atomic_load_explicit(&loop->inbox, memory_order_relaxed);
  do {
    if (old == &loom__inbox_closed) return false;
    cb->next = old;
  } while (!atomic_compare_exchange_weak_explicit(&loop->inbox, &old, cb, memory_order_release,
                                                  memory_order_relaxed));
  if (!old) attn_raise(loop);
  return true;
}

bool loom__loop_post_threadsafe_checked(loom_loop *loop, loom__callback *cb) {
  if (loom__tls_loop == loop) {
    if (atomic_load(&loop->closed)) return false;
    loom__loop_post(loop, cb);
    return true;
  }
  if (!inbox_push(loop, cb)) return false;
  loom__loop_wake(loop);
  return true;
}

void loom__loop_post_threadsafe(loom_loop *loop, loom__callback *cb) {
  (void)loom__loop_post_threadsafe_checked(loop, cb);
}

/* Move the inbox to the ready queue, oldest first. */
void loom__loop_inbox_drain(loom_loop *loop) {
  if (!atomic_load_explicit(&loop->inbox, memory_order_relaxed)) return;
  loom__callback *l = atomic_exchange_explicit(&loop->inbox, NULL, memory_order_acquire);
  loom__callback *rev = NULL;
  while (l) {
    loom__callback *next = l->next;
    l->next = rev;
    rev = l;
    l = next;
  }
  while (rev) {
    loom__callback *next = rev->next;
    loom__loop_post(loop, rev);
    rev = next;
  }
}

static void wake_read(loom_loop *loop) {
  uint64_t v;
  ssize_t rc = read(loop->wake_fd, &v, sizeof v);
  (void)rc;
  /* Clear before the inbox is drained (later this iteration): a post that
   * lands after the drain finds the flag clear and writes again. */
  atomic_store(&loop->wake_pending, false);
  if (loop->sig_count) loom__signals_dispatch(loop);
}

/* ---- stall detector ---------------------------------------------------------- */

void loom__loop_check_slow(loom_loop *loop, int64_t start, const char *what) {
  int64_t took = loom_now_ns() - start;
  if (took < loop->hot.slow_ns) return;
  const char *task = loop->hooks.running_name ? loop->hooks.running_name(loop, loop->hooks.ctx)
                                              : NULL;
  loop->slow_count++;
  if (task)
    loom__report("slow callback: task '%s' blocked the loop for %.3f s", task, (double)took / 1e9);
  else
    loom__report("slow callback: %s blocked the loop for %.3f s", what, (double)took / 1e9);
}

int loom_loop_set_slow_callback_threshold(loom_loop *loop, double seconds) {
  if (!loop) return LOOM_EINVAL;
  loop->hot.slow_ns = seconds > 0 ? (int64_t)(seconds * 1e9) : 0;
  if (seconds > 0 && loop->hot.slow_ns == 0) loop->hot.slow_ns = 1;
  attn_raise(loop); /* a hand-off in progress goes back to run_ready's timing */
  return 0;
}

unsigned long loom_loop_slow_callback_count(const loom_loop *loop) {
  return loop ? loop->slow_count : 0;
}

/* ---- one iteration ----------------------------------------------------------- */

/* The batch lives in the loop (not in a local) so that a task suspending
 * inside it can hand the CPU straight to the next entry (loom__loop_take_next).
 * A nested run (loom__loop_run_once from a callback) keeps the outer rest. */
static void run_ready(loom_loop *loop) {
  loom__callback *outer = loop->hot.batch;
  loop->hot.batch = loop->hot.ready.head;
  loop->hot.ready.head = loop->hot.ready.tail = NULL;
  loom__callback *cb;
  while ((cb = loop->hot.batch)) {
    loop->hot.batch = cb->next; /* before fn: cb may be freed by its own fn */
    if (LOOM__UNLIKELY(loop->hot.slow_ns)) {
      int64_t t0 = loom_now_ns();
      cb->fn(cb);
      loom__loop_check_slow(loop, t0, "a callback");
    } else {
      cb->fn(cb);
    }
  }
  loop->hot.batch = outer;
}

static int64_t poll_timeout(loom_loop *loop, bool nowait) {
  if (nowait || loop->hot.ready.head || atomic_load_explicit(&loop->inbox, memory_order_relaxed) ||
      atomic_load_explicit(&loop->stop_req, memory_order_relaxed) ||
      atomic_load_explicit(&loop->ruc_done, memory_order_relaxed))
    return 0;
  int64_t next = loom__timers_next(loop);
  if (next == INT64_MAX) return -1;
  int64_t left = next - loom__loop_now(loop);
  if (left <= 0) return 0;
  if (loop->virtual_clock) return left; /* exact: the clock jumps by it */
  /* Timer slack: sleep in whole TIMER_SLACK_NS steps (rounded up, so never
   * early).  Waking for every timer of a dense schedule would cost a system
   * call each; this way one wake-up fires every timer of the window. */
  return (left + TIMER_SLACK_NS - 1) / TIMER_SLACK_NS * TIMER_SLACK_NS;
}

/* CLOCK_MONOTONIC_COARSE: a vDSO read of the last tick, no TSC access. */
static int64_t coarse_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Callbacks are ready: may this iteration skip the backend?  Within a run of
 * skips the counter bounds iterations and the coarse clock bounds time. */
static bool poll_skip(loom_loop *loop, bool nowait) {
  if (nowait || (!loop->hot.ready.head && !atomic_load_explicit(&loop->inbox, memory_order_relaxed)))
    return false;
  uint32_t n = loop->polls_skipped;
  if (n == 0) {
    loop->skip_since = coarse_now();
  } else if (n >= POLL_EVERY ||
             ((n & (GAP_CHECK_EVERY - 1)) == 0 &&
              coarse_now() - loop->skip_since >= POLL_MAX_GAP_NS)) {
    return false;
  }
  loop->polls_skipped++;
  return true;
}

/* CLOCK_MONOTONIC_COARSE's resolution (its tick): the coarse clock may lag
 * the real one by that much. */
static int64_t coarse_res(void) {
  static _Atomic int64_t res;
  int64_t r = atomic_load_explicit(&res, memory_order_relaxed);
  if (LOOM__UNLIKELY(!r)) {
    struct timespec ts;
    r = clock_getres(CLOCK_MONOTONIC_COARSE, &ts) == 0
            ? (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec
            : (int64_t)10000000; /* no answer: assume a slow 100 Hz tick */
    atomic_store_explicit(&res, r, memory_order_relaxed);
  }
  return r;
}

/* The end of a batch, where the next iteration would begin: may it be
 * skipped, the ready queue becoming the batch at once?  Only when that
 * iteration would do nothing else: the backend poll may be skipped (each
 * hand-off counts as a skipped iteration, so I/O is not starved), no timer
 * is due, nothing arrived from other threads, and nobody asked the loop to
 * stop or return.  The full check grants credit for the hand-offs until the
 * next look at the coarse clock (GAP_CHECK_EVERY skips); what may change
 * meanwhile raises attn (other threads, stop, the stall detector) or drops
 * the credit (a timer started).  With timers pending, every hand-off looks
 * at the coarse clock: the earliest must not be due before the hand-off
 * returns to the loop's course, so timers are at most one hop late, as
 * they would be in an iteration, and a far timeout no longer disables the
 * hand-off. */
bool loom__loop_handoff_grant(loom_loop *loop) {
  if (loop->hot.slow_ns || atomic_load_explicit(&loop->inbox, memory_order_relaxed) ||
      atomic_load_explicit(&loop->stop_req, memory_order_relaxed) ||
      atomic_load_explicit(&loop->ruc_done, memory_order_relaxed))
    return false;
  uint32_t n = loop->polls_skipped;
  if (n >= POLL_EVERY) return false;
  int64_t now = 0;
  if (n == 0) {
    loop->skip_since = now = coarse_now();
  } else if ((n & (GAP_CHECK_EVERY - 1)) == 0 || loop->heap_len) {
    now = coarse_now();
    if (now - loop->skip_since >= POLL_MAX_GAP_NS) return false;
  }
  uint32_t credit = GAP_CHECK_EVERY - (n & (GAP_CHECK_EVERY - 1));
  if (loop->heap_len) {
    /* The real clock is at most a coarse tick ahead of `now`. */
    if (!loom__timers_quiet_until(loop, now + loop->clock_offset + coarse_res())) return false;
    credit = 1;
  }
  /* Counted now: credit left unused only makes the next poll come earlier. */
  loop->polls_skipped = n + credit;
  loop->hot.handoff_credit = credit;
  return true;
}

static int poll_events(loom_loop *loop, int64_t timeout, loom__poll_event *ev) {
  loop->polls_skipped = 0;
  loop->polls++;
  if (loop->virtual_clock && timeout != 0) {
    int n = loop->poll.ops->wait(&loop->poll, 0, ev, EVENT_BATCH);
    if (n != 0) return n;
    if (timeout < 0) return loop->poll.ops->wait(&loop->poll, -1, ev, EVENT_BATCH);
    loop->now += timeout; /* nothing can happen before the next timer: jump */
    return 0;
  }
  return loop->poll.ops->wait(&loop->poll, timeout, ev, EVENT_BATCH);
}

static void dispatch(loom_loop *loop, loom__poll_event *ev, int n) {
  for (int i = 0; i < n; i++) {
    if (ev[i].fd == loop->wake_fd) wake_read(loop);
    else loom__io_dispatch(loop, ev[i].fd, ev[i].events);
  }
  if (loop->heap_len) loom__timers_run(loop);
  loom__loop_inbox_drain(loop);
  run_ready(loop);
}

static void loop_iterate(loom_loop *loop, bool nowait) {
  loom__poll_event ev[EVENT_BATCH];
  /* attn is cleared before anything it stands for is looked at (acquire:
   * what was posted before it was raised is seen below). */
  loop->iterations++;
  loop->hot.handoff_credit = 0;
  if (atomic_load_explicit(&loop->hot.attn, memory_order_relaxed))
    atomic_exchange_explicit(&loop->hot.attn, 0, memory_order_acquire);
  int n = poll_skip(loop, nowait) ? 0 : poll_events(loop, poll_timeout(loop, nowait), ev);
  if (loop->heap_len) clock_update(loop); /* loop->now only serves timers */
  if (!loop->virtual_clock) {
    dispatch(loop, ev, n);
    return;
  }
  /* Virtual clock: tasks read the loop's (standing) time as "now", so the
   * timeouts they compute are exact in virtual time (see internal.h). */
  const int64_t *saved = loom__task_clock;
  loom__task_clock = &loop->now;
  dispatch(loop, ev, n);
  loom__task_clock = saved;
}

/* ---- running ----------------------------------------------------------------- */

/* Take `running` for this thread.  A thread that holds the loop only for
 * a moment (loom__loop_borrow) is waited for, not reported as another
 * driver.  False: another thread drives the loop. */
static bool claim_running(loom_loop *loop) {
  for (;;) {
    uint32_t seen = LOOM__LOOP_IDLE;
    if (atomic_compare_exchange_strong(&loop->running, &seen, LOOM__LOOP_DRIVEN)) return true;
    if (seen != LOOM__LOOP_BORROWED) return false;
    sched_yield();
  }
}

bool loom__loop_claim(loom_loop *loop) { return claim_running(loop); }
void loom__loop_unclaim(loom_loop *loop) { atomic_store(&loop->running, LOOM__LOOP_IDLE); }

bool loom__loop_borrow(loom_loop *loop) {
  uint32_t idle = LOOM__LOOP_IDLE;
  return !atomic_load(&loop->closed) &&
         atomic_compare_exchange_strong(&loop->running, &idle, LOOM__LOOP_BORROWED);
}

void loom__loop_unborrow(loom_loop *loop) {
  atomic_store(&loop->running, LOOM__LOOP_IDLE);
}

static __attribute__((noinline, cold)) bool wait_out_borrow(loom_loop *loop) {
  uint32_t v;
  while ((v = atomic_load(&loop->running)) == LOOM__LOOP_BORROWED) sched_yield();
  return v == LOOM__LOOP_IDLE;
}

/* On every spawn from outside the loop (W2 spawns a million): the idle
 * case is one load. */
bool loom__loop_idle_or_borrowed(loom_loop *loop) {
  if (LOOM__LIKELY(atomic_load(&loop->running) == LOOM__LOOP_IDLE)) return true;
  return wait_out_borrow(loop);
}

static int loop_enter(loom_loop *loop) {
  if (!loop) return LOOM_EINVAL;
  if (atomic_load(&loop->closed)) return LOOM_ECLOSED;
  if (loom__tls_loop) return LOOM_EBUSY;
  if (!claim_running(loop)) return LOOM_EBUSY;
  loom__tls_loop = loop;
  clock_update(loop);
  return 0;
}

static void loop_leave(loom_loop *loop) {
  atomic_store(&loop->stop_req, false);
  atomic_store(&loop->ruc_done, false);
  loom__tls_loop = NULL;
  atomic_store(&loop->running, LOOM__LOOP_IDLE);
}

int loom_loop_run_forever(loom_loop *loop) {
  int rc = loop_enter(loop);
  if (rc) return rc;
  do loop_iterate(loop, false);
  while (!atomic_load(&loop->stop_req));
  loop_leave(loop);
  return 0;
}

int loom__loop_run_once(loom_loop *loop, bool nowait) {
  bool nested = loom__tls_loop == loop;
  if (!nested) {
    if (loom__tls_loop) return LOOM_EBUSY;
    if (!claim_running(loop)) return LOOM_EBUSY;
    loom__tls_loop = loop;
    clock_update(loop);
  }
  loop_iterate(loop, nowait);
  if (!nested) {
    loom__tls_loop = NULL;
    atomic_store(&loop->running, LOOM__LOOP_IDLE);
  }
  return 0;
}

/* Runs under f's lock in whatever thread completes f: flag and wake. */
static int ruc_node_fn(loom_future *f, void *arg) {
  loom_loop *loop = arg;
  atomic_store(&loop->ruc_done, true);
  attn_raise(loop);
  if (loom__tls_loop != loop) loom__loop_wake(loop);
  return 0;
}

int loom_loop_run_until_complete(loom_loop *loop, loom_future *f) {
  if (!f) return LOOM_EINVAL;
  int rc = loop_enter(loop);
  if (rc) return rc;
  loom__fnode node = {.fn = ruc_node_fn, .arg = loop};
  atomic_store(&loop->ruc_done, false);
  /* Already done: still run one iteration, as asyncio does - without
   * blocking in the backend, since nothing may ever wake it. */
  if (!loom__future_subscribe(f, &node)) atomic_store(&loop->ruc_done, true);
  do loop_iterate(loop, atomic_load(&loop->ruc_done));
  while (!atomic_load(&loop->ruc_done) && !atomic_load(&loop->stop_req));
  if (!atomic_load(&loop->ruc_done) && loom__future_unsubscribe(f, &node)) rc = LOOM_EINVALIDSTATE;
  loop_leave(loop);
  return rc;
}

void loom_loop_stop(loom_loop *loop) {
  if (!loop) return;
  atomic_store(&loop->stop_req, true);
  attn_raise(loop);
  if (loom__tls_loop != loop && !atomic_load(&loop->closed)) loom__loop_wake(loop);
}

bool loom_loop_is_running(const loom_loop *loop) {
  return loop && atomic_load(&loop->running) == LOOM__LOOP_DRIVEN;
}
bool loom_loop_is_closed(const loom_loop *loop) { return loop && atomic_load(&loop->closed); }
loom_loop *loom_loop_current(void) { return loom__tls_loop; }
loom_loop *loom__loop_current(void) { return loom__tls_loop; }

void loom__loop_set_hooks(loom_loop *loop, const loom__loop_hooks *hooks) {
  if (hooks) loop->hooks = *hooks;
  else loop->hooks = (loom__loop_hooks){0};
}

void **loom__loop_task_slot(loom_loop *loop) { return &loop->task_slot; }

uint64_t loom__loop_iterations(const loom_loop *loop) { return loop->iterations; }
uint64_t loom__loop_polls(const loom_loop *loop) { return loop->polls; }
