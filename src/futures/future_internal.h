/* future_internal.h - the future's layout, for producers inside loom
 * (executors, tasks, the loop).  Users see only loom/future.h.
 *
 * Subscribers are kept in one FIFO list of nodes.  Two kinds:
 *  - INTERNAL nodes (waiters of wait/as_completed/await): their function runs
 *    under the future's lock at completion, must not block and must not touch
 *    this future.  Running them under the lock is what lets a waiter that
 *    times out remove its node safely: if it still finds the future pending
 *    under the lock, its node is still linked and nobody will call it.
 *  - CALLBACK nodes (add_done_callback): heap-allocated, run in order after
 *    the lock is dropped, then freed.
 */
#ifndef LOOM_FUTURES_FUTURE_INTERNAL_H
#define LOOM_FUTURES_FUTURE_INTERNAL_H

#include "loom/executor.h"
#include "loom/future.h"

#include "../core/internal.h"
#include "../core/lock.h"
#include "../core/waiter.h"

typedef struct loom__fnode loom__fnode;
struct loom__fnode {
  loom__fnode *next, *prev;
  loom_done_fn fn;
  void *arg;
  bool internal; /* run under the future lock, never freed by the future */
};

/* Hooks a producer can attach to its futures. Any member may be NULL. */
typedef struct loom__future_ops {
  /* Producer-defined cancellation (tasks): replaces the default rules. */
  bool (*cancel)(loom_future *f, const char *msg);
  /* Release the storage when the last reference goes (embedded futures).
   * The future's own result/message are already freed. */
  void (*free)(loom_future *f);
  /* A label for diagnostics (task name...). */
  const char *(*label)(const loom_future *f);
} loom__future_ops;

/* Laid out to fit the 128-byte slots of future_alloc.c (120 bytes). */
struct loom_future {
  _Atomic uint32_t refs;
  _Atomic uint8_t state;        /* loom_future_state */
  _Atomic bool cancel_req;      /* the cancel token */
  _Atomic bool taken;           /* result ownership moved to a caller */
  _Atomic bool retrieved;       /* outcome read (result/error/exception): tasks
                                   report failures nobody retrieved */
  loom__lock lock;              /* guards everything below */
  int err;                      /* 0, the error code, or LOOM_ECANCELLED */
  void *value;                  /* result */
  loom_destructor dtor;         /* frees value, may be NULL */
  size_t size;                  /* bytes-result length, 0 otherwise */
  char *msg;                    /* error or cancel message, owned */
  loom__fnode *head, *tail;     /* subscribers, FIFO */
  const loom__future_ops *ops;  /* producer hooks, NULL for plain futures */
  /* Job slot for executors: one allocation per submission. */
  loom_fn fn;
  void *arg;
  size_t arg_size;
  loom_future *job_next;        /* executor queue link */
  void *producer;               /* the executor or task that owns the job */
  uintptr_t producer_data;      /* free for the producer's use */
};

/* Storage for one loom_future (future_alloc.c): NULL when out of memory
 * (an ALLOC fault point).  Freed with loom__future_free. */
void *loom__future_alloc(void);
void loom__future_free(void *p);

/* Initialise caller-provided storage (embedded futures) as a pending future
 * with one reference and the given hooks. Counts as a live future. */
void loom__future_init(loom_future *f, const loom__future_ops *ops);

/* Subscribe an INTERNAL node (n->fn, n->arg set by the caller).
 * Returns true if linked, false if the future is already done (not linked;
 * the caller handles completion itself). */
bool loom__future_subscribe(loom_future *f, loom__fnode *n);

/* Unlink an INTERNAL node if still linked. Returns true if it was unlinked
 * (so it never ran and never will), false if it already ran. */
bool loom__future_unsubscribe(loom_future *f, loom__fnode *n);

/* Finish as CANCELLED regardless of RUNNING (producers that honoured a
 * cancel request). Returns 0 or LOOM_EINVALIDSTATE if already done. */
int loom__future_set_cancelled(loom_future *f, const char *msg);

/* Has this future finished with an error (not cancelled)? Only when done. */
static inline bool loom__future_failed(const loom_future *f) {
  return atomic_load_explicit(&f->state, memory_order_acquire) == LOOM_FUTURE_FINISHED &&
         f->err != 0;
}

/* The future the calling thread is about to park on inside
 * loom__future_wait_deadline (NULL otherwise): task dumps show it. */
extern _Thread_local loom_future *loom__await_hint;

/* Wait until done from any context; returns 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED. */
int loom__future_wait_deadline(loom_future *f, int64_t deadline);

#endif
