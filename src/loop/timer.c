/* timer.c - the loop's timers: a 4-ary min-heap of (deadline, seq).
 *
 * Why this shape: a million pending timers must stay cheap to add, cancel
 * and fire, and at that size every heap level is a cache miss, so the layout
 * is about cache lines, not comparisons.  A slot (loop_impl.h) carries its
 * whole key, so sifting compares without reading any timer, and the array is
 * aligned so that the four children of a node are exactly two adjacent
 * lines.  Sifting down prefetches the next level's lines while it compares
 * the current one, so the misses of two levels overlap.  Four children per
 * node also halve the depth of a binary heap.
 *
 * Two kinds of slot share the heap.  An intrusive loom__timer (tasks'
 * sleeps and timeouts, handles the caller keeps) stores its slot index, so
 * stopping it is O(log n) with no search and no tombstones (a task's timeout
 * stopped early leaves nothing behind that could point at freed memory).  A
 * callback scheduled without a handle lives in the slot itself: scheduling
 * it allocates nothing but the slot, moving it writes no index, and firing
 * it reads nothing else - a million fire-and-forget timers cost 32 bytes
 * each instead of a 64-byte handle plus a slot.
 *
 * The sequence number, taken at every start, is the FIFO tie-break: timers
 * with equal deadlines fire in the order they were started (libuv's
 * start_id), whatever their kind.
 */
#include <string.h>

#include "loop_impl.h"

enum { ARITY = 4, MIN_CAP = 64, LINE = 64 };

static inline bool ent_less(const loom__heap_ent *a, const loom__heap_ent *b) {
  return a->deadline < b->deadline || (a->deadline == b->deadline && a->key < b->key);
}

static inline void place(loom__heap_ent *h, size_t i, loom__heap_ent e) {
  h[i] = e;
  if (!loom__heap_ent_inline(&e)) e.u.t->index = (uint32_t)i;
}

/* Inlined into its callers so that e stays in registers. */
static inline __attribute__((always_inline)) void sift_up(loom__heap_ent *h, size_t i,
                                                          loom__heap_ent e) {
  while (i > 0) {
    size_t p = (i - 1) / ARITY;
    if (!ent_less(&e, &h[p])) break;
    place(h, i, h[p]);
    i = p;
  }
  place(h, i, e);
}

/* The smallest of the children c..end-1 (c < end).  A full group is a
 * tournament of three compares, two of them independent. */
static inline size_t min_child(const loom__heap_ent *h, size_t c, size_t end) {
  if (end - c == ARITY) {
    size_t a = ent_less(&h[c + 1], &h[c]) ? c + 1 : c;
    size_t b = ent_less(&h[c + 3], &h[c + 2]) ? c + 3 : c + 2;
    return ent_less(&h[b], &h[a]) ? b : a;
  }
  size_t best = c;
  for (size_t j = c + 1; j < end; j++)
    if (ent_less(&h[j], &h[best])) best = j;
  return best;
}

/* Fetch the sibling groups below c..c+3 (two lines each). */
static inline void prefetch_below(const loom__heap_ent *h, size_t c, size_t n) {
  size_t g = c * ARITY + 1;
  for (size_t k = 0; k < ARITY && g + k * ARITY < n; k++) {
    __builtin_prefetch(&h[g + k * ARITY]);
    __builtin_prefetch(&h[g + k * ARITY + 2]);
  }
}

static inline __attribute__((always_inline)) void sift_down(loom__heap_ent *h, size_t n,
                                                            size_t i, loom__heap_ent e) {
  for (;;) {
    size_t c = i * ARITY + 1;
    if (c >= n) break;
    prefetch_below(h, c, n);
    size_t best = min_child(h, c, c + ARITY < n ? c + ARITY : n);
    if (!ent_less(&h[best], &e)) break;
    place(h, i, h[best]);
    i = best;
  }
  place(h, i, e);
}

/* Removing the root: the replacement (the last slot) almost always belongs
 * near the bottom, so walk the hole down to a leaf along the smallest
 * children without comparing it, then sift it up from there (Floyd). */
static inline __attribute__((always_inline)) void pop_hole(loom__heap_ent *h, size_t n,
                                                           loom__heap_ent e) {
  size_t i = 0;
  for (;;) {
    size_t c = i * ARITY + 1;
    if (c >= n) break;
    prefetch_below(h, c, n);
    size_t best = min_child(h, c, c + ARITY < n ? c + ARITY : n);
    place(h, i, h[best]);
    i = best;
  }
  sift_up(h, i, e);
}

/* Put e at slot i (a hole), moving it whichever way the order needs. */
static void reseat(loom_loop *loop, size_t i, loom__heap_ent e) {
  if (i > 0 && ent_less(&e, &loop->heap[(i - 1) / ARITY])) sift_up(loop->heap, i, e);
  else sift_down(loop->heap, loop->heap_len, i, e);
}

/* The slot 0 of a heap in mem: placed so that slot 1, and so every group of
 * siblings 4i+1..4i+4, starts a cache line. */
static loom__heap_ent *heap_in(void *mem) {
  uintptr_t first = ((uintptr_t)mem + sizeof(loom__heap_ent) + LINE - 1) & ~(uintptr_t)(LINE - 1);
  return (loom__heap_ent *)(first - sizeof(loom__heap_ent));
}

/* Grow to cap slots.  realloc (mremap for big heaps: no copy, no fresh page
 * faults), then move the slots only if the new block's alignment differs. */
static int heap_realloc(loom_loop *loop, size_t cap) {
  _Static_assert(sizeof(loom__heap_ent) * ARITY == 2 * LINE, "siblings fill two lines");
  size_t old_off = loop->heap_mem ? (size_t)((char *)loop->heap - (char *)loop->heap_mem) : 0;
  char *mem = loom__realloc(loop->heap_mem, cap * sizeof(loom__heap_ent) + LINE);
  if (!mem) return LOOM_ENOMEM;
  loom__heap_ent *h = heap_in(mem);
  if (loop->heap_len && (char *)h != mem + old_off)
    memmove(h, mem + old_off, loop->heap_len * sizeof *h);
  loop->heap_mem = mem;
  loop->heap = h;
  loop->heap_cap = (uint32_t)cap;
  return 0;
}

int loom__timer_reserve(loom_loop *loop, uint32_t extra) {
  if (extra <= loop->heap_cap - loop->heap_len) return 0;
  uint64_t want = (uint64_t)loop->heap_len + extra;
  if (want >= LOOM__TIMER_IDLE) return LOOM_ENOMEM;
  uint64_t cap = loop->heap_cap ? loop->heap_cap : MIN_CAP;
  while (cap < want) cap *= 2;
  if (cap >= LOOM__TIMER_IDLE) cap = LOOM__TIMER_IDLE - 1;
  return heap_realloc(loop, (size_t)cap);
}

/* Append e and sift it into place. */
static int heap_push(loom_loop *loop, loom__heap_ent e) {
  if (loop->heap_len == loop->heap_cap) {
    int rc = loom__timer_reserve(loop, 1);
    if (rc) return rc;
  }
  sift_up(loop->heap, loop->heap_len++, e);
  return 0;
}

int loom__timer_start(loom_loop *loop, loom__timer *t, int64_t deadline) {
  loop->hot.handoff_credit = 0; /* the next hand-off looks at the heap (loop.c) */
  t->deadline = deadline;
  t->seq = loop->timer_seq++;
  loom__heap_ent e = {deadline, t->seq << 1, {.t = t}, NULL};
  if (loom__timer_active(t)) {
    reseat(loop, t->index, e);
    return 0;
  }
  return heap_push(loop, e);
}

int loom__timer_call_at(loom_loop *loop, int64_t deadline, loom_callback_fn fn, void *arg) {
  loop->hot.handoff_credit = 0;
  loom__heap_ent e = {deadline, loop->timer_seq << 1 | 1, {.fn = fn}, arg};
  int rc = heap_push(loop, e);
  if (!rc) loop->timer_seq++; /* a failed push must not leave a hole in seq order */
  return rc;
}

void loom__timer_stop(loom_loop *loop, loom__timer *t) {
  uint32_t i = t->index;
  if (i == LOOM__TIMER_IDLE) return;
  t->index = LOOM__TIMER_IDLE;
  uint32_t last = --loop->heap_len;
  if (i != last) reseat(loop, i, loop->heap[last]);
}

/* Remove and return the earliest slot. */
static loom__heap_ent pop_min(loom_loop *loop) {
  loom__heap_ent top = loop->heap[0];
  if (!loom__heap_ent_inline(&top)) top.u.t->index = LOOM__TIMER_IDLE;
  uint32_t last = --loop->heap_len;
  if (last) {
    pop_hole(loop->heap, last, loop->heap[last]);
    if (!loom__heap_ent_inline(&loop->heap[0]))
      __builtin_prefetch(loop->heap[0].u.t); /* the next to fire, while this one runs */
  }
  return top;
}

static inline void fire(loom__heap_ent *e) {
  if (loom__heap_ent_inline(e)) e->u.fn(e->arg);
  else e->u.t->fn(e->u.t);
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
  uint64_t limit = loop->timer_seq << 1;
  int64_t horizon = loop->now + (loop->virtual_clock ? VIRTUAL_SLACK_NS : 0);
  while (loop->heap_len && loop->heap[0].deadline <= horizon && loop->heap[0].key < limit) {
    if (loop->heap[0].deadline > loop->now) loop->now = loop->heap[0].deadline; /* virtual */
    loom__heap_ent e = pop_min(loop);
    if (LOOM__UNLIKELY(loop->hot.slow_ns)) {
      int64_t t0 = loom_now_ns();
      fire(&e);
      loom__loop_check_slow(loop, t0, "a timer callback");
    } else {
      fire(&e);
    }
  }
}

bool loom__timers_quiet_until(const loom_loop *loop, int64_t until) {
  if (!loop->heap_len) return true;
  /* The horizon loom__timers_run would use: ready work keeps the virtual
   * clock standing, so only its own slack counts. */
  int64_t horizon = loop->virtual_clock ? loop->now + VIRTUAL_SLACK_NS : until;
  return loop->heap[0].deadline > horizon;
}

void loom__timers_fini(loom_loop *loop) {
  loom__free(loop->heap_mem);
  loop->heap_mem = NULL;
  loop->heap = NULL;
  loop->heap_len = loop->heap_cap = 0;
}
