/* server.c - loom_server's life cycle: listen (TCP on every address of a
 * host, or a Unix path), serve_forever, close, close_clients, wait_closed,
 * destroy.  Accepting is in server_accept.c.
 *
 * A destroyed server whose handler tasks have not finished yet stays
 * allocated (marked destroyed) until the last one ends, so a handler never
 * sees its server freed under it.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../futures/future_internal.h"
#include "loom/task.h"
#include "server_impl.h"

#define DEFAULT_BACKLOG 100 /* asyncio's default */

static int listen_on(loom_server *srv, const loom_addr *a, const loom_server_opts *o) {
  int fd = loom_socket(loom_addr_family(a), SOCK_STREAM, 0);
  if (fd < 0) return fd;
  int one = 1, rc = 0;
  if (loom_addr_family(a) != AF_UNIX) {
    if (!o->no_reuse_address) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (o->reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
      rc = -errno;
    if (loom_addr_family(a) == AF_INET6) /* v4 gets its own socket, as asyncio */
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (rc == 0 && (loom__sys_fault(EADDRINUSE) || bind(fd, &a->u.sa, a->len) < 0)) rc = -errno;
  if (rc == 0 && listen(fd, o->backlog > 0 ? o->backlog : DEFAULT_BACKLOG) < 0) rc = -errno;
  if (rc < 0) {
    close(fd);
    return rc;
  }
  size_t i = srv->n++;
  srv->lfd[i] = fd;
  srv->addr[i].len = sizeof srv->addr[i].u;
  getsockname(fd, &srv->addr[i].u.sa, &srv->addr[i].len);
  return 0;
}

static void close_listeners(loom_server *srv) {
  loom__server_set_accepting(srv, false);
  loom__timer_stop(srv->loop, &srv->backoff);
  for (size_t i = 0; i < srv->n; i++) close(srv->lfd[i]);
  if (srv->unix_path && srv->addr[0].u.un.sun_path[0]) unlink(srv->addr[0].u.un.sun_path);
  srv->n = 0;
}

static loom_server *server_new(loom_conn_fn fn, void *arg, const loom_server_opts *o) {
  loom_server *srv = loom__calloc(1, sizeof *srv);
  if (!srv) return NULL;
  srv->loop = loom__loop_current();
  srv->fn = fn;
  srv->arg = arg;
  if (o->stream) srv->sopts = *o->stream;
  srv->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  loom__server_backoff_init(srv);
  loom__live_inc(LOOM_LIVE_OTHER);
  return srv;
}

static void server_free(loom_server *srv) {
  if (srv->spare_fd >= 0) close(srv->spare_fd);
  loom__free(srv);
  loom__live_dec(LOOM_LIVE_OTHER);
}

void loom__server_maybe_free(loom_server *srv) {
  if (srv->destroyed && srv->nconns == 0) server_free(srv);
}

/* Addresses to listen on: NULL host = every interface, v4 and v6. */
static int server_addrs(const char *host, int port, const loom_server_opts *o,
                        loom_addrlist **out) {
  loom_resolve_opts ro = {.family = o->family, .socktype = SOCK_STREAM,
                          .flags = LOOM_RESOLVE_PASSIVE};
  char service[8];
  snprintf(service, sizeof service, "%d", port);
  loom_future *f;
  int rc = loom__resolve_detached(host, service, &ro, &f);
  if (rc < 0) return rc;
  rc = loom__future_wait_deadline(f, INT64_MAX);
  if (rc == 0) {
    int code = 0;
    loom_future_exception(f, &code, NULL);
    rc = code ? code : loom_future_take_result(f, (void **)out, NULL);
  }
  loom_future_release(f);
  return rc;
}

static int finish_start(loom_server *srv, int rc, loom_server **out) {
  if (rc == 0 && srv->n == 0) rc = LOOM_EINVAL;
  if (rc == 0) {
    loom__server_set_accepting(srv, true);
    if (!srv->accepting) rc = LOOM_ENOMEM;
  }
  if (rc < 0) {
    close_listeners(srv);
    server_free(srv);
    return rc;
  }
  *out = srv;
  return 0;
}

int loom_start_server(loom_conn_fn fn, void *arg, const char *host, int port,
                      const loom_server_opts *opts, loom_server **out) {
  if (out) *out = NULL;
  if (!fn || !out || port < 0 || port > 65535) return LOOM_EINVAL;
  if (!loom__loop_current()) return LOOM_ENOTASK;
  loom_server_opts o = opts ? *opts : (loom_server_opts){0};
  loom_addrlist *l = NULL;
  int rc = server_addrs(host, port, &o, &l);
  if (rc < 0) return rc;
  loom_server *srv = server_new(fn, arg, &o);
  if (!srv) {
    loom_addrlist_free(l);
    return LOOM_ENOMEM;
  }
  size_t n = loom_addrlist_count(l);
  for (size_t i = 0; i < n && rc == 0 && srv->n < LOOM__SERVER_MAX_SOCKETS; i++) {
    const loom_addr *a = loom_addrlist_get(l, i);
    bool dup = false; /* port 0 on several addresses: reuse the first port */
    for (size_t k = 0; k < srv->n; k++) dup |= loom_addr_equal(&srv->addr[k], a);
    if (dup) continue;
    loom_addr want = *a;
    if (port == 0 && srv->n > 0) loom_addr_set_port(&want, loom_addr_port(&srv->addr[0]));
    rc = listen_on(srv, &want, &o);
    if (rc == LOOM_EINVAL && loom_addr_family(a) == AF_INET6) rc = 0; /* no IPv6 here */
  }
  loom_addrlist_free(l);
  return finish_start(srv, rc, out);
}

int loom_start_unix_server(loom_conn_fn fn, void *arg, const char *path,
                           const loom_server_opts *opts, loom_server **out) {
  if (out) *out = NULL;
  if (!fn || !out || !path) return LOOM_EINVAL;
  if (!loom__loop_current()) return LOOM_ENOTASK;
  loom_addr a;
  int rc = loom_addr_unix(&a, path);
  if (rc < 0) return rc;
  struct stat st; /* replace a stale socket file, never a regular file */
  if (path[0] != '@' && stat(path, &st) == 0 && S_ISSOCK(st.st_mode)) unlink(path);
  loom_server_opts o = opts ? *opts : (loom_server_opts){0};
  loom_server *srv = server_new(fn, arg, &o);
  if (!srv) return LOOM_ENOMEM;
  rc = listen_on(srv, &a, &o);
  srv->unix_path = rc == 0;
  return finish_start(srv, rc, out);
}

size_t loom_server_naddrs(const loom_server *srv) { return srv ? srv->n : 0; }

int loom_server_addr(const loom_server *srv, size_t i, loom_addr *out) {
  if (!srv || !out || i >= srv->n) return LOOM_EINVAL;
  *out = srv->addr[i];
  return 0;
}

int loom_server_close(loom_server *srv) {
  if (!srv || srv->closed) return 0;
  srv->closed = true;
  close_listeners(srv);
  loom__swait_fire_all(&srv->waiters);
  return 0;
}

int loom_server_close_clients(loom_server *srv) {
  if (!srv) return LOOM_EINVAL;
  int n = 0;
  for (loom__conn *c = srv->conns; c; c = c->next)
    if (loom_task_cancel(c->task, "server closed")) n++;
  return n;
}

int loom_server_serve_forever(loom_server *srv) {
  if (!srv) return LOOM_EINVAL;
  if (!loom__in_task()) return LOOM_ENOTASK;
  while (!srv->closed) {
    int reason = loom__swait_park(&srv->waiters, INT64_MAX);
    if (reason) {
      loom_server_close(srv); /* asyncio: cancelling serve_forever closes */
      return reason;
    }
  }
  return 0;
}

int loom_server_wait_closed(loom_server *srv, double timeout) {
  if (!srv) return LOOM_EINVAL;
  if (!srv->closed) return LOOM_EINVALIDSTATE;
  int64_t deadline = loom_deadline(timeout);
  while (srv->nconns > 0) {
    if (!loom__in_task()) return LOOM_ENOTASK;
    int reason = loom__swait_park(&srv->waiters, deadline);
    if (reason) return reason;
  }
  return 0;
}

void loom_server_destroy(loom_server *srv) {
  if (!srv) return;
  loom_server_close(srv);
  loom_server_close_clients(srv);
  if (loom__in_task()) loom_server_wait_closed(srv, 5.0);
  srv->destroyed = true;
  loom__server_maybe_free(srv);
}
