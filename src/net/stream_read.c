/* stream_read.c - the reader half of loom_stream: asyncio's read, readexactly,
 * readline, readuntil and read-to-EOF as loops of "try the read-buffer
 * operation; if it needs more data, wait for the transport".
 *
 * The rbuf operations take nothing when they return LOOM_EAGAIN, so a wait
 * that ends in a timeout or a cancellation leaves the stream exactly as it
 * was: every read here is cancel-safe (docs/net.md, the table).  Data that
 * arrived before an error (a reset, a local close) is still handed out
 * first; the error comes when the buffer cannot satisfy the read.
 */
#include "stream_impl.h"

/* Wait until the transport brought data, end of stream or an error.
 * dbuf (may be NULL) offers the transport the caller's own buffer: when the
 * read buffer is empty it receives into it, and *dgot says how much.
 * The deadline is computed at the first wait: a read that finds its data
 * buffered never reads the clock.
 * Returns 0 (data in dbuf if *dgot, else try again) or why not. */
static int wait_data(loom_stream *s, loom__lazy_deadline *dl, void *dbuf, size_t dcap,
                     size_t *dgot) {
  *dgot = 0;
  if (s->rerr) return s->rerr;
  if (s->fd < 0) return LOOM_ECLOSED;
  if (s->reader) return LOOM_EBUSY; /* asyncio: "already waiting for data" */
  if (!loom__in_task()) return LOOM_ENOTASK;
  loom__waiter w;
  loom__waiter_init(&w);
  s->reader = &w;
  s->dbuf = dbuf;
  s->dcap = dcap;
  s->dgot = 0;
  loom__stream_sync_reading(s);
  int reason = s->rerr ? s->rerr : loom__waiter_park(&w, loom__lazy_deadline_get(dl));
  s->reader = NULL;
  s->dbuf = NULL;
  if (reason == 0) *dgot = s->dgot; /* only a won fire (reason 0) fills it */
  return reason;
}

/* After taking data: resume a paused transport if the buffer has room. */
static void taken(loom_stream *s) { loom__stream_sync_reading(s); }

ssize_t loom_stream_read(loom_stream *s, void *buf, size_t n, double timeout) {
  if (!s || (!buf && n)) return LOOM_EINVAL;
  if (n == 0) return 0;
  loom__lazy_deadline dl = LOOM__LAZY_DEADLINE(timeout);
  for (;;) {
    ssize_t k = loom__rbuf_read(&s->rb, buf, n);
    if (k != LOOM_EAGAIN) {
      taken(s);
      return k;
    }
    size_t got;
    int rc = wait_data(s, &dl, buf, n, &got);
    if (rc) return rc;
    if (got) return (ssize_t)got; /* received straight into buf */
  }
}

int loom_stream_read_all(loom_stream *s, size_t max, void **data, size_t *len,
                         double timeout) {
  if (!s || !data || !len) return LOOM_EINVAL;
  loom__lazy_deadline dl = LOOM__LAZY_DEADLINE(timeout);
  for (;;) {
    int rc = loom__rbuf_read_all(&s->rb, max, data, len);
    if (rc != LOOM_EAGAIN) {
      taken(s);
      return rc;
    }
    size_t none;
    rc = wait_data(s, &dl, NULL, 0, &none);
    if (rc) return rc;
  }
}

int loom_stream_readexactly(loom_stream *s, void *buf, size_t n, size_t *got,
                            double timeout) {
  size_t dummy;
  if (!got) got = &dummy;
  *got = 0;
  if (!s || (!buf && n)) return LOOM_EINVAL;
  loom__lazy_deadline dl = LOOM__LAZY_DEADLINE(timeout);
  for (;;) {
    int rc = loom__rbuf_readexactly(&s->rb, buf, n, got);
    if (rc != LOOM_EAGAIN) {
      taken(s);
      return rc;
    }
    size_t none;
    rc = wait_data(s, &dl, NULL, 0, &none);
    if (rc) return rc;
  }
}

int loom_stream_readuntil(loom_stream *s, const void *sep, size_t seplen, void *buf,
                          size_t cap, size_t *got, double timeout) {
  size_t dummy;
  if (!got) got = &dummy;
  *got = 0;
  if (!s || !sep || !seplen || (!buf && cap)) return LOOM_EINVAL;
  loom__lazy_deadline dl = LOOM__LAZY_DEADLINE(timeout);
  for (;;) {
    int rc = loom__rbuf_readuntil(&s->rb, sep, seplen, buf, cap, got);
    if (rc != LOOM_EAGAIN) {
      taken(s);
      return rc;
    }
    size_t none;
    rc = wait_data(s, &dl, NULL, 0, &none);
    if (rc) return rc;
  }
}

ssize_t loom_stream_readline(loom_stream *s, void *buf, size_t cap, double timeout) {
  if (!s || (!buf && cap)) return LOOM_EINVAL;
  loom__lazy_deadline dl = LOOM__LAZY_DEADLINE(timeout);
  for (;;) {
    ssize_t k = loom__rbuf_readline(&s->rb, buf, cap);
    if (k != LOOM_EAGAIN) {
      taken(s);
      return k;
    }
    size_t none;
    int rc = wait_data(s, &dl, NULL, 0, &none);
    if (rc) return rc;
  }
}

bool loom_stream_at_eof(const loom_stream *s) { return s && loom__rbuf_at_eof(&s->rb); }
