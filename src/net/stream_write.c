/* stream_write.c - the writer half of loom_stream: write with backpressure,
 * write_nowait, drain, watermarks.
 *
 * A write first waits while the buffer is paused (above the high watermark,
 * until it is back to the low one), then takes all its bytes: it tries
 * sendmsg() at once when nothing is queued (the common case: no copy, no
 * epoll_ctl) and buffers what the kernel did not take.  Waiting before
 * copying is what makes a cancelled or timed-out write write nothing.
 */

#include "stream_impl.h"

#define DIRECT_IOV_MAX 64

static int writable_state(const loom_stream *s) {
  if (s->werr) return s->werr;
  if (s->fd < 0 || s->closing || s->eof_pending) return LOOM_ECLOSED;
  return 0;
}

/* Send directly what the kernel takes now; returns the count or -errno
 * (-EAGAIN when it takes nothing). */
static ssize_t send_direct(loom_stream *s, const struct iovec *iov, int cnt) {
  for (;;) {
    ssize_t k = loom__sys_fault(EPIPE) ? -1 : loom__stream_send(s, iov, cnt);
    if (k >= 0) return k;
    if (errno != EINTR) return -errno;
  }
}

/* Take every byte of the iovecs: send, buffer the rest. */
static int put(loom_stream *s, const struct iovec *iov, int cnt) {
  size_t skip = 0;
  if (loom__wbuf_len(&s->wb) == 0 && !s->writing && cnt <= DIRECT_IOV_MAX) {
    ssize_t k = send_direct(s, iov, cnt);
    if (k < 0 && k != -EAGAIN && k != -EWOULDBLOCK) {
      s->werr = (int)k;
      s->close_err = (int)k;
      return s->werr;
    }
    skip = k > 0 ? (size_t)k : 0;
  }
  struct iovec rest[DIRECT_IOV_MAX];
  const struct iovec *v = iov;
  int n = cnt;
  if (skip) { /* drop what went out from the front of the list */
    n = 0;
    for (int i = 0; i < cnt; i++) {
      if (skip >= iov[i].iov_len) {
        skip -= iov[i].iov_len;
        continue;
      }
      rest[n].iov_base = (char *)iov[i].iov_base + skip;
      rest[n].iov_len = iov[i].iov_len - skip;
      skip = 0;
      n++;
    }
    v = rest;
    if (n == 0) return 0;
  }
  int rc = loom__wbuf_appendv(&s->wb, v, n);
  if (rc < 0) return rc;
  return loom__stream_flush(s);
}

/* Wait while the buffer is paused. Returns 0 or why not. */
static int wait_room(loom_stream *s, double timeout) {
  loom__lazy_deadline dl = LOOM__LAZY_DEADLINE(timeout);
  while (loom__wbuf_paused(&s->wb)) {
    int rc = writable_state(s);
    if (rc) return rc;
    if (!loom__in_task()) return LOOM_ENOTASK;
    rc = loom__swait_park(&s->drainers, loom__lazy_deadline_get(&dl));
    if (rc) return rc;
  }
  return writable_state(s);
}

int loom_stream_writev(loom_stream *s, const struct iovec *iov, int iovcnt,
                       double timeout) {
  if (!s || iovcnt < 0 || (iovcnt && !iov)) return LOOM_EINVAL;
  int rc = wait_room(s, timeout);
  if (rc) return rc;
  return iovcnt ? put(s, iov, iovcnt) : 0;
}

int loom_stream_write(loom_stream *s, const void *data, size_t len, double timeout) {
  if (!s || (!data && len)) return LOOM_EINVAL;
  struct iovec v = {.iov_base = (void *)data, .iov_len = len};
  return loom_stream_writev(s, &v, len ? 1 : 0, timeout);
}

int loom_stream_write_nowait(loom_stream *s, const void *data, size_t len) {
  if (!s || (!data && len)) return LOOM_EINVAL;
  int rc = writable_state(s);
  if (rc || !len) return rc;
  struct iovec v = {.iov_base = (void *)data, .iov_len = len};
  return put(s, &v, 1);
}

int loom_stream_drain(loom_stream *s, double timeout) {
  if (!s) return LOOM_EINVAL;
  int64_t deadline = loom_deadline(timeout);
  while (loom__wbuf_paused(&s->wb) && !s->werr && s->fd >= 0) {
    if (!loom__in_task()) return LOOM_ENOTASK;
    int rc = loom__swait_park(&s->drainers, deadline);
    if (rc) return rc;
  }
  return s->werr;
}

size_t loom_stream_write_buffer_size(const loom_stream *s) {
  return s ? loom__wbuf_len(&s->wb) : 0;
}

int loom_stream_set_write_limits(loom_stream *s, size_t high, size_t low) {
  if (!s) return LOOM_EINVAL;
  int rc = loom__wbuf_set_limits(&s->wb, high, low);
  if (rc == 0 && !loom__wbuf_paused(&s->wb)) loom__swait_fire_all(&s->drainers);
  return rc;
}
