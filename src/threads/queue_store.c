/* queue_store.c - ring buffer and binary heap behind loom_queue. */
#include <string.h>

#include "queue_store.h"

#define QSTORE_MIN_CAP 16

static size_t next_cap(const loom__qstore *s) {
  size_t cap = s->cap ? s->cap * 2 : QSTORE_MIN_CAP;
  if (s->maxsize && cap > s->maxsize) cap = s->maxsize;
  return cap;
}

/* Re-lay the ring out from index 0 in a bigger array. */
static int grow_ring(loom__qstore *s, size_t cap) {
  void **r = loom__malloc(cap * sizeof *r);
  if (!r) return LOOM_ENOMEM;
  size_t first = s->cap - s->head < s->len ? s->cap - s->head : s->len;
  if (s->len) {
    memcpy(r, s->ring + s->head, first * sizeof *r);
    memcpy(r + first, s->ring, (s->len - first) * sizeof *r);
  }
  loom__free(s->ring);
  s->ring = r;
  s->head = 0;
  s->cap = cap;
  return 0;
}

static int grow_heap(loom__qstore *s, size_t cap) {
  loom__qentry *h = loom__realloc(s->heap, cap * sizeof *h);
  if (!h) return LOOM_ENOMEM;
  s->heap = h;
  s->cap = cap;
  return 0;
}

int loom__qstore_reserve(loom__qstore *s) {
  if (s->len < s->cap) return 0;
  size_t cap = next_cap(s);
  if (cap <= s->cap) cap = s->cap + 1; /* bounded queues never ask beyond maxsize */
  return s->kind == LOOM_QUEUE_PRIORITY ? grow_heap(s, cap) : grow_ring(s, cap);
}

/* ---- heap ------------------------------------------------------------- */

static bool before(const loom__qstore *s, const loom__qentry *a, const loom__qentry *b) {
  int c = s->cmp(a->item, b->item, s->cmp_ctx);
  return c < 0 || (c == 0 && a->seq < b->seq);
}

static void sift_up(loom__qstore *s, size_t i) {
  loom__qentry e = s->heap[i];
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!before(s, &e, &s->heap[p])) break;
    s->heap[i] = s->heap[p];
    i = p;
  }
  s->heap[i] = e;
}

static void sift_down(loom__qstore *s, size_t i) {
  loom__qentry e = s->heap[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= s->len) break;
    if (c + 1 < s->len && before(s, &s->heap[c + 1], &s->heap[c])) c++;
    if (!before(s, &s->heap[c], &e)) break;
    s->heap[i] = s->heap[c];
    i = c;
  }
  s->heap[i] = e;
}

/* ---- push / pop ------------------------------------------------------- */

void loom__qstore_push(loom__qstore *s, void *item) {
  if (s->kind == LOOM_QUEUE_PRIORITY) {
    s->heap[s->len] = (loom__qentry){item, s->seq++};
    sift_up(s, s->len++);
    return;
  }
  size_t tail = s->head + s->len;
  if (tail >= s->cap) tail -= s->cap;
  s->ring[tail] = item;
  s->len++;
}

void *loom__qstore_pop(loom__qstore *s) {
  void *item;
  switch (s->kind) {
  case LOOM_QUEUE_PRIORITY:
    item = s->heap[0].item;
    if (--s->len) {
      s->heap[0] = s->heap[s->len];
      sift_down(s, 0);
    }
    return item;
  case LOOM_QUEUE_LIFO: {
    size_t top = s->head + s->len - 1;
    if (top >= s->cap) top -= s->cap;
    s->len--;
    return s->ring[top];
  }
  default:
    item = s->ring[s->head];
    if (++s->head == s->cap) s->head = 0;
    s->len--;
    return item;
  }
}

void loom__qstore_fini(loom__qstore *s, loom_destructor dtor) {
  while (dtor && s->len) dtor(loom__qstore_pop(s));
  loom__free(s->ring);
  loom__free(s->heap);
  s->ring = NULL;
  s->heap = NULL;
  s->len = s->cap = 0;
}
