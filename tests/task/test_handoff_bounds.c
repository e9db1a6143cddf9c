/* test_handoff_bounds.c - the hand-off from one batch to the next (a task
 * that suspends at the end of a batch switches straight to the head of the
 * ready queue, skipping the loop iteration in between) and the bounds that
 * keep it invisible: a far timer does not stop it, a due one does; the
 * backend is still polled every 64 skipped iterations; a thread-safe post
 * or a stop from another thread ends it at once. */
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "loop/loop_internal.h"

#include "pingpong.h"

/* ---- the hand-off at the end of a batch, and the loop's other duties --------
 * A hand-off from one batch to the next replaces a whole iteration, so a
 * ping-pong runs far fewer iterations than hops (loom__loop_iterations).
 * Whatever the skipped iteration would have done still happens in bounds:
 * the backend is polled at least every 64 skipped iterations, a timer fires
 * once it is due, a thread-safe post or a stop is seen at the next hop (and
 * in any case at the next of those polls). */

/* 64 skipped iterations, the hop run in the iteration itself, and a little
 * slack for where in the run of skips an event lands. */
enum { SKIP_BOUND = 64 + 8 };

static void set_flag(void *arg) { *(bool *)arg = true; }

/* A far timer no longer disables the hand-off, whether it is a timeout
 * nobody will reach (a loom_call_later) or the 10 s timeout of every wait. */
static void far_timer_game(double wait_timeout) {
  loom_loop *l = ts_loop(false);
  bool far_fired = false;
  loom_handle *far;
  LT_RC(loom_call_later(l, 30.0, set_flag, &far_fired, &far), 0);
  pingpong g;
  pingpong_start_ex(l, &g, 20000, NULL, wait_timeout, NULL, NULL);
  uint64_t it0 = loom__loop_iterations(l);
  pingpong_finish(l, &g);
  uint64_t its = loom__loop_iterations(l) - it0;
  assert_int_equal(g.hops, 20000);
  /* Without the hand-off, every hop is an iteration. */
  LT_CHECK(its < 20000 / 8, "%llu iterations for 20000 hops", (unsigned long long)its);
  assert_false(far_fired);
  loom_handle_cancel(far);
  loom_handle_release(far);
  loom_loop_destroy(l);
}

LOOM_TEST(handoff, far_timer_keeps_the_handoff) { far_timer_game(LOOM_FOREVER); }
LOOM_TEST(handoff, wait_timeouts_keep_the_handoff) { far_timer_game(10.0); }

/* A near timer still fires on time while the game hands over forever, a far
 * one pending: at most one run of skips after the hop that saw it due. */
typedef struct due_watch {
  loom_loop *l;
  double when;          /* the near timer's loop time */
  long first_due_hop;   /* first hop that read the loop clock at or past it */
  long fired_hop;       /* hops when it fired */
  long *hops;
  bool *stop;
  double near;          /* loop time from which the hand-off may stop for it */
  long near_hop;        /* first hop at or past `near` (-1: none yet) */
  uint64_t it0, near_its; /* iterations at the start, and until near_hop */
} due_watch;

static void watch_due(void *ctx, long hops) {
  due_watch *d = ctx;
  double now = loom_loop_time(d->l);
  if (d->near_hop < 0 && now >= d->near) {
    d->near_hop = hops;
    d->near_its = loom__loop_iterations(d->l) - d->it0;
  }
  if (d->first_due_hop < 0 && now >= d->when) d->first_due_hop = hops;
}

/* CLOCK_MONOTONIC_COARSE's tick, in seconds: within a tick of a due timer
 * the hand-off stops (loop.c), so every hop is an iteration there. */
static double coarse_tick(void) {
  struct timespec ts;
  if (clock_getres(CLOCK_MONOTONIC_COARSE, &ts) != 0) return 0.01;
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void near_fired(void *arg) {
  due_watch *d = arg;
  d->fired_hop = *d->hops;
  *d->stop = true;
}

LOOM_TEST(handoff, near_timer_fires_on_time_beside_a_far_one) {
  loom_loop *l = ts_loop(false);
  bool far_fired = false;
  loom_handle *far, *near;
  LT_RC(loom_call_later(l, 30.0, set_flag, &far_fired, &far), 0);
  pingpong g;
  due_watch d = {l, 0, -1, -1, &g.hops, &g.stop, 0, -1, 0, 0};
  pingpong_start_ex(l, &g, 0, NULL, LOOM_FOREVER, watch_due, &d);
  d.when = loom_loop_time(l) + 0.02;
  d.near = d.when - coarse_tick() - 0.001;
  LT_RC(loom_call_at(l, d.when, near_fired, &d, &near), 0);
  d.it0 = loom__loop_iterations(l);
  pingpong_finish(l, &g);
  LT_CHECK(d.fired_hop >= 0, "the near timer did not fire (%ld hops)", g.hops);
  LT_CHECK(loom_loop_time(l) >= d.when - 1e-6, "the game ended before the timer was due");
  /* A hop that saw the timer due ends the hand-offs: it fires in the next
   * iteration (here within a hop or two; at worst after the run of skips).
   * No hop saw it due: it fired between two hops, on time. */
  LT_CHECK(d.first_due_hop < 0 || d.fired_hop <= d.first_due_hop + SKIP_BOUND,
           "due at hop %ld, fired at hop %ld", d.first_due_hop, d.fired_hop);
  /* And the game handed over while the timers waited: one iteration per
   * run of skips (64 hops, or the 2 ms gap: at most 10 runs), not one per
   * hop - counted until the timer came within a coarse tick of due, where
   * hops are iterations (all of them, if a loaded machine started the game
   * late: the bound then holds with nothing to count). */
  if (d.near_hop < 0) { /* the game ended before: all of it counts */
    d.near_hop = g.hops;
    d.near_its = loom__loop_iterations(l) - d.it0;
  }
  LT_CHECK(d.near_its <= (uint64_t)d.near_hop / 8 + 32, "%llu iterations for %ld hops",
           (unsigned long long)d.near_its, d.near_hop);
  assert_false(far_fired);
  loom_handle_cancel(far);
  loom_handle_release(far);
  loom_handle_release(near);
  loom_loop_destroy(l);
}

/* Virtual clock: a timer due at once, armed by a player mid-game, fires in
 * the very next iteration; the far one never stopped the hand-off before. */
typedef struct arm_at {
  loom_loop *l;
  long at;              /* arm the timer when the game reaches this hop */
  uint64_t its_before;  /* iterations the game ran until then */
  uint64_t it0;
  long fired_hop;
  long *hops;
  bool *stop;
} arm_at;

static void arm_fired(void *arg) {
  arm_at *a = arg;
  a->fired_hop = *a->hops;
  *a->stop = true;
}

static void arm_on_hop(void *ctx, long hops) {
  arm_at *a = ctx;
  if (hops != a->at) return;
  a->its_before = loom__loop_iterations(a->l) - a->it0;
  if (loom_call_later(a->l, 0, arm_fired, a, NULL) < 0) *a->stop = true;
}

LOOM_TEST(handoff, virtual_clock_due_timer_fires_next_iteration) {
  loom_loop *l = ts_loop(true);
  bool far_fired = false;
  loom_handle *far;
  LT_RC(loom_call_later(l, 10.0, set_flag, &far_fired, &far), 0);
  pingpong g;
  arm_at a = {l, 5000, 0, 0, -1, &g.hops, &g.stop};
  pingpong_start_ex(l, &g, 0, NULL, LOOM_FOREVER, arm_on_hop, &a);
  a.it0 = loom__loop_iterations(l);
  pingpong_finish(l, &g);
  LT_CHECK(a.fired_hop >= a.at && a.fired_hop <= a.at + 1, "armed at hop %ld, fired at %ld",
           a.at, a.fired_hop);
  LT_CHECK(a.its_before < 5000 / 8, "%llu iterations for 5000 hops",
           (unsigned long long)a.its_before);
  assert_false(far_fired);
  loom_handle_cancel(far);
  loom_handle_release(far);
  loom_loop_destroy(l);
}

/* The backend is polled at least every 64 skipped iterations: a reader on
 * a pipe that stays readable runs once per poll. */
static void count_call(void *arg) { ++*(long *)arg; }

LOOM_TEST(handoff, poll_at_least_every_64_skips) {
  loom_loop *l = ts_loop(false);
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  long reads = 0;
  LT_RC(loom_loop_add_reader(l, fds[0], count_call, &reads), 0);
  pingpong g;
  pingpong_start_ex(l, &g, 65000, NULL, LOOM_FOREVER, NULL, NULL);
  uint64_t it0 = loom__loop_iterations(l), p0 = loom__loop_polls(l);
  pingpong_finish(l, &g);
  uint64_t its = loom__loop_iterations(l) - it0, polls = loom__loop_polls(l) - p0;
  assert_int_equal(g.hops, 65000);
  /* One poll per 64 hand-offs plus the hop run in the polling iteration. */
  LT_CHECK(polls >= 65000 / 66 && reads >= 65000 / 66, "%llu polls, %ld reads for 65000 hops",
           (unsigned long long)polls, reads);
  LT_CHECK(its < 65000 / 8, "%llu iterations for 65000 hops", (unsigned long long)its);
  LT_RC(loom_loop_remove_reader(l, fds[0]), 1);
  close(fds[0]);
  close(fds[1]);
  loom_loop_destroy(l);
}

/* Another thread interrupts an endless game: its call_soon_threadsafe runs,
 * or its loom_loop_stop makes run_forever return, within the bound. */
static _Atomic long hop_mirror; /* the game's hops, for the other thread */

static void mirror_hop(void *ctx, long hops) {
  (void)ctx;
  atomic_store_explicit(&hop_mirror, hops, memory_order_relaxed);
}

typedef struct interrupter {
  loom_loop *l;
  bool stop_loop;   /* loom_loop_stop instead of a thread-safe post */
  long seen_after;  /* hops the thread saw right after posting */
  long ran_at;      /* hops when the posted callback ran */
  long *hops;
  bool *stop;
  int rc;
} interrupter;

static void stop_game(void *arg) {
  interrupter *in = arg;
  in->ran_at = *in->hops;
  *in->stop = true;
}

static void *interrupt_thread(void *arg) {
  interrupter *in = arg;
  for (int i = 0; i < 100000 && atomic_load(&hop_mirror) < 1000; i++) usleep(100);
  if (in->stop_loop) loom_loop_stop(in->l);
  else in->rc = loom_call_soon_threadsafe(in->l, stop_game, in, NULL);
  in->seen_after = atomic_load(&hop_mirror);
  return NULL;
}

LOOM_TEST(handoff, threadsafe_post_interrupts_endless_game) {
  loom_loop *l = ts_loop(false);
  atomic_store(&hop_mirror, 0);
  pingpong g;
  interrupter in = {l, false, -1, -1, &g.hops, &g.stop, 1};
  pingpong_start_ex(l, &g, 0, NULL, LOOM_FOREVER, mirror_hop, NULL);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, interrupt_thread, &in), 0);
  pingpong_finish(l, &g); /* only the posted callback ends the game */
  pthread_join(th, NULL);
  LT_RC(in.rc, 0);
  LT_CHECK(in.ran_at >= 1000 && in.ran_at <= in.seen_after + SKIP_BOUND,
           "posted after hop %ld, ran at hop %ld", in.seen_after, in.ran_at);
  loom_loop_destroy(l);
}

LOOM_TEST(handoff, stop_interrupts_endless_game) {
  loom_loop *l = ts_loop(false);
  atomic_store(&hop_mirror, 0);
  pingpong g;
  interrupter in = {l, true, -1, -1, &g.hops, &g.stop, 0};
  pingpong_start_ex(l, &g, 0, NULL, LOOM_FOREVER, mirror_hop, NULL);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, interrupt_thread, &in), 0);
  LT_RC(loom_loop_run_forever(l), 0); /* returns only when stopped */
  pthread_join(th, NULL);
  long at_stop = g.hops;
  LT_CHECK(at_stop >= 1000 && at_stop <= in.seen_after + SKIP_BOUND,
           "stopped after hop %ld, the loop returned at hop %ld", in.seen_after, at_stop);
  assert_false(loom_future_done(g.ta) || loom_future_done(g.tb));
  g.stop = true;
  pingpong_finish(l, &g);
  loom_loop_destroy(l);
}

