/* sock.c - the socket awaitables (asyncio's loop.sock_*): try the system
 * call; on EAGAIN wait for readiness through the loop and try again.
 *
 * Waiting is loom__net_wait_fd: the fd gets a one-shot reader (or writer)
 * whose callback fires the calling task's waiter; the deadline and a
 * cancellation fire the same waiter, so every call here has a timeout and
 * is cancellable with no code of its own.  A call that returns
 * LOOM_ETIMEDOUT or LOOM_ECANCELLED has transferred nothing (sendall reports
 * its progress in *sent).
 */
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../core/waiter.h"
#include "../loop/loop_internal.h"
#include "loom/net.h"
#include "netio.h"

static void on_ready(void *arg) { loom__waiter_fire(arg, 0); }

int loom__net_wait_fd(int fd, bool write, int64_t deadline) {
  /* The deadline first: a zero timeout never waits, so it works in loop
   * callbacks too (a full send buffer gives LOOM_ETIMEDOUT there). */
  if (deadline != INT64_MAX && loom_now_ns() >= deadline) return LOOM_ETIMEDOUT;
  loom_loop *loop = loom__loop_current();
  if (!loop || !loom__in_task()) return LOOM_ENOTASK;
  loom__waiter w;
  loom__waiter_init(&w);
  int rc = write ? loom_loop_add_writer(loop, fd, on_ready, &w)
                 : loom_loop_add_reader(loop, fd, on_ready, &w);
  if (rc < 0) return rc;
  int reason = loom__waiter_park(&w, deadline);
  /* Level-triggered: the callback may have run again after the first fire;
   * a second fire loses the race and touches nothing.  Removing the watch
   * before returning is what keeps w (on this stack) from being used later. */
  if (write) loom_loop_remove_writer(loop, fd);
  else loom_loop_remove_reader(loop, fd);
  return reason;
}

int loom_socket(int family, int type, int protocol) {
  if (loom__sys_fault(EMFILE)) return -errno;
  int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  return fd < 0 ? -errno : fd;
}

/* After a failed call: retry (0), wait and retry, or fail. */
static int again_or_fail(int fd, bool write, int64_t deadline, int err) {
  if (err == EINTR) return 0;
  if (err != EAGAIN && err != EWOULDBLOCK) return -err;
  return loom__net_wait_fd(fd, write, deadline);
}

int loom_sock_accept(int fd, loom_addr *peer, double timeout) {
  int64_t deadline = loom_deadline(timeout);
  for (;;) {
    loom_addr a = {0};
    a.len = sizeof a.u;
    int c;
    if (loom__sys_fault(EMFILE)) c = -1;
    else c = accept4(fd, &a.u.sa, &a.len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (c >= 0) {
      if (peer) *peer = a;
      return c;
    }
    int err = errno == ECONNABORTED ? EAGAIN : errno; /* gone before we took it */
    int rc = again_or_fail(fd, false, deadline, err);
    if (rc < 0) return rc;
  }
}

int loom_sock_connect(int fd, const loom_addr *addr, double timeout) {
  if (!addr) return LOOM_EINVAL;
  int rc;
  if (loom__sys_fault(ECONNREFUSED)) rc = -1;
  else rc = connect(fd, &addr->u.sa, addr->len);
  if (rc == 0) return 0;
  if (errno != EINPROGRESS && errno != EINTR && errno != EAGAIN) return -errno;
  rc = loom__net_wait_fd(fd, true, loom_deadline(timeout));
  if (rc < 0) return rc;
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return -errno;
  return -err;
}

ssize_t loom_sock_recv(int fd, void *buf, size_t n, double timeout) {
  int64_t deadline = loom_deadline(timeout);
  for (;;) {
    ssize_t k;
    if (loom__sys_fault(ECONNRESET)) k = -1;
    else k = recv(fd, buf, n, 0);
    if (k >= 0) return k;
    int rc = again_or_fail(fd, false, deadline, errno);
    if (rc < 0) return rc;
  }
}

ssize_t loom_sock_send(int fd, const void *buf, size_t n, double timeout) {
  int64_t deadline = loom_deadline(timeout);
  for (;;) {
    ssize_t k;
    if (loom__sys_fault(EPIPE)) k = -1;
    else k = send(fd, buf, n, MSG_NOSIGNAL);
    if (k >= 0) return k;
    int rc = again_or_fail(fd, true, deadline, errno);
    if (rc < 0) return rc;
  }
}

int loom_sock_sendall(int fd, const void *buf, size_t n, size_t *sent, double timeout) {
  int64_t deadline = loom_deadline(timeout);
  size_t done = 0;
  int rc = 0;
  while (done < n) {
    ssize_t k;
    if (loom__sys_fault(EPIPE)) k = -1;
    else k = send(fd, (const char *)buf + done, n - done, MSG_NOSIGNAL);
    if (k >= 0) {
      done += (size_t)k;
      continue;
    }
    rc = again_or_fail(fd, true, deadline, errno);
    if (rc < 0) break;
  }
  if (sent) *sent = done;
  return rc;
}

ssize_t loom_sock_recvfrom(int fd, void *buf, size_t n, loom_addr *from, double timeout) {
  int64_t deadline = loom_deadline(timeout);
  for (;;) {
    loom_addr a = {0};
    a.len = sizeof a.u;
    ssize_t k;
    if (loom__sys_fault(ECONNREFUSED)) k = -1;
    else k = recvfrom(fd, buf, n, MSG_TRUNC, &a.u.sa, &a.len);
    if (k >= 0) {
      if (from) *from = a;
      return k; /* MSG_TRUNC: the datagram's real length */
    }
    int rc = again_or_fail(fd, false, deadline, errno);
    if (rc < 0) return rc;
  }
}

ssize_t loom_sock_sendto(int fd, const void *buf, size_t n, const loom_addr *to,
                         double timeout) {
  int64_t deadline = loom_deadline(timeout);
  for (;;) {
    ssize_t k;
    if (loom__sys_fault(ENOBUFS)) k = -1;
    else k = sendto(fd, buf, n, MSG_NOSIGNAL, to ? &to->u.sa : NULL, to ? to->len : 0);
    if (k >= 0) return k;
    int rc = again_or_fail(fd, true, deadline, errno);
    if (rc < 0) return rc;
  }
}
