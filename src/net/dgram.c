/* dgram.c - datagram endpoints (asyncio's create_datagram_endpoint): a UDP
 * or Unix datagram socket bound and/or connected, used either with
 * awaitable recvfrom/sendto from tasks, or in callback (protocol) form where
 * the loop calls on_datagram for every datagram that arrives.
 *
 * The callback form keeps a persistent reader and drains up to a batch of
 * datagrams per readiness event.  The callback may close the endpoint: the
 * free is deferred until dispatch returns (redis's callHandler pattern).
 */
#include <sys/socket.h>
#include <unistd.h>

#include "../loop/loop_internal.h"
#include "loom/net.h"
#include "netio.h"

#define DGRAM_MAX 65536 /* largest UDP payload */
#define BATCH 64        /* datagrams per readiness event before yielding */

struct loom_dgram {
  loom_loop *loop;
  int fd;
  loom_dgram_fn on_datagram; /* NULL: awaitable form */
  void *arg;
  char *buf;                 /* DGRAM_MAX bytes, callback form only */
  bool receiving;            /* a task is in recvfrom */
  bool dispatching;          /* inside on_datagram */
  bool closed;               /* close was called (maybe during dispatch) */
};

static void dgram_free(loom_dgram *d) {
  loom__free(d->buf);
  loom__free(d);
  loom__live_dec(LOOM_LIVE_OTHER);
}

static void on_readable(void *arg) {
  loom_dgram *d = arg;
  d->dispatching = true;
  for (int i = 0; i < BATCH && !d->closed; i++) {
    loom_addr from = {0};
    from.len = sizeof from.u;
    ssize_t k = recvfrom(d->fd, d->buf, DGRAM_MAX, 0, &from.u.sa, &from.len);
    if (k < 0) {
      if (errno == EINTR) continue;
      break; /* EAGAIN, or an ICMP error (ECONNREFUSED) we cannot act on */
    }
    d->on_datagram(d, d->buf, (size_t)k, &from, d->arg);
  }
  d->dispatching = false;
  if (d->closed) dgram_free(d);
}

static int family_of(const loom_dgram_opts *o) {
  return loom_addr_family(o->local ? o->local : o->remote);
}

static int setup_socket(int fd, const loom_dgram_opts *o) {
  int one = 1;
  if (o->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    return -errno;
  if (o->broadcast && setsockopt(fd, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0)
    return -errno;
  if (o->local && (loom__sys_fault(EADDRINUSE) ||
                   bind(fd, &o->local->u.sa, o->local->len) < 0))
    return -errno;
  if (o->remote && connect(fd, &o->remote->u.sa, o->remote->len) < 0) return -errno;
  return 0;
}

int loom_dgram_open(const loom_dgram_opts *opts, loom_dgram **out) {
  if (out) *out = NULL;
  if (!opts || !out || (!opts->local && !opts->remote)) return LOOM_EINVAL;
  loom_loop *loop = loom__loop_current();
  if (!loop) return LOOM_ENOTASK;
  loom_dgram *d = loom__calloc(1, sizeof *d);
  if (!d) return LOOM_ENOMEM;
  loom__live_inc(LOOM_LIVE_OTHER);
  d->loop = loop;
  d->on_datagram = opts->on_datagram;
  d->arg = opts->arg;
  d->fd = loom_socket(family_of(opts), SOCK_DGRAM, 0);
  int rc = d->fd < 0 ? d->fd : setup_socket(d->fd, opts);
  if (rc == 0 && d->on_datagram) {
    d->buf = loom__malloc(DGRAM_MAX);
    rc = d->buf ? loom_loop_add_reader(loop, d->fd, on_readable, d) : LOOM_ENOMEM;
  }
  if (rc < 0) {
    if (d->fd >= 0) close(d->fd);
    dgram_free(d);
    return rc;
  }
  *out = d;
  return 0;
}

ssize_t loom_dgram_recvfrom(loom_dgram *d, void *buf, size_t cap, loom_addr *from,
                            double timeout) {
  if (!d || (!buf && cap)) return LOOM_EINVAL;
  if (d->closed) return LOOM_ECLOSED;
  if (d->on_datagram) return LOOM_EINVALIDSTATE;
  if (d->receiving) return LOOM_EBUSY; /* one reader per fd at a time */
  d->receiving = true;
  ssize_t k = loom_sock_recvfrom(d->fd, buf, cap, from, timeout);
  d->receiving = false;
  return k;
}

ssize_t loom_dgram_sendto(loom_dgram *d, const void *data, size_t len, const loom_addr *to,
                          double timeout) {
  if (!d || (!data && len)) return LOOM_EINVAL;
  if (d->closed) return LOOM_ECLOSED;
  return loom_sock_sendto(d->fd, data, len, to, timeout);
}

int loom_dgram_sockname(const loom_dgram *d, loom_addr *out) {
  if (!d || !out) return LOOM_EINVAL;
  out->len = sizeof out->u;
  return getsockname(d->fd, &out->u.sa, &out->len) < 0 ? -errno : 0;
}

void loom_dgram_close(loom_dgram *d) {
  if (!d || d->closed) return;
  d->closed = true;
  if (d->on_datagram) loom_loop_remove_reader(d->loop, d->fd);
  close(d->fd);
  d->fd = -1;
  if (!d->dispatching) dgram_free(d);
}
