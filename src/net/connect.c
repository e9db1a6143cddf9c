/* connect.c - loom_open_connection and loom_open_unix_connection: resolve,
 * then connect Happy-Eyeballs style (RFC 8305).
 *
 * Happy Eyeballs in one task, without helper tasks: the addresses are
 * interleaved by family; an attempt (non-blocking connect) starts on the
 * next address whenever the previous one failed or `delay` passed without
 * an answer; the task waits on all attempts at once (one waiter fired by a
 * writer registration on every attempt's fd).  The first connected socket
 * wins and every other attempt is closed.
 */
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "../futures/future_internal.h"
#include "addrlist.h"
#include "stream_impl.h"

#define MAX_ATTEMPTS 16
#define DEFAULT_DELAY 0.25 /* RFC 8305 "Connection Attempt Delay" */

typedef struct attempts {
  int fd[MAX_ATTEMPTS];
  int n;
} attempts;

static void drop(attempts *a, int i) {
  loom_loop_remove_writer(loom__loop_current(), a->fd[i]);
  close(a->fd[i]);
  a->fd[i] = a->fd[--a->n];
}

static void drop_all(attempts *a) {
  while (a->n) drop(a, a->n - 1);
}

/* Start a connect to `addr`.  Returns 1 connected at once (fd in *out),
 * 0 in progress (added to a), or a negative error for this address. */
static int start(attempts *a, const loom_addr *addr, const loom_stream_opts *o, int *out) {
  int fd = loom_socket(addr->u.sa.sa_family, SOCK_STREAM, 0);
  if (fd < 0) return fd;
  if (o->local && bind(fd, &o->local->u.sa, o->local->len) < 0) {
    int err = -errno;
    close(fd);
    return err;
  }
  int rc = loom__sys_fault(ECONNREFUSED) ? -1 : connect(fd, &addr->u.sa, addr->len);
  if (rc == 0) {
    *out = fd;
    return 1;
  }
  if (errno != EINPROGRESS && errno != EINTR) {
    int err = -errno;
    close(fd);
    return err;
  }
  a->fd[a->n++] = fd;
  return 0;
}

static void on_ready(void *arg) { loom__waiter_fire(arg, 0); }

/* Wait until an attempt is writable or `deadline`. Returns the reason. */
static int wait_any(attempts *a, int64_t deadline) {
  loom_loop *loop = loom__loop_current();
  loom__waiter w;
  loom__waiter_init(&w);
  for (int i = 0; i < a->n; i++) {
    int rc = loom_loop_add_writer(loop, a->fd[i], on_ready, &w);
    if (rc < 0) {
      for (int j = 0; j < i; j++) loom_loop_remove_writer(loop, a->fd[j]);
      return rc;
    }
  }
  int reason = loom__waiter_park(&w, deadline);
  for (int i = 0; i < a->n; i++) loom_loop_remove_writer(loop, a->fd[i]);
  return reason;
}

/* Check finished attempts: returns a connected fd, or -1; failures are
 * closed and their error kept in *last. */
static int harvest(attempts *a, int *last) {
  for (int i = a->n - 1; i >= 0; i--) {
    struct pollfd p = {.fd = a->fd[i], .events = POLLOUT};
    if (poll(&p, 1, 0) <= 0) continue;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(a->fd[i], SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0) {
      int fd = a->fd[i];
      a->fd[i] = a->fd[--a->n];
      return fd;
    }
    *last = -err;
    drop(a, i);
  }
  return -1;
}

static int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }

int loom__net_connect_list(const loom_addrlist *l, const loom_stream_opts *o,
                           int64_t deadline, int *fd) {
  attempts a = {.n = 0};
  double delay = o->happy_eyeballs_delay == 0 ? DEFAULT_DELAY : o->happy_eyeballs_delay;
  size_t next = 0;
  int last = LOOM_ECONNREFUSED;
  int64_t stagger = 0; /* when the next attempt may start */
  for (;;) {
    bool may_start = a.n == 0 || (delay >= 0 && loom_now_ns() >= stagger);
    if (may_start && next < l->n && a.n < MAX_ATTEMPTS) {
      int rc = start(&a, &l->e[next++].addr, o, fd);
      if (rc == 1) break;
      if (rc < 0) last = rc;
      stagger = delay >= 0 ? loom_deadline(delay) : INT64_MAX;
      continue;
    }
    if (a.n == 0) return last; /* every address failed */
    int64_t until = next < l->n ? min64(deadline, stagger) : deadline;
    int reason = wait_any(&a, until);
    if (reason == LOOM_ETIMEDOUT && loom_now_ns() >= deadline) reason = LOOM_ETIMEDOUT;
    else if (reason == LOOM_ETIMEDOUT) reason = 0; /* only the stagger */
    if (reason) {
      drop_all(&a);
      return reason;
    }
    *fd = harvest(&a, &last);
    if (*fd >= 0) break;
  }
  drop_all(&a); /* the losers */
  return 0;
}

/* Resolve host:port: numeric hosts at once, names on the resolver. */
static int resolve(const char *host, int port, const loom_stream_opts *o, int64_t deadline,
                   loom_addrlist **out) {
  char service[8];
  snprintf(service, sizeof service, "%d", port);
  loom_resolve_opts ro = {.family = o->family, .socktype = SOCK_STREAM};
  loom_future *f;
  int rc = o->resolver ? loom_resolve(o->resolver, host, service, &ro, &f)
                       : loom__resolve_detached(host, service, &ro, &f);
  if (rc < 0) return rc;
  rc = loom__future_wait_deadline(f, deadline); /* 0, ETIMEDOUT, ECANCELLED */
  if (rc == 0) {
    int code = 0;
    loom_future_exception(f, &code, NULL);
    rc = code ? code : loom_future_take_result(f, (void **)out, NULL);
  } else {
    loom_future_cancel(f); /* a queued lookup never runs; a running one is dropped */
  }
  loom_future_release(f);
  return rc;
}

static int finish(int fd, const loom_stream_opts *o, loom_stream **out) {
  int rc = loom__stream_from_sock(fd, o, out);
  if (rc < 0) close(fd);
  return rc;
}

int loom_open_connection(const char *host, int port, const loom_stream_opts *opts,
                         double timeout, loom_stream **out) {
  if (out) *out = NULL;
  if (!host || !out || port < 0 || port > 65535) return LOOM_EINVAL;
  if (!loom__loop_current() || !loom__in_task()) return LOOM_ENOTASK;
  loom_stream_opts o = opts ? *opts : (loom_stream_opts){0};
  int64_t deadline = loom_deadline(timeout);
  loom_addrlist *l = NULL;
  int rc = resolve(host, port, &o, deadline, &l);
  if (rc < 0) return rc;
  loom_addrlist_interleave(l, 1); /* on ENOMEM the RFC 6724 order is fine too */
  int fd = -1;
  rc = loom__net_connect_list(l, &o, deadline, &fd);
  loom_addrlist_free(l);
  return rc < 0 ? rc : finish(fd, &o, out);
}

int loom_open_unix_connection(const char *path, const loom_stream_opts *opts,
                              double timeout, loom_stream **out) {
  if (out) *out = NULL;
  if (!path || !out) return LOOM_EINVAL;
  if (!loom__loop_current() || !loom__in_task()) return LOOM_ENOTASK;
  loom_addr a;
  int rc = loom_addr_unix(&a, path);
  if (rc < 0) return rc;
  int fd = loom_socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return fd;
  rc = loom_sock_connect(fd, &a, timeout);
  if (rc < 0) {
    close(fd);
    return rc;
  }
  loom_stream_opts o = opts ? *opts : (loom_stream_opts){0};
  o.no_nodelay = true;
  return finish(fd, &o, out);
}
