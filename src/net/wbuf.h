/* wbuf.h - a stream's write buffer: bytes accepted from the writer and not
 * yet taken by the kernel, with high/low watermarks for backpressure.
 *
 * Bytes live in a FIFO of chunks.  Small writes are coalesced into the last
 * chunk (so a thousand 10-byte writes become one send), large writes get a
 * chunk of their own.  loom__wbuf_iov() lays the front of the queue out as
 * an iovec array for one writev() of many chunks at once; the socket layer
 * then calls loom__wbuf_consume() with what the kernel took.
 *
 * Watermarks (asyncio's set_write_buffer_limits): the buffer becomes
 * "paused" when it grows above `high` and stays paused until it falls to
 * `low` or below.  Writers and drainers wait while it is paused, so memory
 * per stream is bounded by high + one write.
 *
 * Pure data structure: no loop, no locks (a stream is used by one loop).
 */
#ifndef LOOM_NET_WBUF_H
#define LOOM_NET_WBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#define LOOM__WBUF_DEFAULT_HIGH 65536 /* asyncio's default high watermark */
#define LOOM__WBUF_CHUNK 16384        /* size of a coalescing chunk */

typedef struct loom__wchunk loom__wchunk;
struct loom__wchunk {
  loom__wchunk *next;
  size_t off;  /* first unsent byte */
  size_t len;  /* one past the last byte written */
  size_t cap;  /* room in data */
  char data[]; /* the bytes */
};

typedef struct loom__wbuf {
  loom__wchunk *head, *tail; /* FIFO of chunks with unsent bytes */
  loom__wchunk *spare;       /* one emptied chunk kept to avoid malloc churn */
  size_t len;                /* unsent bytes in total */
  size_t high, low;          /* watermarks */
  bool paused;               /* went above high, not yet back to low */
} loom__wbuf;

/* Empty buffer with watermarks (high 0: the default 64 KiB; low 0:
 * high / 4).  Returns 0 or LOOM_EINVAL (low > high). */
int loom__wbuf_init(loom__wbuf *w, size_t high, size_t low);

/* Free every chunk. */
void loom__wbuf_fini(loom__wbuf *w);

/* Change the watermarks (same rules as init) and re-evaluate `paused`.
 * Returns 0 or LOOM_EINVAL. */
int loom__wbuf_set_limits(loom__wbuf *w, size_t high, size_t low);

/* Append a copy of the bytes, all or nothing.  Returns 0, LOOM_ENOMEM
 * (nothing appended), LOOM_EINVAL (negative count, or a total that
 * overflows). */
int loom__wbuf_append(loom__wbuf *w, const void *data, size_t len);
int loom__wbuf_appendv(loom__wbuf *w, const struct iovec *iov, int iovcnt);

/* Describe up to `max` iovecs from the front; returns how many (0 when
 * empty).  *bytes (may be NULL) gets the byte total they cover. */
int loom__wbuf_iov(const loom__wbuf *w, struct iovec *iov, int max, size_t *bytes);

/* Drop n sent bytes from the front (n <= len). */
void loom__wbuf_consume(loom__wbuf *w, size_t n);

/* Drop everything (abort). */
void loom__wbuf_clear(loom__wbuf *w);

static inline size_t loom__wbuf_len(const loom__wbuf *w) { return w->len; }

/* Writers and drainers must wait while this is true. */
static inline bool loom__wbuf_paused(const loom__wbuf *w) { return w->paused; }

#endif
