/* poll_epoll.c - the epoll readiness backend (Linux), level-triggered.
 *
 * Seven small functions behind loom__poll_ops, in the spirit of redis's
 * ae_epoll.c.  The event array lives in the loop (passed to wait), so this
 * backend keeps no state beyond the epoll descriptor.
 */
#include <errno.h>
#include <stdatomic.h>
#include <time.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../core/internal.h"
#include "poll.h"

enum { MAX_BATCH = 256 };

static uint32_t to_epoll(uint32_t ev) {
  return ((ev & LOOM__POLL_IN) ? EPOLLIN : 0u) | ((ev & LOOM__POLL_OUT) ? EPOLLOUT : 0u);
}

static int ep_init(loom__poll *p) {
  int fd = loom__sys_fault(EMFILE) ? -1 : epoll_create1(EPOLL_CLOEXEC);
  if (fd < 0) return -errno;
  p->fd = fd;
  p->impl = NULL;
  return 0;
}

static int ep_ctl(loom__poll *p, int op, int fd, uint32_t events) {
  struct epoll_event e = {.events = to_epoll(events), .data.fd = fd};
  if (loom__sys_fault(ENOMEM)) return -errno;
  return epoll_ctl(p->fd, op, fd, &e) < 0 ? -errno : 0;
}

static int ep_add(loom__poll *p, int fd, uint32_t events) {
  int rc = ep_ctl(p, EPOLL_CTL_ADD, fd, events);
  /* Still registered: the fd was dup'ed or re-added after a close we did not
   * see; modifying gives the caller what it asked for. */
  if (rc == -EEXIST) rc = ep_ctl(p, EPOLL_CTL_MOD, fd, events);
  return rc;
}

static int ep_modify(loom__poll *p, int fd, uint32_t events) {
  int rc = ep_ctl(p, EPOLL_CTL_MOD, fd, events);
  /* The fd was closed and its number reused: epoll forgot it, add it anew. */
  if (rc == -ENOENT) rc = ep_ctl(p, EPOLL_CTL_ADD, fd, events);
  return rc;
}

static void ep_remove(loom__poll *p, int fd) {
  struct epoll_event e = {0};
  /* EBADF/ENOENT: the fd is already closed, and closing removed it. */
  (void)epoll_ctl(p->fd, EPOLL_CTL_DEL, fd, &e);
}

/* epoll_pwait2 takes a timespec, so timers are not rounded to whole
 * milliseconds; kernels before 5.11 (or tools that do not know the call)
 * say ENOSYS once and epoll_wait is used from then on. */
static _Atomic bool no_pwait2;

static int raw_wait(int epfd, struct epoll_event *raw, int max, int64_t timeout_ns) {
  if (timeout_ns > 0 && !atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
    struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
    int n = epoll_pwait2(epfd, raw, max, &ts, NULL);
    if (n >= 0 || errno != ENOSYS) return n;
    atomic_store_explicit(&no_pwait2, true, memory_order_relaxed);
  }
  int ms;
  if (timeout_ns < 0) ms = -1;
  else if (timeout_ns > (int64_t)INT32_MAX * 1000000) ms = INT32_MAX;
  else ms = (int)((timeout_ns + 999999) / 1000000); /* round up: never wake early */
  return epoll_wait(epfd, raw, max, ms);
}

static int ep_wait(loom__poll *p, int64_t timeout_ns, loom__poll_event *ev, int max) {
  struct epoll_event raw[MAX_BATCH];
  if (max > MAX_BATCH) max = MAX_BATCH;
  int n = raw_wait(p->fd, raw, max, timeout_ns);
  if (n < 0) return errno == EINTR ? 0 : -errno;
  for (int i = 0; i < n; i++) {
    uint32_t e = raw[i].events, out = 0;
    if (e & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP)) out |= LOOM__POLL_IN;
    if (e & (EPOLLOUT | EPOLLHUP | EPOLLERR)) out |= LOOM__POLL_OUT;
    ev[i].fd = raw[i].data.fd;
    ev[i].events = out;
  }
  return n;
}

static void ep_close(loom__poll *p) {
  if (p->fd >= 0) close(p->fd);
  p->fd = -1;
}

const loom__poll_ops loom__poll_default_ops = {
    "epoll", ep_init, ep_add, ep_modify, ep_remove, ep_wait, ep_close,
};
