/* loom/queue.h - the thread-safe (and task-safe) queue: Python's
 * queue.Queue, LifoQueue and PriorityQueue, and asyncio's Queue family, in
 * one object.
 *
 * Items are `void *` (NULL is a valid item).  The queue does not own an
 * item while it is in the queue unless an item destructor is given: then
 * items still queued when the queue is destroyed, or dropped by an
 * immediate shutdown, are passed to it.  An item handed out by get belongs
 * to the caller; an item a failed put did not take still belongs to the
 * caller.
 *
 * Blocking: put waits while the queue is full (maxsize > 0), get while it is
 * empty.  Timeouts are in seconds: LOOM_FOREVER waits without limit, 0 does
 * not wait (LOOM_EFULL / LOOM_EEMPTY at once), a positive timeout that
 * expires gives LOOM_ETIMEDOUT.  Waiters are served in FIFO order, and an
 * item or a free slot goes straight to the longest waiter, so a waiter that
 * times out or is cancelled never loses an item or a slot meant for it.
 * A plain thread blocks; a coroutine task suspends only itself, so one
 * queue connects threads and tasks (what Python needs janus for).
 *
 * FIFO and LIFO queues are a ring buffer: no allocation per item once the
 * ring has grown to its working size.  PRIORITY queues are a binary heap
 * ordered by a comparator, FIFO among equal priorities.
 */
#ifndef LOOM_QUEUE_H
#define LOOM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "future.h" /* loom_destructor */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct loom_queue loom_queue;

typedef enum loom_queue_kind {
  LOOM_QUEUE_FIFO,     /* queue.Queue */
  LOOM_QUEUE_LIFO,     /* queue.LifoQueue */
  LOOM_QUEUE_PRIORITY  /* queue.PriorityQueue: smallest first */
} loom_queue_kind;

/* Order of a priority queue: negative if `a` must come out before `b`,
 * positive if after, 0 if equal (equal items come out in put order).  It
 * runs inside the queue's internal lock, on whichever thread or task puts or
 * gets: it must be quick and must not block, wait on anything loom offers,
 * or touch this queue (every other user of the queue waits for it, a
 * thread of another loop spinning rather than sleeping). */
typedef int (*loom_queue_cmp)(const void *a, const void *b, void *ctx);

typedef struct loom_queue_options {
  loom_queue_kind kind;       /* default FIFO */
  size_t maxsize;             /* 0 = unbounded */
  loom_queue_cmp cmp;         /* required for PRIORITY, ignored otherwise */
  void *cmp_ctx;              /* passed to cmp */
  loom_destructor item_dtor;  /* frees items left at destroy/immediate shutdown; may be NULL */
} loom_queue_options;

/* Create a queue; opts NULL = unbounded FIFO without destructor.
 * Returns 0, LOOM_EINVAL (out NULL, unknown kind, PRIORITY without cmp),
 * LOOM_ENOMEM. */
int loom_queue_create(loom_queue **out, const loom_queue_options *opts);

/* Destroy: items still queued go to the item destructor (if any).
 * Returns 0, or LOOM_EBUSY (nothing freed) while a put, get or join waits.
 * NULL returns 0. */
int loom_queue_destroy(loom_queue *q);

/* Put an item, waiting up to `timeout` seconds for a free slot.
 * Returns 0 (queued, or handed straight to a waiting getter),
 * LOOM_EFULL (timeout 0 and full), LOOM_ETIMEDOUT, LOOM_ECLOSED (shut down,
 * before or while waiting), LOOM_ECANCELLED (waiting task cancelled),
 * LOOM_ENOMEM (the ring or heap could not grow), LOOM_EINVAL.
 * On any error the item was not queued and is still the caller's. */
int loom_queue_put(loom_queue *q, void *item, double timeout);

/* Take an item, waiting up to `timeout` seconds.  *item gets it (owned by
 * the caller from now on).
 * Returns 0, LOOM_EEMPTY (timeout 0 and empty), LOOM_ETIMEDOUT,
 * LOOM_ECLOSED (shut down and drained: a plain shutdown lets gets drain the
 * remaining items first), LOOM_ECANCELLED, LOOM_EINVAL. */
int loom_queue_get(loom_queue *q, void **item, double timeout);

/* put/get with timeout 0. */
int loom_queue_put_nowait(loom_queue *q, void *item);
int loom_queue_get_nowait(loom_queue *q, void **item);

/* Items in the queue now (approximate once the call returns, as in Python). */
size_t loom_queue_qsize(const loom_queue *q);
bool loom_queue_empty(const loom_queue *q);
/* True if maxsize > 0 and the queue holds maxsize items. */
bool loom_queue_full(const loom_queue *q);
size_t loom_queue_maxsize(const loom_queue *q);

/* Mark one item taken with get as processed (task_done).
 * Returns 0, LOOM_EINVAL if called more times than items were put (Python's
 * ValueError) or q NULL. */
int loom_queue_task_done(loom_queue *q);

/* Wait until every item put has been marked done with task_done.
 * Returns 0, LOOM_ETIMEDOUT, LOOM_ECANCELLED, LOOM_EINVAL. */
int loom_queue_join(loom_queue *q, double timeout);

/* Number of items put and not yet marked done. */
size_t loom_queue_unfinished(const loom_queue *q);

/* Shut down (Python 3.13): later puts fail with LOOM_ECLOSED and waiting
 * putters are woken with it; gets drain what is left and then fail with
 * LOOM_ECLOSED, waiting getters are woken with it.  With `immediate`, the
 * remaining items are dropped at once (passed to the item destructor if
 * any, called after the queue's lock is released, so it may use the queue;
 * each counts as done for join) and gets fail at once.
 * Idempotent (a later immediate shutdown still drops the items).
 * Returns 0 or LOOM_EINVAL. */
int loom_queue_shutdown(loom_queue *q, bool immediate);

bool loom_queue_is_shutdown(const loom_queue *q);

#ifdef __cplusplus
}
#endif
#endif /* LOOM_QUEUE_H */
