/* wbuf.c - the stream write buffer: a FIFO of chunks, coalescing small
 * writes, laid out as iovecs for writev, with watermark hysteresis. */
#include "wbuf.h"

#include <string.h>

#include "../core/internal.h"

static void update_paused(loom__wbuf *w) {
  if (w->len > w->high) w->paused = true;
  else if (w->len <= w->low) w->paused = false;
}

int loom__wbuf_set_limits(loom__wbuf *w, size_t high, size_t low) {
  if (high == 0) high = LOOM__WBUF_DEFAULT_HIGH;
  if (low == 0) low = high / 4;
  if (low > high) return LOOM_EINVAL;
  w->high = high;
  w->low = low;
  update_paused(w);
  return 0;
}

int loom__wbuf_init(loom__wbuf *w, size_t high, size_t low) {
  memset(w, 0, sizeof *w);
  return loom__wbuf_set_limits(w, high, low);
}

static void free_chunks(loom__wchunk *c) {
  while (c) {
    loom__wchunk *n = c->next;
    loom__free(c);
    c = n;
  }
}

void loom__wbuf_fini(loom__wbuf *w) {
  free_chunks(w->head);
  loom__free(w->spare);
  w->head = w->tail = w->spare = NULL;
  w->len = 0;
  w->paused = false;
}

void loom__wbuf_clear(loom__wbuf *w) {
  free_chunks(w->head);
  w->head = w->tail = NULL;
  w->len = 0;
  update_paused(w);
}

/* A chunk with room for at least `need` bytes (the spare if it fits). */
static loom__wchunk *chunk_new(loom__wbuf *w, size_t need) {
  if (w->spare && w->spare->cap >= need) {
    loom__wchunk *c = w->spare;
    w->spare = NULL;
    c->next = NULL;
    c->off = c->len = 0;
    return c;
  }
  size_t cap = need < LOOM__WBUF_CHUNK ? LOOM__WBUF_CHUNK : need;
  if (cap > SIZE_MAX - sizeof(loom__wchunk)) return NULL;
  loom__wchunk *c = loom__malloc(sizeof *c + cap);
  if (!c) return NULL;
  c->next = NULL;
  c->off = c->len = 0;
  c->cap = cap;
  return c;
}

/* Copy the iovecs from byte `skip` on into chunk c. */
static void copy_iov(loom__wchunk *c, const struct iovec *iov, int iovcnt, size_t skip) {
  for (int i = 0; i < iovcnt; i++) {
    size_t n = iov[i].iov_len;
    const char *p = iov[i].iov_base;
    if (skip >= n) {
      skip -= n;
      continue;
    }
    memcpy(c->data + c->len, p + skip, n - skip);
    c->len += n - skip;
    skip = 0;
  }
}

/* Copy the first n bytes of the iovec list into the tail chunk. */
static size_t fill_tail(loom__wchunk *t, const struct iovec *iov, int iovcnt, size_t n) {
  size_t done = 0;
  for (int i = 0; i < iovcnt && done < n; i++) {
    size_t k = iov[i].iov_len < n - done ? iov[i].iov_len : n - done;
    if (k) memcpy(t->data + t->len, iov[i].iov_base, k);
    t->len += k;
    done += k;
  }
  return done;
}

int loom__wbuf_appendv(loom__wbuf *w, const struct iovec *iov, int iovcnt) {
  if (iovcnt < 0 || (iovcnt > 0 && !iov)) return LOOM_EINVAL;
  size_t total = 0;
  for (int i = 0; i < iovcnt; i++) {
    if (iov[i].iov_len > SIZE_MAX - total) return LOOM_EINVAL;
    total += iov[i].iov_len;
  }
  if (total == 0) return 0;
  loom__wchunk *t = w->tail;
  size_t room = t ? t->cap - t->len : 0;
  size_t rest = total > room ? total - room : 0;
  loom__wchunk *c = NULL;
  if (rest) { /* allocate before touching anything: all or nothing */
    c = chunk_new(w, rest);
    if (!c) return LOOM_ENOMEM;
  }
  size_t put = room ? fill_tail(t, iov, iovcnt, total < room ? total : room) : 0;
  if (c) {
    copy_iov(c, iov, iovcnt, put);
    if (t) t->next = c;
    else w->head = c;
    w->tail = c;
  }
  w->len += total;
  update_paused(w);
  return 0;
}

int loom__wbuf_append(loom__wbuf *w, const void *data, size_t len) {
  if (len && !data) return LOOM_EINVAL;
  struct iovec v = {.iov_base = (void *)data, .iov_len = len};
  return loom__wbuf_appendv(w, &v, 1);
}

int loom__wbuf_iov(const loom__wbuf *w, struct iovec *iov, int max, size_t *bytes) {
  int n = 0;
  size_t sum = 0;
  for (loom__wchunk *c = w->head; c && n < max; c = c->next) {
    iov[n].iov_base = c->data + c->off;
    iov[n].iov_len = c->len - c->off;
    sum += c->len - c->off;
    n++;
  }
  if (bytes) *bytes = sum;
  return n;
}

void loom__wbuf_consume(loom__wbuf *w, size_t n) {
  if (n > w->len) n = w->len; /* defensive: never walk off the list */
  w->len -= n;
  while (n) {
    loom__wchunk *c = w->head;
    size_t k = c->len - c->off;
    if (n < k) {
      c->off += n;
      break;
    }
    n -= k;
    w->head = c->next;
    if (!w->head) w->tail = NULL;
    if (!w->spare && c->cap == LOOM__WBUF_CHUNK) w->spare = c; /* keep one */
    else loom__free(c);
  }
  update_paused(w);
}
