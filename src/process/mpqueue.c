/* mpqueue.c - a queue of byte messages shared by processes.
 *
 * It is one AF_UNIX SOCK_SEQPACKET socket pair: every process that may put
 * holds the writing end, every process that may get holds the reading end.
 * The kernel keeps message boundaries, lets several processes send and
 * receive on the same ends, and hands each message to exactly one reader -
 * so there is no lock to share across processes and nothing to corrupt if
 * one of them dies.  End of stream comes for free: once every copy of the
 * writing end is closed, readers get 0 (after the queued messages).  Each
 * message carries a one-byte tag so that an empty message is not mistaken
 * for the end of stream.  A pipe (loom_mppipe_create) is the same pair,
 * each end used by one side.
 */
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc_internal.h"

struct loom_mpqueue {
  int wfd, rfd;   /* -1 once closed in this process */
  bool borrowed;  /* a child's view of a parent's queue: not counted */
};

int loom_mpqueue_create(loom_mpqueue **out) {
  if (!out) return LOOM_EINVAL;
  *out = NULL;
  loom_mpqueue *q = loom__calloc(1, sizeof *q);
  if (!q) return LOOM_ENOMEM;
  int sv[2];
  if (loom__sys_fault(EMFILE) || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    int rc = -errno;
    loom__free(q);
    return rc;
  }
  int big = 1 << 20;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  q->wfd = sv[0];
  q->rfd = sv[1];
  loom__live_inc(LOOM_LIVE_SYNC);
  *out = q;
  return 0;
}

loom_mpqueue *loom__mpqueue_adopt(int wfd, int rfd);
loom_mpqueue *loom__mpqueue_adopt(int wfd, int rfd) {
  loom_mpqueue *q = loom__calloc(1, sizeof *q);
  if (!q) return NULL;
  q->wfd = wfd;
  q->rfd = rfd;
  q->borrowed = true;
  return q;
}

void loom__mpqueue_fds(const loom_mpqueue *q, int *wfd, int *rfd);
void loom__mpqueue_fds(const loom_mpqueue *q, int *wfd, int *rfd) {
  *wfd = q->wfd;
  *rfd = q->rfd;
}

/* Wait for `events` on fd until the deadline.  0, LOOM_ETIMEDOUT, -errno. */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int ms = -1;
    if (deadline != INT64_MAX) {
      int64_t left = deadline - loom_now_ns();
      if (left <= 0) return LOOM_ETIMEDOUT;
      ms = (int)((left + 999999) / 1000000);
    }
    struct pollfd p = {.fd = fd, .events = events};
    int n = poll(&p, 1, ms);
    if (n > 0) return 0;
    if (n < 0 && errno != EINTR) return -errno;
  }
}

int loom_mpqueue_put(loom_mpqueue *q, const void *data, size_t len, double timeout) {
  if (!q || (!data && len) || len > LOOM_MPQUEUE_MAX) return LOOM_EINVAL;
  if (q->wfd < 0) return LOOM_ECLOSED;
  int64_t deadline = loom_deadline(timeout);
  char tag = 'm';
  struct iovec iov[2] = {{.iov_base = &tag, .iov_len = 1},
                         {.iov_base = (void *)data, .iov_len = len}};
  struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
  for (;;) {
    if (sendmsg(q->wfd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return 0;
    if (errno == EINTR) continue;
    if (errno == EPIPE) return LOOM_ECLOSED; /* every reader is gone */
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
    int rc = wait_fd(q->wfd, POLLOUT, deadline);
    if (rc < 0) return rc;
  }
}

int loom_mpqueue_get(loom_mpqueue *q, void *buf, size_t cap, size_t *len, double timeout) {
  if (!q || (!buf && cap) || !len) return LOOM_EINVAL;
  if (q->rfd < 0) return LOOM_ECLOSED;
  int64_t deadline = loom_deadline(timeout);
  char tag;
  struct iovec iov[2] = {{.iov_base = &tag, .iov_len = 1}, {.iov_base = buf, .iov_len = cap}};
  for (;;) {
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t n = recvmsg(q->rfd, &mh, MSG_DONTWAIT | MSG_TRUNC);
    if (n == 0) return LOOM_ESTOP; /* no writer left and nothing queued */
    if (n > 0) {
      *len = (size_t)n - 1;
      return (mh.msg_flags & MSG_TRUNC) ? LOOM_EOVERFLOW : 0;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return -errno;
    int rc = wait_fd(q->rfd, POLLIN, deadline);
    if (rc < 0) return rc;
  }
}

void loom_mpqueue_close_writer(loom_mpqueue *q) {
  if (!q || q->wfd < 0) return;
  if (q->wfd == q->rfd) /* a duplex pipe end: keep receiving */
    shutdown(q->wfd, SHUT_WR);
  else
    close(q->wfd);
  q->wfd = -1;
}

void loom_mpqueue_destroy(loom_mpqueue *q) {
  if (!q) return;
  if (q->borrowed) return; /* owned by the child runtime */
  if (q->wfd >= 0 && q->wfd != q->rfd) close(q->wfd);
  if (q->rfd >= 0) close(q->rfd);
  loom__free(q);
  loom__live_dec(LOOM_LIVE_SYNC);
}

static loom_mpqueue *end_of(int wfd, int rfd) {
  loom_mpqueue *q = loom__calloc(1, sizeof *q);
  if (!q) return NULL;
  q->wfd = wfd;
  q->rfd = rfd;
  loom__live_inc(LOOM_LIVE_SYNC);
  return q;
}

int loom_mppipe_create(loom_mpqueue **a, loom_mpqueue **b, bool duplex) {
  if (!a || !b) return LOOM_EINVAL;
  *a = *b = NULL;
  int sv[2];
  if (loom__sys_fault(EMFILE) || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
    return -errno;
  if (!duplex) { /* a receives, b sends: close the unused directions */
    shutdown(sv[0], SHUT_WR);
    shutdown(sv[1], SHUT_RD);
  }
  *a = end_of(duplex ? sv[0] : -1, sv[0]);
  *b = end_of(sv[1], duplex ? sv[1] : -1);
  if (!*a || !*b) {
    if (*a) loom_mpqueue_destroy(*a); else close(sv[0]);
    if (*b) loom_mpqueue_destroy(*b); else close(sv[1]);
    *a = *b = NULL;
    return LOOM_ENOMEM;
  }
  return 0;
}
