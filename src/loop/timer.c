/* timer.c - the loop's timers: a 4-ary min-heap of (deadline, seq).
 *
 * Why this shape: a million pending timers must stay cheap to add, cancel
 * and fire.  The heap is an array of 24-byte slots holding the key itself
 * (deadline and a sequence number) and the timer pointer, so sifting compares
 * keys without chasing pointers; four children per node halve the depth of a
 * binary heap and keep a node's children in 1.5 cache lines.  Each timer
 * stores its slot index, so stopping one is O(log n) with no search and no
 * tombstones (bulk cancellation leaves nothing behind to skip later).  The
 * sequence number, taken at every start, is the FIFO tie-break: timers with
 * equal deadlines fire in the order they were started (libuv's start_id).
 */
#include "loop_impl.h"

enum { ARITY = 4, MIN_CAP = 64 };

static inline bool ent_less(const loom__heap_ent *a, const loom__heap_ent *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static inline void place(loom__heap_ent *h, uint32_t i, loom__heap_ent e) {
  h[i] = e;
  e.t->index = i;
}

static void sift_up(loom_loop *loop, uint32_t i, loom__heap_ent e) {
  loom__heap_ent *h = loop->heap;
  while (i > 0) {
    uint32_t p = (i - 1) / ARITY;
    if (!ent_less(&e, &h[p])) break;
    place(h, i, h[p]);
    i = p;
  }
  place(h, i, e);
}

static void sift_down(loom_loop *loop, uint32_t i, loom__heap_ent e) {
  loom__heap_ent *h = loop->heap;
  uint32_t n = loop->heap_len;
  for (;;) {
    uint32_t c = i * ARITY + 1;
    if (c >= n) break;
    uint32_t end = c + ARITY < n ? c + ARITY : n, best = c;
    for (uint32_t j = c + 1; j < end; j++)
      if (ent_less(&h[j], &h[best])) best = j;
    if (!ent_less(&h[best], &e)) break;
    place(h, i, h[best]);
    i = best;
  }
  place(h, i, e);
}

/* Put e at slot i (a hole), moving it whichever way the order needs. */
static void reseat(loom_loop *loop, uint32_t i, loom__heap_ent e) {
  if (i > 0 && ent_less(&e, &loop->heap[(i - 1) / ARITY])) sift_up(loop, i, e);
  else sift_down(loop, i, e);
}

int loom__timer_reserve(loom_loop *loop, uint32_t extra) {
  if (extra <= loop->heap_cap - loop->heap_len) return 0;
  uint64_t want = (uint64_t)loop->heap_len + extra;
  if (want >= LOOM__TIMER_IDLE) return LOOM_ENOMEM;
  uint64_t cap = loop->heap_cap ? loop->heap_cap : MIN_CAP;
  while (cap < want) cap *= 2;
  if (cap >= LOOM__TIMER_IDLE) cap = LOOM__TIMER_IDLE - 1;
  loom__heap_ent *h = loom__realloc(loop->heap, cap * sizeof *h);
  if (!h) return LOOM_ENOMEM;
  loop->heap = h;
  loop->heap_cap = (uint32_t)cap;
  return 0;
}

int loom__timer_start(loom_loop *loop, loom__timer *t, int64_t deadline) {
  loom__heap_ent e = {deadline, loop->timer_seq++, t};
  t->deadline = deadline;
  t->seq = e.seq;
  if (loom__timer_active(t)) {
    reseat(loop, t->index, e);
    return 0;
  }
  if (loop->heap_len == loop->heap_cap) {
    int rc = loom__timer_reserve(loop, 1);
    if (rc) return rc;
  }
  sift_up(loop, loop->heap_len++, e);
  return 0;
}

void loom__timer_stop(loom_loop *loop, loom__timer *t) {
  uint32_t i = t->index;
  if (i == LOOM__TIMER_IDLE) return;
  t->index = LOOM__TIMER_IDLE;
  uint32_t last = --loop->heap_len;
  if (i != last) reseat(loop, i, loop->heap[last]);
}

/* Remove and return the earliest timer. */
static loom__timer *pop_min(loom_loop *loop) {
  loom__timer *t = loop->heap[0].t;
  t->index = LOOM__TIMER_IDLE;
  uint32_t last = --loop->heap_len;
  if (last) sift_down(loop, 0, loop->heap[last]);
  return t;
}

/* Virtual clock: timers due within this much after the one the clock jumped
 * to fire in the same pass, the clock stepping forward to each one's
 * deadline.  Deadlines taken in the same iteration differ by the real time
 * spent between them (microseconds); without this they would wake in
 * different iterations in an order that depends on the machine's speed. */
enum { VIRTUAL_SLACK_NS = 1000000 };

void loom__timers_run(loom_loop *loop) {
  /* Only timers started before this pass: one re-arming itself for "now"
   * waits for the next iteration instead of spinning here. */
  uint64_t limit = loop->timer_seq;
  int64_t horizon = loop->now + (loop->virtual_clock ? VIRTUAL_SLACK_NS : 0);
  while (loop->heap_len && loop->heap[0].deadline <= horizon && loop->heap[0].seq < limit) {
    if (loop->heap[0].deadline > loop->now) loop->now = loop->heap[0].deadline; /* virtual */
    loom__timer *t = pop_min(loop);
    if (LOOM__UNLIKELY(loop->slow_ns)) {
      int64_t t0 = loom_now_ns();
      t->fn(t);
      loom__loop_check_slow(loop, t0, "a timer callback");
    } else {
      t->fn(t);
    }
  }
}

void loom__timers_fini(loom_loop *loop) {
  loom__free(loop->heap);
  loop->heap = NULL;
  loop->heap_len = loop->heap_cap = 0;
}
