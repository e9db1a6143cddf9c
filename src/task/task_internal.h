/* task_internal.h - the task object and the per-loop task state, shared by
 * task.c (life cycle, cancellation), park.c (suspension: the waiter's park
 * ops, sleep, yield) and task_loop.c (per-loop state, close hook, all tasks,
 * dumps, stall reports).
 *
 * A task embeds its future (first member, so a loom_future * of a task is
 * the task) and a ready-queue entry (its "step"); what it needs only while
 * it runs - its coroutine context, the timer of its current wait, the waiter
 * - sits in a frame at the top of its own stack (loom__task_frame), on the
 * page its first call frames touch anyway.  So scheduling it, waking it and
 * timing out its waits never allocate, and a task that has not started, or
 * has finished, costs only the 192 bytes of the struct, from the slab
 * (core/slab.c).  The stack is taken from the loop's pool when the task
 * first runs and given back when it finishes, so a task that never starts
 * (or is cancelled first) costs no stack at all.
 *
 * Threads: everything here is touched by the loop thread only, except the
 * future (its own lock); other threads wake a task by firing its waiter,
 * which posts its step through the loop's thread-safe inbox (park.c).
 */
#ifndef LOOM_TASK_TASK_INTERNAL_H
#define LOOM_TASK_TASK_INTERNAL_H

#include "loom/task.h"

#include "../coro/coro.h"
#include "../core/waiter.h"
#include "../futures/future_internal.h"
#include "../loop/loop_internal.h"

typedef struct loom__task_loop loom__task_loop;
typedef struct loom__task loom__task;

struct loom__task {
  loom_future fut;            /* first: the task is its future.  Its job slot,
                                 unused by tasks otherwise, holds the body
                                 (fut.fn, fut.arg), the loop's task state
                                 (fut.producer) and the id (fut.producer_data):
                                 see the accessors below */
  loom__callback step;        /* posted to start or resume it */
  uint32_t stack_size;        /* requested, 0 = loop default (at most 1 GiB) */
  int cancel_requests;        /* cancelling() */
  _Atomic(char *) name;       /* owned; NULL until asked: "Task-<id>" */
  loom__stack *stack;         /* while started and not finished; the task's
                                 frame sits at its top (loom__task_frame) */
  char *msg;                  /* owned: the message of the last cancel request
                                 until the task finishes, then a copy of its
                                 failure message, kept for the report */
  bool started, finished;
  bool cancel_pending;        /* deliver LOOM_ECANCELLED at the next suspension */
  bool compact;               /* copy its stack out while it sleeps (compact.c) */
  bool compacted;             /* its stack is copied out right now: the frame
                                 below is gone until loom__compact_restore */
  loom__task *prev, *next;    /* the loop's list of unfinished tasks */
};

/* What a task needs only while it has a stack (started, not finished) lives
 * at the top of that stack, on the page its first frames touch anyway: a
 * million tasks spawned before any runs cost only the struct above. */
typedef struct loom__task_frame {
  loom__coro coro;            /* first: its saved context */
  loom__timer timer;          /* deadline of the current wait */
  loom__task *task;           /* back to the task (the timer's callback) */
  loom__waiter *park_w;       /* the waiter it is suspended on, or NULL */
  int64_t park_deadline;      /* monotonic deadline of that wait (dumps) */
  loom_future *awaiting;      /* the future it waits for, if that is the wait */
  int rc;                     /* what fn returned */
  bool sleeping;              /* parked in loom_sleep (dumps) */
} loom__task_frame;

/* Three cache lines: a million pending tasks are a million of these, and
 * fresh memory costs a page fault and a kernel page clear per 4 KB. */
#define LOOM__TASK_SLOT 192

static inline loom__task_loop *loom__task_tl(const loom__task *t) {
  return (loom__task_loop *)t->fut.producer;
}
/* The loop the task was spawned on.  Kept in the job slot's queue link,
 * which tasks never use: unlike the task state (fut.producer, freed when
 * the loop closes) it stays valid until the loop is destroyed, so another
 * thread may read it while the loop closes (loom_task_cancel). */
static inline loom_loop *loom__task_home(const loom__task *t) {
  return (loom_loop *)(void *)t->fut.job_next;
}
static inline unsigned long loom__task_id(const loom__task *t) {
  return (unsigned long)t->fut.producer_data;
}
/* The frame at the top of stack s (start() puts it there). */
static inline loom__task_frame *loom__frame_at(const loom__stack *s) {
  return (loom__task_frame *)(((uintptr_t)s->lo + s->size - sizeof(loom__task_frame)) &
                              ~(uintptr_t)63);
}
/* The task's frame, or NULL when it has no stack (not started, finished).
 * Not while it is compacted (t->compacted): restore it first (compact.c). */
static inline loom__task_frame *loom__task_frame_of(const loom__task *t) {
  return t->stack ? loom__frame_at(t->stack) : NULL;
}
static inline loom__coro *loom__task_coro(const loom__task *t) {
  return t->stack ? &loom__frame_at(t->stack)->coro : NULL;
}
/* The waiter the task is suspended on, or NULL. */
static inline loom__waiter *loom__task_park_w(const loom__task *t) {
  return t->stack ? loom__frame_at(t->stack)->park_w : NULL;
}

struct loom__task_loop {
  loom_loop *loop;
  loom__stack_pool *pool;     /* this loop's stacks */
  size_t stack_size;          /* default for new tasks */
  loom__task *head;           /* unfinished tasks, newest first */
  size_t count;
  unsigned long next_id;
  loom__task *running;        /* the task executing now, if any */
  loom__task *stepped;        /* the last task stepped (stall reports) */
  char stepped_name[64];      /* its name, if it finished during the step */
  unsigned long stepped_id;   /* its id, if it finished unnamed */
  bool stepped_done;
  bool closing;
  bool compact_default;       /* new tasks are compact (compact.c) */
  loom_compact_stats cx_stats;
};

extern const loom__future_ops loom__task_future_ops;
extern const loom__park_ops loom__task_park_ops;

static inline loom__task *loom__task_of(const loom_future *f) {
  return (f && f->ops == &loom__task_future_ops) ? (loom__task *)f : NULL;
}

/* The running task of this thread, or NULL. */
static inline loom__task *loom__task_self(void) {
  return loom__park_ctx_ops == &loom__task_park_ops ? (loom__task *)loom__park_ctx_owner
                                                    : NULL;
}

/* t is about to run on this thread (its step, or a direct hand-off). */
static inline void loom__task_enter(loom__task_loop *tl, loom__task *t) {
  tl->running = t;
  tl->stepped = t;
  loom__park_ctx_set(&loom__task_park_ops, t);
}
/* The same from a running task of tl (a hand-off): the park ops are set. */
static inline void loom__task_enter_from_task(loom__task_loop *tl, loom__task *t) {
  tl->running = t;
  tl->stepped = t;
  loom__park_ctx_owner = t;
}

/* task_loop.c */
loom__task_loop *loom__task_loop_get(loom_loop *loop, bool create, int *err);
void loom__task_link(loom__task_loop *tl, loom__task *t);
void loom__task_unlink(loom__task_loop *tl, loom__task *t);

/* task.c */
const char *loom__task_name(loom__task *t);
void loom__task_step(loom__callback *cb);

/* compact.c (everything on the loop thread, with t suspended).  Copy a
 * sleeping compact task's stack out right after it suspended to the loop
 * (does nothing unless it may), and back before anything switches to it or
 * reads its frame (steps, hand-offs, cancel, dumps, renames). */
void loom__compact_park(loom__task *t);
void loom__compact_restore(loom__task *t);
/* Drop the saved stack of a compacted task that will never run again
 * (abandoned at loop close). */
void loom__compact_free(loom__task *t);
/* The stand-in of the sleep's waiter while t is compacted (read-only use). */
loom__waiter *loom__compact_waiter(const loom__task *t);

/* park.c */
void loom__task_timer_fired(loom__timer *tm);
/* Suspend the running task: switch straight to the task the loop would run
 * next if nothing else comes first (loom__loop_take_next), else back to the
 * loop (the step returns). */
void loom__task_suspend(loom__task *t);
/* Post t's step from whatever thread we are on. */
void loom__task_post(loom__task *t);
/* The context of the thread's own stack, to switch back to. */
loom__coro *loom__task_sched(void);

#endif /* LOOM_TASK_TASK_INTERNAL_H */
