/* test_loop.c - the loop's core: call_soon order, timers (order, ties,
 * accuracy, cancellation), stop / run_forever, run_until_complete, close
 * while running, the virtual clock and the stall detector.  Semantics from
 * CPython's test_asyncio/test_base_events.py and test_events.py. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loom_test.h"
#include "core/internal.h"
#include "loop/loop_internal.h"

typedef struct rec {
  loom_loop *loop;
  int order[64];
  int n;
  double at[64];
} rec;

typedef struct item {
  rec *r;
  int id;
} item;

static void note(void *arg) {
  item *it = arg;
  it->r->at[it->r->n] = loom_loop_time(it->r->loop);
  it->r->order[it->r->n++] = it->id;
}

static void stop_cb(void *arg) { loom_loop_stop(arg); }

static loom_loop *mk(bool virt) {
  loom_loop *loop = NULL;
  loom_loop_options o = {.virtual_clock = virt};
  LT_RC(loom_loop_create(&loop, &o), 0);
  return loop;
}

LOOM_TEST(loop, create_destroy) {
  loom_loop *loop = mk(false);
  assert_false(loom_loop_is_running(loop));
  assert_false(loom_loop_is_closed(loop));
  assert_null(loom_loop_current());
  LT_RC(loom_loop_close(loop), 0);
  assert_true(loom_loop_is_closed(loop));
  LT_RC(loom_loop_close(loop), 0); /* idempotent */
  LT_RC(loom_call_soon(loop, stop_cb, loop, NULL), LOOM_ECLOSED);
  LT_RC(loom_loop_run_forever(loop), LOOM_ECLOSED);
  loom_loop_destroy(loop);
  LT_RC(loom_loop_create(NULL, NULL), LOOM_EINVAL);
}

LOOM_TEST(loop, call_soon_fifo) {
  loom_loop *loop = mk(false);
  rec r = {.loop = loop};
  item it[10];
  for (int i = 0; i < 10; i++) {
    it[i] = (item){&r, i};
    LT_RC(loom_call_soon(loop, note, &it[i], NULL), 0);
  }
  LT_RC(loom_call_soon(loop, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(r.n, 10);
  for (int i = 0; i < 10; i++) assert_int_equal(r.order[i], i);
  loom_loop_destroy(loop);
}

static void check_current(void *arg) {
  rec *r = arg;
  r->order[r->n++] = loom_loop_current() == r->loop && loom_loop_is_running(r->loop);
  LT_RC(loom_loop_run_forever(r->loop), LOOM_EBUSY); /* no nested run */
  LT_RC(loom_loop_close(r->loop), LOOM_EBUSY);       /* close while running */
  loom_loop_stop(r->loop);
}

LOOM_TEST(loop, current_and_busy) {
  loom_loop *loop = mk(false);
  rec r = {.loop = loop};
  LT_RC(loom_call_soon(loop, check_current, &r, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(r.n, 1);
  assert_int_equal(r.order[0], 1);
  assert_null(loom_loop_current());
  assert_false(loom_loop_is_running(loop));
  loom_loop_destroy(loop);
}

/* asyncio: stop() called inside a batch lets the rest of the batch run, and
 * callbacks scheduled by the batch run at the next run_forever. */
typedef struct stop_ctx {
  loom_loop *loop;
  int ran, late;
} stop_ctx;
static void inc_late(void *arg) { ((stop_ctx *)arg)->late++; }
static void stop_then_schedule(void *arg) {
  stop_ctx *c = arg;
  loom_loop_stop(c->loop);
  c->ran++;
  LT_RC(loom_call_soon(c->loop, inc_late, c, NULL), 0);
}
static void inc_ran(void *arg) { ((stop_ctx *)arg)->ran++; }

LOOM_TEST(loop, stop_finishes_batch) {
  loom_loop *loop = mk(false);
  stop_ctx c = {.loop = loop};
  LT_RC(loom_call_soon(loop, stop_then_schedule, &c, NULL), 0);
  LT_RC(loom_call_soon(loop, inc_ran, &c, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(c.ran, 2);
  assert_int_equal(c.late, 0);
  LT_RC(loom_call_soon(loop, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(c.late, 1);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop, stop_before_run) {
  loom_loop *loop = mk(false);
  stop_ctx c = {.loop = loop};
  loom_loop_stop(loop); /* the next run stops after one iteration */
  LT_RC(loom_call_soon(loop, inc_ran, &c, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(c.ran, 1);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop, call_later_order_and_ties) {
  loom_loop *loop = mk(true);
  rec r = {.loop = loop};
  item it[8];
  double delays[8] = {0.3, 0.1, 0.2, 0.1, 0.0, 0.2, 0.1, 0.3};
  for (int i = 0; i < 8; i++) {
    it[i] = (item){&r, i};
    LT_RC(loom_call_later(loop, delays[i], note, &it[i], NULL), 0);
  }
  LT_RC(loom_call_later(loop, 0.5, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  int want[8] = {4, 1, 3, 6, 2, 5, 0, 7};
  assert_int_equal(r.n, 8);
  for (int i = 0; i < 8; i++) LT_CHECK(r.order[i] == want[i], "slot %d: %d", i, r.order[i]);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop, call_at_uses_loop_time) {
  loom_loop *loop = mk(true);
  rec r = {.loop = loop};
  item a = {&r, 1};
  double t0 = loom_loop_time(loop);
  loom_handle *h = NULL;
  LT_RC(loom_call_at(loop, t0 + 2.0, note, &a, &h), 0);
  assert_true(loom_handle_when(h) >= t0 + 1.999 && loom_handle_when(h) <= t0 + 2.001);
  LT_RC(loom_call_at(loop, t0 + 2.5, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(r.n, 1);
  /* Times are whole nanoseconds shown as doubles: allow 1 ns of rounding. */
  LT_CHECK(r.at[0] >= t0 + 2.0 - 1e-9, "ran at %.9f, due %.9f", r.at[0], t0 + 2.0);
  loom_handle_release(h);
  loom_loop_destroy(loop);
}

/* Negative and NaN delays and past deadlines run at once (in order); an
 * infinite delay never runs but can be cancelled. */
LOOM_TEST(loop, odd_delays) {
  loom_loop *loop = mk(true);
  rec r = {.loop = loop};
  item it[4] = {{&r, 0}, {&r, 1}, {&r, 2}, {&r, 3}};
  double t0 = loom_loop_time(loop);
  loom_handle *never = NULL;
  LT_RC(loom_call_later(loop, -5.0, note, &it[0], NULL), 0);
  LT_RC(loom_call_later(loop, NAN, note, &it[1], NULL), 0);
  LT_RC(loom_call_at(loop, t0 - 100.0, note, &it[2], NULL), 0);
  LT_RC(loom_call_later(loop, INFINITY, note, &it[3], &never), 0);
  LT_RC(loom_call_later(loop, 0.001, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(r.n, 3);
  /* The past deadline sorts first; -5 and NaN both mean "now", in order. */
  assert_int_equal(r.order[0], 2);
  assert_int_equal(r.order[1], 0);
  assert_int_equal(r.order[2], 1);
  assert_true(r.at[2] - t0 < 1e-6); /* no time passed for them */
  loom_handle_cancel(never);
  loom_handle_release(never);
  LT_RC(loom_call_later(NULL, 1, note, &it[0], NULL), LOOM_EINVAL);
  LT_RC(loom_call_soon(loop, NULL, NULL, NULL), LOOM_EINVAL);
  loom_loop_destroy(loop);
}

/* A timer callback re-arming itself for "now" does not starve fds and
 * callbacks: it runs once per iteration. */
typedef struct rearm {
  loom_loop *loop;
  int timer_runs, soon_runs;
} rearm;
static void rearm_timer(void *arg) {
  rearm *r = arg;
  if (++r->timer_runs < 1000) loom_call_later(r->loop, 0, rearm_timer, r, NULL);
}
static void soon_counter(void *arg) {
  rearm *r = arg;
  if (++r->soon_runs == 10) loom_loop_stop(r->loop);
  else loom_call_soon(r->loop, soon_counter, r, NULL);
}

LOOM_TEST(loop, zero_delay_rearm_does_not_starve) {
  loom_loop *loop = mk(false);
  rearm r = {.loop = loop};
  LT_RC(loom_call_later(loop, 0, rearm_timer, &r, NULL), 0);
  LT_RC(loom_call_soon(loop, soon_counter, &r, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(r.soon_runs, 10);
  LT_CHECK(r.timer_runs <= 11, "the timer ran %d times in 10 iterations", r.timer_runs);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop, call_later_accuracy_real_clock) {
  loom_loop *loop = mk(false);
  rec r = {.loop = loop};
  item a = {&r, 1};
  double t0 = loom_now();
  LT_RC(loom_call_later(loop, 0.05, note, &a, NULL), 0);
  LT_RC(loom_call_later(loop, 0.06, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  double took = r.at[0] - t0;
  assert_int_equal(r.n, 1);
  LT_CHECK(took >= 0.049, "a 50 ms timer fired after %.4f s", took);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop, cancelled_handles_never_run) {
  loom_loop *loop = mk(true);
  rec r = {.loop = loop};
  item it[6];
  loom_handle *h[6];
  for (int i = 0; i < 6; i++) {
    it[i] = (item){&r, i};
    if (i < 3) LT_RC(loom_call_soon(loop, note, &it[i], &h[i]), 0);
    else LT_RC(loom_call_later(loop, 0.1 * i, note, &it[i], &h[i]), 0);
  }
  loom_handle_cancel(h[1]);
  loom_handle_cancel(h[4]);
  loom_handle_cancel(h[4]); /* twice is fine */
  assert_true(loom_handle_cancelled(h[1]));
  assert_false(loom_handle_cancelled(h[0]));
  LT_RC(loom_call_later(loop, 1.0, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  int want[4] = {0, 2, 3, 5};
  assert_int_equal(r.n, 4);
  for (int i = 0; i < 4; i++) assert_int_equal(r.order[i], want[i]);
  loom_handle_cancel(h[0]); /* after it ran: a no-op */
  for (int i = 0; i < 6; i++) loom_handle_release(h[i]);
  loom_loop_destroy(loop);
}

/* A callback cancels a timer due in the same iteration: it must not run. */
typedef struct cancel_ctx {
  loom_handle *victim;
  int victim_ran;
} cancel_ctx;
static void cancel_victim(void *arg) { loom_handle_cancel(((cancel_ctx *)arg)->victim); }
static void victim(void *arg) { ((cancel_ctx *)arg)->victim_ran++; }

LOOM_TEST(loop, cancel_from_callback_same_deadline) {
  loom_loop *loop = mk(true);
  cancel_ctx c = {0};
  LT_RC(loom_call_later(loop, 0.1, cancel_victim, &c, NULL), 0);
  LT_RC(loom_call_later(loop, 0.1, victim, &c, &c.victim), 0);
  LT_RC(loom_call_later(loop, 0.2, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(c.victim_ran, 0);
  loom_handle_release(c.victim);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop, close_drops_pending_handles) {
  loom_loop *loop = mk(false);
  rec r = {.loop = loop};
  item a = {&r, 1};
  loom_handle *kept = NULL;
  LT_RC(loom_call_soon(loop, note, &a, NULL), 0);
  LT_RC(loom_call_later(loop, 100, note, &a, &kept), 0);
  LT_RC(loom_call_later(loop, 50, note, &a, NULL), 0);
  LT_RC(loom_call_soon_threadsafe(loop, note, &a, NULL), 0);
  LT_RC(loom_loop_close(loop), 0);
  assert_int_equal(r.n, 0);
  loom_handle_cancel(kept); /* still valid after close */
  loom_handle_release(kept);
  loom_loop_destroy(loop); /* the harness checks nothing leaked */
}

LOOM_TEST(loop, virtual_clock_hour_timer_is_instant) {
  loom_loop *loop = mk(false);
  LT_RC(loom_loop_set_virtual_clock(loop, true), 0);
  rec r = {.loop = loop};
  item a = {&r, 1};
  double t0 = loom_loop_time(loop), real0 = loom_now();
  LT_RC(loom_call_later(loop, 3600.0, note, &a, NULL), 0);
  LT_RC(loom_call_later(loop, 3600.5, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(r.n, 1);
  LT_CHECK(r.at[0] - t0 >= 3599.999, "virtual elapsed %.3f", r.at[0] - t0);
  LT_CHECK(loom_now() - real0 < 30.0, "an hour of virtual time took %.3f s real",
           loom_now() - real0);
  /* Back to the real clock: time never goes backwards. */
  double tv = loom_loop_time(loop);
  LT_RC(loom_loop_set_virtual_clock(loop, false), 0);
  assert_true(loom_loop_time(loop) >= tv);
  loom_loop_destroy(loop);
}

static int icb_counter;
static void count_cb(void *arg) { icb_counter++; }

/* run_until_complete on a future completed by a loop callback. */
static void finish_future(void *arg) { loom_future_set_result(arg, (void *)(intptr_t)42, NULL); }

LOOM_TEST(loop, run_until_complete_local) {
  loom_loop *loop = mk(true);
  loom_future *f = NULL;
  LT_RC(loom_future_create(&f), 0);
  LT_RC(loom_call_later(loop, 5.0, finish_future, f, NULL), 0);
  LT_RC(loom_loop_run_until_complete(loop, f), 0);
  void *v = NULL;
  LT_RC(loom_future_result(f, 0, &v), 0);
  assert_int_equal((intptr_t)v, 42);
  /* Already done: returns after one iteration. */
  LT_RC(loom_loop_run_until_complete(loop, f), 0);
  /* Afterwards the loop sleeps (jumps) normally again: a later timer fires
   * after one blocking iteration instead of the loop spinning. */
  icb_counter = 0;
  LT_RC(loom_call_later(loop, 10.0, count_cb, NULL, NULL), 0);
  double t0 = loom_loop_time(loop);
  LT_RC(loom__loop_run_once(loop, false), 0);
  assert_int_equal(icb_counter, 1);
  assert_true(loom_loop_time(loop) - t0 >= 10.0 - 1e-6);
  LT_RC(loom_loop_run_until_complete(loop, NULL), LOOM_EINVAL);
  loom_future_release(f);
  loom_loop_destroy(loop);
}

LOOM_TEST(loop, run_until_complete_stopped_early) {
  loom_loop *loop = mk(true);
  loom_future *f = NULL;
  LT_RC(loom_future_create(&f), 0);
  LT_RC(loom_call_soon(loop, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_until_complete(loop, f), LOOM_EINVALIDSTATE);
  assert_false(loom_future_done(f));
  LT_RC(loom_future_set_result(f, NULL, NULL), 0);
  loom_future_release(f);
  loom_loop_destroy(loop);
}

/* Stall detector: a callback that spins 200 ms with a 50 ms threshold.
 * (Counts are lower bounds: on a loaded machine a preempted callback may be
 * slow too.) */
static int reports;
static char all_reports[4096];
static void on_report(void *ctx, const char *line) {
  reports++;
  size_t n = strlen(all_reports);
  snprintf(all_reports + n, sizeof all_reports - n, "%s\n", line);
}
static void slow(void *arg) {
  int64_t end = loom_now_ns() + 200 * 1000000;
  while (loom_now_ns() < end) {
  }
}
static const char *hook_name(loom_loop *loop, void *ctx) { return ctx; }

LOOM_TEST(loop, slow_callback_reported) {
  loom_loop *loop = mk(false);
  loom_set_report_handler(on_report, NULL);
  reports = 0;
  all_reports[0] = 0;
  LT_RC(loom_loop_set_slow_callback_threshold(loop, 0.05), 0);
  LT_RC(loom_call_soon(loop, slow, NULL, NULL), 0);
  LT_RC(loom_call_soon(loop, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_true(loom_loop_slow_callback_count(loop) >= 1);
  assert_true(reports >= 1);
  LT_CHECK(strstr(all_reports, "slow callback") != NULL, "%s", all_reports);
  LT_CHECK(strstr(all_reports, "blocked the loop for ") != NULL, "no duration: %s", all_reports);
  /* With the task layer's hook, the report names the task. */
  all_reports[0] = 0;
  loom__loop_hooks hk = {.running_name = hook_name, .ctx = "worker-7"};
  loom__loop_set_hooks(loop, &hk);
  LT_RC(loom_call_later(loop, 0, slow, NULL, NULL), 0);
  LT_RC(loom_call_later(loop, 0.001, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_true(loom_loop_slow_callback_count(loop) >= 2);
  LT_CHECK(strstr(all_reports, "worker-7") != NULL, "%s", all_reports);
  /* Off: nothing is reported any more. */
  LT_RC(loom_loop_set_slow_callback_threshold(loop, 0), 0);
  unsigned long before = loom_loop_slow_callback_count(loop);
  LT_RC(loom_call_soon(loop, slow, NULL, NULL), 0);
  LT_RC(loom_call_soon(loop, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(loom_loop_slow_callback_count(loop), before);
  loom__loop_set_hooks(loop, NULL);
  loom_set_report_handler(NULL, NULL);
  loom_loop_destroy(loop);
}

/* Internal API: intrusive callbacks, timers and the close hook. */
typedef struct icb {
  loom__callback cb;
  loom__timer t;
  int calls, fired;
} icb;
static void icb_run(loom__callback *cb) { LOOM__CONTAINER_OF(cb, icb, cb)->calls++; }
static void icb_fire(loom__timer *t) { LOOM__CONTAINER_OF(t, icb, t)->fired++; }
static void close_hook(loom_loop *loop, void *ctx) {
  (*(int *)ctx)++;
  assert_int_equal(loom__loop_run_once(loop, true), 0);
}

LOOM_TEST(loop, internal_callbacks_timers_hooks) {
  loom_loop *loop = mk(true);
  icb a = {0};
  loom__callback_init(&a.cb, icb_run);
  loom__timer_init(&a.t, icb_fire);
  loom__loop_post(loop, &a.cb);
  assert_false(loom__timer_active(&a.t));
  LT_RC(loom__timer_start(loop, &a.t, loom__loop_now(loop) + 1000000000), 0);
  assert_true(loom__timer_active(&a.t));
  LT_RC(loom__timer_start(loop, &a.t, loom__loop_now(loop) + 2000000000), 0); /* re-arm */
  LT_RC(loom__loop_run_once(loop, true), 0);
  assert_int_equal(a.calls, 1);
  assert_int_equal(a.fired, 0);
  int64_t before = loom__loop_now(loop);
  LT_RC(loom__loop_run_once(loop, false), 0); /* virtual: jumps to the timer */
  assert_int_equal(a.fired, 1);
  assert_true(loom__loop_now(loop) - before >= 1999999999);
  LT_RC(loom__timer_start(loop, &a.t, loom__loop_now(loop) + 5), 0);
  loom__timer_stop(loop, &a.t);
  loom__timer_stop(loop, &a.t);
  assert_false(loom__timer_active(&a.t));
  void **slot = loom__loop_task_slot(loop);
  assert_null(*slot);
  int closed = 0;
  loom__loop_hooks hk = {.close = close_hook, .ctx = &closed};
  loom__loop_set_hooks(loop, &hk);
  loom__loop_post(loop, &a.cb); /* the hook's run_once runs it */
  LT_RC(loom_loop_close(loop), 0);
  assert_int_equal(closed, 1);
  assert_int_equal(a.calls, 2);
  loom_loop_destroy(loop);
}

/* Heap stress against a reference: random starts, re-arms and stops. */
typedef struct hs {
  loom__timer t;
  int64_t due;
  bool armed;
} hs;
static int64_t hs_last;
static uint64_t hs_last_seq;
static int hs_fired, hs_bad;
static void hs_fire(loom__timer *t) {
  hs *h = LOOM__CONTAINER_OF(t, hs, t);
  if (t->deadline < hs_last || (t->deadline == hs_last && t->seq < hs_last_seq)) hs_bad++;
  if (!h->armed || t->deadline != h->due) hs_bad++;
  hs_last = t->deadline;
  hs_last_seq = t->seq;
  h->armed = false;
  hs_fired++;
}

LOOM_TEST(loop, timer_heap_stress) {
  loom_loop *loop = mk(true);
  enum { N = 5000 };
  hs *v = calloc(N, sizeof *v);
  unsigned seed = 12345;
  int64_t base = loom__loop_now(loop);
  for (int i = 0; i < N; i++) loom__timer_init(&v[i].t, hs_fire);
  int armed = 0;
  for (int round = 0; round < 4 * N; round++) {
    hs *h = &v[rand_r(&seed) % N];
    if (h->armed && rand_r(&seed) % 3 == 0) {
      loom__timer_stop(loop, &h->t);
      h->armed = false;
      armed--;
    } else {
      h->due = base + 1 + rand_r(&seed) % 1000; /* many ties */
      if (!h->armed) armed++;
      h->armed = true;
      LT_RC(loom__timer_start(loop, &h->t, h->due), 0);
    }
  }
  hs_last = 0;
  hs_fired = hs_bad = 0;
  while (hs_fired < armed) LT_RC(loom__loop_run_once(loop, false), 0);
  assert_int_equal(hs_bad, 0);
  assert_int_equal(hs_fired, armed);
  free(v);
  loom_loop_destroy(loop);
}

/* ---- fault sweeps ---------------------------------------------------------- */

static void nop(void *arg) {}

static int fault_create_and_schedule(void *ctx) {
  loom_loop *loop = NULL;
  int rc = loom_loop_create(&loop, NULL);
  if (rc) return rc;
  for (int i = 0; i < 3 && !rc; i++) {
    loom_handle *h = NULL;
    rc = loom_call_later(loop, 0.001 * i, nop, NULL, &h);
    loom_handle_release(h);
  }
  if (!rc) rc = loom_call_soon(loop, nop, NULL, NULL);
  if (!rc) rc = loom_call_soon_threadsafe(loop, stop_cb, loop, NULL);
  if (!rc) rc = loom_loop_run_forever(loop);
  loom_loop_destroy(loop);
  return rc;
}

LOOM_TEST(loop, fault_sweep_create_call_later) {
  int faults = loom_test_fault_sweep(fault_create_and_schedule, NULL, LOOM_FAULT_ALL, 40);
  LT_CHECK(faults >= 5, "only %d runs hit a fault", faults);
}
