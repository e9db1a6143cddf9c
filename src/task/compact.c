/* compact.c - the compact idle-stack mode: a sleeping compact task keeps its
 * live stack bytes in a right-sized heap record instead of whole pages.
 *
 * When a compact task suspends in loom_sleep it returns to the loop (no
 * direct hand-off: park.c), and loom__task_step, back on the loop's stack,
 * calls loom__compact_park: the bytes [saved stack pointer, stack top) - the
 * task's call frames and, at the very top, its loom__task_frame (saved
 * registers, timer, waiter pointer) - are copied to the heap and the stack's
 * pages are released.  The task keeps its stack slot (the address range),
 * because the saved frames hold absolute pointers into it:
 * loom__compact_restore copies the bytes back to the same addresses before
 * anything switches to the task again or reads its frame.  Nothing else
 * runs on that slot meanwhile, so this is exact, including ASan's shadow of
 * the slot, which is left as it was.
 *
 * Pointers into the stack held by others.  Only a sleep is compacted: the
 * one thing outside the stack that points into it then is the loop's timer
 * heap (the frame's timer; the sleep's waiter is reached only through the
 * frame, by that timer and by loom_task_cancel).  So the timer moves to the
 * record (stopped on the stack, started on the record with the same
 * deadline: a stop makes room, so the start cannot fail), and when it
 * fires it fires a copy of the waiter kept in the record.  Restore copies
 * the bytes back, brings the stack waiter's state up to date from the copy
 * and moves a still-armed timer back.  loom_task_cancel, dumps and renames
 * restore first, then act on the real frame.  Every other wait links nodes
 * on the task's stack into a primitive (a future's waiter list, a queue...),
 * which may touch them at any time, from any thread: those waits are never
 * compacted.  Pointers that user code hands out to its own locals are the
 * user's business (loom/task.h, docs/compact.md).  Where the kernel has
 * MADV_GUARD_INSTALL the released pages are guard pages until restore, so
 * breaking that rule crashes at once instead of corrupting quietly.
 *
 * The task struct has no room for a pointer to the record: while the task
 * holds its stack, the stack descriptor's free-list link is unused, and
 * holds it (loom__stack.taker_data).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "task_internal.h"

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE 103
#endif

/* One allocation per compacted sleep, made when the stack goes and freed
 * when it comes back. */
typedef struct loom__compact {
  loom__timer timer;   /* the sleep's deadline while compacted */
  loom__waiter w;      /* the sleep waiter's stand-in while compacted */
  loom__waiter *home;  /* the real waiter, in the saved bytes */
  uint32_t len;        /* bytes saved: the stack top minus the saved sp */
  bool guarded;        /* the released pages are guard pages meanwhile */
  uint64_t saved[];    /* the bytes (a multiple of 8: sp is 8-aligned) */
} loom__compact;

static loom__compact *record_of(const loom__task *t) { return t->stack->taker_data; }

static size_t page_size(void) {
  static _Atomic size_t cached;
  size_t p = atomic_load_explicit(&cached, memory_order_relaxed);
  if (!p) {
    long v = sysconf(_SC_PAGESIZE);
    p = v > 0 ? (size_t)v : 4096;
    atomic_store_explicit(&cached, p, memory_order_relaxed);
  }
  return p;
}

#if defined(LOOM_ASAN)
/* The stack holds poisoned redzones of live frames: ASan must not check
 * this copy.  The shadow itself is left alone, since the same frames come
 * back at the same addresses.  Word by word through volatile, so the
 * compiler cannot turn it into an (intercepted, checking) memcpy. */
__attribute__((no_sanitize_address, noinline)) static void raw_copy(void *dst, const void *src,
                                                                    size_t n) {
  volatile uint64_t *d = dst;
  const volatile uint64_t *s = src;
  for (size_t i = 0; i < n / 8; i++) d[i] = s[i];
}
#else
static void raw_copy(void *dst, const void *src, size_t n) { memcpy(dst, src, n); }
#endif

static uintptr_t stack_top(const loom__task *t) {
  return (uintptr_t)t->stack->lo + t->stack->size;
}

/* The record's timer fired: the sleep is over. */
static void record_timer_fired(loom__timer *tm) {
  loom__compact *cx = LOOM__CONTAINER_OF(tm, loom__compact, timer);
  loom__waiter_fire(&cx->w, LOOM_ETIMEDOUT);
}

/* A compacted task's step while it is posted: its stack comes back, then it
 * steps as usual.  Direct hand-offs take only loom__task_step entries
 * (park.c), so this keeps them away from a compacted task at no cost to
 * the hand-off path. */
static void compact_step(loom__callback *cb) {
  loom__compact_restore(LOOM__CONTAINER_OF(cb, loom__task, step));
  loom__task_step(cb);
}

/* May t's stack go now?  A compact task, suspended in loom_sleep on a
 * waiter that lives on its own stack and has not been fired yet. */
static bool may_compact(const loom__task *t) {
  if (!t->compact || t->compacted || !t->stack || t->finished) return false;
  loom__task_frame *fr = loom__task_frame_of(t);
  if (!fr->sleeping || !fr->park_w || loom__waiter_ready(fr->park_w)) return false;
  uintptr_t sp = loom__coro_saved_sp(&fr->coro), top = stack_top(t), w = (uintptr_t)fr->park_w;
  return sp > (uintptr_t)t->stack->lo && sp < (uintptr_t)fr && w >= sp &&
         w + sizeof *fr->park_w <= top;
}

/* Give the pages under [sp, top) back.  Where guard pages work without
 * extra mappings (MADV_GUARD_INSTALL, the stacks' own guard mode), the
 * pages become guard pages: that frees them too, and whoever touches a
 * compacted stack through a stale pointer crashes (SIGSEGV) instead of
 * silently reading zeros or losing writes.  Else plain MADV_DONTNEED.
 * Returns 0 or -errno; *guarded tells which. */
static int release(uintptr_t sp, uintptr_t top, bool *guarded) {
  uintptr_t from = sp & ~(uintptr_t)(page_size() - 1);
  *guarded = false;
  if (loom__sys_fault(ENOMEM)) return -ENOMEM;
  if (loom__stack_guard_mode() == LOOM__GUARD_MADVISE) {
    if (madvise((void *)from, top - from, MADV_GUARD_INSTALL) == 0) {
      *guarded = true;
      return 0;
    }
    if (errno != EINVAL) return -errno;
  }
  if (madvise((void *)from, top - from, MADV_DONTNEED) < 0) return -errno;
  return 0;
}

/* Make [sp, top) usable again (empty pages that fault in zeroed).  Removing
 * guards we installed on our own stack slot cannot fail but for a kernel
 * bug, and the task could not resume anyway: no fault point, abort. */
static void unguard(uintptr_t sp, uintptr_t top) {
  uintptr_t from = sp & ~(uintptr_t)(page_size() - 1);
  if (madvise((void *)from, top - from, MADV_GUARD_REMOVE) == 0) return;
  loom__report("compact: cannot remove the guard of a compacted stack (errno %d)", errno);
  abort();
}

/* Move an armed timer from `from` to `to` (same deadline).  The stop makes
 * room in the heap, so the start cannot fail. */
static void move_timer(loom_loop *loop, loom__timer *from, loom__timer *to) {
  if (!loom__timer_active(from)) return;
  int64_t deadline = from->deadline;
  loom__timer_stop(loop, from);
  (void)loom__timer_start(loop, to, deadline);
}

void loom__compact_park(loom__task *t) {
  if (!may_compact(t)) return;
  loom__task_loop *tl = loom__task_tl(t);
  loom__task_frame *fr = loom__task_frame_of(t);
  uintptr_t sp = loom__coro_saved_sp(&fr->coro), top = stack_top(t);
  size_t len = top - sp;
  loom__compact *cx = loom__malloc(sizeof *cx + len);
  if (!cx) {
    tl->cx_stats.skipped++; /* no memory: it sleeps resident, as normal tasks do */
    return;
  }
  loom__waiter *home = fr->park_w;
  atomic_init(&cx->w.state, atomic_load_explicit(&home->state, memory_order_acquire));
  cx->w.reason = home->reason;
  cx->w.ops = home->ops;
  cx->w.owner = home->owner;
  loom__timer_init(&cx->timer, record_timer_fired);
  move_timer(tl->loop, &fr->timer, &cx->timer); /* before the frame's copy is taken */
  raw_copy(cx->saved, (void *)sp, len);
  bool guarded;
  if (release(sp, top, &guarded) < 0) {
    move_timer(tl->loop, &cx->timer, &fr->timer); /* the pages are intact */
    loom__free(cx);
    tl->cx_stats.skipped++;
    return;
  }
  loom__live_inc(LOOM_LIVE_OTHER);
  cx->home = home;
  cx->len = (uint32_t)len;
  cx->guarded = guarded;
  t->stack->taker_data = cx;
  t->compacted = true;
  t->step.fn = compact_step; /* not posted now: its waiter was not fired */
  tl->cx_stats.compacted++;
  tl->cx_stats.saved_bytes += len;
  tl->cx_stats.compactions++;
}

void loom__compact_restore(loom__task *t) {
  if (!t->compacted) return;
  loom__compact *cx = record_of(t);
  loom__task_loop *tl = loom__task_tl(t);
  uintptr_t top = stack_top(t), sp = top - cx->len;
  if (cx->guarded) unguard(sp, top);
  raw_copy((void *)sp, cx->saved, cx->len);
  /* The frame came back as it was when the task parked: its timer's heap
   * slot is stale (the record's timer stood in), and its waiter may have
   * been fired meanwhile. */
  loom__task_frame *fr = loom__task_frame_of(t);
  loom__timer_init(&fr->timer, loom__task_timer_fired);
  move_timer(tl->loop, &cx->timer, &fr->timer);
  loom__waiter *home = cx->home;
  home->reason = cx->w.reason;
  atomic_store_explicit(&home->state, atomic_load_explicit(&cx->w.state, memory_order_acquire),
                        memory_order_release);
  tl->cx_stats.compacted--;
  tl->cx_stats.saved_bytes -= cx->len;
  tl->cx_stats.restores++;
  t->stack->taker_data = NULL;
  t->compacted = false;
  t->step.fn = loom__task_step; /* maybe posted already: fine either way */
  loom__free(cx);
  loom__live_dec(LOOM_LIVE_OTHER);
}

void loom__compact_free(loom__task *t) {
  if (!t->compacted) return;
  loom__compact *cx = record_of(t);
  loom__task_loop *tl = loom__task_tl(t);
  loom__timer_stop(tl->loop, &cx->timer);
  tl->cx_stats.compacted--;
  tl->cx_stats.saved_bytes -= cx->len;
  t->stack->taker_data = NULL;
  t->compacted = false;
  t->step.fn = loom__task_step;
  loom__free(cx);
  loom__live_dec(LOOM_LIVE_OTHER);
}

loom__waiter *loom__compact_waiter(const loom__task *t) { return &record_of(t)->w; }

/* ---- public -------------------------------------------------------------------- */

int loom_task_set_default_compact(loom_loop *loop, bool on) {
  if (!loop) return LOOM_EINVAL;
  int err = 0;
  loom__task_loop *tl = loom__task_loop_get(loop, true, &err);
  if (!tl) return err;
  tl->compact_default = on;
  return 0;
}

bool loom_task_is_compacted(const loom_future *f) {
  loom__task *t = loom__task_of(f);
  return t && t->compacted;
}

int loom_task_compact_stats(loom_loop *loop, loom_compact_stats *out) {
  if (!loop || !out) return LOOM_EINVAL;
  int err = 0;
  loom__task_loop *tl = loom__task_loop_get(loop, false, &err);
  if (tl)
    *out = tl->cx_stats;
  else
    memset(out, 0, sizeof *out);
  return 0;
}
