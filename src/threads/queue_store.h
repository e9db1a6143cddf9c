/* queue_store.h - where a loom_queue keeps its items: a ring buffer for
 * FIFO and LIFO queues, a binary heap for priority queues.  No locking here:
 * the queue's mutex guards the store.  Growth doubles the capacity (capped at
 * maxsize for bounded queues), so steady-state puts never allocate.
 */
#ifndef LOOM_THREADS_QUEUE_STORE_H
#define LOOM_THREADS_QUEUE_STORE_H

#include "loom/queue.h"

#include "../core/internal.h"

typedef struct loom__qentry {
  void *item;
  uint64_t seq; /* put order: the tie-break among equal priorities */
} loom__qentry;

typedef struct loom__qstore {
  loom_queue_kind kind;
  size_t maxsize;       /* 0 = unbounded */
  size_t cap, len;
  size_t head;          /* ring: index of the oldest item */
  void **ring;          /* FIFO / LIFO */
  loom__qentry *heap;   /* PRIORITY */
  uint64_t seq;
  loom_queue_cmp cmp;
  void *cmp_ctx;
} loom__qstore;

/* Make room for one more item.  Returns 0 or LOOM_ENOMEM. */
int loom__qstore_reserve(loom__qstore *s);

/* Add an item; the caller reserved room.  Never fails. */
void loom__qstore_push(loom__qstore *s, void *item);

/* Remove the next item (the store is not empty). */
void *loom__qstore_pop(loom__qstore *s);

/* Free the arrays; every remaining item goes to dtor (if not NULL). */
void loom__qstore_fini(loom__qstore *s, loom_destructor dtor);

#endif
