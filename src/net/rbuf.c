/* rbuf.c - the stream read buffer: one contiguous array of unread bytes,
 * compacted or grown on demand, with asyncio's reader operations on top.
 *
 * Separator searches remember how far they got (`scan`), so a readuntil that
 * waits for data and is called again after each recv does not search the
 * same bytes again: a long line arriving in small pieces costs O(n), not
 * O(n^2).
 */
#include "rbuf.h"

#include <string.h>

#include "../core/internal.h"

#define RBUF_MIN_CAP 4096

void loom__rbuf_init(loom__rbuf *b, size_t limit) {
  memset(b, 0, sizeof *b);
  b->limit = limit ? limit : LOOM__RBUF_DEFAULT_LIMIT;
}

void loom__rbuf_fini(loom__rbuf *b) {
  loom__free(b->data);
  b->data = NULL;
  b->head = b->tail = b->cap = b->scan = 0;
}

/* Take n bytes from the front (n <= len). */
static void consume(loom__rbuf *b, size_t n) {
  b->head += n;
  b->scan = b->scan > n ? b->scan - n : 0;
  if (b->head == b->tail) b->head = b->tail = 0; /* cheap reset when drained */
}

int loom__rbuf_space(loom__rbuf *b, size_t want, void **p, size_t *avail) {
  if (want == 0) want = 1;
  if (b->cap - b->tail < want && b->head > 0) { /* compact first */
    size_t len = loom__rbuf_len(b);
    memmove(b->data, b->data + b->head, len);
    b->head = 0;
    b->tail = len;
  }
  if (b->cap - b->tail < want) {
    size_t need = b->tail + want, ncap = b->cap ? b->cap : RBUF_MIN_CAP;
    while (ncap < need) {
      if (ncap > SIZE_MAX / 2) return LOOM_ENOMEM;
      ncap *= 2;
    }
    char *nd = loom__realloc(b->data, ncap);
    if (!nd) return LOOM_ENOMEM;
    b->data = nd;
    b->cap = ncap;
  }
  *p = b->data + b->tail;
  *avail = b->cap - b->tail;
  return 0;
}

void loom__rbuf_commit(loom__rbuf *b, size_t n) { b->tail += n; }

int loom__rbuf_append(loom__rbuf *b, const void *data, size_t n) {
  if (b->eof) return LOOM_ECLOSED;
  if (n == 0) return 0;
  void *p;
  size_t avail;
  int rc = loom__rbuf_space(b, n, &p, &avail);
  if (rc < 0) return rc;
  memcpy(p, data, n);
  loom__rbuf_commit(b, n);
  return 0;
}

ssize_t loom__rbuf_read(loom__rbuf *b, void *buf, size_t n) {
  size_t len = loom__rbuf_len(b);
  if (len == 0) return b->eof ? 0 : LOOM_EAGAIN;
  if (n > len) n = len;
  memcpy(buf, b->data + b->head, n);
  consume(b, n);
  return (ssize_t)n;
}

int loom__rbuf_read_all(loom__rbuf *b, size_t max, void **data, size_t *len) {
  size_t n = loom__rbuf_len(b);
  if (n > max) return LOOM_ELIMIT;
  if (!b->eof) return LOOM_EAGAIN;
  char *out = loom__malloc(n + 1);
  if (!out) return LOOM_ENOMEM;
  if (n) memcpy(out, b->data + b->head, n);
  out[n] = '\0';
  consume(b, n);
  *data = out;
  *len = n;
  return 0;
}

int loom__rbuf_readexactly(loom__rbuf *b, void *buf, size_t n, size_t *got) {
  size_t len = loom__rbuf_len(b);
  *got = 0;
  if (len >= n) {
    if (n) memcpy(buf, b->data + b->head, n);
    consume(b, n);
    *got = n;
    return 0;
  }
  if (!b->eof) return LOOM_EAGAIN;
  /* Ended short: hand the partial data over, as IncompleteReadError does. */
  if (len) memcpy(buf, b->data + b->head, len);
  consume(b, len);
  *got = len;
  return LOOM_EINCOMPLETE;
}

/* Offset just past the first `sep` in the buffer, or 0 if none.  Resumes
 * where the last search stopped (minus seplen - 1 bytes that may start a
 * separator completed by new data). */
static size_t find_sep(loom__rbuf *b, const void *sep, size_t seplen) {
  size_t len = loom__rbuf_len(b);
  size_t from = b->scan >= seplen ? b->scan - (seplen - 1) : 0;
  if (len < seplen || from > len - seplen) {
    b->scan = len;
    return 0;
  }
  const char *base = b->data + b->head;
  const char *hit = memmem(base + from, len - from, sep, seplen);
  if (!hit) {
    b->scan = len;
    return 0;
  }
  return (size_t)(hit - base) + seplen;
}

int loom__rbuf_readuntil(loom__rbuf *b, const void *sep, size_t seplen, void *buf,
                         size_t cap, size_t *got) {
  *got = 0;
  if (!sep || seplen == 0) return LOOM_EINVAL;
  size_t limit = b->limit < cap ? b->limit : cap;
  size_t end = find_sep(b, sep, seplen);
  size_t len = loom__rbuf_len(b);
  if (end) {
    if (end > limit) return LOOM_ELIMIT; /* data kept, like asyncio */
    memcpy(buf, b->data + b->head, end);
    consume(b, end);
    *got = end;
    return 0;
  }
  /* No separator: the earliest one could end at len + 1. */
  if (len >= limit) return LOOM_ELIMIT;
  if (!b->eof) return LOOM_EAGAIN;
  if (len) memcpy(buf, b->data + b->head, len);
  consume(b, len);
  *got = len;
  return LOOM_EINCOMPLETE;
}

ssize_t loom__rbuf_readline(loom__rbuf *b, void *buf, size_t cap) {
  size_t got;
  int rc = loom__rbuf_readuntil(b, "\n", 1, buf, cap, &got);
  if (rc == 0 || rc == LOOM_EINCOMPLETE) return (ssize_t)got;
  if (rc == LOOM_ELIMIT) {
    size_t end = find_sep(b, "\n", 1);
    consume(b, end ? end : loom__rbuf_len(b));
  }
  return rc;
}
