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

/* Out of line: growth and the heap. */
int loom__qstore_grow(loom__qstore *s);
void loom__qstore_heap_push(loom__qstore *s, void *item);
void *loom__qstore_heap_pop(loom__qstore *s);

/* Make room for one more item.  Returns 0 or LOOM_ENOMEM. */
static inline int loom__qstore_reserve(loom__qstore *s) {
  return LOOM__LIKELY(s->len < s->cap) ? 0 : loom__qstore_grow(s);
}

/* Add an item; the caller reserved room.  Never fails.  (Inline: the ring
 * operations run under the queue's lock, so every cycle saved there is a
 * cycle less that other threads wait.) */
static inline void loom__qstore_push(loom__qstore *s, void *item) {
  if (s->kind == LOOM_QUEUE_PRIORITY) {
    loom__qstore_heap_push(s, item);
    return;
  }
  size_t tail = s->head + s->len;
  if (tail >= s->cap) tail -= s->cap;
  s->ring[tail] = item;
  s->len++;
}

/* Remove the next item (the store is not empty). */
static inline void *loom__qstore_pop(loom__qstore *s) {
  if (s->kind == LOOM_QUEUE_FIFO) {
    void *item = s->ring[s->head];
    if (++s->head == s->cap) s->head = 0;
    s->len--;
    return item;
  }
  if (s->kind == LOOM_QUEUE_LIFO) {
    size_t top = s->head + s->len - 1;
    if (top >= s->cap) top -= s->cap;
    s->len--;
    return s->ring[top];
  }
  return loom__qstore_heap_pop(s);
}

/* Free the arrays; every remaining item goes to dtor (if not NULL). */
void loom__qstore_fini(loom__qstore *s, loom_destructor dtor);

#endif
