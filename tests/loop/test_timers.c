/* test_timers.c - the timer heap's two kinds of slot (src/loop/timer.c):
 * callbacks scheduled without a handle (stored in the slot), handles and
 * intrusive loom__timers.  Ties across kinds keep start order, cancelling a
 * handle among inline slots, re-arming an intrusive timer among them, close
 * with inline slots pending, a million timers in deadline order, and a fault
 * sweep over the heap's growth. */
#include <stdlib.h>

#include "loom_test.h"
#include "core/internal.h"
#include "loop/loop_internal.h"

#if defined(LOOM_TSAN)
enum { MILLION = 200000 }; /* TSan: same paths, a fifth of the time */
#else
enum { MILLION = 1000000 };
#endif

static loom_loop *mk_virtual(void) {
  loom_loop *loop = NULL;
  loom_loop_options o = {.virtual_clock = true};
  LT_RC(loom_loop_create(&loop, &o), 0);
  return loop;
}

static void stop_cb(void *arg) { loom_loop_stop(arg); }

/* ---- order across kinds --------------------------------------------------- */

typedef struct log {
  int order[64];
  int n;
} log_t;

typedef struct tag {
  log_t *log;
  int id;
  loom__timer timer; /* for the intrusive kind */
} tag;

static void note(void *arg) {
  tag *t = arg;
  t->log->order[t->log->n++] = t->id;
}

static void note_timer(loom__timer *tm) { note(LOOM__CONTAINER_OF(tm, tag, timer)); }

/* Equal deadlines fire in start order whatever the kind: inline (no handle),
 * handle, intrusive timer, interleaved. */
LOOM_TEST(timers, equal_deadlines_keep_start_order_across_kinds) {
  loom_loop *loop = mk_virtual();
  log_t log = {0};
  tag tags[12];
  loom_handle *hs[12] = {0};
  double when = loom_loop_time(loop) + 0.5;
  for (int i = 0; i < 12; i++) {
    tags[i] = (tag){.log = &log, .id = i};
    switch (i % 3) {
    case 0: LT_RC(loom_call_at(loop, when, note, &tags[i], NULL), 0); break;
    case 1: LT_RC(loom_call_at(loop, when, note, &tags[i], &hs[i]), 0); break;
    default:
      loom__timer_init(&tags[i].timer, note_timer);
      /* ns rounded to the nearest, as loom_call_at converts it */
      LT_RC(loom__timer_start(loop, &tags[i].timer, (int64_t)(when * 1e9 + 0.5)), 0);
    }
  }
  LT_RC(loom_call_at(loop, when + 0.1, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(log.n, 12);
  for (int i = 0; i < 12; i++) LT_CHECK(log.order[i] == i, "slot %d ran %d", i, log.order[i]);
  for (int i = 0; i < 12; i++) loom_handle_release(hs[i]);
  loom_loop_destroy(loop);
}

/* Re-arming an intrusive timer takes a new place in the tie order: after
 * the inline callbacks started before the re-arm. */
LOOM_TEST(timers, rearm_moves_behind_equal_inline_slots) {
  loom_loop *loop = mk_virtual();
  log_t log = {0};
  tag a = {.log = &log, .id = 0}, b = {.log = &log, .id = 1}, c = {.log = &log, .id = 2};
  double w = loom_loop_time(loop) + 0.001;
  int64_t when = (int64_t)(w * 1e9 + 0.5); /* as loom_call_at converts it */
  loom__timer_init(&a.timer, note_timer);
  LT_RC(loom__timer_start(loop, &a.timer, when), 0);
  LT_RC(loom_call_at(loop, w, note, &b, NULL), 0);
  LT_RC(loom__timer_start(loop, &a.timer, when), 0); /* re-armed: now after b */
  LT_RC(loom_call_at(loop, w, note, &c, NULL), 0);
  LT_RC(loom_call_later(loop, 0.01, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(log.n, 3);
  int want[3] = {1, 0, 2};
  for (int i = 0; i < 3; i++) LT_CHECK(log.order[i] == want[i], "slot %d ran %d", i, log.order[i]);
  loom_loop_destroy(loop);
}

/* ---- cancel among inline slots -------------------------------------------- */

typedef struct mixed {
  int64_t last_due;   /* deadlines seen so far never go down */
  int bad, ran, cancelled_ran;
} mixed;

typedef struct mtag {
  mixed *m;
  int64_t due;
  bool cancelled;
} mtag;

static void mixed_fire(void *arg) {
  mtag *t = arg;
  mixed *m = t->m;
  if (t->due < m->last_due) m->bad++;
  m->last_due = t->due;
  if (t->cancelled) m->cancelled_ran++;
  m->ran++;
}

/* Handles cancelled at random among many inline slots never run; every
 * other timer runs once, in deadline order, and the heap (whose slots the
 * cancellations move) stays consistent. */
LOOM_TEST(timers, cancel_handles_among_inline_slots) {
  loom_loop *loop = mk_virtual();
  enum { N = 20000 };
  mtag *tags = calloc(N, sizeof *tags);
  loom_handle **hs = calloc(N, sizeof *hs);
  mixed m = {0};
  unsigned seed = 7;
  for (int i = 0; i < N; i++) {
    tags[i] = (mtag){&m, 0, false};
    double d = (rand_r(&seed) % 100000) / 1e5;
    LT_RC(loom_call_later(loop, d, mixed_fire, &tags[i], i % 4 == 0 ? &hs[i] : NULL), 0);
    tags[i].due = loom__loop_now(loop) + (int64_t)(d * 1e9 + 0.5); /* the clock stands still */
  }
  int cancelled = 0;
  for (int i = 0; i < N; i += 4)
    if (rand_r(&seed) % 2) {
      tags[i].cancelled = true;
      loom_handle_cancel(hs[i]);
      cancelled++;
    }
  LT_RC(loom_call_later(loop, 2.0, stop_cb, loop, NULL), 0);
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(m.cancelled_ran, 0);
  assert_int_equal(m.ran, N - cancelled);
  assert_int_equal(m.bad, 0);
  for (int i = 0; i < N; i++) loom_handle_release(hs[i]);
  free(hs);
  free(tags);
  loom_loop_destroy(loop);
}

/* ---- close ------------------------------------------------------------------ */

static void must_not_run(void *arg) { (*(int *)arg)++; }

/* Closing drops pending inline slots, handles and all, without running them
 * (the harness checks nothing leaked). */
LOOM_TEST(timers, close_drops_inline_slots) {
  loom_loop *loop = mk_virtual();
  int ran = 0;
  loom_handle *h = NULL;
  for (int i = 0; i < 1000; i++) LT_RC(loom_call_later(loop, 1.0 + i, must_not_run, &ran, NULL), 0);
  LT_RC(loom_call_later(loop, 0.5, must_not_run, &ran, &h), 0);
  LT_RC(loom_loop_close(loop), 0);
  LT_RC(loom_call_later(loop, 0, must_not_run, &ran, NULL), LOOM_ECLOSED);
  assert_false(loom_handle_cancelled(h));
  loom_handle_release(h);
  loom_loop_destroy(loop);
  assert_int_equal(ran, 0);
}

/* ---- a million ---------------------------------------------------------------- */

typedef struct big {
  loom_loop *loop;
  int64_t last;
  long left, bad;
} big;

static void big_fire(void *arg) {
  big *b = arg;
  int64_t now = loom__loop_now(b->loop);
  if (now < b->last) b->bad++; /* the loop's clock stands at each deadline */
  b->last = now;
  if (--b->left == 0) loom_loop_stop(b->loop);
}

/* A million fire-and-forget timers over one virtual second: all fire, the
 * clock never steps back, and it ends at the last deadline, not past it. */
LOOM_TEST_T(timers, million_inline_timers, 120) {
  loom_loop *loop = mk_virtual();
  big b = {.loop = loop, .left = MILLION};
  uint64_t s = 42;
  int64_t start = loom__loop_now(loop), max_due = 0;
  for (long i = 0; i < MILLION; i++) {
    s ^= s >> 12, s ^= s << 25, s ^= s >> 27;
    int64_t d = (int64_t)((s * 2685821657736338717ull) % 1000000000ull);
    if (start + d > max_due) max_due = start + d;
    LT_RC(loom__timer_call_at(loop, start + d, big_fire, &b), 0);
  }
  LT_RC(loom_loop_run_forever(loop), 0);
  assert_int_equal(b.left, 0);
  assert_int_equal(b.bad, 0);
  LT_CHECK(b.last == max_due, "last fired at %lld, last deadline %lld", (long long)b.last,
           (long long)max_due);
  loom_loop_destroy(loop);
}

/* ---- fault sweep ----------------------------------------------------------- */

typedef struct sweep {
  int ran, want;
} sweep;

static void sweep_fire(void *arg) { ((sweep *)arg)->ran++; }

/* Enough timers for the heap to grow four times, half with handles; a
 * failure leaves the loop usable and the timers already started intact. */
static int fault_many_timers(void *ctx) {
  (void)ctx;
  loom_loop *loop = NULL;
  loom_loop_options o = {.virtual_clock = true};
  int rc = loom_loop_create(&loop, &o);
  if (rc) return rc;
  sweep sw = {0};
  for (int i = 0; i < 600 && !rc; i++) {
    loom_handle *h = NULL;
    rc = loom_call_later(loop, (i * 37 % 600) / 1000.0, sweep_fire, &sw, i % 2 ? &h : NULL);
    if (!rc) sw.want++;
    loom_handle_release(h);
  }
  int rc2 = loom_call_later(loop, 1.0, stop_cb, loop, NULL);
  if (!rc2) rc2 = loom_loop_run_forever(loop);
  if (!rc2 && sw.ran != sw.want) rc2 = LOOM_EINVALIDSTATE; /* a started timer was lost */
  loom_loop_destroy(loop);
  return rc ? rc : rc2;
}

LOOM_TEST(timers, fault_sweep_heap_growth) {
  int faults = loom_test_fault_sweep(fault_many_timers, NULL, LOOM_FAULT_ALL, 60);
  LT_CHECK(faults >= 5, "only %d runs hit a fault", faults);
}
