/* stream_impl.h - the layout of loom_stream, shared by stream.c (life cycle,
 * transport callbacks), stream_read.c and stream_write.c. */
#ifndef LOOM_NET_STREAM_IMPL_H
#define LOOM_NET_STREAM_IMPL_H

#include "../core/waiter.h"
#include "../loop/loop_internal.h"
#include "loom/net.h"
#include "netio.h"
#include "rbuf.h"
#include "wbuf.h"

/* A task waiting on the stream (drain, write, wait_closed): a node on its
 * stack, linked while it waits.  Only the loop thread touches the lists. */
typedef struct loom__swait loom__swait;
struct loom__swait {
  loom__swait *next, *prev;
  loom__waiter w;
};

typedef struct loom__swlist {
  loom__swait *head;
} loom__swlist;

struct loom_stream {
  loom_loop *loop;
  int fd;                 /* -1 once closed */
  bool sock;              /* a socket (recv/sendmsg), else a pipe (read/writev) */
  loom__rbuf rb;
  loom__wbuf wb;
  int rerr;               /* sticky receive error (-errno), 0 if none */
  int werr;               /* sticky send error: every later write gets it */
  loom__waiter *reader;   /* the one task waiting to read, or NULL */
  void *dbuf;             /* a waiting loom_stream_read's own buffer, or NULL: */
  size_t dcap;            /*   the transport receives straight into it */
  size_t dgot;            /*   (no copy, no read buffer) and sets dgot */
  size_t rchunk;          /* recv size into the read buffer: grows while
                             recvs fill it, so idle connections stay small */
  loom__swlist drainers;  /* tasks waiting for the write buffer to drain */
  loom__swlist closers;   /* tasks in wait_closed */
  bool reading;           /* the fd's reader is registered */
  bool writing;           /* the fd's writer is registered */
  bool eof_pending;       /* write_eof called: FIN once the buffer is empty */
  bool eof_sent;          /* shutdown(SHUT_WR) done */
  bool closing;           /* close called: close the fd once flushed */
  bool aborted;           /* abort called: close without draining input */
  int close_err;          /* what a close that lost data reports */
  bool autofree;          /* finish() was called: free once flushed */
  loom__timer linger;     /* bounds how long finish() waits to flush */
};

/* A call's deadline, computed from its timeout only when it first waits
 * (a call that never waits never reads the clock). */
typedef struct loom__lazy_deadline {
  double timeout;
  int64_t deadline; /* INT64_MIN until computed */
} loom__lazy_deadline;
#define LOOM__LAZY_DEADLINE(t) ((loom__lazy_deadline){(t), INT64_MIN})
static inline int64_t loom__lazy_deadline_get(loom__lazy_deadline *d) {
  if (d->deadline == INT64_MIN) d->deadline = loom_deadline(d->timeout);
  return d->deadline;
}

/* Wait on a list until fired, deadline or cancel.  Returns the reason. */
int loom__swait_park(loom__swlist *l, int64_t deadline);
/* Fire every waiter of a list with reason 0. */
void loom__swait_fire_all(loom__swlist *l);

/* One gathered write: sendmsg(MSG_NOSIGNAL) on sockets; on pipes writev
 * with SIGPIPE blocked and a pending one consumed, so a closed reader gives
 * EPIPE instead of killing the process.  Returns the count or -1 (errno). */
ssize_t loom__stream_send(loom_stream *s, const struct iovec *iov, int cnt);

/* Resume or pause reading to match the buffer and state. */
void loom__stream_sync_reading(loom_stream *s);
/* Flush what the kernel takes now; register the writer for the rest.
 * Returns 0 or the (sticky) send error. */
int loom__stream_flush(loom_stream *s);
/* The owner is done with s (a server handler returned): send what is
 * still buffered, then close and free it - at the latest after
 * LOOM__STREAM_LINGER_S, so a peer that stops reading cannot pin it. */
#define LOOM__STREAM_LINGER_S 30
void loom__stream_finish(loom_stream *s);

/* Close the fd now (buffered data is dropped). Wakes every waiter. */
void loom__stream_close_now(loom_stream *s, int err);

#endif
