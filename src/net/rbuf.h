/* rbuf.h - a stream's read buffer and asyncio's StreamReader semantics on it.
 *
 * The socket layer receives into the buffer (space/commit), marks end of
 * stream (set_eof), and the reader operations below take data out.  They
 * never wait: each returns LOOM_EAGAIN when it needs more data than is
 * buffered and the stream has not ended, and the caller (the stream, on the
 * loop) waits for readability and calls it again.  An operation that returns
 * LOOM_EAGAIN has taken nothing, which is what makes every stream read safe
 * to cancel or time out: the data stays for the next reader.
 *
 * Pure data structure: no loop, no locks (a stream is used by one loop).
 */
#ifndef LOOM_NET_RBUF_H
#define LOOM_NET_RBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define LOOM__RBUF_DEFAULT_LIMIT 65536 /* asyncio's _DEFAULT_LIMIT */

typedef struct loom__rbuf {
  char *data;   /* loom__malloc'd, NULL until the first byte */
  size_t head;  /* first unread byte */
  size_t tail;  /* one past the last unread byte */
  size_t cap;   /* size of data */
  size_t limit; /* readuntil/readline limit; reading pauses at 2 * limit */
  size_t scan;  /* bytes from head already searched without a match */
  bool eof;     /* the peer closed: no byte will be appended any more */
} loom__rbuf;

/* Empty buffer; limit 0 means LOOM__RBUF_DEFAULT_LIMIT. Allocates nothing. */
void loom__rbuf_init(loom__rbuf *b, size_t limit);
void loom__rbuf_fini(loom__rbuf *b);

static inline size_t loom__rbuf_len(const loom__rbuf *b) { return b->tail - b->head; }

/* True when the socket layer should stop reading (buffer at 2 * limit, as
 * asyncio pauses its transport), false to resume. */
static inline bool loom__rbuf_full(const loom__rbuf *b) {
  return loom__rbuf_len(b) >= 2 * b->limit;
}

/* True once the peer closed and everything was read. */
static inline bool loom__rbuf_at_eof(const loom__rbuf *b) {
  return b->eof && b->head == b->tail;
}

/* Make at least `want` bytes of free space after the data (compacting or
 * growing) and give it in *p / *avail for recv().  Returns 0 or LOOM_ENOMEM. */
int loom__rbuf_space(loom__rbuf *b, size_t want, void **p, size_t *avail);

/* Account for n bytes written into the space given by loom__rbuf_space. */
void loom__rbuf_commit(loom__rbuf *b, size_t n);

/* Copy n bytes in. Returns 0, LOOM_ENOMEM, or LOOM_ECLOSED after set_eof. */
int loom__rbuf_append(loom__rbuf *b, const void *data, size_t n);

/* The stream has ended. */
static inline void loom__rbuf_set_eof(loom__rbuf *b) { b->eof = true; }

/* Up to n bytes (n > 0): returns the count (>= 1), 0 at end of stream, or
 * LOOM_EAGAIN when empty and not ended. */
ssize_t loom__rbuf_read(loom__rbuf *b, void *buf, size_t n);

/* Everything up to end of stream: *data gets a loom__malloc'd copy
 * (NUL-terminated, *len without the NUL; free with free()).  Returns 0,
 * LOOM_EAGAIN (not ended yet), LOOM_ELIMIT (more than max bytes buffered;
 * nothing taken), LOOM_ENOMEM (nothing taken). */
int loom__rbuf_read_all(loom__rbuf *b, size_t max, void **data, size_t *len);

/* Exactly n bytes: returns 0 (*got = n); LOOM_EAGAIN (nothing taken,
 * *got = 0); or LOOM_EINCOMPLETE when the stream ended with fewer: the
 * partial data is taken into buf and *got says how much. */
int loom__rbuf_readexactly(loom__rbuf *b, void *buf, size_t n, size_t *got);

/* Up to and including sep: returns 0 with *got = length; LOOM_EAGAIN
 * (nothing taken); LOOM_ELIMIT when the separator does not end within
 * min(limit, cap) bytes (nothing taken); LOOM_EINCOMPLETE when the stream
 * ended without a separator (partial data taken into buf, *got its length);
 * LOOM_EINVAL for seplen 0. */
int loom__rbuf_readuntil(loom__rbuf *b, const void *sep, size_t seplen, void *buf,
                         size_t cap, size_t *got);

/* A line ending in '\n': returns its length (the final partial line at end
 * of stream; 0 after it), LOOM_EAGAIN, or LOOM_ELIMIT, in which case the
 * overlong line is dropped: through its '\n' if buffered, else the whole
 * buffer (asyncio's readline). */
ssize_t loom__rbuf_readline(loom__rbuf *b, void *buf, size_t cap);

#endif
