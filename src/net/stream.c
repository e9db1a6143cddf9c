/* stream.c - loom_stream's transport: the socket, its registrations on the
 * loop, and the life cycle (create, write_eof, close, abort, destroy).
 *
 * Reading is driven by a persistent level-triggered reader: whenever the
 * socket is readable the callback receives into the read buffer and wakes
 * the task waiting to read, if any - or, when that task waits in a plain
 * loom_stream_read with nothing buffered, straight into the task's own
 * buffer (no copy, and an echo-style connection never allocates a read
 * buffer at all).  The read buffer's recv size starts at 4 KiB and doubles
 * while recvs fill it, so 100,000 mostly idle connections stay small.  It pauses (the reader is removed) when
 * the buffer holds 2 x limit bytes and resumes when a read takes some, as
 * asyncio pauses its transport.  Writing tries send() at once and registers
 * a writer only for what the kernel did not take (stream_write.c); the
 * writer flushes with writev and removes itself when the buffer is empty.
 * So an echo round trip costs no epoll_ctl at all in the steady state.
 *
 * Everything runs on the loop thread: no locks.
 */
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream_impl.h"

#define RECV_MIN 4096    /* first recv size into the read buffer */
#define RECV_CHUNK 65536 /* largest, reached by doubling while recvs fill it */
#define IOV_BATCH 64
#define DRAIN_MAX_RECVS 64 /* at most 256 KiB of unread input dropped at close */

/* ---- waiter lists --------------------------------------------------------- */

int loom__swait_park(loom__swlist *l, int64_t deadline) {
  loom__swait n = {.prev = NULL, .next = l->head};
  loom__waiter_init(&n.w);
  if (l->head) l->head->prev = &n;
  l->head = &n;
  int reason = loom__waiter_park(&n.w, deadline);
  if (n.prev) n.prev->next = n.next; /* unlink: we are on the loop thread */
  else l->head = n.next;
  if (n.next) n.next->prev = n.prev;
  return reason;
}

void loom__swait_fire_all(loom__swlist *l) {
  for (loom__swait *n = l->head; n; n = n->next) loom__waiter_fire(&n->w, 0);
}

/* ---- reading --------------------------------------------------------------- */

static void wake_reader(loom_stream *s) {
  if (s->reader) loom__waiter_fire(s->reader, 0);
}

static ssize_t recv_into(loom_stream *s, void *p, size_t n) {
  if (loom__sys_fault(ECONNRESET)) return -1;
  return s->sock ? recv(s->fd, p, n, 0) : read(s->fd, p, n);
}

/* True when a loom_stream_read waits with nothing buffered ahead of it and
 * its wait has not ended yet: its own buffer can take the bytes. */
static bool direct_ok(const loom_stream *s) {
  return s->dbuf && s->reader && loom__rbuf_len(&s->rb) == 0 &&
         atomic_load_explicit(&s->reader->state, memory_order_acquire) == LOOM__W_WAITING;
}

/* k bytes landed in the waiting reader's buffer.  If its wait ended
 * meanwhile (a cancel from another thread), the bytes go to the read
 * buffer instead, so nothing received is ever lost. */
static void got_direct(loom_stream *s, size_t k) {
  s->dgot = k;
  if (loom__waiter_fire(s->reader, 0)) return;
  s->dgot = 0;
  if (loom__rbuf_append(&s->rb, s->dbuf, k) < 0) s->rerr = LOOM_ENOMEM;
}

static void got_buffered(loom_stream *s, size_t k, size_t avail) {
  loom__rbuf_commit(&s->rb, k);
  if (k == avail && s->rchunk < RECV_CHUNK) s->rchunk *= 2; /* a bulk sender */
}

static void on_readable(void *arg) {
  loom_stream *s = arg;
  bool direct = direct_ok(s);
  void *p = s->dbuf;
  size_t avail = s->dcap;
  if (!direct && loom__rbuf_space(&s->rb, s->rchunk, &p, &avail) < 0) {
    s->rerr = LOOM_ENOMEM;
  } else {
    ssize_t k = recv_into(s, p, avail);
    if (k > 0 && direct) got_direct(s, (size_t)k);
    else if (k > 0) got_buffered(s, (size_t)k, avail);
    else if (k == 0) loom__rbuf_set_eof(&s->rb);
    else if (errno != EAGAIN && errno != EINTR) s->rerr = -errno;
  }
  loom__stream_sync_reading(s);
  wake_reader(s);
}

void loom__stream_sync_reading(loom_stream *s) {
  /* A waiting reader keeps reading on even past the pause mark (asyncio's
   * _wait_for_data does the same), or readexactly(n > 2 * limit) would
   * wait forever. */
  bool want = s->fd >= 0 && !s->rb.eof && !s->rerr && !s->autofree &&
              (!loom__rbuf_full(&s->rb) || s->reader);
  if (want == s->reading) return;
  if (want && loom_loop_add_reader(s->loop, s->fd, on_readable, s) < 0) {
    s->rerr = LOOM_ENOMEM; /* cannot watch the fd: report it to the reader */
    return;
  }
  if (!want) loom_loop_remove_reader(s->loop, s->fd);
  s->reading = want;
}

/* ---- writing --------------------------------------------------------------- */

/* writev on a pipe without SIGPIPE: block it for this thread, and if the
 * write raised one that was not pending before, take it back out. */
static ssize_t pipe_writev(int fd, const struct iovec *iov, int cnt) {
  sigset_t pipe_set, old, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  sigpending(&pending);
  bool was_pending = sigismember(&pending, SIGPIPE);
  ssize_t k = writev(fd, iov, cnt);
  int err = errno;
  if (k < 0 && err == EPIPE && !was_pending) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = err;
  return k;
}

ssize_t loom__stream_send(loom_stream *s, const struct iovec *iov, int cnt) {
  if (!s->sock) return pipe_writev(s->fd, iov, cnt);
  if (cnt == 1) return send(s->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
  struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
  return sendmsg(s->fd, &mh, MSG_NOSIGNAL);
}

static void set_writing(loom_stream *s, bool want);

static void after_flush(loom_stream *s) {
  if (loom__wbuf_len(&s->wb) == 0) {
    set_writing(s, false);
    if (s->eof_pending && !s->eof_sent && s->fd >= 0) {
      shutdown(s->fd, SHUT_WR);
      s->eof_sent = true;
    }
    if (s->closing) loom__stream_close_now(s, 0);
  }
  if (!loom__wbuf_paused(&s->wb) || s->werr) loom__swait_fire_all(&s->drainers);
}

int loom__stream_flush(loom_stream *s) {
  while (!s->werr && s->fd >= 0 && loom__wbuf_len(&s->wb)) {
    struct iovec iov[IOV_BATCH];
    int n = loom__wbuf_iov(&s->wb, iov, IOV_BATCH, NULL);
    ssize_t k = loom__sys_fault(EPIPE) ? -1 : loom__stream_send(s, iov, n);
    if (k >= 0) {
      loom__wbuf_consume(&s->wb, (size_t)k);
      continue;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      set_writing(s, true);
      break;
    }
    s->werr = -errno; /* EPIPE, ECONNRESET...: sticky, buffer is lost */
    s->close_err = s->werr;
    loom__wbuf_clear(&s->wb);
  }
  after_flush(s);
  return s->werr;
}

static void stream_free(loom_stream *s);

static void on_writable(void *arg) {
  loom_stream *s = arg;
  loom__stream_flush(s);
  if (s->autofree && s->fd < 0) stream_free(s); /* finish() completed */
}

static void set_writing(loom_stream *s, bool want) {
  if (want == s->writing || s->fd < 0) return;
  if (want && loom_loop_add_writer(s->loop, s->fd, on_writable, s) < 0) {
    s->werr = LOOM_ENOMEM;
    return;
  }
  if (!want) loom_loop_remove_writer(s->loop, s->fd);
  s->writing = want;
}

/* ---- life cycle -------------------------------------------------------------- */

/* Make s->fd a non-blocking socket or pipe with the options' TCP_NODELAY;
 * `probe` false when the caller knows it is a non-blocking socket already
 * (accepted or created by loom: two system calls saved per connection). */
static void setup_fd(loom_stream *s, const loom_stream_opts *o, bool probe) {
  s->sock = true;
  if (probe) {
    int type;
    socklen_t tlen = sizeof type;
    s->sock = getsockopt(s->fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0;
    int fl = fcntl(s->fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK)) fcntl(s->fd, F_SETFL, fl | O_NONBLOCK);
  }
  if (s->sock && !o->no_nodelay) { /* fails harmlessly on Unix sockets */
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

static int stream_new(int fd, const loom_stream_opts *opts, bool probe, loom_stream **out) {
  if (out) *out = NULL;
  if (fd < 0 || !out) return LOOM_EINVAL;
  loom_loop *loop = loom__loop_current();
  if (!loop) return LOOM_ENOTASK;
  loom_stream_opts o = opts ? *opts : (loom_stream_opts){0};
  loom_stream *s = loom__calloc(1, sizeof *s);
  if (!s) return LOOM_ENOMEM;
  s->loop = loop;
  s->fd = fd;
  loom__rbuf_init(&s->rb, o.limit);
  s->rchunk = RECV_MIN;
  if (loom__wbuf_init(&s->wb, o.high_water, o.low_water) < 0) {
    loom__free(s);
    return LOOM_EINVAL;
  }
  setup_fd(s, &o, probe);
  loom__live_inc(LOOM_LIVE_OTHER);
  loom__stream_sync_reading(s);
  if (s->rerr) {
    loom__rbuf_fini(&s->rb);
    loom__wbuf_fini(&s->wb);
    loom__free(s);
    loom__live_dec(LOOM_LIVE_OTHER);
    return LOOM_ENOMEM;
  }
  *out = s;
  return 0;
}

int loom_stream_from_fd(int fd, const loom_stream_opts *opts, loom_stream **out) {
  return stream_new(fd, opts, true, out);
}

int loom__stream_from_sock(int fd, const loom_stream_opts *opts, loom_stream **out) {
  return stream_new(fd, opts, false, out);
}

/* Before a graceful close, discard what the peer sent that nobody read
 * (bounded): closing a TCP socket with unread input sends RST instead of
 * FIN, and the RST can destroy the reply still in flight - an HTTP server
 * that answers 431 to an oversized header and closes would lose its answer. */
static void drain_unread(loom_stream *s) {
  char sink[4096];
  for (int i = 0; i < DRAIN_MAX_RECVS; i++)
    if (recv_into(s, sink, sizeof sink) <= 0) return; /* empty (EAGAIN), EOF or error */
}

void loom__stream_close_now(loom_stream *s, int err) {
  if (s->fd < 0) return;
  if (s->sock && !s->aborted && !s->rb.eof && !s->rerr) drain_unread(s);
  if (s->reading) loom_loop_remove_reader(s->loop, s->fd);
  if (s->writing) loom_loop_remove_writer(s->loop, s->fd);
  s->reading = s->writing = false;
  close(s->fd);
  s->fd = -1;
  s->closing = true;
  if (err && !s->close_err) s->close_err = err;
  loom__wbuf_clear(&s->wb);
  wake_reader(s);
  loom__swait_fire_all(&s->drainers);
  loom__swait_fire_all(&s->closers);
}

int loom_stream_write_eof(loom_stream *s) {
  if (!s) return LOOM_EINVAL;
  if (s->fd < 0 || s->closing) return LOOM_ECLOSED;
  if (s->eof_pending) return 0;
  if (!s->sock) return LOOM_EINVAL; /* a pipe has no half-close: close it */
  s->eof_pending = true;
  if (loom__wbuf_len(&s->wb) == 0) {
    if (shutdown(s->fd, SHUT_WR) < 0) {
      s->eof_pending = false;
      return -errno;
    }
    s->eof_sent = true;
  }
  return 0;
}

int loom_stream_close(loom_stream *s) {
  if (!s || s->closing) return 0;
  s->closing = true;
  if (loom__wbuf_len(&s->wb) == 0 || s->werr) loom__stream_close_now(s, 0);
  else wake_reader(s); /* a reader must not wait on a closing stream */
  return 0;
}

void loom_stream_abort(loom_stream *s) {
  if (!s) return;
  s->aborted = true; /* no draining: an abort may reset */
  loom__stream_close_now(s, 0);
}

int loom_stream_wait_closed(loom_stream *s, double timeout) {
  if (!s) return LOOM_EINVAL;
  if (!s->closing) return LOOM_EINVALIDSTATE;
  int64_t deadline = loom_deadline(timeout);
  while (s->fd >= 0) {
    if (!loom__in_task()) return LOOM_ENOTASK;
    int reason = loom__swait_park(&s->closers, deadline);
    if (reason) return reason;
  }
  return s->close_err;
}

static void stream_free(loom_stream *s) {
  if (s->autofree) loom__timer_stop(s->loop, &s->linger);
  loom__stream_close_now(s, 0);
  loom__rbuf_fini(&s->rb);
  loom__wbuf_fini(&s->wb);
  loom__free(s);
  loom__live_dec(LOOM_LIVE_OTHER);
}

void loom_stream_destroy(loom_stream *s) {
  if (s) stream_free(s);
}

static void on_linger(loom__timer *t) { stream_free(LOOM__CONTAINER_OF(t, loom_stream, linger)); }

void loom__stream_finish(loom_stream *s) {
  if (s->fd < 0 || s->werr || loom__wbuf_len(&s->wb) == 0 || s->reader) {
    stream_free(s);
    return;
  }
  s->autofree = true;
  s->closing = true;
  loom__stream_sync_reading(s); /* nobody reads any more */
  loom__timer_init(&s->linger, on_linger);
  if (loom__timer_start(s->loop, &s->linger,
                        loom__loop_now(s->loop) + LOOM__STREAM_LINGER_S * 1000000000LL) < 0)
    stream_free(s); /* cannot bound the wait: drop the data rather than leak */
}

static int name_of(const loom_stream *s, loom_addr *out, bool peer) {
  if (!s || !out) return LOOM_EINVAL;
  if (s->fd < 0) return LOOM_ECLOSED;
  out->len = sizeof out->u;
  int rc = peer ? getpeername(s->fd, &out->u.sa, &out->len)
                : getsockname(s->fd, &out->u.sa, &out->len);
  return rc < 0 ? -errno : 0;
}

int loom_stream_peername(const loom_stream *s, loom_addr *out) { return name_of(s, out, true); }
int loom_stream_sockname(const loom_stream *s, loom_addr *out) { return name_of(s, out, false); }
int loom_stream_fd(const loom_stream *s) { return s ? s->fd : LOOM_EINVAL; }
